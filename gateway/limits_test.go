package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/order"
)

// newLimitsEnv serves o with limits; uploads counts its uploads in flight.
func newLimitsEnv(t *testing.T, open storeOpener, o *order.Order, limits gateway.Limits, observe func(*http.Request, gateway.RequestInfo)) (*orderEnv, *gateway.Uploads) {
	t.Helper()
	st, recount := open(t)
	e := &orderEnv{t: t, st: st, recount: recount}
	start := time.Now()
	e.now.Store(&start)
	o.Keys = []order.Key{{AccessKey: testAK, SecretKey: testSK}}
	uploads := new(gateway.Uploads)
	var err error
	e.h, err = gateway.New(gateway.Options{Store: st, Order: o, Region: testRegion, Limits: limits, Uploads: uploads, Observe: observe})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	return e, uploads
}

// stalledPut opens a connection and sends a signed PUT of size bytes
// (UNSIGNED-PAYLOAD) to path with only the first sent bytes of its body.
func (e *orderEnv) stalledPut(path string, size, sent int) (net.Conn, *bufio.Reader) {
	e.t.Helper()
	req, _ := http.NewRequest("PUT", e.srv.URL+path, nil)
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req.ContentLength = int64(size)
	if err := newS3Signer().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK}, req,
		"UNSIGNED-PAYLOAD", "s3", testRegion, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	var head bytes.Buffer
	fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", path, req.Host, size)
	if err := req.Header.Write(&head); err != nil {
		e.t.Fatal(err)
	}
	head.WriteString("\r\n")
	head.Write(randBytes(sent, 7))
	if _, err := conn.Write(head.Bytes()); err != nil {
		e.t.Fatal(err)
	}
	return conn, bufio.NewReader(conn)
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStalledUploadTimesOut: a body that stops arriving fails with 400
// RequestTimeout after the read idle timeout, and the capacity it reserved
// is released (a write that needs it then succeeds).
func TestStalledUploadTimesOut(t *testing.T) { eachStore(t, testStalledUploadTimesOut) }

func testStalledUploadTimesOut(t *testing.T, open storeOpener) {
	const capacity = 1 << 20
	e, uploads := newLimitsEnv(t, open, &order.Order{ID: "o1", Capacity: capacity}, gateway.Limits{ReadIdle: 300 * time.Millisecond}, nil)
	e.ok("PUT", "/bkt", nil)
	conn, br := e.stalledPut("/bkt/stalled", 700<<10, 100<<10)
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to the stalled upload: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte("<Code>RequestTimeout</Code>")) {
		t.Fatalf("stalled upload: %d %s", resp.StatusCode, body)
	}
	waitFor(t, "the upload to end", func() bool { return uploads.InFlight() == 0 })
	// 700 KiB were reserved: another 700 KiB fits only if they were released.
	e.ok("PUT", "/bkt/next", randBytes(700<<10, 2))
	if resp, b := e.do(testAK, testSK, "GET", "/bkt/stalled", nil, nil); resp.StatusCode != 404 {
		t.Errorf("the stalled object exists: %d %s", resp.StatusCode, b)
	}
}

// TestUploadCaps: beyond the uploads in flight allowed per key and per
// order, uploads answer 503 SlowDown; a slot freed is usable again.
func TestUploadCaps(t *testing.T) {
	e, uploads := newLimitsEnv(t, openEmbedded, &order.Order{ID: "o1"}, gateway.Limits{Uploads: 2, UploadsPerKey: 1}, nil)
	e.ok("PUT", "/bkt", nil)
	slowDown := func(path string) {
		t.Helper()
		resp, b := e.do(testAK, testSK, "PUT", path, []byte("x"), nil)
		if resp.StatusCode != 503 || !bytes.Contains(b, []byte("<Code>SlowDown</Code>")) {
			t.Fatalf("PUT %s: %d %s, want 503 SlowDown", path, resp.StatusCode, b)
		}
	}
	c1, _ := e.stalledPut("/bkt/a", 1000, 10)
	waitFor(t, "the first upload", func() bool { return uploads.InFlight() == 1 })
	slowDown("/bkt/a") // per key
	upload := e.createUpload("/bkt/a")
	slowDown("/bkt/a?partNumber=1&uploadId=" + upload) // parts count for their key
	c2, _ := e.stalledPut("/bkt/b", 1000, 10)
	waitFor(t, "the second upload", func() bool { return uploads.InFlight() == 2 })
	slowDown("/bkt/c")        // per order
	e.ok("GET", "/bkt/", nil) // other operations are not counted
	c1.Close()
	c2.Close()
	waitFor(t, "the uploads to end", func() bool { return uploads.InFlight() == 0 })
	e.ok("PUT", "/bkt/a", []byte("x"))
	e.ok("PUT", "/bkt/c", []byte("x"))
}

// TestStalledDownloadTimesOut: a client that stops reading a response is
// cut off after the write idle timeout: the request ends (with it the open
// data file, which a delete would otherwise leave on disk).
func TestStalledDownloadTimesOut(t *testing.T) {
	done := make(chan gateway.RequestInfo, 10)
	observe := func(r *http.Request, info gateway.RequestInfo) {
		if info.Operation == "GetObject" {
			done <- info
		}
	}
	e, _ := newLimitsEnv(t, openEmbedded, &order.Order{ID: "o1"}, gateway.Limits{WriteIdle: 300 * time.Millisecond}, observe)
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/big", randBytes(32<<20, 3))
	req, _ := http.NewRequest("GET", e.srv.URL+"/bkt/big", nil)
	sign(t, req, nil, testAK, testSK, time.Now())
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10) // keep the client's socket from absorbing the object
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	select {
	case info := <-done:
		if info.BytesOut >= 32<<20 {
			t.Errorf("the whole object was written (%d bytes) to a client reading nothing", info.BytesOut)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a GET whose client reads nothing is still being served")
	}
}

// TestStalledUploadHTTP2: the read idle timeout also ends a stalled HTTP/2
// stream (deadlines are per stream there), and the connection keeps
// serving other streams.
func TestStalledUploadHTTP2(t *testing.T) {
	st, _ := openEmbedded(t)
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: testRegion,
		Limits: gateway.Limits{ReadIdle: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	cli := srv.Client()
	do := func(method, path string, body io.Reader, size int64) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, body)
		req.ContentLength = size
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		if err := newS3Signer().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK}, req,
			"UNSIGNED-PAYLOAD", "s3", testRegion, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := cli.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp
	}
	if resp := do("PUT", "/http2", nil, 0); resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("CreateBucket: %d over HTTP/%d: %q", resp.StatusCode, resp.ProtoMajor, b)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write(randBytes(100<<10, 4)) }() // then nothing
	resp := do("PUT", "/http2/stalled", pr, 1<<20)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte("<Code>RequestTimeout</Code>")) {
		t.Fatalf("stalled HTTP/2 upload: %d %s", resp.StatusCode, body)
	}
	data := randBytes(200<<10, 5)
	if resp := do("PUT", "/http2/next", bytes.NewReader(data), int64(len(data))); resp.StatusCode != 200 {
		t.Fatalf("PUT after the stalled stream: %d", resp.StatusCode)
	}
}
