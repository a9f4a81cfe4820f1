package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
)

const docSeed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

func hmacHex(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// chunkSigner is a straightforward test encoder's signature chain.
type chunkSigner struct {
	key            [32]byte
	amzDate, scope string
	prev           string // hex of the previous signature
}

func (s *chunkSigner) chunk(data []byte) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + s.amzDate + "\n" + s.scope + "\n" + s.prev + "\n" + emptySHA256 + "\n" + sha256Hex(string(data))
	s.prev = hmacHex(s.key[:], sts)
	return s.prev
}

func (s *chunkSigner) trailer(canonical string) string {
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + s.amzDate + "\n" + s.scope + "\n" + s.prev + "\n" + sha256Hex(canonical)
	s.prev = hmacHex(s.key[:], sts)
	return s.prev
}

// testAuth returns an Auth for the S3 documentation's scope and a signer
// positioned at its seed signature.
func testAuth(mode string) (*Auth, *chunkSigner) {
	a := &Auth{
		AccessKey:   docAK,
		PayloadHash: mode,
		signingKey:  deriveKey(docSecret, "20130524", "us-east-1", "s3"),
		amzDate:     "20130524T000000Z",
		scope:       "20130524/us-east-1/s3/aws4_request",
		decodedLen:  -1,
	}
	hex.Decode(a.seed[:], []byte(docSeed))
	return a, &chunkSigner{key: a.signingKey, amzDate: a.amzDate, scope: a.scope, prev: docSeed}
}

type encOpts struct {
	chunkSize    int
	trailers     [][2]string // name, value
	minioTrailer bool        // minio-go's layout: "k:v\n" lines, "\r\n", signature, "\r\n\r\n"
}

// encode frames data as aws-chunked in the given mode.
func encode(mode string, s *chunkSigner, data []byte, o encOpts) []byte {
	if o.chunkSize == 0 {
		o.chunkSize = 64 << 10
	}
	var b bytes.Buffer
	signed := mode != StreamingUnsignedTrailer
	writeChunk := func(c []byte) {
		b.WriteString(strconv.FormatInt(int64(len(c)), 16))
		if signed {
			b.WriteString(";chunk-signature=" + s.chunk(c))
		}
		b.WriteString("\r\n")
		if len(c) > 0 {
			b.Write(c)
			b.WriteString("\r\n")
		}
	}
	for len(data) > 0 {
		n := min(o.chunkSize, len(data))
		writeChunk(data[:n])
		data = data[n:]
	}
	writeChunk(nil)
	switch mode {
	case StreamingSigned:
		b.WriteString("\r\n")
	case StreamingUnsignedTrailer:
		for _, kv := range o.trailers {
			b.WriteString(kv[0] + ":" + kv[1] + "\r\n")
		}
		b.WriteString("\r\n")
	case StreamingSignedTrailer:
		var canon strings.Builder
		for _, kv := range o.trailers {
			canon.WriteString(kv[0] + ":" + kv[1] + "\n")
		}
		sig := s.trailer(canon.String())
		if o.minioTrailer {
			b.WriteString(canon.String())
			b.WriteString("\r\nx-amz-trailer-signature:" + sig + "\r\n\r\n")
		} else {
			for _, kv := range o.trailers {
				b.WriteString(kv[0] + ":" + kv[1] + "\r\n")
			}
			b.WriteString("x-amz-trailer-signature:" + sig + "\r\n\r\n")
		}
	}
	return b.Bytes()
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// decode reads all of a decoded body through read, a function that reads
// from the ChunkedReader in some pattern.
func decode(t testing.TB, body io.Reader, a *Auth, read func(io.Reader) ([]byte, error)) ([]byte, http.Header, error) {
	t.Helper()
	cr := NewChunkedReader(body, a)
	got, err := read(cr)
	if err != nil {
		if s3err.As(err) == nil {
			t.Fatalf("error %T %v is not an *s3err.Error", err, err)
		}
		if cr.Trailer() != nil {
			t.Fatalf("Trailer() non-nil after error")
		}
		return got, nil, err
	}
	// Reads after EOF keep returning EOF.
	if n, err := cr.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("read after EOF: %d, %v", n, err)
	}
	return got, cr.Trailer(), nil
}

func readAll(r io.Reader) ([]byte, error) { return io.ReadAll(r) }

func readBytewise(r io.Reader) ([]byte, error) {
	var out []byte
	p := make([]byte, 1)
	for {
		n, err := r.Read(p)
		out = append(out, p[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func readHuge(r io.Reader) ([]byte, error) {
	var out []byte
	p := make([]byte, 200<<10) // larger than the bufio buffer: direct reads
	for {
		n, err := r.Read(p)
		out = append(out, p[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// The chunked upload example of the S3 documentation
// ("Signature Calculations for the Authorization Header: Transferring
// Payload in Multiple Chunks"): 65536 + 1024 bytes of 'a'.
func TestChunkedDocExample(t *testing.T) {
	data := bytes.Repeat([]byte{'a'}, 65536+1024)
	_, s := testAuth(StreamingSigned)
	body := encode(StreamingSigned, s, data, encOpts{chunkSize: 65536})
	want := "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" + strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" + strings.Repeat("a", 1024) + "\r\n" +
		"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
	if string(body) != want {
		t.Fatalf("test encoder does not reproduce the documented body")
	}
	if len(body) != 66824 {
		t.Fatalf("len = %d, documented Content-Length is 66824", len(body))
	}

	// The request itself, as documented, verified end to end.
	r := parseRaw(t,
		"PUT /examplebucket/chunkObject.txt HTTP/1.1",
		"Host: s3.amazonaws.com",
		"x-amz-date: 20130524T000000Z",
		"x-amz-storage-class: REDUCED_REDUNDANCY",
		"Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature="+docSeed,
		"x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
		"Content-Encoding: aws-chunked",
		"x-amz-decoded-content-length: 66560",
		"Content-Length: 66824",
	)
	v := &Verifier{Region: "us-east-1", Lookup: lookupOf(docAK, docSecret), Now: func() time.Time { return docTime }}
	auth, err := v.Verify(r)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, debugCanonical(t, v, r, ""))
	}
	if !auth.Streaming() || auth.PayloadHash != StreamingSigned || auth.decodedLen != 66560 {
		t.Fatalf("auth = %+v", auth)
	}

	readers := map[string]func([]byte) io.Reader{
		"plain":   func(b []byte) io.Reader { return bytes.NewReader(b) },
		"onebyte": func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"half":    func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
		"dataerr": func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
	}
	reads := map[string]func(io.Reader) ([]byte, error){"all": readAll, "bytewise": readBytewise, "huge": readHuge}
	for rn, mk := range readers {
		for pn, read := range reads {
			got, _, err := decode(t, mk(body), auth, read)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s/%s: err = %v, got %d bytes", rn, pn, err, len(got))
			}
		}
	}
	if err := iotest.TestReader(NewChunkedReader(bytes.NewReader(body), auth), data); err != nil {
		t.Fatal(err)
	}

	// Every structural boundary, and a stride, split into two reads.
	for k := 0; k <= len(body); k++ {
		if k > 200 && k < 65600 && k%997 != 0 || k > 65700 && k < len(body)-200 && k%997 != 0 {
			continue
		}
		got, _, err := decode(t, io.MultiReader(bytes.NewReader(body[:k]), bytes.NewReader(body[k:])), auth, readAll)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("split at %d: %v", k, err)
		}
	}

	// A signed declared length that does not match is refused.
	short := *auth
	short.decodedLen = 66559
	if _, _, err := decode(t, bytes.NewReader(body), &short, readAll); !errors.Is(err, s3err.IncompleteBody) {
		t.Fatalf("declared length too short: %v", err)
	}
	long := *auth
	long.decodedLen = 66561
	if _, _, err := decode(t, bytes.NewReader(body), &long, readAll); !errors.Is(err, s3err.IncompleteBody) {
		t.Fatalf("declared length too long: %v", err)
	}
}

// smallBodies returns a valid encoding of each mode with small chunks, so
// that every byte position can be tested.
func smallBodies() []struct {
	name string
	auth *Auth
	body []byte
	data []byte
	tr   http.Header
} {
	type B = struct {
		name string
		auth *Auth
		body []byte
		data []byte
		tr   http.Header
	}
	var out []B
	data := pattern(50)
	trailers := [][2]string{{"x-amz-checksum-crc32", "sOO8/Q=="}}
	wantTr := http.Header{"X-Amz-Checksum-Crc32": {"sOO8/Q=="}}
	for _, m := range []struct {
		name, mode string
		o          encOpts
		tr         http.Header
	}{
		{"signed", StreamingSigned, encOpts{chunkSize: 16}, nil},
		{"signed-empty", StreamingSigned, encOpts{chunkSize: 16}, nil},
		{"signed-trailer", StreamingSignedTrailer, encOpts{chunkSize: 16, trailers: trailers}, wantTr},
		{"signed-trailer-minio", StreamingSignedTrailer, encOpts{chunkSize: 16, trailers: trailers, minioTrailer: true}, wantTr},
		{"signed-trailer-two", StreamingSignedTrailer, encOpts{chunkSize: 20, trailers: [][2]string{{"x-amz-checksum-sha256", "abc="}, {"x-amz-meta-x", "y"}}},
			http.Header{"X-Amz-Checksum-Sha256": {"abc="}, "X-Amz-Meta-X": {"y"}}},
		{"unsigned-trailer", StreamingUnsignedTrailer, encOpts{chunkSize: 16, trailers: trailers}, wantTr},
		{"unsigned-no-trailer", StreamingUnsignedTrailer, encOpts{chunkSize: 16}, nil},
	} {
		a, s := testAuth(m.mode)
		d := data
		if strings.HasSuffix(m.name, "empty") {
			d = nil
		}
		out = append(out, B{m.name, a, encode(m.mode, s, d, m.o), d, m.tr})
	}
	return out
}

// smallChunks lets a test frame bodies in chunks under S3's 8 KiB minimum.
func smallChunks(t *testing.T) {
	old := minChunkSize
	minChunkSize = 1
	t.Cleanup(func() { minChunkSize = old })
}

func TestChunkedModes(t *testing.T) {
	smallChunks(t)
	for _, b := range smallBodies() {
		t.Run(b.name, func(t *testing.T) {
			for pn, read := range map[string]func(io.Reader) ([]byte, error){"all": readAll, "bytewise": readBytewise, "huge": readHuge} {
				got, tr, err := decode(t, iotest.OneByteReader(bytes.NewReader(b.body)), b.auth, read)
				if err != nil || !bytes.Equal(got, b.data) {
					t.Fatalf("%s: err = %v, got %q", pn, err, got)
				}
				if fmt.Sprint(tr) != fmt.Sprint(b.tr) {
					t.Fatalf("trailer = %v, want %v", tr, b.tr)
				}
			}
			// Split at every position.
			for k := 0; k <= len(b.body); k++ {
				got, _, err := decode(t, io.MultiReader(bytes.NewReader(b.body[:k]), iotest.HalfReader(bytes.NewReader(b.body[k:]))), b.auth, readAll)
				if err != nil || !bytes.Equal(got, b.data) {
					t.Fatalf("split at %d: %v", k, err)
				}
			}
			// Truncated at every position: an error, never io.EOF.
			for k := 0; k < len(b.body); k++ {
				_, _, err := decode(t, bytes.NewReader(b.body[:k]), b.auth, readAll)
				if !errors.Is(err, s3err.IncompleteBody) {
					t.Fatalf("truncated at %d of %d: err = %v", k, len(b.body), err)
				}
				_, _, err = decode(t, iotest.DataErrReader(bytes.NewReader(b.body[:k])), b.auth, readBytewise)
				if !errors.Is(err, s3err.IncompleteBody) {
					t.Fatalf("truncated at %d (bytewise): err = %v", k, err)
				}
			}
			// Every single flipped bit in a signed body is detected (for the
			// unsigned mode only framing damage can be).
			if b.auth.PayloadHash == StreamingUnsignedTrailer {
				return
			}
			for k := 0; k < len(b.body); k++ {
				bad := bytes.Clone(b.body)
				bad[k] ^= 0x01
				got, tr, err := decode(t, bytes.NewReader(bad), b.auth, readAll)
				if err == nil && (!bytes.Equal(got, b.data) || fmt.Sprint(tr) != fmt.Sprint(b.tr)) {
					t.Fatalf("flipped bit at %d (%q) accepted: got %q, trailer %v", k, b.body[k], got, tr)
				}
			}
		})
	}
}

func TestChunkedErrors(t *testing.T) {
	smallChunks(t)
	data := pattern(100)
	sigBody := func(mode string, o encOpts) (*Auth, []byte) {
		a, s := testAuth(mode)
		return a, encode(mode, s, data, o)
	}
	replace := func(b []byte, old, new string, n int) []byte {
		return []byte(strings.Replace(string(b), old, new, n))
	}
	a, body := sigBody(StreamingSigned, encOpts{chunkSize: 40})
	at, bodyT := sigBody(StreamingSignedTrailer, encOpts{chunkSize: 40, trailers: [][2]string{{"x-amz-checksum-crc32", "AAAAAA=="}}})
	au, _ := testAuth(StreamingUnsignedTrailer)
	sigs := func(b []byte) []string {
		var out []string
		for _, l := range strings.Split(string(b), "\r\n") {
			if _, s, ok := strings.Cut(l, "chunk-signature="); ok {
				out = append(out, s)
			}
		}
		return out
	}
	flip := func(s string) string {
		c := []byte(s)
		c[5] ^= 1
		return string(c)
	}
	chunkSigs := sigs(body)
	if len(chunkSigs) != 4 {
		t.Fatalf("want 4 chunk signatures, got %d", len(chunkSigs))
	}
	_, trSig, _ := strings.Cut(string(bodyT), "x-amz-trailer-signature:")
	trSig = trSig[:64]
	hugeLine := "1" + strings.Repeat("0", 5000) + ";chunk-signature=" + chunkSigs[0] + "\r\n"
	cases := []struct {
		name string
		auth *Auth
		body []byte
		want *s3err.Error
		max  int // at most this many decoded bytes may be returned before the error
	}{
		{"bad first chunk signature", a, replace(body, chunkSigs[0], flip(chunkSigs[0]), 1), s3err.SignatureDoesNotMatch, 39},
		{"bad middle chunk signature", a, replace(body, chunkSigs[1], flip(chunkSigs[1]), 1), s3err.SignatureDoesNotMatch, 79},
		{"bad final signature", a, replace(body, chunkSigs[3], flip(chunkSigs[3]), 1), s3err.SignatureDoesNotMatch, 100},
		{"uppercase signature is the same signature", a, replace(body, chunkSigs[0], strings.ToUpper(chunkSigs[0]), 1), nil, 100},
		{"chunks swapped", a, func() []byte {
			parts := strings.SplitAfter(string(body), "\r\n")
			// header0 data0 header1 data1 ...: swap chunk 0 and 1
			return []byte(parts[2] + parts[3] + parts[0] + parts[1] + strings.Join(parts[4:], ""))
		}(), s3err.SignatureDoesNotMatch, 39},
		{"modified data", a, replace(body, string(data[45:50]), "XXXXX", 1), s3err.SignatureDoesNotMatch, 79},
		{"missing chunk signature", a, replace(body, ";chunk-signature="+chunkSigs[0], "", 1), s3err.IncompleteBody, 0},
		{"short chunk signature", a, replace(body, chunkSigs[0], chunkSigs[0][:63], 1), s3err.IncompleteBody, 0},
		{"non-hex chunk signature", a, replace(body, chunkSigs[0], "z"+chunkSigs[0][1:], 1), s3err.IncompleteBody, 0},
		{"non-hex size", a, []byte("xyz;chunk-signature=" + chunkSigs[0] + "\r\n"), s3err.IncompleteBody, 0},
		{"empty size", a, []byte(";chunk-signature=" + chunkSigs[0] + "\r\n"), s3err.IncompleteBody, 0},
		{"oversized size line", a, []byte(hugeLine), s3err.IncompleteBody, 0},
		{"line longer than the buffer", a, bytes.Repeat([]byte{'1'}, 100<<10), s3err.IncompleteBody, 0},
		{"chunk larger than 5 GiB", a, []byte("140000001;chunk-signature=" + chunkSigs[0] + "\r\n"), s3err.IncompleteBody, 0},
		{"size with leading zeros", a, replace(body, "28;chunk-signature="+chunkSigs[0], "0000000000000000000000000028;chunk-signature="+chunkSigs[0], 1), nil, 100},
		{"data longer than size", a, replace(body, "\r\n28;", "XX\r\n28;", 1), s3err.IncompleteBody, 40},
		{"garbage after final chunk", a, append(bytes.TrimSuffix(body, []byte("\r\n")), "junk\r\n"...), s3err.IncompleteBody, 100},
		{"empty body", a, nil, s3err.IncompleteBody, 0},
		{"bad trailer signature", at, replace(bodyT, trSig, flip(trSig), 1), s3err.SignatureDoesNotMatch, 100},
		{"modified trailer value", at, replace(bodyT, "AAAAAA==", "AAAAAB==", 1), s3err.SignatureDoesNotMatch, 100},
		{"added trailer", at, replace(bodyT, "x-amz-trailer-signature", "x-amz-meta-evil:1\r\nx-amz-trailer-signature", 1), s3err.SignatureDoesNotMatch, 100},
		{"missing trailer signature", at, replace(bodyT, "x-amz-trailer-signature:"+trSig+"\r\n", "", 1), s3err.IncompleteBody, 100},
		{"duplicate trailer signature", at, replace(bodyT, "x-amz-trailer-signature:"+trSig+"\r\n", "x-amz-trailer-signature:"+trSig+"\r\nx-amz-trailer-signature:"+trSig+"\r\n", 1), s3err.MalformedTrailer, 100},
		{"trailer line without colon", at, replace(bodyT, "x-amz-checksum-crc32:", "x-amz-checksum-crc32 ", 1), s3err.MalformedTrailer, 100},
		{"trailer too large", au, []byte("0\r\n" + strings.Repeat("x-amz-meta-a:"+strings.Repeat("b", 1000)+"\r\n", 20) + "\r\n"), s3err.MalformedTrailer, 0},
		{"unsigned: bad size", au, []byte("5x\r\nhello\r\n0\r\n\r\n"), s3err.IncompleteBody, 0},
		{"unsigned: extension ignored", au, []byte("5;ext=1\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"), nil, 5},
		{"unsigned: trailer signature ignored", au, []byte("5\r\nhello\r\n0\r\nx-amz-trailer-signature:abc\r\n\r\n"), nil, 5},
		{"not streaming", &Auth{PayloadHash: UnsignedPayload}, body, s3err.InternalError, 0},
		{"nil auth", nil, body, s3err.InternalError, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for pn, read := range map[string]func(io.Reader) ([]byte, error){"all": readAll, "bytewise": readBytewise} {
				got, _, err := decode(t, bytes.NewReader(tc.body), tc.auth, read)
				if tc.want == nil {
					if err != nil {
						t.Fatalf("%s: unexpected error %v", pn, err)
					}
					continue
				}
				if !errors.Is(err, tc.want) {
					t.Fatalf("%s: err = %v, want %s", pn, err, tc.want.Code)
				}
				if len(got) > tc.max {
					t.Fatalf("%s: %d bytes returned before the error, want at most %d", pn, len(got), tc.max)
				}
				for _, s := range append(chunkSigs, docSecret, trSig) {
					if strings.Contains(err.Error(), s) {
						t.Fatalf("error message leaks a signature or secret: %v", err)
					}
				}
			}
		})
	}
}

func TestChunkedBodyReadErrors(t *testing.T) {
	a, s := testAuth(StreamingSigned)
	body := encode(StreamingSigned, s, pattern(10), encOpts{})
	for _, tc := range []struct {
		err  error
		want *s3err.Error
	}{
		{s3err.RequestTimeout, s3err.RequestTimeout},
		{&http.MaxBytesError{Limit: 5}, s3err.EntityTooLarge},
		{iotest.ErrTimeout, s3err.IncompleteBody},
		{io.ErrUnexpectedEOF, s3err.IncompleteBody},
	} {
		r := io.MultiReader(bytes.NewReader(body[:20]), iotest.ErrReader(tc.err))
		_, _, err := decode(t, r, a, readAll)
		if !errors.Is(err, tc.want) {
			t.Errorf("%v: err = %v, want %s", tc.err, err, tc.want.Code)
		}
	}
}

// Only the last data chunk may be under 8 KiB, in every mode (S3's
// InvalidChunkSizeError); chunks of 8 KiB and a small last one pass.
func TestChunkedChunkSize(t *testing.T) {
	data := pattern(3*8192 + 5)
	for _, mode := range []string{StreamingSigned, StreamingSignedTrailer, StreamingUnsignedTrailer} {
		for _, c := range []struct {
			data  []byte
			chunk int
			want  *s3err.Error
		}{
			{data, 8192, nil},
			{data, 64 << 10, nil},
			{data[:100], 100, nil},
			{data[:8191], 8191, nil},
			{data, 8191, s3err.InvalidChunkSize},
			{data[:2000], 1000, s3err.InvalidChunkSize},
		} {
			a, s := testAuth(mode)
			body := encode(mode, s, c.data, encOpts{chunkSize: c.chunk})
			got, _, err := decode(t, bytes.NewReader(body), a, readAll)
			if c.want == nil && (err != nil || !bytes.Equal(got, c.data)) {
				t.Errorf("%s, %d bytes in chunks of %d: %v", mode, len(c.data), c.chunk, err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("%s, %d bytes in chunks of %d: err %v, want %s", mode, len(c.data), c.chunk, err, c.want.Code)
			}
		}
	}
}

// In steady state a Read allocates nothing.
func TestChunkedZeroAlloc(t *testing.T) {
	for _, mode := range []string{StreamingSigned, StreamingUnsignedTrailer} {
		a, s := testAuth(mode)
		body := encode(mode, s, pattern(300*4096), encOpts{chunkSize: 8192})
		cr := NewChunkedReader(bytes.NewReader(body), a)
		p := make([]byte, 4096)
		for range 3 {
			if _, err := io.ReadFull(cr, p); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := io.ReadFull(cr, p); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per chunk", mode, allocs)
		}
	}
}

func BenchmarkChunkedReader(b *testing.B) {
	data := pattern(8 << 20)
	a, s := testAuth(StreamingSigned)
	body := encode(StreamingSigned, s, data, encOpts{})
	p := make([]byte, 32<<10)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		cr := NewChunkedReader(bytes.NewReader(body), a)
		for {
			_, err := cr.Read(p)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// randomReader returns reads of random sizes up to max bytes.
type randomReader struct {
	r   io.Reader
	rng *rand.Rand
	max int
}

func (r *randomReader) Read(p []byte) (int, error) {
	if n := 1 + r.rng.IntN(r.max); len(p) > n {
		p = p[:n]
	}
	return r.r.Read(p)
}

// Large chunks are read mostly past the buffer (see largeChunk): every mode,
// chunk sizes around the threshold and the buffer size, whatever the sizes
// of the body's reads and of the caller's buffer.
func TestChunkedLargeChunks(t *testing.T) {
	data := pattern(700<<10 + 13)
	trailers := [][2]string{{"x-amz-checksum-crc32", "sOO8/Q=="}}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mode := range []string{StreamingSigned, StreamingSignedTrailer, StreamingUnsignedTrailer} {
		for _, cs := range []int{largeChunk - 1, largeChunk, 64 << 10, chunkBufSize + 1, 200 << 10} {
			a, s := testAuth(mode)
			a.decodedLen = int64(len(data))
			body := encode(mode, s, data, encOpts{chunkSize: cs, trailers: trailers})
			for _, srcMax := range []int{7, 1000, 5000, 80 << 10, 1 << 20} {
				for pn, read := range map[string]func(io.Reader) ([]byte, error){"all": readAll, "huge": readHuge} {
					src := &randomReader{r: bytes.NewReader(body), rng: rng, max: srcMax}
					got, _, err := decode(t, src, a, read)
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("%s chunk %d, reads ≤%d, %s: err %v, %d bytes", mode, cs, srcMax, pn, err, len(got))
					}
				}
			}
			if mode == StreamingUnsignedTrailer {
				continue
			}
			// A flipped data bit in a later chunk is still caught.
			bad := bytes.Clone(body)
			bad[len(bad)-cs/2] ^= 1
			if _, _, err := decode(t, &randomReader{r: bytes.NewReader(bad), rng: rng, max: 5000}, a, readAll); err == nil {
				t.Fatalf("%s chunk %d: flipped bit accepted", mode, cs)
			}
		}
	}
}
