package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// storeErrors is the one table from store sentinel errors to S3 errors.
var storeErrors = []struct {
	err error
	s3  *s3err.Error
}{
	{store.ErrNoSuchBucket, s3err.NoSuchBucket},
	{store.ErrBucketExists, s3err.BucketAlreadyOwnedByYou},
	{store.ErrBucketNotEmpty, s3err.BucketNotEmpty},
	{store.ErrInvalidBucketName, s3err.InvalidBucketName},
	{store.ErrNoSuchKey, s3err.NoSuchKey},
	{store.ErrInvalidKey, invalidKey},
	{store.ErrNoSuchUpload, s3err.NoSuchUpload},
	{store.ErrInvalidPart, s3err.InvalidPart},
	{store.ErrInvalidPartOrder, s3err.InvalidPartOrder},
	{store.ErrEntityTooSmall, s3err.EntityTooSmall},
	{store.ErrPreconditionFailed, s3err.PreconditionFailed},
	{store.ErrIncompleteBody, s3err.IncompleteBody},
	{store.ErrInvalidRange, s3err.InvalidRange},
	{store.ErrNotSupported, notSupported},
	{store.ErrConfigTooLarge, s3err.EntityTooLarge},
	{store.ErrNoSuchVersion, errNoSuchVersion},
	{store.ErrInvalidVersionID, errInvalidVersionID},
	{store.ErrMethodNotAllowed, s3err.MethodNotAllowed},
	{store.ErrObjectLocked, errLockedVersion},
	{store.ErrLockNeedsVersioning, errLockNeedsVersioning},
}

// notSupported answers what the order's store cannot do (upstream mode's
// limits, docs/upstream.md).
var notSupported = &s3err.Error{Code: "NotImplemented", Status: http.StatusNotImplemented,
	Message: "This operation is not supported by the order's storage (see the gateway's docs/upstream.md)."}

// invalidKey is the answer for keys the gateway refuses (see store.ValidKey).
var invalidKey = &s3err.Error{Code: "InvalidArgument", Status: http.StatusBadRequest,
	Message: "Object key must be 1 to 1024 bytes of valid UTF-8 without NUL, a leading '/', or '.' or '..' path segments."}

// toS3Error maps any error to the S3 error the client gets. Errors that are
// neither S3 errors nor store sentinels are internal failures.
func toS3Error(err error) (e *s3err.Error, internal bool) {
	if e := s3err.As(err); e != nil {
		return e, false
	}
	for _, m := range storeErrors {
		if errors.Is(err, m.err) {
			return m.s3, false
		}
	}
	if errors.Is(err, context.Canceled) {
		return s3err.RequestTimeout, false
	}
	var u unavailable
	if errors.As(err, &u) && u.Unavailable() {
		return s3err.ServiceUnavailable, false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return insufficientStorage, false
	}
	return s3err.InternalError, true
}

// insufficientStorage answers a write the disk (or the filesystem quota)
// has no room for. 507 is retried by no AWS SDK, rclone or minio-go,
// unlike 500 InternalError or 503 SlowDown: a full disk is not emptied by
// the next attempt, so clients fail at once instead of hammering.
var insufficientStorage = &s3err.Error{Code: "InsufficientStorage", Status: http.StatusInsufficientStorage,
	Message: "The server has no room left to store this data: delete objects, or try again later."}

// unavailable is implemented by store errors meaning that the storage
// behind the store cannot be reached now (upstream.ErrUnavailable): the
// client gets 503 ServiceUnavailable and retries.
type unavailable interface{ Unavailable() bool }

// errorResponse is the XML body of an S3 error.
type errorResponse struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	Details    []detailXML
	BucketName string `xml:"BucketName,omitempty"`
	Key        string `xml:"Key,omitempty"`
	Resource   string `xml:"Resource,omitempty"`
	Region     string `xml:"Region,omitempty"`
	RequestID  string `xml:"RequestId"`
	HostID     string `xml:"HostId"`
}

// detailXML is an s3err.Detail as an XML element.
type detailXML struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// writeError writes err as an S3 XML error response.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, rc *reqContext, err error) {
	e, internal := toS3Error(err)
	if internal {
		h.opts.Logger.Error("internal error", zap.String("request_id", rc.id), zap.String("op", rc.op), zap.Error(err))
	} else if e == s3err.ServiceUnavailable || e == insufficientStorage {
		h.opts.Logger.Warn("storage unavailable", zap.String("request_id", rc.id), zap.String("op", rc.op), zap.Error(err))
	}
	rc.err = e.Code
	closeIfBodyUnasked(w, r, rc.body != nil && rc.body.n > 0)
	writeErrorResponse(w, r, e, errorResponse{BucketName: rc.bucket, Key: rc.key, RequestID: rc.id})
}

// WriteError answers r with e as an S3 XML error, with a new request id
// (also set as x-amz-request-id), which it returns. It is for servers that
// embed the gateway and refuse a request before it reaches a Handler.
func WriteError(w http.ResponseWriter, r *http.Request, e *s3err.Error) string {
	id := newRequestID()
	w.Header().Set("x-amz-request-id", id)
	w.Header().Set("x-amz-id-2", id)
	closeIfBodyUnasked(w, r, false)
	writeErrorResponse(w, r, e, errorResponse{RequestID: id})
	return id
}

// closeIfBodyUnasked makes the answer to r close the connection when r is
// an HTTP/1.1 request with `Expect: 100-continue` and a body of which
// nothing was read (bodyRead false). Such a client holds its body back until
// it is asked for it (net/http asks on the first read of the body), so the
// connection cannot carry another request after this answer.
//
// net/http closes such a connection by itself, but only when the request
// body is still its own 100-continue reader. Behind Caddy (≥ 2.11 wraps the
// body for read_body_idle, and for its access log) it does not recognise
// the body, and before sending the answer it waits to drain the body the
// client was never asked for: the client gets nothing until Caddy's idle
// timeout (a minute) breaks the connection. `Connection: close` tells
// net/http the connection ends with this answer, so it skips the drain.
// HTTP/2 and HTTP/3 end the stream instead and must not get the header (Go's
// HTTP/2 server would shut the whole connection down).
func closeIfBodyUnasked(w http.ResponseWriter, r *http.Request, bodyRead bool) {
	if !bodyRead && r.ContentLength != 0 && r.ProtoMajor == 1 && r.ProtoMinor >= 1 && expectsContinue(r) {
		w.Header().Set("Connection", "close")
	}
}

// expectsContinue reports whether r asks for 100 Continue before sending
// its body.
func expectsContinue(r *http.Request) bool {
	for _, v := range r.Header.Values("Expect") {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "100-continue") {
				return true
			}
		}
	}
	return false
}

// writeErrorResponse writes e; body carries the request id and, if known,
// the bucket and key.
func writeErrorResponse(w http.ResponseWriter, r *http.Request, e *s3err.Error, body errorResponse) {
	hdr := w.Header()
	if e.Status == http.StatusNotModified {
		// A 304 has no body, so no Content-Type: it would describe the
		// (XML) error document instead of the object the client caches.
		w.WriteHeader(e.Status)
		return
	}
	hdr.Set("Content-Type", "application/xml")
	if e.Status == http.StatusServiceUnavailable {
		hdr.Set("Retry-After", "1")
	}
	body.Code, body.Message, body.Resource, body.Region, body.HostID = e.Code, e.Message, r.URL.Path, e.Region, body.RequestID
	for _, d := range e.Details {
		body.Details = append(body.Details, detailXML{xml.Name{Local: d.Name}, d.Value})
	}
	w.WriteHeader(e.Status)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(body)
}

// writeXML writes v as a 200 XML response.
func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}
