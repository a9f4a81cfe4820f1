package payload

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// Known digests of "123456789".
const body9 = "123456789"

var (
	md5Of9  = b64hex("25f9e794323b453885f5181f1b624d0b")
	sumsOf9 = map[string]string{
		store.CRC32:     b64hex("cbf43926"),
		store.CRC32C:    b64hex("e3069283"),
		store.CRC64NVME: b64hex("ae8b14860a799888"),
		store.SHA1:      b64hex("f7c3bc1d808e04732adf679965ccc34ca7ae3441"),
		store.SHA256:    b64hex("15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"),
		store.SHA512:    b64hex("d9e6762dd1c8eaf6d61b3c6192fc408d4d6d5f1176d0c29169bc24e71c3f274ad27fcd5811b313d681f7e55ec02d73d499c95455b6b5bb503acf574fba8ffe85"),
		store.MD5:       b64hex("25f9e794323b453885f5181f1b624d0b"),
	}
	sha256Of9 = "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"
	// wrong values of the right length per algorithm
	wrongSums = map[string]string{
		store.CRC32:     b64hex("00000000"),
		store.CRC32C:    b64hex("00000000"),
		store.CRC64NVME: b64hex("0000000000000000"),
		store.SHA1:      b64hex(strings.Repeat("00", 20)),
		store.SHA256:    b64hex(strings.Repeat("00", 32)),
		store.SHA512:    b64hex(strings.Repeat("00", 64)),
		store.MD5:       b64hex(strings.Repeat("00", 16)),
	}
)

func b64hex(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// failReader fails the test if New reads the body.
type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("body read before validation")
	return 0, io.ErrUnexpectedEOF
}

// encodeChunked frames data as an unsigned aws-chunked body with optional
// trailer lines ("name:value").
func encodeChunked(data string, chunk int, trailers ...string) string {
	var b strings.Builder
	for len(data) > 0 {
		n := min(chunk, len(data))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, data[:n])
		data = data[n:]
	}
	b.WriteString("0\r\n")
	for _, t := range trailers {
		b.WriteString(t + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// chunkedDecoder is a minimal test-only aws-chunked (unsigned trailer)
// decoder: the Options.Decode hook.
type chunkedDecoder struct {
	br      *bufio.Reader
	left    int // bytes left in the current chunk
	done    bool
	trailer http.Header
}

func decodeChunked(body io.Reader) (io.Reader, func() http.Header) {
	d := &chunkedDecoder{br: bufio.NewReader(body)}
	return d, func() http.Header { return d.trailer }
}

func (d *chunkedDecoder) line() (string, error) {
	s, err := d.br.ReadString('\n')
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return strings.TrimSuffix(s, "\r\n"), err
}

func (d *chunkedDecoder) Read(p []byte) (int, error) {
	if d.done {
		return 0, io.EOF
	}
	if d.left == 0 {
		l, err := d.line()
		if err != nil {
			return 0, err
		}
		n, err := strconv.ParseInt(l, 16, 32)
		if err != nil {
			return 0, s3err.IncompleteBody.WithMessage("bad chunk header %q", l)
		}
		if n == 0 {
			d.trailer = http.Header{}
			for {
				l, err := d.line()
				if err != nil {
					return 0, err
				}
				if l == "" {
					break
				}
				k, v, _ := strings.Cut(l, ":")
				d.trailer.Add(k, v)
			}
			d.done = true
			return 0, io.EOF
		}
		d.left = int(n)
	}
	n, err := d.br.Read(p[:min(len(p), d.left)])
	d.left -= n
	if d.left == 0 && err == nil {
		if l, lerr := d.line(); lerr != nil || l != "" {
			return n, io.ErrUnexpectedEOF
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// readAll reads r through a small buffer (several Reads) to the end.
func readAll(r *Reader) ([]byte, error) {
	var out []byte
	buf := make([]byte, 3)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func plain(body string, h http.Header) Options {
	return Options{Header: h, ContentLength: int64(len(body))}
}

func TestNewRefuses(t *testing.T) {
	chunked := func(h http.Header) Options {
		return Options{Header: h, ContentLength: 100, PayloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", Decode: decodeChunked}
	}
	tests := []struct {
		name string
		o    Options
		want *s3err.Error
		msg  string // substring of the message, if set
	}{
		{"md5 not base64", plain("x", hdr("Content-MD5", "not base64!")), s3err.InvalidDigest, "Content-MD5"},
		{"md5 short", plain("x", hdr("Content-MD5", b64hex("0011"))), s3err.InvalidDigest, ""},
		{"md5 empty", plain("x", hdr("Content-MD5", "")), s3err.InvalidDigest, ""},
		{"md5 hex", plain("x", hdr("Content-MD5", "25f9e794323b453885f5181f1b624d0b")), s3err.InvalidDigest, ""},
		{"md5 twice", plain("x", hdr("Content-MD5", md5Of9, "Content-MD5", md5Of9)), s3err.InvalidDigest, ""},
		{"crc32 not base64", plain("x", hdr("x-amz-checksum-crc32", "@@@@@@==")), s3err.InvalidRequest, "Value for x-amz-checksum-crc32 header is invalid."},
		{"crc32 wrong length", plain("x", hdr("x-amz-checksum-crc32", sumsOf9[store.CRC64NVME])), s3err.InvalidRequest, "Value for x-amz-checksum-crc32 header is invalid."},
		{"crc32 empty", plain("x", hdr("x-amz-checksum-crc32", "")), s3err.InvalidRequest, "x-amz-checksum-crc32"},
		{"sha256 hex value", plain("x", hdr("x-amz-checksum-sha256", sha256Of9)), s3err.InvalidRequest, "x-amz-checksum-sha256"},
		{"crc64nvme wrong length", plain("x", hdr("x-amz-checksum-crc64nvme", sumsOf9[store.CRC32])), s3err.InvalidRequest, "x-amz-checksum-crc64nvme"},
		{"two checksums", plain("x", hdr("x-amz-checksum-crc32", sumsOf9[store.CRC32], "x-amz-checksum-sha1", sumsOf9[store.SHA1])), s3err.InvalidRequest, "Expecting a single x-amz-checksum- header"},
		{"same checksum twice", plain("x", hdr("x-amz-checksum-crc32", sumsOf9[store.CRC32], "x-amz-checksum-crc32", sumsOf9[store.CRC32])), s3err.InvalidRequest, "Expecting a single"},
		{"header and trailer", chunked(hdr("x-amz-decoded-content-length", "9", "x-amz-checksum-crc32", sumsOf9[store.CRC32], "x-amz-trailer", "x-amz-checksum-crc32c")), s3err.InvalidRequest, "Expecting a single"},
		{"two trailers", chunked(hdr("x-amz-decoded-content-length", "9", "x-amz-trailer", "x-amz-checksum-crc32, x-amz-checksum-crc32c")), s3err.InvalidRequest, "Expecting a single"},
		{"unknown checksum header", plain("x", hdr("x-amz-checksum-blake3", md5Of9)), s3err.InvalidRequest, "unsupported"},
		{"unknown trailer", chunked(hdr("x-amz-decoded-content-length", "9", "x-amz-trailer", "x-amz-checksum-blake3")), s3err.InvalidRequest, "unsupported"},
		{"unknown sdk algorithm", plain("x", hdr("x-amz-sdk-checksum-algorithm", "BLAKE3")), s3err.InvalidRequest, "unsupported"},
		{"sdk algorithm differs", plain("x", hdr("x-amz-sdk-checksum-algorithm", "CRC32C", "x-amz-checksum-crc32", sumsOf9[store.CRC32])), s3err.InvalidRequest, "x-amz-sdk-checksum-algorithm"},
		{"trailer without aws-chunked", plain("x", hdr("x-amz-trailer", "x-amz-checksum-crc32")), s3err.InvalidRequest, "aws-chunked"},
		{"require other algorithm", Options{Header: hdr("x-amz-checksum-crc32", sumsOf9[store.CRC32]), ContentLength: 9, RequireAlgorithm: store.SHA256}, s3err.InvalidRequest, "expected checksum Type: sha256, actual checksum Type: crc32"},
		{"require other sdk algorithm", Options{Header: hdr("x-amz-sdk-checksum-algorithm", "CRC32"), ContentLength: 9, RequireAlgorithm: store.CRC32C}, s3err.InvalidRequest, "Checksum Type mismatch"},
		{"require other trailer", Options{Header: hdr("x-amz-decoded-content-length", "9", "x-amz-trailer", "x-amz-checksum-crc32"), ContentLength: 100, PayloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", Decode: decodeChunked, RequireAlgorithm: store.CRC64NVME}, s3err.InvalidRequest, "Checksum Type mismatch"},
		{"bad payload hash", Options{Header: hdr(), ContentLength: 9, PayloadHash: "abc"}, s3err.InvalidArgument, "x-amz-content-sha256"},
		{"payload hash too short", Options{Header: hdr(), ContentLength: 9, PayloadHash: sha256Of9[:62]}, s3err.InvalidArgument, ""},
		{"streaming without decoder", Options{Header: hdr(), ContentLength: 9, PayloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}, s3err.NotImplemented, ""},
		{"decoded length missing", chunked(hdr()), s3err.MissingContentLength, "x-amz-decoded-content-length"},
		{"decoded length invalid", chunked(hdr("x-amz-decoded-content-length", "nine")), s3err.InvalidArgument, ""},
		{"decoded length negative", chunked(hdr("x-amz-decoded-content-length", "-1")), s3err.InvalidArgument, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(failReader{t}, tt.o)
			if err == nil {
				t.Fatalf("New accepted the request (algorithm %q)", r.Algorithm())
			}
			e := s3err.As(err)
			if e == nil || !errors.Is(err, tt.want) {
				t.Fatalf("New error %v, want %s", err, tt.want.Code)
			}
			if e.Status != tt.want.Status {
				t.Errorf("status %d, want %d", e.Status, tt.want.Status)
			}
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.msg)
			}
		})
	}
}

func TestPlainBody(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		o       Options
		alg     string       // expected Algorithm()
		want    *s3err.Error // nil: success
		wantMsg string
	}{
		{name: "no digests", body: body9, o: plain(body9, nil)},
		{name: "unknown length", body: body9, o: Options{ContentLength: -1}},
		{name: "md5 good", body: body9, o: plain(body9, hdr("Content-MD5", md5Of9))},
		{name: "md5 bad", body: body9, o: plain(body9, hdr("Content-MD5", b64hex(strings.Repeat("00", 16)))), want: s3err.BadDigest, wantMsg: "Content-MD5"},
		{name: "md5 lower-case key", body: body9, o: plain(body9, http.Header{"content-md5": {md5Of9}})},
		{name: "sha256 payload good", body: body9, o: Options{ContentLength: 9, PayloadHash: sha256Of9}},
		{name: "sha256 payload bad", body: body9, o: Options{ContentLength: 9, PayloadHash: strings.Repeat("0", 64)}, want: s3err.XAmzContentSHA256Mismatch},
		{name: "sha256 payload upper-case hex", body: body9, o: Options{ContentLength: 9, PayloadHash: strings.ToUpper(sha256Of9)}},
		{name: "unsigned", body: body9, o: Options{ContentLength: 9, PayloadHash: UnsignedPayload}},
		{name: "sdk algorithm only", body: body9, o: plain(body9, hdr("x-amz-sdk-checksum-algorithm", "crc64nvme")), alg: store.CRC64NVME},
		{name: "sdk algorithm agrees", body: body9, o: plain(body9, hdr("x-amz-sdk-checksum-algorithm", "CRC32", "x-amz-checksum-crc32", sumsOf9[store.CRC32])), alg: store.CRC32},
		{name: "require none given", body: body9, o: Options{ContentLength: 9, RequireAlgorithm: store.SHA1}, alg: store.SHA1},
		{name: "require same given", body: body9, o: Options{Header: hdr("x-amz-checksum-sha1", sumsOf9[store.SHA1]), ContentLength: 9, RequireAlgorithm: store.SHA1}, alg: store.SHA1},
		{name: "require same bad", body: body9, o: Options{Header: hdr("x-amz-checksum-sha1", wrongSums[store.SHA1]), ContentLength: 9, RequireAlgorithm: store.SHA1}, alg: store.SHA1, want: s3err.BadDigest},
		{name: "sha256 checksum and payload", body: body9, o: Options{Header: hdr("x-amz-checksum-sha256", sumsOf9[store.SHA256]), ContentLength: 9, PayloadHash: sha256Of9}, alg: store.SHA256},
		{name: "sha256 checksum bad, payload good", body: body9, o: Options{Header: hdr("x-amz-checksum-sha256", wrongSums[store.SHA256]), ContentLength: 9, PayloadHash: sha256Of9}, alg: store.SHA256, want: s3err.BadDigest},
		{name: "checksum-mode and type headers ignored", body: body9, o: plain(body9, hdr("x-amz-checksum-mode", "ENABLED", "x-amz-checksum-type", "FULL_OBJECT", "x-amz-checksum-algorithm", "CRC32"))},
		{name: "short body", body: body9[:5], o: plain(body9, nil), want: s3err.IncompleteBody},
		{name: "long body", body: body9 + "0", o: plain(body9, nil), want: s3err.IncompleteBody},
		{name: "skip md5", body: body9, o: Options{ContentLength: 9, SkipMD5: true}},
		{name: "skip md5 with checksum", body: body9, o: Options{Header: hdr("x-amz-checksum-crc32c", sumsOf9[store.CRC32C]), ContentLength: 9, SkipMD5: true}, alg: store.CRC32C},
		{name: "skip md5, Content-MD5 still checked", body: body9, o: Options{Header: hdr("Content-MD5", md5Of9), ContentLength: 9, SkipMD5: true}},
		{name: "skip md5, bad Content-MD5", body: body9, o: Options{Header: hdr("Content-MD5", b64hex(strings.Repeat("00", 16))), ContentLength: 9, SkipMD5: true}, want: s3err.BadDigest, wantMsg: "Content-MD5"},
		{name: "empty body", body: "", o: plain("", hdr("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==", "x-amz-checksum-crc32", "AAAAAA==")), alg: store.CRC32},
	}
	for alg, v := range sumsOf9 {
		tests = append(tests,
			struct {
				name    string
				body    string
				o       Options
				alg     string
				want    *s3err.Error
				wantMsg string
			}{name: alg + " good", body: body9, o: plain(body9, hdr("x-amz-checksum-"+strings.ToLower(alg), v)), alg: alg},
			struct {
				name    string
				body    string
				o       Options
				alg     string
				want    *s3err.Error
				wantMsg string
			}{name: alg + " bad", body: body9, o: plain(body9, hdr("x-amz-checksum-"+strings.ToLower(alg), wrongSums[alg])), alg: alg,
				want: s3err.BadDigest, wantMsg: "The " + alg + " you specified did not match the calculated checksum."},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(strings.NewReader(tt.body), tt.o)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if r.Algorithm() != tt.alg {
				t.Errorf("Algorithm() = %q, want %q", r.Algorithm(), tt.alg)
			}
			if r.Size() != tt.o.ContentLength {
				t.Errorf("Size() = %d, want %d", r.Size(), tt.o.ContentLength)
			}
			got, err := readAll(r)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("read error %v, want %s", err, tt.want.Code)
				}
				if e := s3err.As(err); !strings.Contains(e.Message, tt.wantMsg) {
					t.Errorf("message %q does not contain %q", e.Message, tt.wantMsg)
				}
				if s := r.Sums(); s.MD5 != nil || s.Checksum.Algorithm != "" {
					t.Errorf("Sums after failure = %+v, want zero", s)
				}
				return
			}
			if err != nil {
				t.Fatalf("read error %v", err)
			}
			if string(got) != tt.body {
				t.Fatalf("read %q, want %q", got, tt.body)
			}
			s := r.Sums()
			switch {
			case tt.o.SkipMD5 && tt.o.Header.Get("Content-MD5") == "":
				if s.MD5 != nil {
					t.Errorf("MD5 = %x with SkipMD5 and no Content-MD5, want none", s.MD5)
				}
			case tt.body == body9:
				if m := base64.StdEncoding.EncodeToString(s.MD5); m != md5Of9 {
					t.Errorf("MD5 = %s, want %s", m, md5Of9)
				}
			}
			if tt.alg == "" {
				if s.Checksum != (store.Checksum{}) {
					t.Errorf("Checksum = %+v, want none", s.Checksum)
				}
			} else {
				want := store.Checksum{Algorithm: tt.alg, Type: store.FullObject, Value: sumsOf9[tt.alg]}
				if tt.body == "" {
					want.Value = "AAAAAA==" // CRC32 of nothing
				}
				if s.Checksum != want {
					t.Errorf("Checksum = %+v, want %+v", s.Checksum, want)
				}
			}
		})
	}
}

// errAfter yields data then fails with err.
type errAfter struct {
	data string
	err  error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if e.data == "" {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestReadErrors(t *testing.T) {
	gone := errors.New("connection reset by peer")
	sigErr := s3err.SignatureDoesNotMatch.WithMessage("chunk signature")
	tests := []struct {
		name  string
		src   io.Reader
		o     Options
		want  error
		exact bool // the very same error value
	}{
		{"unexpected EOF", &errAfter{"1234", io.ErrUnexpectedEOF}, plain(body9, nil), s3err.IncompleteBody, false},
		{"wrapped unexpected EOF", &errAfter{"1234", fmt.Errorf("read: %w", io.ErrUnexpectedEOF)}, plain(body9, nil), s3err.IncompleteBody, false},
		{"early EOF", &errAfter{"1234", io.EOF}, plain(body9, nil), s3err.IncompleteBody, false},
		{"client gone", &errAfter{"1234", gone}, plain(body9, nil), gone, true},
		{"s3 error from decoder", nil, Options{Header: hdr("x-amz-decoded-content-length", "9"), PayloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
			Decode: func(io.Reader) (io.Reader, func() http.Header) { return &errAfter{"12", sigErr}, nil }}, sigErr, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.src, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = readAll(r)
			if tt.exact && err != tt.want || !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			// sticky: every later Read returns the same error, reading nothing
			for range 3 {
				n, again := r.Read(make([]byte, 10))
				if n != 0 || again != err {
					t.Fatalf("later Read = %d, %v; want 0, %v", n, again, err)
				}
			}
		})
	}
}

func TestChunked(t *testing.T) {
	type tc struct {
		name    string
		encoded string
		h       http.Header
		hash    string
		require string
		alg     string
		want    *s3err.Error
		wantMsg string
	}
	trailer := func(alg string) http.Header {
		return hdr("x-amz-decoded-content-length", "9", "x-amz-trailer", "x-amz-checksum-"+strings.ToLower(alg))
	}
	tests := []tc{
		{name: "plain", encoded: encodeChunked(body9, 4), h: hdr("x-amz-decoded-content-length", "9")},
		{name: "md5 and header checksum", encoded: encodeChunked(body9, 2), h: hdr("x-amz-decoded-content-length", "9", "Content-MD5", md5Of9, "x-amz-checksum-crc32c", sumsOf9[store.CRC32C]), alg: store.CRC32C},
		{name: "signed payload hash", encoded: encodeChunked(body9, 4), h: hdr("x-amz-decoded-content-length", "9"), hash: sha256Of9},
		{name: "trailer missing", encoded: encodeChunked(body9, 4), h: trailer(store.CRC32), alg: store.CRC32, want: s3err.MalformedTrailer, wantMsg: "x-amz-checksum-crc32"},
		{name: "trailer other checksum", encoded: encodeChunked(body9, 4, "x-amz-checksum-crc32c:"+sumsOf9[store.CRC32C]), h: trailer(store.CRC32), alg: store.CRC32, want: s3err.MalformedTrailer},
		{name: "trailer invalid", encoded: encodeChunked(body9, 4, "x-amz-checksum-crc32:zzz"), h: trailer(store.CRC32), alg: store.CRC32, want: s3err.MalformedTrailer, wantMsg: "invalid"},
		{name: "trailer with sdk header", encoded: encodeChunked(body9, 4, "x-amz-checksum-crc32:"+sumsOf9[store.CRC32]),
			h: hdr("x-amz-decoded-content-length", "9", "x-amz-trailer", "x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm", "CRC32"), alg: store.CRC32},
		{name: "trailer required algorithm", encoded: encodeChunked(body9, 4, "x-amz-checksum-crc64nvme:"+sumsOf9[store.CRC64NVME]), h: trailer(store.CRC64NVME), require: store.CRC64NVME, alg: store.CRC64NVME},
		{name: "require without checksum", encoded: encodeChunked(body9, 4), h: hdr("x-amz-decoded-content-length", "9"), require: store.CRC32C, alg: store.CRC32C},
		{name: "decoded shorter", encoded: encodeChunked(body9[:8], 4), h: hdr("x-amz-decoded-content-length", "9"), want: s3err.IncompleteBody, wantMsg: "x-amz-decoded-content-length"},
		{name: "decoded longer", encoded: encodeChunked(body9+"0", 4), h: hdr("x-amz-decoded-content-length", "9"), want: s3err.IncompleteBody, wantMsg: "longer"},
		{name: "truncated framing", encoded: encodeChunked(body9, 4)[:12], h: hdr("x-amz-decoded-content-length", "9"), want: s3err.IncompleteBody},
		{name: "empty", encoded: encodeChunked("", 4, "x-amz-checksum-crc32:AAAAAA=="), h: hdr("x-amz-decoded-content-length", "0", "x-amz-trailer", "x-amz-checksum-crc32"), alg: store.CRC32},
	}
	for alg := range sumsOf9 {
		tests = append(tests,
			tc{name: "trailer " + alg + " good", encoded: encodeChunked(body9, 4, "x-amz-checksum-"+strings.ToLower(alg)+":"+sumsOf9[alg]), h: trailer(alg), alg: alg},
			tc{name: "trailer " + alg + " bad", encoded: encodeChunked(body9, 4, "x-amz-checksum-"+strings.ToLower(alg)+":"+wrongSums[alg]), h: trailer(alg), alg: alg,
				want: s3err.BadDigest, wantMsg: "The " + alg + " you specified did not match the calculated checksum."},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
			if tt.hash != "" {
				mode = tt.hash // not a real combination, but exercises sha256 over the decoded body
			}
			r, err := New(strings.NewReader(tt.encoded), Options{Header: tt.h, ContentLength: int64(len(tt.encoded)),
				PayloadHash: mode, Decode: decodeChunked, RequireAlgorithm: tt.require})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if r.Algorithm() != tt.alg {
				t.Errorf("Algorithm() = %q, want %q", r.Algorithm(), tt.alg)
			}
			want, _ := strconv.ParseInt(tt.h.Get("x-amz-decoded-content-length"), 10, 64)
			if r.Size() != want {
				t.Errorf("Size() = %d, want %d", r.Size(), want)
			}
			got, err := readAll(r)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("read error %v, want %s", err, tt.want.Code)
				}
				if e := s3err.As(err); !strings.Contains(e.Message, tt.wantMsg) {
					t.Errorf("message %q does not contain %q", e.Message, tt.wantMsg)
				}
				if _, again := r.Read(make([]byte, 4)); again != err {
					t.Errorf("later Read error %v, want %v", again, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("read error %v", err)
			}
			if want := tt.h.Get("x-amz-decoded-content-length"); strconv.Itoa(len(got)) != want {
				t.Fatalf("read %d bytes, want %s", len(got), want)
			}
			s := r.Sums()
			if len(got) == 9 && base64.StdEncoding.EncodeToString(s.MD5) != md5Of9 {
				t.Errorf("MD5 = %x", s.MD5)
			}
			if tt.alg != "" && len(got) == 9 && s.Checksum.Value != sumsOf9[tt.alg] {
				t.Errorf("Checksum = %+v, want %s", s.Checksum, sumsOf9[tt.alg])
			}
			if s.Checksum.Algorithm != tt.alg {
				t.Errorf("Checksum.Algorithm = %q, want %q", s.Checksum.Algorithm, tt.alg)
			}
			if _, again := r.Read(make([]byte, 4)); again != io.EOF {
				t.Errorf("Read after EOF = %v", again)
			}
		})
	}
}

func TestLargeBody(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	sum := sha256.Sum256(data)
	r, err := New(bytes.NewReader(data), Options{ContentLength: int64(len(data)), PayloadHash: hex.EncodeToString(sum[:]),
		Header: hdr("x-amz-sdk-checksum-algorithm", "SHA256")})
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("copied %d, %v", n, err)
	}
	if got := r.Sums().Checksum.Value; got != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("SHA256 checksum %s", got)
	}
}

// endless is a body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

func TestReadDoesNotAllocate(t *testing.T) {
	for _, o := range []Options{
		{ContentLength: -1},
		{ContentLength: -1, PayloadHash: strings.Repeat("0", 64), Header: hdr("x-amz-checksum-crc64nvme", sumsOf9[store.CRC64NVME])},
		{ContentLength: -1, PayloadHash: strings.Repeat("0", 64), Header: hdr("x-amz-checksum-sha256", sumsOf9[store.SHA256])},
	} {
		r, err := New(endless{}, o)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 32<<10)
		if a := testing.AllocsPerRun(100, func() { r.Read(buf) }); a != 0 {
			t.Errorf("Read allocates %v times per call (%+v)", a, o)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	for _, alg := range []string{"", store.CRC32C, store.CRC64NVME, store.SHA256} {
		b.Run("alg="+alg, func(b *testing.B) {
			o := Options{ContentLength: -1, RequireAlgorithm: alg}
			r, err := New(endless{}, o)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 64<<10)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				r.Read(buf)
			}
		})
	}
}
