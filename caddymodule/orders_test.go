package caddymodule

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lambda/storagecli/gateway/store"
)

// TestOrderSettings: an order's capacity, expiry and keys come from
// user.toml; a reload with a changed file swaps the keys and capacity; the
// capacity is a metric.
func TestOrderSettings(t *testing.T) {
	tc := newTester(t)
	_, httpsPort, _ := testPorts(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "user.toml")
	writeCfg := func(order string) {
		t.Helper()
		body := "[gateway]\naccess_key = \"gamma-ak\"\nsecret_key = \"gamma-secret\"\n[broker]\nextra_order_id = \"gamma\"\n" + order
		if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The capacity holds the bucket and "fits" exactly (each is charged
	// with its name and an overhead: store.ObjectCost).
	// The SDK sends Content-Type: application/octet-stream.
	capacity := store.BucketCost("gamma") + store.ObjectCost("fits", 100, &store.Metadata{ContentType: "application/octet-stream"})
	writeCfg(fmt.Sprintf(`
[order.gamma]
capacity = %d
expires = 2099-01-01T00:00:00Z
[[order.gamma.keys]]
access_key = "gamma-ro"
secret_key = "gamma-ro-secret"
read_only = true
`, capacity))
	caddyfile := globalOptions(t) + fmt.Sprintf(`
https://localhost:%d {
	tls internal
	s3gateway {
		config %s
		order gamma
		data %s
	}
}
`, httpsPort, cfgPath, filepath.Join(dir, "data"))
	load(t, tc, caddyfile)
	hc := httpsClient(t)
	url := fmt.Sprintf("https://localhost:%d", httpsPort)
	waitTLS(t, hc, url)
	rw := s3Client(hc, url, "gamma-ak", "gamma-secret", false)
	ro := s3Client(hc, url, "gamma-ro", "gamma-ro-secret", false)
	mkBucket(t, rw, "gamma")
	put(t, rw, "gamma", "fits", make([]byte, 100))
	putErr := func(cli *s3.Client, key string, n int) error {
		_, err := cli.PutObject(ctxT(t), &s3.PutObjectInput{Bucket: aws.String("gamma"), Key: aws.String(key), Body: strings.NewReader(strings.Repeat("x", n))})
		return err
	}
	if err := putErr(rw, "over", 1); !isCode(err, "QuotaExceeded") {
		t.Errorf("put over capacity: %v, want QuotaExceeded", err)
	}
	if err := putErr(ro, "ro", 0); !isCode(err, "AccessDenied") {
		t.Errorf("put with the read-only key: %v, want AccessDenied", err)
	}
	if got := getBody(t, ro, "gamma", "fits"); len(got) != 100 {
		t.Errorf("read-only key reads %d bytes", len(got))
	}
	m := scrapeMetrics(t)
	if v, ok := metricValue(m, "caddy_s3gateway_capacity_bytes", `order="gamma"`); !sameNumber(v, int(capacity)) {
		t.Errorf("caddy_s3gateway_capacity_bytes = %q (%v), want %d", v, ok, capacity)
	}
	if v, ok := metricValue(m, "caddy_s3gateway_store_bytes", `order="gamma"`); !sameNumber(v, int(capacity)) {
		t.Errorf("caddy_s3gateway_store_bytes = %q (%v), want %d", v, ok, capacity)
	}

	// Reload with the read-only key removed and the capacity raised.
	writeCfg(`
[order.gamma]
capacity = "3KiB"
`)
	// Caddy skips a reload to an identical config (the CLI needs
	// `caddy reload --force` after editing only user.toml): change it.
	load(t, tc, strings.Replace(caddyfile, "order gamma", "order gamma\n\t\tdebug", 1))
	if err := putErr(rw, "more", 500); err != nil {
		t.Errorf("put within the new capacity: %v", err)
	}
	if _, err := ro.ListBuckets(ctxT(t), &s3.ListBucketsInput{}); !isCode(err, "InvalidAccessKeyId") {
		t.Errorf("removed key after reload: %v, want InvalidAccessKeyId", err)
	}
	if v, ok := metricValue(scrapeMetrics(t), "caddy_s3gateway_capacity_bytes", `order="gamma"`); !sameNumber(v, 3072) {
		t.Errorf("caddy_s3gateway_capacity_bytes after reload = %q (%v), want 3072", v, ok)
	}
}
