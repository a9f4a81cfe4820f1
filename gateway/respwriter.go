package gateway

import (
	"errors"
	"io"
	"net/http"
	"os"

	"github.com/lambda/storagecli/gateway/s3err"
)

// responseWriter records the status and bytes written while keeping the
// underlying writer's io.ReaderFrom (sendfile) and http.Flusher.
type responseWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	n           int64
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// ReadFrom lets io.Copy reach the connection's ReadFrom (sendfile for files).
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.n += n
	return n, err
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingReader counts the request body bytes read and turns failures of
// the transport (a malformed Transfer-Encoding: chunked body, a read
// timeout, a body over the embedding server's size limit, a client that went
// away) into the S3 errors AWS answers with: they are client mistakes, never
// an InternalError.
type countingReader struct {
	r io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		err = bodyReadError(err)
	}
	return n, err
}

// bodyReadError maps an error reading the request body to an *s3err.Error.
func bodyReadError(err error) error {
	if e := s3err.As(err); e != nil {
		return err
	}
	var mbe *http.MaxBytesError
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return s3err.IncompleteBody
	case errors.As(err, &mbe):
		return s3err.EntityTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &te) && te.Timeout():
		return s3err.RequestTimeout
	}
	return s3err.IncompleteBody.WithMessage("The request body could not be read: %v.", err)
}

func (c *countingReader) Close() error { return c.r.Close() }
