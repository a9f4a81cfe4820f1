package gateway

import (
	"io"
	"net/http"
	"strings"

	"github.com/lambda/storagecli/gateway/payload"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/sigv4"
	"github.com/lambda/storagecli/gateway/store"
)

// newObjectBody wraps the body of an object or part upload in the verifying
// payload reader: aws-chunked framing is decoded (chunk signatures checked),
// and the body's SHA-256, Content-MD5 and x-amz-checksum-* are verified as
// it is read. Its MD5 (the ETag) is computed only if the store needs it. It
// reads nothing itself, so a request refused here never transfers its body.
func (h *Handler) newObjectBody(r *http.Request, rc *reqContext, requireAlg string) (*payload.Reader, error) {
	return newBodyWith(r.Header, r.ContentLength, rc, requireAlg, store.MakesETags(h.opts.Store))
}

// newBodyWith is newObjectBody with the headers that describe the body.
func newBodyWith(hdr http.Header, contentLength int64, rc *reqContext, requireAlg string, skipMD5 bool) (*payload.Reader, error) {
	auth := rc.auth
	o := payload.Options{
		Header:           hdr,
		ContentLength:    contentLength,
		PayloadHash:      auth.PayloadHash,
		RequireAlgorithm: requireAlg,
		SkipMD5:          skipMD5,
	}
	if auth.Streaming() {
		o.Decode = func(body io.Reader) (io.Reader, func() http.Header) {
			cr := sigv4.NewChunkedReader(body, auth)
			return cr, cr.Trailer
		}
	}
	return payload.New(rc.body, o)
}

// readXMLBody reads and verifies a request document of at most max bytes.
// bodyChecksums says whether x-amz-checksum-<alg> headers describe the
// document (DeleteObjects, which may carry a CRC32 instead of Content-MD5)
// or, as on CompleteMultipartUpload, the object being made: those are not
// checked against the document.
func (h *Handler) readXMLBody(r *http.Request, rc *reqContext, max int64, bodyChecksums bool) ([]byte, error) {
	hdr := r.Header
	if !bodyChecksums {
		hdr = hdr.Clone()
		for k := range hdr {
			if objectChecksumHeader(k) {
				delete(hdr, k)
			}
		}
	}
	pr, err := newBodyWith(hdr, r.ContentLength, rc, "", true)
	if err != nil {
		return nil, err
	}
	if n := pr.Size(); n > max {
		return nil, s3err.MaxMessageLengthExceeded
	}
	data, err := io.ReadAll(io.LimitReader(pr, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, s3err.MaxMessageLengthExceeded
	}
	return data, nil
}

// objectChecksumHeader reports whether name is x-amz-checksum-<alg> (a
// checksum value, not -algorithm, -type or -mode) or
// x-amz-sdk-checksum-algorithm.
func objectChecksumHeader(name string) bool {
	lower := strings.ToLower(name)
	if lower == "x-amz-sdk-checksum-algorithm" {
		return true
	}
	suffix, ok := strings.CutPrefix(lower, "x-amz-checksum-")
	return ok && suffix != "algorithm" && suffix != "type" && suffix != "mode"
}
