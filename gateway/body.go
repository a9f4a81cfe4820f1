package gateway

import (
	"io"
	"net/http"

	"github.com/lambda/storagecli/gateway/payload"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/sigv4"
)

// newBody wraps the request body in the verifying payload reader: aws-chunked
// framing is decoded (chunk signatures checked), and the body's SHA-256,
// Content-MD5 and x-amz-checksum-* are verified as it is read. It reads
// nothing itself, so a request refused here never transfers its body.
func newBody(r *http.Request, rc *reqContext, requireAlg string) (*payload.Reader, error) {
	auth := rc.auth
	o := payload.Options{
		Header:           r.Header,
		ContentLength:    r.ContentLength,
		PayloadHash:      auth.PayloadHash,
		RequireAlgorithm: requireAlg,
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
func (h *Handler) readXMLBody(r *http.Request, rc *reqContext, max int64) ([]byte, error) {
	pr, err := newBody(r, rc, "")
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
