package gateway_test

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// wrapBody serves h with the request body wrapped, as Caddy does (its
// read_body_idle timeout and its access log replace the request's Body):
// net/http then no longer sees its own 100-continue reader.
func wrapBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = struct{ io.ReadCloser }{r.Body}
		h.ServeHTTP(w, r)
	})
}

// rawConn is an HTTP/1.1 client connection that writes request heads and
// bodies separately, as a client honouring Expect: 100-continue does.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialRaw(t *testing.T, srv *httptest.Server) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// Generous: a server that drains an unrequested body waits for the
	// client (Caddy: a minute) before answering.
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// head writes req's request line and headers, not its body.
func (c *rawConn) head(req *http.Request) {
	c.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.Method, req.URL.RequestURI(), req.Host, req.ContentLength)
	_ = req.Header.Write(&b)
	b.WriteString("\r\n")
	if _, err := io.WriteString(c.conn, b.String()); err != nil {
		c.t.Fatal(err)
	}
}

// response reads one response (a 1xx included) and its body.
func (c *rawConn) response(req *http.Request) (*http.Response, []byte) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		c.t.Fatalf("%s %s: no answer: %v", req.Method, req.URL.Path, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", req.Method, req.URL.Path, err)
	}
	resp.Request = req
	return resp, body
}

// TestExpectContinueEarlyError: an upload with Expect: 100-continue refused
// before its body is read is answered at once, never asking for the body,
// with Connection: close (the client still holds the body), also when the
// body is wrapped as Caddy wraps it. Uploads whose body was asked for keep
// the connection, whether they succeed or fail after reading it.
func TestExpectContinueEarlyError(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("expect")
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"net/http body", e.h}, {"wrapped body", wrapBody(e.h)}} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.h)
			t.Cleanup(srv.Close)
			upload := func(body []byte, sk string, hdr map[string]string) *http.Request {
				req, err := http.NewRequest(http.MethodPut, srv.URL+"/expect/k", bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Expect", "100-continue")
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				sign(t, req, body, testAK, sk, time.Now())
				return req
			}
			data := randBytes(1<<20, 7)

			t.Run("refused before the body", func(t *testing.T) {
				rc := dialRaw(t, srv)
				req := upload(data, "wrong-secret", nil)
				rc.head(req)
				resp, body := rc.response(req)
				wantError(t, resp, body, http.StatusForbidden, "SignatureDoesNotMatch")
				if !resp.Close {
					t.Errorf("the refusal does not say Connection: close")
				}
			})

			t.Run("body asked for", func(t *testing.T) {
				rc := dialRaw(t, srv)
				sum := md5.Sum([]byte("other"))
				for _, u := range []struct {
					hdr    map[string]string
					status int
					code   string
				}{
					{map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])}, http.StatusBadRequest, "BadDigest"},
					{nil, http.StatusOK, ""},
				} {
					req := upload(data, testSK, u.hdr)
					rc.head(req)
					if resp, _ := rc.response(req); resp.StatusCode != http.StatusContinue {
						t.Fatalf("first answer %s, want 100 Continue", resp.Status)
					}
					if _, err := rc.conn.Write(data); err != nil {
						t.Fatal(err)
					}
					resp, body := rc.response(req)
					if u.code != "" {
						wantError(t, resp, body, u.status, u.code)
					} else if resp.StatusCode != u.status {
						t.Errorf("upload: %s %s", resp.Status, body)
					}
					if resp.Close {
						t.Errorf("%d %s closes the connection, though the body was read", resp.StatusCode, u.code)
					}
				}
				// The same connection serves the next request.
				get, err := http.NewRequest(http.MethodGet, srv.URL+"/expect/k", nil)
				if err != nil {
					t.Fatal(err)
				}
				sign(t, get, nil, testAK, testSK, time.Now())
				rc.head(get)
				if resp, body := rc.response(get); resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
					t.Errorf("GET on the same connection: %s, %d bytes", resp.Status, len(body))
				}
			})
		})
	}
}
