package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCloseIfBodyUnasked: only an HTTP/1.1 answer to a request that
// announced a body with Expect: 100-continue, none of it read, says
// Connection: close; HTTP/2 and HTTP/3 never get a Connection header.
func TestCloseIfBodyUnasked(t *testing.T) {
	for _, c := range []struct {
		name     string
		major    int
		minor    int
		expect   string
		length   int64
		bodyRead bool
		want     bool
	}{
		{"unread body", 1, 1, "100-continue", 1 << 20, false, true},
		{"chunked unread body", 1, 1, "100-continue", -1, false, true},
		{"token list, any case", 1, 1, "foo, 100-Continue", 10, false, true},
		{"body read", 1, 1, "100-continue", 1 << 20, true, false},
		{"no body", 1, 1, "100-continue", 0, false, false},
		{"no expectation", 1, 1, "", 1 << 20, false, false},
		{"HTTP/1.0", 1, 0, "100-continue", 1 << 20, false, false},
		{"HTTP/2", 2, 0, "100-continue", 1 << 20, false, false},
		{"HTTP/3", 3, 0, "100-continue", 1 << 20, false, false},
	} {
		r := httptest.NewRequest(http.MethodPut, "/b/k", nil)
		r.ProtoMajor, r.ProtoMinor, r.ContentLength = c.major, c.minor, c.length
		if c.expect != "" {
			r.Header.Set("Expect", c.expect)
		}
		w := httptest.NewRecorder()
		closeIfBodyUnasked(w, r, c.bodyRead)
		if got := w.Header().Get("Connection") == "close"; got != c.want {
			t.Errorf("%s: Connection %q, want close: %v", c.name, w.Header().Get("Connection"), c.want)
		}
	}
}
