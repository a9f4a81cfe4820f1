package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/internal/testproc"
)

// orderClient is an S3 client of g signing with ak/sk.
func orderClient(g *gateway, ak, sk string) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(g.endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Timeout: 60 * time.Second},
	})
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// writeOrderConfig replaces the [order.default] part of home's user.toml.
func writeOrderConfig(t *testing.T, home, base, order string) {
	t.Helper()
	writeFile(t, filepath.Join(home, "config", "user.toml"), []byte(base+"\n"+order))
}

// TestOrderSIGHUP: a gateway serving an order with a capacity and an extra
// key; SIGHUP swaps the keys and the capacity while a request is in
// flight: the in-flight request finishes, a removed key fails from then
// on. --status and order list show the usage.
func TestOrderSIGHUP(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := initHome(home); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(home, "config", "user.toml")
	base, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(base), "\n[order.") {
		t.Fatalf("init wrote an order table; the test appends one:\n%s", base)
	}
	writeOrderConfig(t, home, string(base), `
[order.default]
capacity = "1MiB"
expires = 2099-01-01T00:00:00Z
[[order.default.keys]]
access_key = "rotor"
secret_key = "rotorsecret"
[[order.default.keys]]
access_key = "viewer"
secret_key = "viewersecret"
read_only = true
`)
	g, err := startGateway(home, filepath.Join(dir, "gateway.log"))
	if err != nil {
		t.Fatal(err)
	}
	cleanupGateway(t, g)
	ctx := context.Background()
	main, rotor, viewer := orderClient(g, accessKey, secretKey), orderClient(g, "rotor", "rotorsecret"), orderClient(g, "viewer", "viewersecret")
	if _, err := main.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	put := func(c *s3.Client, key string, n int) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("orders"), Key: aws.String(key), Body: bytes.NewReader(make([]byte, n))})
		return err
	}
	if err := put(rotor, "a", 600<<10); err != nil {
		t.Fatalf("put with the extra key: %v", err)
	}
	if err := put(viewer, "b", 1); apiCode(err) != "AccessDenied" {
		t.Errorf("put with the read-only key: %v, want AccessDenied", err)
	}
	if _, err := viewer.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("orders"), Key: aws.String("a")}); err != nil {
		t.Errorf("get with the read-only key: %v", err)
	}
	if err := put(main, "b", 600<<10); apiCode(err) != "QuotaExceeded" {
		t.Errorf("put over capacity: %v, want QuotaExceeded", err)
	}

	// A request in flight across the reload: its body is held back until
	// after SIGHUP. It asks for 100-continue, so the first write to its
	// body returns only once the gateway has authorized it and started
	// reading (without, the header could still be in a socket buffer at
	// SIGHUP and be checked against the new keys).
	pr, pw := io.Pipe()
	inflight := make(chan error, 1)
	go func() {
		req, err := http.NewRequest("PUT", g.endpoint()+"/orders/inflight", pr)
		if err != nil {
			inflight <- err
			return
		}
		req.ContentLength = 100 << 10
		if err := testproc.SignV4(req, "rotor", "rotorsecret", testproc.UnsignedPayload); err != nil {
			inflight <- err
			return
		}
		req.Header.Set("Expect", "100-continue")
		tr := &http.Transport{ExpectContinueTimeout: time.Minute}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			inflight <- err
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			err = errors.New(resp.Status + ": " + string(b))
		}
		inflight <- err
	}()
	if _, err := pw.Write(make([]byte, 50<<10)); err != nil {
		t.Fatal(err)
	}
	// The rotor key is removed, the capacity raised.
	writeOrderConfig(t, home, string(base), `
[order.default]
capacity = "2MiB"
[[order.default.keys]]
access_key = "newkey"
secret_key = "newsecret"
`)
	if err := g.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	newClient := orderClient(g, "newkey", "newsecret")
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := newClient.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("orders")})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new key does not work after SIGHUP: %v\n%s", err, g.LogTail(3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := pw.Write(make([]byte, 50<<10)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-inflight; err != nil {
		t.Errorf("the request in flight across SIGHUP failed: %v", err)
	}
	if err := put(rotor, "c", 1); apiCode(err) != "InvalidAccessKeyId" {
		t.Errorf("put with the removed key: %v, want InvalidAccessKeyId", err)
	}
	if err := put(main, "b", 600<<10); err != nil {
		t.Errorf("put within the new capacity: %v", err)
	}

	// --status and order list show the served order's usage.
	// (Each bucket and object is charged with its name and an overhead.)
	// The SDK sends Content-Type: application/octet-stream.
	sdk := &store.Metadata{ContentType: "application/octet-stream"}
	used := store.BucketCost("orders") + store.ObjectCost("a", 600<<10, sdk) +
		store.ObjectCost("inflight", 100<<10, nil) + store.ObjectCost("b", 600<<10, sdk)
	var out string
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, _, err = storagecli(home, 30*time.Second, "--home", home, "order", "list", "--json")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, fmt.Sprintf(`"used_bytes": %d`, used)) || time.Now().After(end) {
			break
		}
	}
	var rows []struct {
		OrderID    string `json:"order_id"`
		UsedBytes  *int64 `json:"used_bytes"`
		TotalBytes *int64 `json:"total_bytes"`
		Status     string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) == 0 {
		t.Fatalf("order list --json: %v\n%s", err, out)
	}
	if r := rows[0]; r.OrderID != "default" || r.UsedBytes == nil || *r.UsedBytes != used || r.TotalBytes == nil || *r.TotalBytes != 2<<20 || r.Status != "active" {
		t.Errorf("order list --json: %s", out)
	}
	out, code, err := storagecli(home, 30*time.Second, "--home", home, "gateway", "run", "--status")
	if err != nil || code != 0 || !strings.Contains(out, "order default: used 1.3 MiB / 2.0 MiB, 3 objects, never expires, active") {
		t.Errorf("--status: exit %d, %v\n%s", code, err, out)
	}
	out, _, _ = storagecli(home, 30*time.Second, "--home", home, "order", "list")
	if !strings.Contains(out, "1.3 MiB / 2.0 MiB") || !strings.Contains(out, "active, served by pid") {
		t.Errorf("order list:\n%s", out)
	}
	if !strings.Contains(g.LogTail(20000), "SIGHUP: order settings reloaded") {
		t.Error("no reload in the log")
	}
}

// TestOrderUsageAfterKill: the usage counters stay exact across kill -9
// during concurrent uploads (single and multipart) and a restart: `order
// usage --recount` finds no drift.
func TestOrderUsageAfterKill(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	logPath := filepath.Join(dir, "gateway.log")
	g, err := startGateway(home, logPath)
	if err != nil {
		t.Fatal(err)
	}
	cleanupGateway(t, g)
	ctx := context.Background()
	c := orderClient(g, accessKey, secretKey)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("usage")}); err != nil {
		t.Fatal(err)
	}
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("usage"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	for w := range 16 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if w == 0 {
					_, _ = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("usage"), Key: aws.String("mp"), UploadId: up.UploadId,
						PartNumber: aws.Int32(int32(i%50 + 1)), Body: bytes.NewReader(make([]byte, 100<<10+i))})
					continue
				}
				// Overwrites and new keys, small (inline) and large.
				key := "k" + string(rune('a'+w)) + string(rune('a'+i%5))
				size := (w*7919 + i*104729) % (300 << 10)
				_, _ = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("usage"), Key: aws.String(key), Body: bytes.NewReader(make([]byte, size))})
				if i%3 == 2 {
					_, _ = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("usage"), Key: aws.String(key)})
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	g.Kill()
	close(stop)
	for range 16 {
		<-done
	}
	recount := func(when string) {
		t.Helper()
		out, code, err := storagecli(home, 60*time.Second, "--home", home, "order", "usage", "--recount", "--json")
		if err != nil || code != 0 {
			t.Fatalf("order usage --recount %s: exit %d, %v\n%s", when, code, err, out)
		}
		var rep struct {
			Bytes   int64 `json:"used_bytes"`
			Drift   bool  `json:"drift"`
			Recount *struct {
				Bytes int64 `json:"used_bytes"`
			} `json:"recount"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Drift || rep.Recount == nil || rep.Bytes == 0 {
			t.Errorf("order usage --recount %s: %v\n%s", when, err, out)
		}
	}
	recount("after kill -9")
	// After a restart (which cleans up interrupted writes) and more writes.
	g, err = startGatewayAt(home, g.addr, logPath)
	if err != nil {
		t.Fatal(err)
	}
	cleanupGateway(t, g)
	c = orderClient(g, accessKey, secretKey)
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("usage"), Key: aws.String("mp"), UploadId: up.UploadId}); err != nil {
		t.Errorf("abort: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("usage"), Key: aws.String("after"), Body: bytes.NewReader(make([]byte, 1000))}); err != nil {
		t.Fatal(err)
	}
	if err := g.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	recount("after a restart")
}

// TestTwoOrdersTwoProcesses: two gateways, one per order, on one home;
// each order's key works only on its own gateway.
func TestTwoOrdersTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := initHome(home); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(home, "config", "user.toml")
	base, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	writeOrderConfig(t, home, string(base), `
[order.default]
[[order.default.keys]]
access_key = "alpha-ak"
secret_key = "alpha-secret"

[order.beta]
[[order.beta.keys]]
access_key = "beta-ak"
secret_key = "beta-secret"
`)
	ga, err := startGateway(home, filepath.Join(dir, "alpha.log"))
	if err != nil {
		t.Fatal(err)
	}
	cleanupGateway(t, ga)
	addr, err := testproc.FreeAddrNow()
	if err != nil {
		t.Fatal(err)
	}
	gb, err := startGatewayAt(home, addr, filepath.Join(dir, "beta.log"), "--broker.extra_order_id", "beta")
	if err != nil {
		t.Fatal(err)
	}
	cleanupGateway(t, gb)
	ctx := context.Background()
	alpha, beta := orderClient(ga, "alpha-ak", "alpha-secret"), orderClient(gb, "beta-ak", "beta-secret")
	for _, c := range []*s3.Client{alpha, beta} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("same")}); err != nil {
			t.Fatal(err)
		}
	}
	// Each key on the other order's gateway.
	for _, c := range []*s3.Client{orderClient(gb, "alpha-ak", "alpha-secret"), orderClient(ga, "beta-ak", "beta-secret")} {
		if _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{}); apiCode(err) != "InvalidAccessKeyId" {
			t.Errorf("a key on the other order's gateway: %v, want InvalidAccessKeyId", err)
		}
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("same"), Key: aws.String("x"), Body: strings.NewReader("x")}); apiCode(err) != "InvalidAccessKeyId" {
			t.Errorf("a key writing on the other order's gateway: %v, want InvalidAccessKeyId", err)
		}
	}
	// The [gateway] key pair belongs to the default order (user.toml's
	// broker.extra_order_id); beta has keys of its own, so the pair does not
	// open it even on the gateway started for beta.
	if _, err := orderClient(gb, accessKey, secretKey).ListBuckets(ctx, &s3.ListBucketsInput{}); apiCode(err) != "InvalidAccessKeyId" {
		t.Errorf("the [gateway] key on order beta's gateway: %v, want InvalidAccessKeyId", err)
	}
	if _, err := orderClient(ga, accessKey, secretKey).ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Errorf("the [gateway] key on the default order's gateway: %v", err)
	}
}
