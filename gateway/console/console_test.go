package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

const (
	rwKey, rwSecret = "rwkey", "rw-secret-0123456789"
	roKey, roSecret = "rokey", "ro-secret-0123456789"
)

// clock is a settable clock for the console (the gateway keeps real time:
// signatures are checked against it).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects log output.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) Sync() error    { return nil }
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// env is a gateway with its console on an embedded store.
type env struct {
	t     *testing.T
	gw    *gateway.Handler
	con   *Console
	srv   *httptest.Server
	clock *clock
	logs  *syncBuffer
}

func testOrder() *order.Order {
	return &order.Order{ID: "unit", Capacity: 10 << 20, Expires: time.Now().Add(48 * time.Hour),
		Keys: []order.Key{{AccessKey: rwKey, SecretKey: rwSecret}, {AccessKey: roKey, SecretKey: roSecret, ReadOnly: true}}}
}

func newEnv(t *testing.T, tlsServer bool) *env {
	t.Helper()
	logs := &syncBuffer{}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig()), logs, zap.DebugLevel))
	st, err := embedded.Open(filepath.Join(t.TempDir(), "data"), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	gw, err := gateway.New(gateway.Options{Store: st, Order: testOrder(), Logger: log, Debug: true})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	con, err := New(Options{Gateway: gw, Logger: log, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	h := con.Wrap(gw)
	srv := httptest.NewUnstartedServer(h)
	if tlsServer {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return &env{t: t, gw: gw, con: con, srv: srv, clock: c, logs: logs}
}

// client is a browser-like client: a cookie jar, no redirects followed,
// the console's Origin on every request.
type client struct {
	e    *env
	hc   *http.Client
	csrf string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	hc := *e.srv.Client() // a copy: each client has its own jar
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{e: e, hc: &hc}
}

// do sends a request with the console's Origin and the CSRF token (when
// known) and returns the status and body.
func (c *client) do(method, path, contentType, body string, hdr map[string]string) (int, string, http.Header) {
	c.e.t.Helper()
	req, err := http.NewRequest(method, c.e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Origin", c.e.srv.URL)
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// signIn posts the sign-in form and, on success, reads the CSRF token.
func (c *client) signIn(ak, sk string) (int, string, http.Header) {
	c.e.t.Helper()
	status, body, hdr := c.do(http.MethodPost, "/_console/signin", "application/x-www-form-urlencoded",
		url.Values{"access_key": {ak}, "secret_key": {sk}}.Encode(), nil)
	if status == http.StatusSeeOther {
		var s sessionInfo
		c.getJSON("/_console/api/session", &s)
		c.csrf = s.CSRF
	}
	return status, body, hdr
}

// getJSON GETs path and decodes a 200 answer into v.
func (c *client) getJSON(path string, v any) {
	c.e.t.Helper()
	status, body, _ := c.do(http.MethodGet, path, "", "", nil)
	if status != http.StatusOK {
		c.e.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		c.e.t.Fatal(err)
	}
}

// post POSTs JSON to an API endpoint and returns the status and the
// decoded answer.
func (c *client) post(endpoint string, in any) (int, map[string]any) {
	c.e.t.Helper()
	b, _ := json.Marshal(in)
	status, body, _ := c.do(http.MethodPost, "/_console/api/"+endpoint, "application/json", string(b), nil)
	out := map[string]any{}
	_ = json.Unmarshal([]byte(body), &out)
	return status, out
}

// signedIn returns a client signed in with the key pair.
func (e *env) signedIn(ak, sk string) *client {
	e.t.Helper()
	c := e.client()
	if status, body, _ := c.signIn(ak, sk); status != http.StatusSeeOther {
		e.t.Fatalf("sign-in: %d %s", status, body)
	}
	return c
}

// sessionCookie returns the Set-Cookie of the session in hdr.
func sessionCookie(hdr http.Header) *http.Cookie {
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

func (e *env) usage() gateway.Usage {
	u, err := e.gw.Usage(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
