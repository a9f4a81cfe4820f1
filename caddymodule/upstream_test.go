package caddymodule

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/lambda/storagecli/internal/orderstore"
)

// An order with an [order.<id>.upstream] table is served from the
// upstream: handlers of two configs share one upstream store, and with the
// upstream unreachable provisioning still works and requests get 503
// ServiceUnavailable.
func TestUpstreamOrder(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close() // nothing listens there
	cfg := filepath.Join(home, "user.toml")
	toml := `[order.up.upstream]
endpoint = "` + endpoint + `"
bucket = "orders"
prefix = "up/"
max_retries = 1
`
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STORAGECLI_UPSTREAM_ACCESS_KEY", "upak")
	t.Setenv("STORAGECLI_UPSTREAM_SECRET_KEY", "upsk")
	h := Handler{Order: "up", Config: cfg, AccessKey: "ak", SecretKey: "sk"}
	ctx1, _ := newCaddyContext(t)
	a, err := loadHandler(ctx1, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, _ := newCaddyContext(t)
	b, err := loadHandler(ctx2, h)
	if err != nil {
		t.Fatal(err)
	}
	if a.shared != b.shared || !strings.HasPrefix(a.shared.dir, "upstream:"+endpoint+"/orders/up/@") {
		t.Fatalf("stores %q and %q, want one shared upstream store", a.shared.dir, b.shared.dir)
	}
	if _, ok := a.shared.st.(orderstore.Store); !ok {
		t.Fatal("not an order store")
	}
	if _, err := os.Stat(filepath.Join(home, ".lambda_storagecli", "gateway", "up")); err == nil {
		t.Error("an upstream order got a local data directory")
	}

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	req = signer.SignV4(*req, "ak", "sk", "", "us-east-1")
	rec := httptest.NewRecorder()
	if err := a.ServeHTTP(rec, req, nil); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "<Code>ServiceUnavailable</Code>") ||
		strings.Contains(rec.Body.String(), endpoint) {
		t.Errorf("ListBuckets with the upstream down: %d %s", rec.Code, rec.Body)
	}
}
