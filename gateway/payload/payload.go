// Package payload is the request-body pipeline of PutObject and UploadPart:
// the one place the gateway hashes a body. A Reader decodes aws-chunked
// framing (through the handler's decoder), counts the decoded bytes against
// the declared length, and computes in one pass the MD5 (for the ETag; left
// out with SkipMD5 when the store makes its own ETags), the
// SHA-256 (only when the client signed a hex payload hash) and the requested
// S3 checksum; at the end of the body it compares them with what the client
// declared and returns an *s3err.Error instead of io.EOF on any mismatch.
package payload

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/lambda/storagecli/gateway/checksum"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// UnsignedPayload is the x-amz-content-sha256 value of a body whose hash the
// client did not sign.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// Request headers read by New.
const (
	hdrContentMD5        = "Content-Md5"
	hdrDecodedLength     = "X-Amz-Decoded-Content-Length"
	hdrTrailer           = "X-Amz-Trailer"
	hdrSDKAlgorithm      = "X-Amz-Sdk-Checksum-Algorithm"
	checksumHeaderPrefix = "x-amz-checksum-"
)

// Options describe the body (the handler fills them from the authenticated
// request).
type Options struct {
	// Header holds the request headers.
	Header http.Header
	// ContentLength is r.ContentLength (-1 unknown).
	ContentLength int64
	// PayloadHash is the x-amz-content-sha256 value: 64 hex digits (the
	// body's SHA-256 is then verified), "UNSIGNED-PAYLOAD", or a STREAMING-*
	// mode; "" means unsigned.
	PayloadHash string
	// Decode, when the body is aws-chunked, is the framing decoder to read
	// through; it returns the decoded stream and a func giving the trailing
	// headers after EOF. nil when not streaming. (The handler builds it from
	// sigv4.NewChunkedReader.) New calls it once, after validating the
	// headers; it must not read from the body itself.
	Decode func(io.Reader) (io.Reader, func() http.Header)
	// RequireAlgorithm, for UploadPart of an upload created with a checksum
	// algorithm, is the algorithm every part must carry: a part declaring
	// another one is refused, a part declaring none gets it computed.
	RequireAlgorithm string
	// SkipMD5 leaves the body's MD5 out of the Sums (nil) unless the
	// client sent Content-MD5, which is always checked.
	SkipMD5 bool
}

// Reader is a request body that verifies itself: Read returns an
// *s3err.Error instead of io.EOF when the body does not match what the
// client declared. It is not safe for concurrent use.
type Reader struct {
	src     io.Reader
	trailer func() http.Header // nil unless aws-chunked
	chunked bool
	size    int64 // declared decoded length, -1 unknown
	n       int64 // decoded bytes read so far

	md5     hash.Hash // nil: SkipMD5 and no Content-MD5
	wantMD5 []byte    // nil: no Content-MD5

	sha     hash.Hash // nil unless PayloadHash is hex
	wantSHA []byte

	alg         string    // checksum algorithm, "" none
	ck          hash.Hash // nil when alg == ""
	ckIsSHA     bool      // ck is sha (SHA256 checksum of a signed body): write once
	wantCk      []byte    // value from an x-amz-checksum-* header, nil if none
	trailerName string    // x-amz-checksum-* header expected in the trailer, "" if none

	err  error // sticky: io.EOF after success, else the failure
	sums store.Sums
}

// New validates the declared digests and lengths before anything is read (so
// a bad request is refused before the body is transferred) and returns the
// verifying reader. Errors are *s3err.Error values.
func New(body io.Reader, o Options) (*Reader, error) {
	r := &Reader{size: -1}

	if vs := headerValues(o.Header, hdrContentMD5); vs != nil {
		if len(vs) != 1 || !decodeB64(vs[0], md5.Size) {
			return nil, s3err.InvalidDigest.WithMessage("The Content-MD5 you specified is not valid.")
		}
		r.wantMD5, _ = base64.StdEncoding.DecodeString(vs[0])
	}
	if r.wantMD5 != nil || !o.SkipMD5 {
		r.md5 = md5.New()
	}

	switch ph := o.PayloadHash; {
	case ph == "" || ph == UnsignedPayload:
	case strings.HasPrefix(ph, "STREAMING-"):
		if o.Decode == nil {
			return nil, s3err.NotImplemented.WithMessage("The x-amz-content-sha256 mode %s is not supported for this request.", ph)
		}
	default:
		sum, err := hex.DecodeString(ph)
		if err != nil || len(sum) != sha256.Size {
			return nil, s3err.InvalidArgument.WithMessage("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* mode, or a valid sha256 value.")
		}
		r.sha, r.wantSHA = sha256.New(), sum
	}

	if o.Decode != nil {
		r.chunked = true
		vs := headerValues(o.Header, hdrDecodedLength)
		if len(vs) == 0 {
			return nil, s3err.MissingContentLength.WithMessage("You must provide the x-amz-decoded-content-length HTTP header.")
		}
		n, err := strconv.ParseInt(strings.TrimSpace(vs[0]), 10, 64)
		if len(vs) != 1 || err != nil || n < 0 {
			return nil, s3err.InvalidArgument.WithMessage("The x-amz-decoded-content-length header is not valid.")
		}
		r.size = n
	} else if o.ContentLength >= 0 {
		r.size = o.ContentLength
	}

	if err := r.setChecksum(o); err != nil {
		return nil, err
	}

	r.src = body
	if o.Decode != nil {
		r.src, r.trailer = o.Decode(body)
	}
	return r, nil
}

// setChecksum works out the checksum algorithm and the declared value.
func (r *Reader) setChecksum(o Options) error {
	var (
		alg, value  string
		count       int
		fromTrailer bool
	)
	for k, vs := range o.Header {
		a, ok := checksumHeader(k)
		if !ok {
			continue
		}
		if a == "" {
			return unsupported()
		}
		count += len(vs)
		alg = a
		if len(vs) > 0 {
			value = vs[0]
		}
	}
	for _, v := range headerValues(o.Header, hdrTrailer) {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			a, ok := checksumHeader(name)
			if !ok {
				continue // not a checksum; the signature layer deals with it
			}
			if a == "" {
				return unsupported()
			}
			count++
			alg, fromTrailer = a, true
		}
	}
	if count > 1 {
		return s3err.InvalidRequest.WithMessage("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	}
	if fromTrailer && o.Decode == nil {
		return s3err.InvalidRequest.WithMessage("The x-amz-trailer header requires an aws-chunked request body.")
	}
	if vs := headerValues(o.Header, hdrSDKAlgorithm); len(vs) > 0 && vs[0] != "" {
		sdk := strings.ToUpper(strings.TrimSpace(vs[0]))
		switch {
		case !checksum.Valid(sdk):
			return unsupported()
		case alg != "" && alg != sdk:
			// As S3: the request contradicts itself (BadDigest is for a
			// value that does not match the body).
			return s3err.InvalidRequest.WithMessage("Value for x-amz-sdk-checksum-algorithm header is invalid.")
		}
		alg = sdk
	}
	if req := o.RequireAlgorithm; req != "" {
		if !checksum.Valid(req) {
			return s3err.InternalError.WithMessage("The upload's checksum algorithm %q is not supported.", req)
		}
		if alg != "" && alg != req {
			return s3err.InvalidRequest.WithMessage("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s",
				strings.ToLower(req), strings.ToLower(alg))
		}
		alg = req
	}
	if alg == "" {
		return nil
	}

	switch {
	case fromTrailer:
		r.trailerName = checksum.HeaderName(alg)
	case count == 1:
		want := make([]byte, checksum.Size(alg))
		if !checksum.DecodeValue(alg, value, want) {
			return s3err.InvalidRequest.WithMessage("Value for %s header is invalid.", checksum.HeaderName(alg))
		}
		r.wantCk = want
	}
	r.alg = alg
	if alg == store.SHA256 && r.sha != nil {
		r.ck, r.ckIsSHA = r.sha, true
		return nil
	}
	r.ck, _ = checksum.New(alg)
	return nil
}

// checksumHeader reports whether name is an x-amz-checksum-<alg> header
// (not -algorithm, -type or -mode) and, if so, its algorithm ("" when the
// algorithm is not supported).
func checksumHeader(name string) (alg string, ok bool) {
	if len(name) <= len(checksumHeaderPrefix) || !strings.EqualFold(name[:len(checksumHeaderPrefix)], checksumHeaderPrefix) {
		return "", false
	}
	switch suffix := name[len(checksumHeaderPrefix):]; {
	case strings.EqualFold(suffix, "algorithm"), strings.EqualFold(suffix, "type"), strings.EqualFold(suffix, "mode"):
		return "", false
	}
	return checksum.FromHeaderName(name), true
}

func unsupported() error {
	return checksum.ErrUnsupported
}

// headerValues returns the values of the named header: canonical key
// first, then any other spelling (for hand-built headers); nil if absent.
func headerValues(h http.Header, name string) []string {
	if h == nil {
		return nil
	}
	if vs, ok := h[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return vs
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
}

// decodeB64 reports whether s is standard padded base64 of exactly n bytes.
func decodeB64(s string, n int) bool {
	if len(s) != base64.StdEncoding.EncodedLen(n) {
		return false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == n
}

// Read reads decoded body bytes, hashing them as they pass. At the end of the
// body it returns io.EOF if everything the client declared matched, else an
// *s3err.Error (BadDigest, XAmzContentSHA256Mismatch, IncompleteBody, ...).
// Errors of the decoder that are *s3err.Error pass through unchanged, and so
// do other read errors (such as the client going away), except that
// io.ErrUnexpectedEOF (a truncated body) becomes IncompleteBody. Once an
// error is returned, every later Read returns the same error.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := r.src.Read(p)
	if n > 0 {
		if r.size >= 0 && r.n+int64(n) > r.size {
			return 0, r.fail(r.tooLong())
		}
		r.n += int64(n)
		b := p[:n]
		if r.md5 != nil {
			r.md5.Write(b)
		}
		if r.sha != nil {
			r.sha.Write(b)
		}
		if r.ck != nil && !r.ckIsSHA {
			r.ck.Write(b)
		}
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		if err := r.finish(); err != nil {
			return n, r.fail(err)
		}
		r.err = io.EOF
		return n, io.EOF
	case s3err.As(err) == nil && errors.Is(err, io.ErrUnexpectedEOF):
		return n, r.fail(r.short())
	default:
		return n, r.fail(err)
	}
}

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

func (r *Reader) short() error {
	if r.chunked {
		return s3err.IncompleteBody.WithMessage("You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header.")
	}
	return s3err.IncompleteBody
}

func (r *Reader) tooLong() error {
	if r.chunked {
		return s3err.IncompleteBody.WithMessage("The decoded body is longer than the x-amz-decoded-content-length HTTP header says.")
	}
	return s3err.IncompleteBody.WithMessage("The request body is longer than the Content-Length HTTP header says.")
}

// finish checks the length and the digests at the end of the body and
// records the sums.
func (r *Reader) finish() error {
	if r.size >= 0 && r.n != r.size {
		return r.short()
	}
	var buf [sha256.Size]byte
	if got := buf[:0]; r.sha != nil && !bytes.Equal(r.sha.Sum(got), r.wantSHA) {
		return s3err.XAmzContentSHA256Mismatch.With("ClientComputedContentSHA256", hex.EncodeToString(r.wantSHA)).
			With("S3ComputedContentSHA256", hex.EncodeToString(r.sha.Sum(got)))
	}
	var sumMD5 []byte
	if r.md5 != nil {
		sumMD5 = r.md5.Sum(nil)
	}
	if r.wantMD5 != nil && !bytes.Equal(sumMD5, r.wantMD5) {
		return s3err.BadDigest.WithMessage("The Content-MD5 you specified did not match what we received.")
	}
	var ck store.Checksum
	if r.ck != nil {
		got := r.ck.Sum(buf[:0])
		want := r.wantCk
		if r.trailerName != "" {
			var t http.Header
			if r.trailer != nil {
				t = r.trailer()
			}
			vs := headerValues(t, r.trailerName)
			if len(vs) == 0 || vs[0] == "" {
				return s3err.MalformedTrailer.WithMessage("The %s trailing header declared in x-amz-trailer is missing.", r.trailerName)
			}
			want = make([]byte, len(got))
			if len(vs) != 1 || !checksum.DecodeValue(r.alg, strings.TrimSpace(vs[0]), want) {
				return s3err.MalformedTrailer.WithMessage("Value for %s trailing header is invalid.", r.trailerName)
			}
		}
		if want != nil && !bytes.Equal(got, want) {
			return s3err.BadDigest.WithMessage("The %s you specified did not match the calculated checksum.", r.alg)
		}
		ck = store.Checksum{Algorithm: r.alg, Type: store.FullObject, Value: base64.StdEncoding.EncodeToString(got)}
	}
	r.sums = store.Sums{MD5: sumMD5, Checksum: ck}
	return nil
}

// Size is the declared decoded length: x-amz-decoded-content-length for
// aws-chunked bodies, else Content-Length; -1 if unknown.
func (r *Reader) Size() int64 { return r.size }

// Algorithm is the checksum algorithm in use ("" none): the one the client
// declared (header, trailer or x-amz-sdk-checksum-algorithm), else
// Options.RequireAlgorithm.
func (r *Reader) Algorithm() string { return r.alg }

// Sums returns the digests; valid after Read returned io.EOF (before that,
// or after an error, it returns the zero Sums). The checksum, when an
// algorithm is in use, has Type FULL_OBJECT (the checksum of this body).
// Its method value matches store.PutInput.Sums.
func (r *Reader) Sums() store.Sums { return r.sums }
