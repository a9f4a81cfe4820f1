package gateway_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/embedded"
	"github.com/lambda/storagecli/gateway/store/upstream"
	"github.com/lambda/storagecli/internal/miniotest"
)

// storeOpener opens an empty store for one test. recount, when not nil,
// counts the order's usage afresh (without the store's cache).
type storeOpener func(t *testing.T) (st store.Store, recount func(context.Context) (store.Usage, error))

// orderStores are the stores the order tests run on: each test runs once
// per entry, as a subtest named after it.
var orderStores = []struct {
	name string
	open storeOpener
}{
	{"embedded", openEmbedded},
	{"upstream", openUpstream},
}

// eachStore runs test on every store of orderStores.
func eachStore(t *testing.T, test func(t *testing.T, open storeOpener)) {
	for _, s := range orderStores {
		t.Run(s.name, func(t *testing.T) { test(t, s.open) })
	}
}

func openEmbedded(t *testing.T) (store.Store, func(context.Context) (store.Usage, error)) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, nil
}

// The single-node MinIO shared by the upstream order tests of this test
// binary, started on first use and stopped by TestMain.
const ordersUpstreamBucket = "orders"

var (
	minioOnce   sync.Once
	minioSrv    *miniotest.Server
	minioErr    error
	minioPrefix atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if minioSrv != nil {
		minioSrv.Close()
	}
	closeSeaweed()
	os.Exit(code)
}

func sharedMinIO(t *testing.T) *miniotest.Server {
	t.Helper()
	minioOnce.Do(func() {
		bin, err := miniotest.BinaryPath()
		if err != nil {
			minioErr = err
			return
		}
		srv, err := miniotest.Launch(bin, miniotest.Options{})
		if err != nil {
			minioErr = err
			return
		}
		minioSrv = srv
		cl, err := minio.New(srv.Endpoint, &minio.Options{Creds: miniocreds.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
		if err == nil {
			err = cl.MakeBucket(context.Background(), ordersUpstreamBucket, minio.MakeBucketOptions{})
		}
		minioErr = err
	})
	if minioErr != nil {
		miniotest.Unavailable(t, minioErr)
	}
	return minioSrv
}

// openUpstream opens an upstream store on its own prefix of the shared
// MinIO. Its usage cache lives longer than any test, so that the tests
// check the cached figure as the store adjusts it by its own writes (the
// recount checks it against a scan); docs/upstream.md has the semantics.
func openUpstream(t *testing.T) (store.Store, func(context.Context) (store.Usage, error)) {
	srv := sharedMinIO(t)
	return openUpstreamOn(t, "http://"+srv.Endpoint, srv.AccessKey, srv.SecretKey)
}

// openUpstreamOn is openUpstream on the S3 endpoint given, whose
// ordersUpstreamBucket exists.
func openUpstreamOn(t *testing.T, endpoint, accessKey, secretKey string) (store.Store, func(context.Context) (store.Usage, error)) {
	cfg := upstream.Config{
		Endpoint:      endpoint,
		Bucket:        ordersUpstreamBucket,
		Prefix:        fmt.Sprintf("t%d-%d/", time.Now().UnixNano()%1e9, minioPrefix.Add(1)),
		AccessKey:     accessKey,
		SecretKey:     secretKey,
		UsageCacheTTL: time.Hour,
	}
	open := func() *upstream.Store {
		st, err := upstream.New(cfg, upstream.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	t.Cleanup(func() { st.Close() })
	recount := func(ctx context.Context) (store.Usage, error) {
		fresh := open() // a new Store scans on its first Usage
		defer fresh.Close()
		return fresh.Usage(ctx)
	}
	return st, recount
}
