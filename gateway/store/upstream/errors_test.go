package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/gateway/store"
)

// TestMapErrTransport: failures to get an answer are recognised by their
// types and values (errors.Is / errors.As), however wrapped, and answers
// are never mistaken for them whatever their text says.
func TestMapErrTransport(t *testing.T) {
	s := &Store{}
	opErr := func(e error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", e)}
	}
	for _, tt := range []struct {
		name string
		err  error
		down bool  // want ErrUnavailable
		is   error // else, want this sentinel (nil: an internal error)
	}{
		{"refused dial", &url.Error{Op: "Put", URL: "http://h/b/k", Err: opErr(syscall.ECONNREFUSED)}, true, nil},
		{"reset while reading a body", fmt.Errorf("read: %w", syscall.ECONNRESET), true, nil},
		{"broken pipe", fmt.Errorf("write: %w", os.NewSyscallError("write", syscall.EPIPE)), true, nil},
		{"cut answer", fmt.Errorf("reading the answer: %w", io.ErrUnexpectedEOF), true, nil},
		{"EOF", io.EOF, true, nil},
		{"closed connection", fmt.Errorf("x: %w", net.ErrClosed), true, nil},
		{"no such host", &net.DNSError{Err: "no such host", Name: "h", IsNotFound: true}, true, nil},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), true, nil},
		{"503", minio.ErrorResponse{Code: "SlowDown", StatusCode: http.StatusServiceUnavailable}, true, nil},
		// Answers whose messages merely mention a connection failure.
		{"500 saying connection refused", minio.ErrorResponse{Code: "InternalError", StatusCode: 500,
			Message: "volume server: dial tcp: connection refused"}, false, nil},
		{"500 saying EOF", minio.ErrorResponse{Code: "InternalError", StatusCode: 500, Message: "unexpected EOF"}, false, nil},
		{"404 of a key named EOF", minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404, Key: "EOF broken pipe",
			Message: "The specified key does not exist: EOF broken pipe"}, false, store.ErrNoSuchKey},
		{"plain error saying broken pipe", errors.New("upstream said: broken pipe i/o timeout"), false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := s.mapErr(tt.err)
			if down := errors.Is(got, ErrUnavailable); down != tt.down {
				t.Fatalf("mapErr(%v) = %v: unavailable %v, want %v", tt.err, got, down, tt.down)
			}
			if tt.is != nil && !errors.Is(got, tt.is) {
				t.Errorf("mapErr(%v) = %v, want %v", tt.err, got, tt.is)
			}
		})
	}
}
