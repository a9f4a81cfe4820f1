package caddymodule

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// earlyErrorBound is how long an answer to a rejected upload may take in
// these tests: generous for a shared machine, far below the minute a
// client waits when the server drains a body it never asked for (Caddy's
// default read_body_idle).
const earlyErrorBound = 20 * time.Second

// earlyBodySize is the Content-Length the early-error requests announce
// (and never send), unless the case gives one.
const earlyBodySize = 1 << 20

// earlyCase is an upload the gateway (or the module) refuses before
// reading its body.
type earlyCase struct {
	name     string
	port     int
	path     string
	ak, sk   string
	header   map[string]string // extra headers, signed
	size     int64             // Content-Length; 0: earlyBodySize
	status   int
	code     string
	contains string // in the error message
}

// TestEarlyErrorExpectContinue sends uploads with `Expect: 100-continue`
// that are refused before their body is read (wrong secret, unknown key,
// read-only key, expired order, missing bucket, full order, a signed
// header Caddy dropped) and never sends the body: the S3 error must come
// at once. Over HTTP/1.1 the answer says Connection: close (the client
// still holds the body back, so the connection cannot carry another
// request); over HTTP/2 the connection stays usable.
//
// Caddy wraps the request body (read_body_idle), so net/http no longer
// recognises the request as one whose body was never asked for and, unless
// told to close, waits for the body to drain it before answering.
func TestEarlyErrorExpectContinue(t *testing.T) {
	tc := newTester(t)
	_, httpsPort, second := testPorts(t)
	dir := t.TempDir()
	cfg := writeUserTOML(t, filepath.Join(dir, "config"), fmt.Sprintf(`[gateway]
access_key = "early-ak"
secret_key = "early-sk"

[broker]
extra_order_id = "early"
db_path = %q

[order.early]
capacity = 1100 # the bucket (1029 bytes charged), then nothing fits

[[order.early.keys]]
access_key = "early-ro"
secret_key = "early-ro-sk"
read_only = true

[order.expired]
expires = 2000-01-01T00:00:00Z
grace = "876000h"
`, filepath.Join(dir, "data")))
	load(t, tc, globalOptions(t)+fmt.Sprintf(`
https://localhost:%d {
	tls internal
	s3gateway {
		config %s
	}
}

https://localhost:%d {
	tls internal
	s3gateway {
		config %s
		order expired
	}
}
`, httpsPort, cfg, second, cfg))
	hc := httpsClient(t)
	base := fmt.Sprintf("https://localhost:%d", httpsPort)
	waitTLS(t, hc, base)
	waitTLS(t, hc, fmt.Sprintf("https://localhost:%d", second))
	mkBucket(t, s3Client(hc, base, "early-ak", "early-sk", false), "early")

	cases := []earlyCase{
		{name: "wrong secret", port: httpsPort, path: "/early/k", ak: "early-ak", sk: "wrong", status: 403, code: "SignatureDoesNotMatch"},
		{name: "unknown key", port: httpsPort, path: "/early/k", ak: "nobody", sk: "x", status: 403, code: "InvalidAccessKeyId"},
		{name: "read-only key", port: httpsPort, path: "/early/k", ak: "early-ro", sk: "early-ro-sk", status: 403, code: "AccessDenied", contains: "read-only"},
		{name: "expired order", port: second, path: "/early/k", ak: "early-ak", sk: "early-sk", status: 403, code: "AccessDenied"},
		{name: "no such bucket", port: httpsPort, path: "/missing/k", ak: "early-ak", sk: "early-sk", size: 50, status: 404, code: "NoSuchBucket"},
		{name: "full order", port: httpsPort, path: "/early/k", ak: "early-ak", sk: "early-sk", status: 403, code: "QuotaExceeded"},
		{name: "dropped header", port: httpsPort, path: "/early/k", ak: "early-ak", sk: "early-sk",
			header: map[string]string{"x-amz-meta-build_id": "42"}, status: 403, code: "SignatureDoesNotMatch", contains: "x-amz-meta-build_id"},
	}
	for _, c := range cases {
		t.Run("http1.1/"+c.name, func(t *testing.T) { earlyErrorHTTP1(t, c) })
		t.Run("http2/"+c.name, func(t *testing.T) { earlyErrorHTTP2(t, c) })
	}
}

// signedUpload returns a PUT of earlyBodySize bytes (unsigned payload) with
// Expect: 100-continue, signed for c, whose body blocks until the test ends
// and records whether it was read.
func signedUpload(t *testing.T, c earlyCase, read *atomic.Bool) *http.Request {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	body := readerFunc(func([]byte) (int, error) {
		read.Store(true)
		<-done
		return 0, io.ErrUnexpectedEOF
	})
	req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("https://localhost:%d%s", c.port, c.path), io.NopCloser(body))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = c.size
	if c.size == 0 {
		req.ContentLength = earlyBodySize
	}
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	for k, v := range c.header {
		req.Header[k] = []string{v} // as spelled: the signer lower-cases it
	}
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.ak, SecretAccessKey: c.sk},
		req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return req
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// checkEarlyError checks an early-error response and its XML body.
func checkEarlyError(t *testing.T, c earlyCase, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != c.status || !strings.Contains(string(body), "<Code>"+c.code+"</Code>") ||
		!strings.Contains(string(body), c.contains) {
		t.Errorf("%s: %s %s; want %d %s", c.name, resp.Status, body, c.status, c.code)
	}
}

// earlyErrorHTTP1 sends c's request headers over a TLS connection
// speaking HTTP/1.1, never the body, and expects the S3 error with
// `Connection: close` (the client closes the connection then).
func earlyErrorHTTP1(t *testing.T, c earlyCase) {
	var read atomic.Bool
	req := signedUpload(t, c, &read)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", c.port),
		&tls.Config{ServerName: "localhost", RootCAs: rootPool(t), NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_ = conn.SetDeadline(start.Add(earlyErrorBound))
	var head strings.Builder
	fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.URL.RequestURI(), req.Host, req.ContentLength)
	if err := req.Header.Write(&head); err != nil {
		t.Fatal(err)
	}
	head.WriteString("\r\n")
	if _, err := io.WriteString(conn, head.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("%s: no response within %v: %v", c.name, earlyErrorBound, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: reading the error body: %v", c.name, err)
	}
	checkEarlyError(t, c, resp, body)
	if !resp.Close {
		t.Errorf("%s: the answer does not say Connection: close; the body the client holds back would be read as the next request", c.name)
	}
	t.Logf("%s: %s in %v", c.name, resp.Status, time.Since(start).Round(time.Millisecond))
}

// earlyErrorHTTP2 sends c's request over HTTP/2 with a client that waits
// for 100 Continue before sending the body, expects the S3 error without
// the body having been asked for, then another request on the same
// connection.
func earlyErrorHTTP2(t *testing.T, c earlyCase) {
	var read atomic.Bool
	req := signedUpload(t, c, &read)
	tr := &http.Transport{
		TLSClientConfig:       &tls.Config{RootCAs: rootPool(t)},
		ForceAttemptHTTP2:     true,
		ExpectContinueTimeout: 2 * earlyErrorBound, // never send the body unasked
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: earlyErrorBound}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("%s: protocol %s, want HTTP/2", c.name, resp.Proto)
	}
	checkEarlyError(t, c, resp, body)
	if read.Load() {
		t.Errorf("%s: the client was asked for the body of a refused upload", c.name)
	}
	t.Logf("%s: %s in %v", c.name, resp.Status, time.Since(start).Round(time.Millisecond))

	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	next, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet,
		fmt.Sprintf("https://localhost:%d/", c.port), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = hc.Do(next)
	if err != nil {
		t.Fatalf("%s: the next request on the connection: %v", c.name, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !reused || resp.StatusCode != http.StatusForbidden {
		t.Errorf("%s: the next request: %s, connection reused %v; want an S3 answer on the same HTTP/2 connection", c.name, resp.Status, reused)
	}
}
