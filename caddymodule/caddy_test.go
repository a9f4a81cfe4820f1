package caddymodule

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

// randomData returns n pseudo-random bytes.
func randomData(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 42))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// orderConfig writes a user.toml for one order under dir and returns its
// path; the order's data is in dir/data/<order>.
func orderConfig(t *testing.T, dir, order, ak, sk string) string {
	t.Helper()
	return writeUserTOML(t, filepath.Join(dir, "config"), fmt.Sprintf(`[gateway]
access_key = %q
secret_key = %q

[broker]
extra_order_id = %q
db_path = %q
`, ak, sk, order, filepath.Join(dir, "data")))
}

// accessLogBlock is the access log of Caddyfile.example: JSON, with the
// presigned URL credentials filtered out of the logged URI.
func accessLogBlock(path string) string {
	return fmt.Sprintf(`log {
		output file %s
		format filter {
			wrap json
			fields {
				request>uri regexp "(?i)([?&](?:x-amz-(?:signature|credential|security-token)|[^&=]*%%[0-9a-f]{2}[^&=]*)=)[^&]*" ${1}REDACTED
			}
		}
	}`, path)
}

func getBody(t *testing.T, cli *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := cli.GetObject(ctxT(t), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("GetObject %s/%s: reading: %v", bucket, key, err)
	}
	return b
}

func put(t *testing.T, cli *s3.Client, bucket, key string, data []byte) {
	t.Helper()
	if _, err := cli.PutObject(ctxT(t), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(data)}); err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
}

func mkBucket(t *testing.T, cli *s3.Client, bucket string) {
	t.Helper()
	if _, err := cli.CreateBucket(ctxT(t), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", bucket, err)
	}
}

func listKeys(t *testing.T, cli *s3.Client, bucket string) []string {
	t.Helper()
	out, err := cli.ListObjectsV2(ctxT(t), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("ListObjectsV2 %s: %v", bucket, err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// scrapeMetrics returns the in-process Caddy's metrics (admin /metrics).
func scrapeMetrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/metrics", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// metricValue returns the value of the sample of name whose labels include
// all of labels (name="value" pairs), and whether there is one.
func metricValue(metrics, name string, labels ...string) (string, bool) {
	for line := range strings.SplitSeq(metrics, "\n") {
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		lbl, val, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		have := strings.Split(lbl, ",")
		if all(labels, func(l string) bool { return slices.Contains(have, l) }) {
			return val, true
		}
	}
	return "", false
}

// sameNumber reports whether the sample value v is n.
// inRange reports whether the metric value v is a number from lo to hi.
func inRange(v string, lo, hi int64) bool {
	f, err := strconv.ParseFloat(v, 64)
	return err == nil && f >= float64(lo) && f <= float64(hi)
}

func sameNumber(v string, n int) bool {
	f, err := strconv.ParseFloat(v, 64)
	return err == nil && f == float64(n)
}

func all[T any](s []T, f func(T) bool) bool {
	for _, v := range s {
		if !f(v) {
			return false
		}
	}
	return true
}

// readAccessLog waits until the access log at path has at least n entries
// and returns them.
func readAccessLog(t *testing.T, path string, n int) []map[string]any {
	t.Helper()
	var entries []map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		entries = entries[:0]
		if f, err := os.Open(path); err == nil {
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				var e map[string]any
				if json.Unmarshal(sc.Bytes(), &e) == nil {
					entries = append(entries, e)
				}
			}
			f.Close()
		}
		if len(entries) >= n || time.Now().After(deadline) {
			return entries
		}
	}
}

// TestS3OverTLS runs S3 operations with aws-sdk-go-v2 over HTTPS (tls
// internal, trusting only Caddy's root), through the module configured
// from a user.toml: buckets, objects, a multipart upload, S3 XML errors,
// presigned GET, HTTP/2, the access log fields and filter, and the
// metrics.
func TestS3OverTLS(t *testing.T) {
	tc := newTester(t)
	_, httpsPort, _ := testPorts(t)
	dir := t.TempDir()
	cfg := orderConfig(t, dir, "tls-order", "tls-ak", "tls-sk-secret")
	logPath := filepath.Join(dir, "access.log")
	load(t, tc, globalOptions(t)+fmt.Sprintf(`
https://localhost:%d {
	tls internal
	%s
	s3gateway {
		config %s
	}
}
`, httpsPort, accessLogBlock(logPath), cfg))

	endpoint := fmt.Sprintf("https://localhost:%d", httpsPort)
	hc := httpsClient(t)
	waitTLS(t, hc, endpoint)
	cli := s3Client(hc, endpoint, "tls-ak", "tls-sk-secret", false)
	ctx := ctxT(t)

	mkBucket(t, cli, "tls-bucket")
	small := []byte("hello over TLS")
	put(t, cli, "tls-bucket", "small.txt", small)
	if got := getBody(t, cli, "tls-bucket", "small.txt"); !bytes.Equal(got, small) {
		t.Errorf("small.txt = %q, want %q", got, small)
	}

	// A multipart upload with the SDK's transfer manager.
	big := randomData(1, 12<<20+123)
	up := manager.NewUploader(cli, func(u *manager.Uploader) { u.PartSize = 5 << 20 })
	if _, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String("tls-bucket"), Key: aws.String("dir/big.bin"),
		Body: io.MultiReader(bytes.NewReader(big))}); err != nil {
		t.Fatalf("multipart upload: %v", err)
	}
	if got := getBody(t, cli, "tls-bucket", "dir/big.bin"); !bytes.Equal(got, big) {
		t.Errorf("dir/big.bin: got %d bytes, want the %d uploaded", len(got), len(big))
	}
	if keys := listKeys(t, cli, "tls-bucket"); !slices.Equal(keys, []string{"dir/big.bin", "small.txt"}) {
		t.Errorf("keys = %q", keys)
	}

	// Errors are S3 XML, through Caddy too.
	_, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("tls-bucket"), Key: aws.String("missing")})
	if !isCode(err, "NoSuchKey") {
		t.Errorf("GetObject of a missing key: %v, want NoSuchKey", err)
	}
	resp, err := hc.Get(endpoint + "/tls-bucket/small.txt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/xml" ||
		!bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
		t.Errorf("anonymous GET: %s %q %s, want 403 with an AccessDenied XML body", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2", resp.Proto)
	}

	// A presigned GET; its signature must not reach the access log.
	ps, err := s3.NewPresignClient(cli).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("tls-bucket"), Key: aws.String("small.txt")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = hc.Get(ps.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, small) {
		t.Errorf("presigned GET: %s %q", resp.Status, body)
	}
	sig := regexp.MustCompile(`X-Amz-Signature=([0-9a-f]+)`).FindStringSubmatch(ps.URL)
	if sig == nil {
		t.Fatalf("no signature in %s", ps.URL)
	}

	// The access log: the S3 operation, the access key as user_id, and
	// no presigned credentials.
	entries := readAccessLog(t, logPath, 8)
	ops := map[string]bool{}
	var sawPresigned bool
	for _, e := range entries {
		req, _ := e["request"].(map[string]any)
		uri, _ := req["uri"].(string)
		if op, ok := e["s3_operation"].(string); ok {
			ops[op] = true
			if e["s3_request_id"] == "" {
				t.Errorf("access log entry without s3_request_id: %v", e)
			}
			if op != "unknown" && e["user_id"] != "tls-ak" && e["status"] != float64(403) {
				t.Errorf("%s: user_id = %v, want the access key", op, e["user_id"])
			}
		}
		if strings.Contains(uri, sig[1]) || strings.Contains(uri, "tls-ak%2F") {
			t.Errorf("access log shows presigned credentials: %s", uri)
		}
		if strings.Contains(uri, "X-Amz-Signature=REDACTED") {
			sawPresigned = true
		}
	}
	for _, op := range []string{"CreateBucket", "PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "GetObject", "ListObjectsV2"} {
		if !ops[op] {
			t.Errorf("no access log entry with s3_operation %s (have %v)", op, ops)
		}
	}
	if !sawPresigned {
		t.Errorf("no access log entry for the presigned GET with X-Amz-Signature=REDACTED")
	}

	// Metrics on the admin endpoint.
	m := scrapeMetrics(t)
	if v, ok := metricValue(m, "caddy_s3gateway_requests_total", `order="tls-order"`, `operation="PutObject"`, `status_class="2xx"`); !ok || v == "0" {
		t.Errorf("caddy_s3gateway_requests_total for PutObject 2xx: %q %v", v, ok)
	}
	if _, ok := metricValue(m, "caddy_s3gateway_requests_total", `order="tls-order"`, `operation="GetObject"`, `status_class="4xx"`); !ok {
		t.Errorf("no caddy_s3gateway_requests_total for the NoSuchKey GetObject")
	}
	if _, ok := metricValue(m, "caddy_s3gateway_received_bytes_total", `order="tls-order"`, `operation="UploadPart"`); !ok {
		t.Errorf("no caddy_s3gateway_received_bytes_total for UploadPart")
	}
	if _, ok := metricValue(m, "caddy_s3gateway_request_duration_seconds_bucket", `order="tls-order"`, `operation="GetObject"`); !ok {
		t.Errorf("no caddy_s3gateway_request_duration_seconds histogram")
	}
	if v, ok := metricValue(m, "caddy_s3gateway_store_objects", `order="tls-order"`); !sameNumber(v, 2) {
		t.Errorf("caddy_s3gateway_store_objects = %q (%v), want 2", v, ok)
	}
	// What the order is charged: the bucket, and each object's overhead,
	// key and data, plus the metadata the SDK sent (at most MaxMetaLen).
	charged := store.BucketCost("tls-bucket") + store.ObjectCost("small.txt", int64(len(small)), nil) +
		store.ObjectCost("dir/big.bin", int64(len(big)), nil)
	if v, ok := metricValue(m, "caddy_s3gateway_store_bytes", `order="tls-order"`); !ok || !inRange(v, charged, charged+2*store.MaxMetaLen) {
		t.Errorf("caddy_s3gateway_store_bytes = %q (%v), want %d to %d", v, ok, charged, charged+2*store.MaxMetaLen)
	}
	for line := range strings.SplitSeq(m, "\n") {
		if strings.HasPrefix(line, "caddy_s3gateway_") && (strings.Contains(line, "bucket=") || strings.Contains(line, "key=")) {
			t.Errorf("metric with a bucket or key label: %s", line)
		}
	}

	if _, err := os.Stat(filepath.Join(dir, "data", "tls-order", "index.db")); err != nil {
		t.Errorf("the order's store is not in db_path/<order>: %v", err)
	}
}

// countingRetryer records the errors the retryer it wraps retries.
type countingRetryer struct {
	aws.Retryer
	r *retried
}

// retried are the errors a countingRetryer retried.
type retried struct {
	mu   sync.Mutex
	errs []error
}

// RetryDelay implements aws.Retryer; it is called before each retry.
func (c countingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	c.r.mu.Lock()
	c.r.errs = append(c.r.errs, err)
	c.r.mu.Unlock()
	return c.Retryer.RetryDelay(attempt, err)
}

// neverReachedServer reports whether err is a request that could not be
// sent because the server was closing the connection (an idle HTTP/1.1
// connection closed by the old server, an HTTP/2 GOAWAY or refused
// stream): what clients retry and servers cannot avoid on a graceful
// restart. A reset stream (a handler panic) or an HTTP answer is not.
func neverReachedServer(err error) bool {
	msg := err.Error()
	if !strings.Contains(msg, "request send failed") || strings.Contains(msg, "INTERNAL_ERROR") {
		return false
	}
	// A write to a connection the server had already closed as idle (a
	// graceful shutdown closes only idle connections) fails with a broken
	// pipe, or with "use of closed network connection" once the client's
	// read side has seen the close: the request never reached a handler.
	for _, s := range []string{"GOAWAY", "server closed idle connection", ": EOF", "REFUSED_STREAM", "connection reset by peer",
		"write: broken pipe", "use of closed network connection"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// gatedReader yields data, stopping at gateAt until release is closed; it
// closes reached when it gets there. It cannot seek.
type gatedReader struct {
	data    []byte
	off     int
	gateAt  int
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGatedReader(data []byte, gateAt int) *gatedReader {
	return &gatedReader{data: data, gateAt: gateAt, reached: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.off == g.gateAt {
		g.once.Do(func() { close(g.reached) })
		<-g.release
	}
	if g.off >= len(g.data) {
		return 0, io.EOF
	}
	end := len(g.data)
	if g.off < g.gateAt {
		end = g.gateAt
	}
	n := copy(p, g.data[g.off:end])
	g.off += n
	return n, nil
}

// inflight returns the number of requests being served from the store in
// dir.
func inflight(dir string) int {
	storesMu.Lock()
	defer storesMu.Unlock()
	if s, ok := live[dir]; ok {
		return s.inflight
	}
	return -1
}

// TestReloadDuringMultipartUpload reloads the config twice while parts of
// a multipart upload are being transferred (and other requests keep
// coming), over HTTP/2 and over HTTP/1.1: the store is shared across the
// reloads, the parts in flight complete on the first attempt, the upload
// completes byte for byte, and no request fails.
func TestReloadDuringMultipartUpload(t *testing.T) {
	tc := newTester(t)
	_, httpsPort, _ := testPorts(t)
	dir := t.TempDir()
	cfg := orderConfig(t, dir, "reload-order", "reload-ak", "reload-sk")
	dataDir := filepath.Join(dir, "data", "reload-order")
	config := func(gen int) string {
		return globalOptions(t) + fmt.Sprintf(`
https://localhost:%d {
	tls internal
	header X-Config-Generation %d
	s3gateway {
		config %s
	}
}
`, httpsPort, gen, cfg)
	}
	gen := 1
	load(t, tc, config(gen))
	endpoint := fmt.Sprintf("https://localhost:%d", httpsPort)
	for _, h2 := range []bool{true, false} {
		name := map[bool]string{true: "HTTP/2", false: "HTTP/1.1"}[h2]
		t.Run(name, func(t *testing.T) {
			hc := httpsClient(t)
			if !h2 {
				tr := hc.Transport.(*http.Transport)
				tr.ForceAttemptHTTP2 = false
				tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			}
			reloadDuringUpload(t, hc, endpoint, dataDir, h2, func() { gen++; load(t, tc, config(gen)) }, func() int { return gen })
		})
	}
	// No S3 request failed (the anonymous probes of "/" excepted).
	for line := range strings.SplitSeq(scrapeMetrics(t), "\n") {
		if strings.HasPrefix(line, "caddy_s3gateway_requests_total{") && strings.Contains(line, `order="reload-order"`) &&
			!strings.Contains(line, `status_class="2xx"`) && !strings.Contains(line, `operation="ListBuckets"`) {
			t.Errorf("failed S3 requests: %s", line)
		}
	}
}

// reloadDuringUpload runs a multipart upload whose second and third parts
// are held mid-body while reload loads a new config, with background
// requests, and checks the result (see TestReloadDuringMultipartUpload).
func reloadDuringUpload(t *testing.T, hc *http.Client, endpoint, dataDir string, h2 bool, reload func(), gen func() int) {
	bucket := map[bool]string{true: "reload-h2", false: "reload-h1"}[h2]
	waitTLS(t, hc, endpoint)
	// The parts held across a reload are sent without retries: they must
	// succeed on their first attempt. Other requests have the SDK's
	// default retries, as every S3 client does: with HTTP/1.1 a request
	// can go out on a pooled connection just as the old server closes it
	// idle ("such is life with HTTP/1.1", says net/http); such a request
	// never reached the server and is retried. The retries are counted,
	// and the server's metrics show that no request it got failed.
	inflightCli := s3Client(hc, endpoint, "reload-ak", "reload-sk", false)
	var retries retried
	cli := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("reload-ak", "reload-sk", ""), HTTPClient: hc,
		Retryer: countingRetryer{retry.NewStandard(), &retries}})
	ctx := ctxT(t)
	mkBucket(t, cli, bucket)

	// Background traffic through the reloads.
	stop := make(chan struct{})
	var bg sync.WaitGroup
	var bgErrs []error
	var bgMu sync.Mutex
	var bgCount int
	bgCli := cli
	for w := range 2 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("bg/%d/%d", w, i)
				data := []byte(key)
				_, err := bgCli.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
				if err == nil {
					var out *s3.GetObjectOutput
					if out, err = bgCli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err == nil {
						var got []byte
						got, err = io.ReadAll(out.Body)
						out.Body.Close()
						if err == nil && !bytes.Equal(got, data) {
							err = fmt.Errorf("%s: got %q", key, got)
						}
					}
				}
				bgMu.Lock()
				bgCount++
				if err != nil {
					bgErrs = append(bgErrs, err)
				}
				bgMu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}

	cu, err := cli.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	parts := [][]byte{randomData(11, 5<<20), randomData(12, 5<<20), randomData(13, 3<<20+17)}
	var completed []types.CompletedPart
	for i, data := range parts {
		num := int32(i + 1)
		var body io.Reader = bytes.NewReader(data)
		var gate *gatedReader
		if i > 0 {
			gate = newGatedReader(data, 2<<20)
			body = gate
		}
		type result struct {
			out *s3.UploadPartOutput
			err error
		}
		done := make(chan result, 1)
		go func() {
			c := cli
			if gate != nil {
				c = inflightCli
			}
			out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("big"),
				UploadId: cu.UploadId, PartNumber: aws.Int32(num), Body: body, ContentLength: aws.Int64(int64(len(data)))})
			done <- result{out, err}
		}()
		if gate != nil {
			select {
			case <-gate.reached:
			case r := <-done:
				t.Fatalf("part %d finished before its gate: %v", num, r.err)
			}
			// The part is being served: reload.
			for deadline := time.Now().Add(10 * time.Second); inflight(dataDir) < 1; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("part %d is not being served (in flight: %d)", num, inflight(dataDir))
				}
			}
			reload()
			close(gate.release)
		}
		r := <-done
		if r.err != nil {
			t.Fatalf("UploadPart %d (across reload %v): %v", num, gate != nil, r.err)
		}
		completed = append(completed, types.CompletedPart{ETag: r.out.ETag, PartNumber: aws.Int32(num)})
	}
	if _, err := cli.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("big"),
		UploadId: cu.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}}); err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // background traffic on the last config
	close(stop)
	bg.Wait()

	want := slices.Concat(parts...)
	got := getBody(t, cli, bucket, "big")
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Errorf("big: got %d bytes, want the %d uploaded (content differs)", len(got), len(want))
	}
	resp, err := hc.Get(endpoint + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if g := resp.Header.Get("X-Config-Generation"); g != fmt.Sprint(gen()) {
		t.Errorf("X-Config-Generation = %q after the reloads, want %d", g, gen())
	}
	if want := map[bool]int{true: 2, false: 1}[h2]; resp.ProtoMajor != want {
		t.Errorf("protocol %s, want major version %d", resp.Proto, want)
	}
	bgMu.Lock()
	t.Logf("background requests during the reloads: %d pairs, %d failed", bgCount, len(bgErrs))
	retries.mu.Lock()
	for _, err := range retries.errs {
		if neverReachedServer(err) {
			t.Logf("retried by the client (never reached the server): %v", err)
		} else {
			t.Errorf("retried by the client after a server failure: %v", err)
		}
	}
	retries.mu.Unlock()
	for _, err := range bgErrs {
		t.Errorf("background request failed: %v", err)
	}
	bgMu.Unlock()
}

// TestBrokenConfigKeepsServing loads configs that fail (a Caddyfile error,
// a handler that fails to provision after another acquired the running
// store, a data directory that cannot be created): each is refused, the
// running config keeps serving, reading and writing; the store is closed
// once no config uses it.
func TestBrokenConfigKeepsServing(t *testing.T) {
	tc := newTester(t)
	_, httpsPort, _ := testPorts(t)
	dir := t.TempDir()
	cfg := orderConfig(t, dir, "keep", "keep-ak", "keep-sk")
	dataDir := filepath.Join(dir, "data", "keep")
	good := globalOptions(t) + fmt.Sprintf(`
https://localhost:%d {
	tls internal
	s3gateway {
		config %s
	}
}
`, httpsPort, cfg)
	load(t, tc, good)
	endpoint := fmt.Sprintf("https://localhost:%d", httpsPort)
	hc := httpsClient(t)
	waitTLS(t, hc, endpoint)
	cli := s3Client(hc, endpoint, "keep-ak", "keep-sk", false)
	mkBucket(t, cli, "keep")
	put(t, cli, "keep", "before", []byte("before"))

	stillServing := func(step string) {
		t.Helper()
		if got := getBody(t, cli, "keep", "before"); string(got) != "before" {
			t.Errorf("after %s: before = %q", step, got)
		}
		put(t, cli, "keep", "after-"+step, []byte(step))
		if got := getBody(t, cli, "keep", "after-"+step); string(got) != step {
			t.Errorf("after %s: after-%s = %q", step, step, got)
		}
	}

	// 1. A Caddyfile error.
	caddytest.AssertLoadError(t, strings.Replace(good, "config "+cfg, "config "+cfg+"\n\t\tbogus on", 1),
		"caddyfile", `unrecognized s3gateway subdirective \"bogus\"`)
	stillServing("caddyfile-error")

	// 2. The same site (sharing the running store), then a route whose
	// handler fails to provision: the new config's handlers are cleaned
	// up, which must not close the running config's store.
	adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(good), nil)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(adapted, &doc); err != nil {
		t.Fatal(err)
	}
	srv := doc["apps"].(map[string]any)["http"].(map[string]any)["servers"].(map[string]any)["srv0"].(map[string]any)
	srv["routes"] = append(srv["routes"].([]any), map[string]any{
		"handle": []any{map[string]any{"handler": "s3gateway", "config": filepath.Join(dir, "missing", "user.toml")}},
	})
	broken, _ := json.Marshal(doc)
	caddytest.AssertLoadError(t, string(broken), "json", "no such file or directory")
	stillServing("provision-error")

	// 3. A data directory that cannot be created (a file is in the way).
	blocker := filepath.Join(dir, "blocker")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	caddytest.AssertLoadError(t, strings.Replace(good, "config "+cfg, "config "+cfg+"\n\t\tdata "+blocker, 1),
		"caddyfile", "not a directory")
	stillServing("data-error")

	// A good reload still works, and a config without the order closes
	// its store (no reference leaked by the failed loads).
	load(t, tc, strings.Replace(good, "tls internal", "tls internal\n\theader X-Reloaded yes", 1))
	stillServing("good-reload")
	load(t, tc, globalOptions(t)+fmt.Sprintf("\nhttps://localhost:%d {\n\ttls internal\n\trespond \"no S3 here\" 404\n}\n", httpsPort))
	if n := inflight(dataDir); n != -1 {
		t.Errorf("the store of an unloaded order is still open (%d in flight)", n)
	}
	st, err := embedded.Open(dataDir, embedded.Options{})
	if err != nil {
		t.Fatalf("the store of an unloaded order is still locked: %v", err)
	}
	defer st.Close()
	if _, err := st.HeadBucket(ctxT(t), "keep"); err != nil {
		t.Errorf("the data written through the running config: %v", err)
	}
}

// TestTwoOrdersIsolated serves two orders in one Caddy (two sites, same
// data root): each order's keys see and touch only its own data.
func TestTwoOrdersIsolated(t *testing.T) {
	tc := newTester(t)
	_, httpsPort, second := testPorts(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.Setenv("S3GW_TEST_BETA_SECRET", "beta-secret")
	t.Cleanup(func() { os.Unsetenv("S3GW_TEST_BETA_SECRET") })
	load(t, tc, globalOptions(t)+fmt.Sprintf(`
https://localhost:%d {
	tls internal
	s3gateway {
		order alpha
		access_key alpha-ak
		secret_key alpha-secret
		data %s
	}
}

https://localhost:%d {
	tls internal
	s3gateway {
		order beta
		access_key beta-ak
		secret_key {env.S3GW_TEST_BETA_SECRET}
		data %s
	}
}
`, httpsPort, data, second, data))
	hc := httpsClient(t)
	alphaURL := fmt.Sprintf("https://localhost:%d", httpsPort)
	betaURL := fmt.Sprintf("https://localhost:%d", second)
	waitTLS(t, hc, alphaURL)
	waitTLS(t, hc, betaURL)
	alpha := s3Client(hc, alphaURL, "alpha-ak", "alpha-secret", false)
	beta := s3Client(hc, betaURL, "beta-ak", "beta-secret", false)

	for _, c := range []struct {
		cli  *s3.Client
		name string
	}{{alpha, "alpha"}, {beta, "beta"}} {
		mkBucket(t, c.cli, "same-name")
		mkBucket(t, c.cli, "only-"+c.name)
		put(t, c.cli, "same-name", "k", []byte(c.name+" data"))
	}
	for _, c := range []struct {
		cli  *s3.Client
		name string
	}{{alpha, "alpha"}, {beta, "beta"}} {
		if got := getBody(t, c.cli, "same-name", "k"); string(got) != c.name+" data" {
			t.Errorf("%s reads %q", c.name, got)
		}
		out, err := c.cli.ListBuckets(ctxT(t), &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range out.Buckets {
			names = append(names, aws.ToString(b.Name))
		}
		if want := []string{"only-" + c.name, "same-name"}; !slices.Equal(names, want) {
			t.Errorf("%s lists buckets %q, want %q", c.name, names, want)
		}
	}
	// One order's keys at the other's endpoint.
	cross := s3Client(hc, betaURL, "alpha-ak", "alpha-secret", false)
	if _, err := cross.ListBuckets(ctxT(t), &s3.ListBucketsInput{}); !isCode(err, "InvalidAccessKeyId") {
		t.Errorf("alpha's keys listing beta: %v, want InvalidAccessKeyId", err)
	}
	if _, err := cross.PutObject(ctxT(t), &s3.PutObjectInput{Bucket: aws.String("same-name"), Key: aws.String("k"),
		Body: strings.NewReader("overwrite")}); !isCode(err, "InvalidAccessKeyId") {
		t.Errorf("alpha's keys writing to beta: %v, want InvalidAccessKeyId", err)
	}
	if _, err := cross.DeleteObject(ctxT(t), &s3.DeleteObjectInput{Bucket: aws.String("same-name"), Key: aws.String("k")}); !isCode(err, "InvalidAccessKeyId") {
		t.Errorf("alpha's keys deleting at beta: %v, want InvalidAccessKeyId", err)
	}
	if got := getBody(t, beta, "same-name", "k"); string(got) != "beta data" {
		t.Errorf("beta's object after alpha's attempts: %q", got)
	}
	for _, o := range []string{"alpha", "beta"} {
		if _, err := os.Stat(filepath.Join(data, o, "index.db")); err != nil {
			t.Errorf("order %s's store: %v", o, err)
		}
	}
}

// TestHandlePathPrefix serves S3 under a path prefix with handle_path
// (endpoint https://host/s3): Caddy strips and cleans the path, but the
// signature and the keys are those the client sent ("a//b" stays "a//b").
func TestHandlePathPrefix(t *testing.T) {
	tc := newTester(t)
	_, httpsPort, _ := testPorts(t)
	dir := t.TempDir()
	cfg := orderConfig(t, dir, "prefix-order", "prefix-ak", "prefix-sk")
	load(t, tc, globalOptions(t)+fmt.Sprintf(`
https://localhost:%d {
	tls internal
	handle_path /s3/* {
		s3gateway {
			config %s
		}
	}
	handle {
		respond "not S3" 404
	}
}
`, httpsPort, cfg))
	base := fmt.Sprintf("https://localhost:%d", httpsPort)
	hc := httpsClient(t)
	waitTLS(t, hc, base)
	cli := s3Client(hc, base+"/s3", "prefix-ak", "prefix-sk", false)
	mkBucket(t, cli, "prefixed")
	keys := []string{"a//b", "dir/", "p q+r%s&t=1", "s3/nested", "%2F-literal"}
	for _, k := range keys {
		put(t, cli, "prefixed", k, []byte("v:"+k))
	}
	for _, k := range keys {
		if got := getBody(t, cli, "prefixed", k); string(got) != "v:"+k {
			t.Errorf("%q = %q", k, got)
		}
	}
	got := listKeys(t, cli, "prefixed")
	want := slices.Clone(keys)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("keys = %q, want %q", got, want)
	}
}

// s3Message returns the message of an S3 API error.
func s3Message(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// TestUnderscoreMetadata checks the documented behaviour of S3 user
// metadata whose name has '_' (x-amz-meta-build_id), which Caddy ≥ 2.11.5
// drops: without configuration the upload is refused with an error naming
// the header and the fix; with the header listed in the server's
// expected_underscore_headers it is stored and returned (and the
// hyphenated spelling is then refused, naming the reason).
func TestUnderscoreMetadata(t *testing.T) {
	tc := newTester(t)
	_, httpsPort, _ := testPorts(t)
	dir := t.TempDir()
	cfg := orderConfig(t, dir, "meta-order", "meta-ak", "meta-sk")
	site := fmt.Sprintf(`
https://localhost:%d {
	tls internal
	s3gateway {
		config %s
	}
}
`, httpsPort, cfg)
	load(t, tc, globalOptions(t)+site)
	base := fmt.Sprintf("https://localhost:%d", httpsPort)
	hc := httpsClient(t)
	waitTLS(t, hc, base)
	cli := s3Client(hc, base, "meta-ak", "meta-sk", false)
	mkBucket(t, cli, "meta")
	putMeta := func(key string, meta map[string]string) error {
		_, err := cli.PutObject(ctxT(t), &s3.PutObjectInput{Bucket: aws.String("meta"), Key: aws.String(key),
			Body: strings.NewReader("x"), Metadata: meta})
		return err
	}
	headMeta := func(key string) map[string]string {
		out, err := cli.HeadObject(ctxT(t), &s3.HeadObjectInput{Bucket: aws.String("meta"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("HeadObject %s: %v", key, err)
		}
		return out.Metadata
	}

	err := putMeta("underscore", map[string]string{"build_id": "42"})
	msg := s3Message(err)
	if !isCode(err, "SignatureDoesNotMatch") || !strings.Contains(msg, "'x-amz-meta-build_id'") ||
		!strings.Contains(msg, "expected_underscore_headers x-amz-meta-build_id") {
		t.Errorf("metadata build_id without configuration: %v; want SignatureDoesNotMatch naming the header and the option", err)
	}
	if err := putMeta("dotted", map[string]string{"build.id": "42"}); !strings.Contains(s3Message(err), "expected_dot_headers x-amz-meta-build.id") {
		t.Errorf("metadata build.id without configuration: %v", err)
	}
	if err := putMeta("hyphen", map[string]string{"build-id": "42"}); err != nil {
		t.Errorf("metadata build-id: %v", err)
	} else if m := headMeta("hyphen"); m["build-id"] != "42" {
		t.Errorf("metadata of hyphen = %v", m)
	}

	load(t, tc, globalOptions(t, "servers {\n\t\texpected_underscore_headers x-amz-meta-build_id\n\t}")+site)
	waitTLS(t, hc, base)
	if err := putMeta("underscore", map[string]string{"build_id": "42"}); err != nil {
		t.Errorf("metadata build_id with expected_underscore_headers: %v", err)
	} else if m := headMeta("underscore"); m["build_id"] != "42" {
		t.Errorf("metadata of underscore = %v, want build_id: 42", m)
	}
	err = putMeta("hyphen2", map[string]string{"build-id": "42"})
	if msg := s3Message(err); !isCode(err, "SignatureDoesNotMatch") || !strings.Contains(msg, "'x-amz-meta-build-id'") ||
		!strings.Contains(msg, "x-amz-meta-build_id") {
		t.Errorf("metadata build-id with build_id allowed: %v; want an error naming both spellings", err)
	}
}
