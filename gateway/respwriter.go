package gateway

import (
	"errors"
	"io"
	"net/http"

	"github.com/lambda/storagecli/gateway/s3err"
)

// responseWriter records the status and bytes written while keeping the
// underlying writer's io.ReaderFrom (sendfile) and http.Flusher.
type responseWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	n           int64
	dl          *deadlines // write deadlines, reset before every chunk
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
	var total int
	for len(p) > 0 {
		chunk := p[:min(len(p), writeChunk)]
		w.dl.beforeWrite()
		n, err := w.ResponseWriter.Write(chunk)
		total += n
		w.n += int64(n)
		if err != nil {
			return total, err
		}
		p = p[n:]
	}
	w.dl.afterWrite()
	return total, nil
}

// ReadFrom lets io.Copy reach the connection's ReadFrom (sendfile for
// files), writeChunk bytes per write deadline. An *io.LimitedReader over a
// file stays one (sendfile looks through a single one).
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if !ok {
		rf = readerFrom{w.ResponseWriter}
	}
	outer, _ := r.(*io.LimitedReader)
	var total int64
	for {
		chunk := &io.LimitedReader{R: r, N: writeChunk}
		if outer != nil {
			chunk.R, chunk.N = outer.R, min(outer.N, writeChunk)
		}
		w.dl.beforeWrite()
		n, err := rf.ReadFrom(chunk)
		total += n
		w.n += n
		if outer != nil {
			outer.N -= n
		}
		if err != nil || chunk.N > 0 || (outer != nil && outer.N <= 0) {
			w.dl.afterWrite()
			return total, err
		}
	}
}

// readerFrom gives a writer without ReadFrom one (a plain copy).
type readerFrom struct{ w io.Writer }

func (r readerFrom) ReadFrom(src io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{r.w}, src)
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		w.dl.beforeWrite()
		f.Flush()
		w.dl.afterWrite()
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
	r  io.ReadCloser
	n  int64
	dl *deadlines // the idle read deadline, reset before every read
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.dl.beforeRead()
	n, err := c.r.Read(p)
	c.dl.afterRead(err)
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
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return s3err.IncompleteBody
	case errors.As(err, &mbe):
		return s3err.EntityTooLarge
	case isTimeout(err):
		return s3err.RequestTimeout
	}
	return s3err.IncompleteBody.WithMessage("The request body could not be read: %v.", err)
}

func (c *countingReader) Close() error { return c.r.Close() }
