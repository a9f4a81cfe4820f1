package upstream

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
	"github.com/lambda/storagecli/internal/seaweedtest"
)

// The SeaweedFS cluster of this test binary (internal/seaweedtest: a
// master, three volume servers with replication 001, a filer, two S3
// front ends), started on first use and shared by the tests.
var (
	weedOnce    sync.Once
	weedCluster *seaweedtest.Cluster
	weedErr     error
	weedDir     string
)

// seaweed returns the shared cluster with the upstream bucket; no weed
// binary skips (fails in CI). Under -short (test.sh's -race pass) the
// SeaweedFS tests are skipped: they add SeaweedFS's behaviour, not more of
// the store's concurrency, and run in the main pass.
func seaweed(t *testing.T) *seaweedtest.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the SeaweedFS runs are skipped")
	}
	bin := seaweedtest.Binary(t)
	weedOnce.Do(func() {
		weedDir, weedErr = os.MkdirTemp("", "upstream-seaweedfs-")
		if weedErr != nil {
			return
		}
		weedCluster, weedErr = seaweedtest.Launch(bin, seaweedtest.Options{Dir: weedDir})
		if weedErr == nil {
			weedErr = weedCluster.MakeBucket(testBucket)
		}
	})
	if weedErr != nil {
		t.Fatalf("SeaweedFS cluster: %v", weedErr)
	}
	return weedCluster
}

// closeSeaweed stops the shared cluster (TestMain).
func closeSeaweed() {
	if weedCluster != nil {
		weedCluster.Close()
	}
	if weedDir != "" {
		os.RemoveAll(weedDir)
	}
}

// weedConfig is an order's configuration on S3 front end i of the cluster.
func weedConfig(c *seaweedtest.Cluster, i int, prefix string) Config {
	return Config{
		Endpoint:  "http://" + c.Endpoints[i],
		Bucket:    testBucket,
		Prefix:    prefix,
		AccessKey: c.AccessKey,
		SecretKey: c.SecretKey,
	}
}

// seaweedLimits are the conformance subtests that cannot pass on
// SeaweedFS, besides knownLimits: it keeps a part uploaded again under the
// same number beside the first until the upload completes (ListParts lists
// both, and both are charged: the Store credits the replaced part only when
// the upstream dropped it). See docs/upstream.md, "SeaweedFS".
var seaweedLimits = []string{"/Multipart/ReplacePart", "/Multipart/ResendInFlight", "/Usage/Steps", "/Usage/Random"}

// weedStore opens a Store on the cluster's front end i for a conformance
// subtest, skipping the subtests of seaweedLimits.
func weedStore(t *testing.T, c *seaweedtest.Cluster, i int, cfg func(*Config)) store.Store {
	for _, l := range seaweedLimits {
		if strings.HasSuffix(t.Name(), l) {
			t.Skip("a known limit of SeaweedFS (docs/upstream.md)")
		}
	}
	conf := weedConfig(c, i, newPrefix(t))
	if cfg != nil {
		cfg(&conf)
	}
	return open(t, conf)
}

// TestConformanceSeaweedFS runs the store conformance suite on SeaweedFS,
// the Stores of each subtest alternating between the two S3 front ends.
func TestConformanceSeaweedFS(t *testing.T) {
	c := seaweed(t)
	var n int
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		return weedStore(t, c, n%2, nil)
	})
}

// TestConformanceSeaweedFSStreaming runs the suite with every body of
// more than one byte streamed to its key (BufferSize 1): the CRC32C
// trailer path on SeaweedFS.
func TestConformanceSeaweedFSStreaming(t *testing.T) {
	c := seaweed(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return weedStore(t, c, 0, func(cfg *Config) { cfg.BufferSize = 1 })
	})
}

// TestSeaweedFSNamespace: SeaweedFS keeps objects in a filesystem, where a
// file "a" and a file "a/b" cannot coexist; the store's key encoding makes
// every user key one name segment upstream, so keys that are prefixes of
// one another, keys ending in "/", doubled slashes and dot segments of
// any depth all coexist and read back, through either front end.
func TestSeaweedFSNamespace(t *testing.T) {
	c := seaweed(t)
	prefix := newPrefix(t)
	a := open(t, weedConfig(c, 0, prefix))
	b := open(t, weedConfig(c, 1, prefix))
	ctx := t.Context()
	if err := a.CreateBucket(ctx, "fsns"); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a", "a/", "a/b", "a/b/", "a/b/c", "a//b", "a///", "a/.b", "a/..b", "x.", "x./y", "x..", "-", "-/-"}
	for i, k := range keys {
		s := []*Store{a, b}[i%2]
		if _, err := s.PutObject(ctx, "fsns", k, storetest.Input(t, []byte("body of "+k), "")); err != nil {
			t.Errorf("put %q: %v", k, err)
		}
	}
	for i, k := range keys {
		s := []*Store{b, a}[i%2]
		_, r, err := s.GetObject(ctx, "fsns", k, nil)
		if err != nil {
			t.Errorf("get %q: %v", k, err)
			continue
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, []byte("body of "+k)) {
			t.Errorf("get %q: %q, %v", k, got, err)
		}
	}
	page, err := a.ListObjects(ctx, "fsns", store.ListOptions{})
	if err != nil || len(page.Objects) != len(keys) {
		t.Fatalf("list: %d objects, %v; want %d", len(page.Objects), err, len(keys))
	}
	for i := 1; i < len(page.Objects); i++ {
		if page.Objects[i-1].Key >= page.Objects[i].Key {
			t.Errorf("listing out of order: %q before %q", page.Objects[i-1].Key, page.Objects[i].Key)
		}
	}
	for _, k := range keys {
		if err := b.DeleteObject(ctx, "fsns", k); err != nil {
			t.Errorf("delete %q: %v", k, err)
		}
	}
	if err := a.DeleteBucket(ctx, "fsns"); err != nil {
		t.Errorf("delete the emptied bucket: %v", err)
	}
}
