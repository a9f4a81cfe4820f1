package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/store"
)

const (
	roAK, roSK = "readonly", "readonlysecret"
)

// orderEnv is a gateway serving an order, with a clock the test moves.
type orderEnv struct {
	t       *testing.T
	st      store.Store
	recount func(context.Context) (store.Usage, error) // nil: st.Usage is exact
	h       *gateway.Handler
	srv     *httptest.Server
	now     atomic.Pointer[time.Time]
}

// newOrderEnv serves o from a store that open makes (see orderStores).
func newOrderEnv(t *testing.T, open storeOpener, o *order.Order) *orderEnv {
	t.Helper()
	st, recount := open(t)
	e := &orderEnv{t: t, st: st, recount: recount}
	start := time.Now()
	e.now.Store(&start)
	if o.Keys == nil {
		o.Keys = []order.Key{{AccessKey: testAK, SecretKey: testSK}, {AccessKey: roAK, SecretKey: roSK, ReadOnly: true}}
	}
	var err error
	e.h, err = gateway.New(gateway.Options{Store: st, Order: o, Region: testRegion, Now: func() time.Time { return *e.now.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *orderEnv) setNow(t time.Time) { e.now.Store(&t) }

// do sends a request signed with ak at the env's clock.
func (e *orderEnv) do(ak, sk, method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sign(e.t, req, body, ak, sk, *e.now.Load())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (e *orderEnv) ok(method, path string, body []byte) []byte {
	e.t.Helper()
	resp, b := e.do(testAK, testSK, method, path, body, nil)
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

// used returns the bytes the store reports the order holds (what capacity
// checks read). For a store whose figure is an estimate, it also checks
// the figure against a recount: it may be above, never below.
func (e *orderEnv) used() int64 {
	e.t.Helper()
	u, err := e.st.Usage(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	if e.recount != nil {
		r, err := e.recount(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if u.Bytes < r.Bytes {
			e.t.Errorf("the store reports %d bytes used, a recount finds %d", u.Bytes, r.Bytes)
		}
	}
	return u.Bytes
}

func (e *orderEnv) createUpload(path string) string {
	e.t.Helper()
	var res struct{ UploadId string }
	if err := xml.Unmarshal(e.ok("POST", path+"?uploads", nil), &res); err != nil || res.UploadId == "" {
		e.t.Fatalf("CreateMultipartUpload: %v", err)
	}
	return res.UploadId
}

func wantMessage(t *testing.T, body []byte, want string) {
	t.Helper()
	var e s3Error
	_ = xml.Unmarshal(body, &e)
	if !strings.Contains(e.Message, want) {
		t.Errorf("message %q does not contain %q", e.Message, want)
	}
}

func TestReadOnlyKey(t *testing.T) { eachStore(t, testReadOnlyKey) }

func testReadOnlyKey(t *testing.T, open storeOpener) {
	e := newOrderEnv(t, open, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/k", []byte("data"))
	up := e.createUpload("/bkt/m")
	copySrc := map[string]string{"x-amz-copy-source": "/bkt/k"}
	deleteDoc := []byte(`<Delete><Object><Key>k</Key></Object></Delete>`)
	writes := []struct {
		op, method, path string
		body             []byte
		hdr              map[string]string
	}{
		{"CreateBucket", "PUT", "/bkt2", nil, nil},
		{"DeleteBucket", "DELETE", "/bkt", nil, nil},
		{"PutObject", "PUT", "/bkt/new", []byte("x"), nil},
		{"PutObject overwrite", "PUT", "/bkt/k", []byte("x"), nil},
		{"CopyObject", "PUT", "/bkt/copy", nil, copySrc},
		{"DeleteObject", "DELETE", "/bkt/k", nil, nil},
		{"DeleteObjects", "POST", "/bkt?delete", deleteDoc, map[string]string{"Content-MD5": md5b64(deleteDoc)}},
		{"CreateMultipartUpload", "POST", "/bkt/m2?uploads", nil, nil},
		{"UploadPart", "PUT", "/bkt/m?uploadId=" + up + "&partNumber=1", []byte("p"), nil},
		{"UploadPartCopy", "PUT", "/bkt/m?uploadId=" + up + "&partNumber=2", nil, copySrc},
		{"CompleteMultipartUpload", "POST", "/bkt/m?uploadId=" + up, []byte(`<CompleteMultipartUpload></CompleteMultipartUpload>`), nil},
		{"AbortMultipartUpload", "DELETE", "/bkt/m?uploadId=" + up, nil, nil},
		{"DeleteObjectTagging", "DELETE", "/bkt/k?tagging", nil, nil},
	}
	for _, w := range writes {
		t.Run(w.op, func(t *testing.T) {
			resp, body := e.do(roAK, roSK, w.method, w.path, w.body, w.hdr)
			wantError(t, resp, body, http.StatusForbidden, "AccessDenied")
			wantMessage(t, body, "read-only")
		})
	}
	// Nothing changed, and reads work.
	for _, r := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/bkt"}, {"GET", "/bkt?list-type=2"}, {"HEAD", "/bkt"}, {"GET", "/bkt/k"}, {"HEAD", "/bkt/k"},
		{"GET", "/bkt?uploads"}, {"GET", "/bkt/m?uploadId=" + up},
	} {
		resp, body := e.do(roAK, roSK, r.method, r.path, nil, nil)
		if resp.StatusCode != 200 {
			t.Errorf("%s %s with the read-only key: %d %s", r.method, r.path, resp.StatusCode, body)
		}
	}
	if got := string(e.ok("GET", "/bkt/k", nil)); got != "data" {
		t.Errorf("object changed: %q", got)
	}
}

func TestOrderExpiry(t *testing.T) { eachStore(t, testOrderExpiry) }

func testOrderExpiry(t *testing.T, open storeOpener) {
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	e := newOrderEnv(t, open, &order.Order{ID: "o1", Expires: exp, Grace: 24 * time.Hour})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/k", []byte("data"))
	expStr := exp.UTC().Format(time.RFC3339)
	for _, tt := range []struct {
		name       string
		at         time.Time
		writeCode  string // "" allowed
		readCode   string
		wantInText string
	}{
		{"before expiry", exp.Add(-time.Second), "", "", ""},
		{"at expiry", exp, "AccessDenied", "", "expired at " + expStr + " and is read-only"},
		{"in grace", exp.Add(23 * time.Hour), "AccessDenied", "", "read-only"},
		{"after grace", exp.Add(24 * time.Hour), "AccessDenied", "AccessDenied", "it is closed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.setNow(tt.at)
			if got := e.h.Order().State(tt.at); (got == order.Active) != (tt.writeCode == "") {
				t.Errorf("State = %v", got)
			}
			resp, body := e.do(testAK, testSK, "PUT", "/bkt/k2", []byte("x"), nil)
			if tt.writeCode == "" {
				if resp.StatusCode != 200 {
					t.Errorf("write: %d %s", resp.StatusCode, body)
				}
			} else {
				wantError(t, resp, body, http.StatusForbidden, tt.writeCode)
				wantMessage(t, body, tt.wantInText)
			}
			resp, body = e.do(testAK, testSK, "GET", "/bkt/k", nil, nil)
			if tt.readCode == "" {
				if resp.StatusCode != 200 || string(body) != "data" {
					t.Errorf("read: %d %s", resp.StatusCode, body)
				}
			} else {
				wantError(t, resp, body, http.StatusForbidden, tt.readCode)
				wantMessage(t, body, tt.wantInText)
			}
		})
	}
}

func TestCapacity(t *testing.T) { eachStore(t, testCapacity) }

// objCost is what an object without metadata is charged.
func objCost(key string, size int64) int64 { return store.ObjectCost(key, size, nil) }

// bktCost is what the bucket "bkt" is charged.
var bktCost = store.BucketCost("bkt")

func testCapacity(t *testing.T, open storeOpener) {
	capacity := bktCost + objCost("a", 1600) + objCost("b", 400)
	e := newOrderEnv(t, open, &order.Order{ID: "o1", Capacity: capacity})
	e.ok("PUT", "/bkt", nil)
	// Exact fit.
	e.ok("PUT", "/bkt/a", randBytes(1600, 1))
	e.ok("PUT", "/bkt/b", randBytes(400, 2))
	if u := e.used(); u != capacity {
		t.Fatalf("used %d", u)
	}
	// One byte over.
	resp, body := e.do(testAK, testSK, "PUT", "/bkt/c", []byte("x"), nil)
	wantError(t, resp, body, http.StatusForbidden, "QuotaExceeded")
	wantMessage(t, body, "capacity of order o1")
	// A copy is a write of the source's size.
	resp, body = e.do(testAK, testSK, "PUT", "/bkt/copy", nil, map[string]string{"x-amz-copy-source": "/bkt/b"})
	wantError(t, resp, body, http.StatusForbidden, "QuotaExceeded")
	// Deleting frees space; a copy that fits is made.
	e.ok("DELETE", "/bkt/a", nil)
	if resp, body := e.do(testAK, testSK, "PUT", "/bkt/copy", nil, map[string]string{"x-amz-copy-source": "/bkt/b"}); resp.StatusCode != 200 {
		t.Fatalf("fitting copy: %d %s", resp.StatusCode, body)
	}
	e.ok("PUT", "/bkt/c", randBytes(int(capacity-e.used()-objCost("c", 0)), 3))
	if u := e.used(); u != capacity {
		t.Errorf("used %d after exact fill", u)
	}
	if p := e.h.Order(); p.Capacity != capacity {
		t.Errorf("Order().Capacity = %d", p.Capacity)
	}
	gu, err := e.h.Usage(context.Background())
	if err != nil || gu.Bytes != capacity || gu.Reserved != 0 || gu.Capacity != capacity {
		t.Errorf("Usage = %+v, %v", gu, err)
	}
}

// putUnknownLength sends a body without a length (Transfer-Encoding: chunked).
func (e *orderEnv) putUnknownLength(path string, data []byte) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("PUT", e.srv.URL+path, io.MultiReader(bytes.NewReader(data)))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := newS3Signer().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK}, req,
		"UNSIGNED-PAYLOAD", "s3", testRegion, *e.now.Load()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestCapacityUnknownLength(t *testing.T) { eachStore(t, testCapacityUnknownLength) }

func testCapacityUnknownLength(t *testing.T, open storeOpener) {
	capacity := bktCost + objCost("old", 1<<20) + objCost("fits", 1<<20) + objCost("rest", 1<<20)
	e := newOrderEnv(t, open, &order.Order{ID: "o1", Capacity: capacity})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/old", randBytes(1<<20, 1))
	// Fits: stored.
	if resp, body := e.putUnknownLength("/bkt/fits", randBytes(1<<20, 2)); resp.StatusCode != 200 {
		t.Fatalf("fitting unknown-length put: %d %s", resp.StatusCode, body)
	}
	// Crosses the capacity: cut off and rolled back; the old version stays.
	resp, body := e.putUnknownLength("/bkt/old", randBytes(2<<20, 3))
	wantError(t, resp, body, http.StatusForbidden, "QuotaExceeded")
	if !bytes.Equal(e.ok("GET", "/bkt/old", nil), randBytes(1<<20, 1)) {
		t.Error("the cut-off write replaced the object")
	}
	if u, want := e.used(), capacity-objCost("rest", 1<<20); u != want {
		t.Errorf("used %d after a cut-off write, want %d", u, want)
	}
	if gu, _ := e.h.Usage(context.Background()); gu.Reserved != 0 {
		t.Errorf("reservations left: %d", gu.Reserved)
	}
	// Exactly the rest fits.
	if resp, body := e.putUnknownLength("/bkt/rest", randBytes(1<<20, 4)); resp.StatusCode != 200 {
		t.Fatalf("exact-fit unknown-length put: %d %s", resp.StatusCode, body)
	}
}

// TestCapacityRejectsBeforeBody: a client waiting for 100 Continue gets
// the final error instead, and never sends the body.
func TestCapacityRejectsBeforeBody(t *testing.T) { eachStore(t, testCapacityRejectsBeforeBody) }

func testCapacityRejectsBeforeBody(t *testing.T, open storeOpener) {
	const capacity = 1 << 20
	e := newOrderEnv(t, open, &order.Order{ID: "o1", Capacity: capacity})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/half", randBytes(capacity/2, 1))
	fit := capacity - e.used() - objCost("big", 0) // the body that fills the order
	metaOver := "403"                              // metadata counts, unless the store does not charge it
	if !store.ChargesObjectMetadata(e.st) {
		metaOver = "100"
	}
	for _, tt := range []struct {
		name   string
		hdr    map[string]string
		length int64
		status string
	}{
		{"Content-Length one byte over", nil, fit + 1, "403"},
		{"decoded length one byte over", map[string]string{"X-Amz-Decoded-Content-Length": fmt.Sprint(fit + 1),
			"Content-Encoding": "aws-chunked", "X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "X-Amz-Trailer": "x-amz-checksum-crc32"}, fit + 100, "403"},
		{"exact fit asks for the body", nil, fit, "100"},
		{"metadata that does not fit", map[string]string{"x-amz-meta-k": strings.Repeat("v", 100)}, fit - 99, metaOver},
		{"metadata that fits", map[string]string{"x-amz-meta-k": strings.Repeat("v", 100)}, fit - 101, "100"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("PUT", e.srv.URL+"/bkt/big", nil)
			req.Header.Set("Expect", "100-continue")
			payloadHash := "UNSIGNED-PAYLOAD"
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			if v := req.Header.Get("X-Amz-Content-Sha256"); v != "" {
				payloadHash = v
			}
			req.Header.Set("X-Amz-Content-Sha256", payloadHash)
			if err := newS3Signer().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK}, req,
				payloadHash, "s3", testRegion, time.Now()); err != nil {
				t.Fatal(err)
			}
			conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var head strings.Builder
			fmt.Fprintf(&head, "PUT /bkt/big HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.Host, tt.length)
			if err := req.Header.Write(&head); err != nil {
				t.Fatal(err)
			}
			head.WriteString("\r\n")
			if _, err := io.WriteString(conn, head.String()); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			status, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(status, "HTTP/1.1 "+tt.status) {
				t.Errorf("first response line %q, want %s", status, tt.status)
			}
			if tt.status == "403" {
				rest, _ := io.ReadAll(io.LimitReader(br, 4096))
				if !bytes.Contains(rest, []byte("<Code>QuotaExceeded</Code>")) {
					t.Errorf("response %s", rest)
				}
			}
		})
		// A write asked for its body holds its reservation until the
		// server sees the connection closed.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if gu, _ := e.h.Usage(context.Background()); gu.Reserved == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a reservation was never released")
			}
		}
	}
	if u, want := e.used(), bktCost+objCost("half", capacity/2); u != want {
		t.Errorf("used %d, want %d", u, want)
	}
}

func TestCapacityConcurrentUploads(t *testing.T) { eachStore(t, testCapacityConcurrentUploads) }

func testCapacityConcurrentUploads(t *testing.T, open storeOpener) {
	const (
		size    = 10000
		writers = 32
	)
	base, per := bktCost+objCost("base", 100+size/2), objCost("k00", size)
	capacity := base + 5*per // room for exactly 5
	e := newOrderEnv(t, open, &order.Order{ID: "o1", Capacity: capacity})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/base", randBytes(100+size/2, 9))
	var wg sync.WaitGroup
	var okN, quotaN atomic.Int64
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := randBytes(size, uint64(i))
			req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/bkt/k%02d", e.srv.URL, i), bytes.NewReader(body))
			sign(t, req, body, testAK, testSK, time.Now())
			<-start
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == 200:
				okN.Add(1)
			case bytes.Contains(b, []byte("QuotaExceeded")):
				quotaN.Add(1)
			default:
				t.Errorf("status %d %s", resp.StatusCode, b)
			}
		}()
	}
	close(start)
	wg.Wait()
	used := e.used()
	if used > capacity {
		t.Fatalf("overshoot: used %d > capacity %d", used, capacity)
	}
	if okN.Load() < 1 || okN.Load() > 5 || okN.Load()+quotaN.Load() != writers {
		t.Errorf("%d stored, %d refused", okN.Load(), quotaN.Load())
	}
	if used != base+okN.Load()*per {
		t.Errorf("used %d for %d stored", used, okN.Load())
	}
	// With nothing in flight, the rest fills up exactly.
	for i := okN.Load(); i < 5; i++ {
		e.ok("PUT", fmt.Sprintf("/bkt/f%02d", i), randBytes(size, 100))
	}
	resp, body := e.do(testAK, testSK, "PUT", "/bkt/ovr", randBytes(size, 1), nil)
	wantError(t, resp, body, http.StatusForbidden, "QuotaExceeded")
}

func TestCapacityMultipart(t *testing.T) { eachStore(t, testCapacityMultipart) }

func testCapacityMultipart(t *testing.T, open storeOpener) {
	const part = 5 << 20
	slack := objCost("small", 10)
	capacity := bktCost + store.UploadCost("m", nil) + 2*store.PartCost(part) + slack
	e := newOrderEnv(t, open, &order.Order{ID: "o1", Capacity: capacity})
	e.ok("PUT", "/bkt", nil)
	up := e.createUpload("/bkt/m")
	e.ok("PUT", "/bkt/m?uploadId="+up+"&partNumber=1", randBytes(part, 1))
	e.ok("PUT", "/bkt/m?uploadId="+up+"&partNumber=2", randBytes(part, 2))
	if u := e.used(); u != capacity-slack {
		t.Errorf("used %d with two parts, want %d", u, capacity-slack)
	}
	// Parts count as they arrive: a third does not fit, nor does a put.
	resp, body := e.do(testAK, testSK, "PUT", "/bkt/m?uploadId="+up+"&partNumber=3", randBytes(600, 3), nil)
	wantError(t, resp, body, http.StatusForbidden, "QuotaExceeded")
	resp, body = e.do(testAK, testSK, "PUT", "/bkt/x", randBytes(600, 3), nil)
	wantError(t, resp, body, http.StatusForbidden, "QuotaExceeded")
	// A part copy counts too.
	e.ok("PUT", "/bkt/small", randBytes(10, 4))
	resp, body = e.do(testAK, testSK, "PUT", "/bkt/m?uploadId="+up+"&partNumber=3", nil, map[string]string{"x-amz-copy-source": "/bkt/m-none"})
	if resp.StatusCode != 404 {
		t.Errorf("copy of a missing source: %d %s", resp.StatusCode, body)
	}
	e.ok("DELETE", "/bkt/small", nil)
	// Aborting gives the space back.
	e.ok("DELETE", "/bkt/m?uploadId="+up, nil)
	if u := e.used(); u != bktCost {
		t.Errorf("used %d after abort, want the bucket's %d", u, bktCost)
	}
	e.ok("PUT", "/bkt/x", randBytes(int(capacity-bktCost-objCost("x", 0)), 5))
}

func TestSetOrderRotatesKeys(t *testing.T) { eachStore(t, testSetOrderRotatesKeys) }

func testSetOrderRotatesKeys(t *testing.T, open storeOpener) {
	e := newOrderEnv(t, open, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	if err := e.h.SetOrder(&order.Order{ID: "o1", Keys: []order.Key{{AccessKey: "new", SecretKey: "newsecret"}}}); err != nil {
		t.Fatal(err)
	}
	resp, body := e.do(testAK, testSK, "GET", "/bkt", nil, nil)
	wantError(t, resp, body, http.StatusForbidden, "InvalidAccessKeyId")
	if resp, body := e.do("new", "newsecret", "PUT", "/bkt/k", []byte("v"), nil); resp.StatusCode != 200 {
		t.Errorf("new key: %d %s", resp.StatusCode, body)
	}
	for _, bad := range []*order.Order{nil, {ID: "x"}, {ID: "x", Keys: []order.Key{{AccessKey: "a", SecretKey: "b"}, {AccessKey: "a", SecretKey: "c"}}}} {
		if err := e.h.SetOrder(bad); err == nil {
			t.Errorf("SetOrder(%+v) succeeded", bad)
		}
	}
}

func md5b64(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestCapacityOverwrite: in a full order an overwrite that does not grow
// the order fits (its old version's bytes are credited), one that grows it
// does not, and nothing stays reserved afterwards.
func TestCapacityOverwrite(t *testing.T) { eachStore(t, testCapacityOverwrite) }

func testCapacityOverwrite(t *testing.T, open storeOpener) {
	capacity := bktCost + objCost("a", 600) + objCost("b", 400)
	e := newOrderEnv(t, open, &order.Order{ID: "o1", Capacity: capacity})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/a", randBytes(600, 1))
	e.ok("PUT", "/bkt/b", randBytes(400, 2))
	metaStatus := http.StatusForbidden // metadata counts, unless the store does not charge it
	if !store.ChargesObjectMetadata(e.st) {
		metaStatus = http.StatusOK
	}
	for _, tc := range []struct {
		name   string
		path   string
		body   []byte
		hdr    map[string]string
		status int
	}{
		{"shrinking overwrite", "/bkt/a", randBytes(10, 3), nil, http.StatusOK},
		{"growing overwrite within the freed space", "/bkt/a", randBytes(600, 4), nil, http.StatusOK},
		{"growing overwrite beyond capacity", "/bkt/a", randBytes(601, 5), nil, http.StatusForbidden},
		{"new key", "/bkt/c", []byte("x"), nil, http.StatusForbidden},
		{"metadata-only self copy", "/bkt/b", nil, map[string]string{"x-amz-copy-source": "/bkt/b",
			"x-amz-metadata-directive": "REPLACE", "Content-Type": ""}, http.StatusOK},
		{"self copy adding metadata", "/bkt/b", nil, map[string]string{"x-amz-copy-source": "/bkt/b",
			"x-amz-metadata-directive": "REPLACE", "x-amz-meta-k": "v"}, metaStatus},
		{"empty object with metadata", "/bkt/c", nil, map[string]string{"Content-Type": strings.Repeat("t", 4000)}, http.StatusForbidden},
		{"copy onto a smaller object", "/bkt/b", nil, map[string]string{"x-amz-copy-source": "/bkt/a"}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(testAK, testSK, "PUT", tc.path, tc.body, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if u := e.used(); u > capacity {
				t.Errorf("used %d > capacity", u)
			}
			if gu, err := e.h.Usage(context.Background()); err != nil || gu.Reserved != 0 {
				t.Errorf("Usage = %+v, %v: want nothing reserved", gu, err)
			}
		})
	}
}

// TestCapacitySetWhileWriting: a write that started while the order was
// unlimited still counts when a capacity is set under it (SIGHUP, reload).
func TestCapacitySetWhileWriting(t *testing.T) { eachStore(t, testCapacitySetWhileWriting) }

func testCapacitySetWhileWriting(t *testing.T, open storeOpener) {
	e := newOrderEnv(t, open, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	pr, pw := io.Pipe()
	req, err := http.NewRequest("PUT", e.srv.URL+"/bkt/slow", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 900
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := newS3Signer().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK}, req,
		"UNSIGNED-PAYLOAD", "s3", testRegion, *e.now.Load()); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	if _, err := pw.Write(randBytes(100, 1)); err != nil {
		t.Fatal(err)
	}
	// The first 100 bytes were taken by the server: the write is reserved.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if gu, _ := e.h.Usage(context.Background()); gu.Reserved == objCost("slow", 900) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow write never reserved its 900 bytes")
		}
	}
	o := *e.h.Order()
	o.Capacity = bktCost + objCost("slow", 900)
	if err := e.h.SetOrder(&o); err != nil {
		t.Fatal(err)
	}
	resp, body := e.do(testAK, testSK, "PUT", "/bkt/fast", randBytes(900, 2), nil)
	wantError(t, resp, body, http.StatusForbidden, "QuotaExceeded")
	if _, err := pw.Write(randBytes(800, 3)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if code := <-done; code != http.StatusOK {
		t.Fatalf("slow write: %d", code)
	}
	if u, want := e.used(), bktCost+objCost("slow", 900); u != want {
		t.Errorf("used %d, want %d", u, want)
	}
}

// TestMetadataBytes: metadata values come back byte for byte as sent, a
// raw Latin-1 byte (not UTF-8) included, and aws-chunked is taken out of
// Content-Encoding with the rest kept as sent.
func TestMetadataBytes(t *testing.T) { eachStore(t, testMetadataBytes) }

func testMetadataBytes(t *testing.T, open storeOpener) {
	e := newOrderEnv(t, open, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	hdr := map[string]string{
		"x-amz-meta-name":     "caf\xe9 \xff",
		"Content-Disposition": "attachment; filename=\"caf\xe9.txt\"",
		"Content-Encoding":    "aws-chunked, deflate, gzip",
	}
	if resp, body := e.do(testAK, testSK, "PUT", "/bkt/k", []byte("x"), hdr); resp.StatusCode != 200 {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	for _, method := range []string{"HEAD", "GET"} {
		resp, _ := e.do(testAK, testSK, method, "/bkt/k", nil, nil)
		if got := resp.Header.Get("x-amz-meta-name"); got != hdr["x-amz-meta-name"] {
			t.Errorf("%s: x-amz-meta-name = %q, want %q", method, got, hdr["x-amz-meta-name"])
		}
		if got := resp.Header.Get("Content-Disposition"); got != hdr["Content-Disposition"] {
			t.Errorf("%s: Content-Disposition = %q, want %q", method, got, hdr["Content-Disposition"])
		}
		if got := resp.Header.Get("Content-Encoding"); got != "deflate, gzip" {
			t.Errorf("%s: Content-Encoding = %q, want %q", method, got, "deflate, gzip")
		}
	}
}
