package orderstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/config"
	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
	"github.com/lambda/storagecli/gateway/store/upstream"
	"github.com/lambda/storagecli/internal/miniotest"
)

func parse(t *testing.T, toml string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLocate(t *testing.T) {
	home := t.TempDir()
	c := parse(t, `
[broker]
db_path = "data"
[order.up.upstream]
endpoint = "http://127.0.0.1:9000"
bucket = "orders"
prefix = "up/"
access_key = "ak"
secret_key = "very-secret-value"
ca_file = "ca.pem"
[order.up2.upstream]
endpoint = "http://127.0.0.1:9000"
bucket = "orders"
prefix = "up2/"
access_key = "ak"
secret_key = "very-secret-value"
`)
	tests := []struct {
		id, kind, where string
	}{
		{"default", KindEmbedded, filepath.Join(home, "data", "default")},
		{"other", KindEmbedded, filepath.Join(home, "data", "other")},
		{"up", KindUpstream, "http://127.0.0.1:9000/orders/up/"},
		{"up2", KindUpstream, "http://127.0.0.1:9000/orders/up2/"},
	}
	ids := map[string]bool{}
	for _, tt := range tests {
		l := Locate(c, home, tt.id)
		if l.Kind != tt.kind || l.String() != tt.where {
			t.Errorf("%s: %s %s, want %s %s", tt.id, l.Kind, l, tt.kind, tt.where)
		}
		if strings.Contains(l.ID, "very-secret") || ids[l.ID] {
			t.Errorf("%s: ID %q has the secret or is not unique", tt.id, l.ID)
		}
		ids[l.ID] = true
	}
	if got := Locate(c, home, "up").Upstream.CAFile; got != filepath.Join(home, "ca.pem") {
		t.Errorf("ca_file resolved to %s", got)
	}
	// Changed settings give another ID (a shared store is not reused).
	before := Locate(c, home, "up").ID
	if err := c.Set("order.up.upstream.response_timeout", "1m"); err != nil {
		t.Fatal(err)
	}
	if Locate(c, home, "up").ID == before {
		t.Error("the ID does not change with the settings")
	}
}

func TestOpenEmbedded(t *testing.T) {
	home := t.TempDir()
	c := config.Default()
	st, loc, err := Open(c, home, "o1", Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := os.Stat(filepath.Join(loc.Dir, "index.db")); err != nil || loc.Kind != KindEmbedded {
		t.Errorf("embedded store not in %s: %v", loc.Dir, err)
	}
	roundTrip(t, st)
}

// roundTrip writes and reads an object through st.
func roundTrip(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateBucket(ctx, "bkt1"); err != nil {
		t.Fatal(err)
	}
	body := []byte("hello, order")
	if _, err := st.PutObject(ctx, "bkt1", "k", storetest.NewBody(t, bytes.NewReader(body), "").Input(int64(len(body)))); err != nil {
		t.Fatal(err)
	}
	_, r, err := st.GetObject(ctx, "bkt1", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, _ := io.ReadAll(r); !bytes.Equal(got, body) {
		t.Errorf("read %q", got)
	}
}

func upstreamTOML(endpoint, bucket, ak, sk string) string {
	return `
[broker]
extra_order_id = "up"
[order.up.upstream]
endpoint = "` + endpoint + `"
bucket = "` + bucket + `"
prefix = "up/"
access_key = "` + ak + `"
secret_key = "` + sk + `"
max_retries = 1
`
}

func TestOpenUpstream(t *testing.T) {
	srv := miniotest.Start(t, miniotest.Options{})
	cl, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.MakeBucket(context.Background(), "orders", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	ep := "http://" + srv.Endpoint

	st, loc, err := Open(parse(t, upstreamTOML(ep, "orders", srv.AccessKey, srv.SecretKey)), home, "up", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if loc.Kind != KindUpstream {
		t.Fatalf("location %+v", loc)
	}
	roundTrip(t, st)
	if _, err := cl.StatObject(context.Background(), "orders", "up/bkt1/k", minio.StatObjectOptions{}); err != nil {
		t.Errorf("the object is not under the order's prefix upstream: %v", err)
	}

	tests := []struct {
		name string
		toml string
		want string
	}{
		{"no bucket", upstreamTOML(ep, "missing", srv.AccessKey, srv.SecretKey), `bucket "missing" does not exist`},
		{"bad credentials", upstreamTOML(ep, "orders", "nobody", "wrong-secret"), "upstream"},
		{"no credentials", strings.ReplaceAll(upstreamTOML(ep, "orders", "", ""), "access_key = \"\"\nsecret_key = \"\"\n", ""), "no upstream credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _, err := Open(parse(t, tt.toml), home, "up", Options{})
			if err == nil {
				st.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "wrong-secret") {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
}

// An upstream that does not answer does not stop Open (a gateway starts
// and answers 503 until it is back); requests fail fast with
// ErrUnavailable.
func TestOpenUpstreamDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := "http://" + l.Addr().String()
	l.Close() // nothing listens: connections are refused
	st, _, err := Open(parse(t, upstreamTOML(ep, "orders", "ak", "sk")), t.TempDir(), "up", Options{CheckTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	_, err = st.ListBuckets(context.Background())
	if !errors.Is(err, upstream.ErrUnavailable) {
		t.Fatalf("ListBuckets: %v, want ErrUnavailable", err)
	}
	t.Logf("failed after %v", time.Since(start))
}

func TestOrder(t *testing.T) {
	c, err := config.Parse([]byte(`
[gateway]
access_key = "main"
secret_key = "mainsecret"
[broker]
extra_order_id = "o1"
[order.o1]
capacity = "1GiB"
expires = 2027-01-01T00:00:00Z
grace = "1h"
block_public_access = true
[[order.o1.keys]]
access_key = "ro"
secret_key = "rosecret"
read_only = true
[order.o2]
[[order.o2.keys]]
access_key = "o2key"
secret_key = "o2secret"
bypass_governance = true
`))
	if err != nil {
		t.Fatal(err)
	}
	o1 := Order(c, "o1")
	if o1.ID != "o1" || o1.Capacity != 1<<30 || o1.Grace != time.Hour || o1.Expires.Year() != 2027 || len(o1.Keys) != 2 || !o1.BlockPublic {
		t.Fatalf("o1 = %+v", o1)
	}
	if k, ok := o1.Key("main"); !ok || k.ReadOnly || k.SecretKey != "mainsecret" {
		t.Errorf("main key: %+v", k)
	}
	if k, ok := o1.Key("ro"); !ok || !k.ReadOnly || k.BypassGovernance {
		t.Errorf("ro key: %+v", k)
	}
	if k, ok := Order(c, "o2").Key("o2key"); !ok || !k.BypassGovernance {
		t.Errorf("o2key (bypass_governance = true): %+v", k)
	}
	o2 := Order(c, "o2")
	if _, ok := o2.Key("main"); ok || len(o2.Keys) != 1 || o2.Capacity != 0 || o2.BlockPublic {
		t.Errorf("o2 = %+v", o2)
	}
	if err := o1.Validate(); err != nil {
		t.Error(err)
	}
}
