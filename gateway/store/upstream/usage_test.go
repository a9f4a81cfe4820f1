package upstream

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

// TestUsageAdjusted: between scans a Store adjusts its usage figure by its
// own writes, exactly where it learns what they replace; other gateways'
// writes show only after a scan.
func TestUsageAdjusted(t *testing.T) {
	srv := server(t, 1)
	ctx := context.Background()
	cfg := config(srv, newPrefix(t))
	cfg.BufferSize = 64 // bodies above 64 bytes stream to their key
	cfg.UsageCacheTTL = time.Hour
	a := open(t, cfg) // the gateway under test
	b := open(t, cfg) // another gateway of the order
	recount := func() int64 {
		u, err := open(t, cfg).Usage(ctx) // a new Store scans
		if err != nil {
			t.Fatal(err)
		}
		return u.Bytes
	}
	put := func(s *Store, key string, n int) func() error {
		return func() error {
			_, err := s.PutObject(ctx, "bkt", key, storetest.Input(t, storetest.Data(uint64(n), n), ""))
			return err
		}
	}
	if err := a.CreateBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	var upload string
	// What each entry is charged (store.ObjectCost and the like).
	o := func(key string, n int64) int64 { return store.ObjectCost(key, n, nil) }
	bkt := store.BucketCost("bkt")
	for _, st := range []struct {
		name      string
		do        func() error
		want      int64 // a's figure
		wantTruth int64 // a recount
	}{
		{"first scan", func() error { return nil }, bkt, bkt},
		{"small put", put(a, "k", 100), bkt + o("k", 100), bkt + o("k", 100)},
		{"small overwrite credits the old size", put(a, "k", 40), bkt + o("k", 40), bkt + o("k", 40)},
		{"streamed put", put(a, "s", 200), bkt + o("k", 40) + o("s", 200), bkt + o("k", 40) + o("s", 200)},
		{"streamed overwrite credits the old size", put(a, "s", 100), bkt + o("k", 40) + o("s", 100), bkt + o("k", 40) + o("s", 100)},
		{"copy onto an existing key credits it", func() error {
			_, err := a.CopyObject(ctx, "bkt", "k", "bkt", "s", store.CopyInput{})
			return err
		}, bkt + o("k", 40) + o("s", 40), bkt + o("k", 40) + o("s", 40)},
		{"delete credits the object", func() error { return a.DeleteObject(ctx, "bkt", "k") }, bkt + o("s", 40), bkt + o("s", 40)},
		{"delete of a missing key", func() error { return a.DeleteObject(ctx, "bkt", "none") }, bkt + o("s", 40), bkt + o("s", 40)},
		{"another gateway's put is not seen", put(b, "x", 50), bkt + o("s", 40), bkt + o("s", 40) + o("x", 50)},
		{"part", func() error {
			id, err := a.CreateMultipartUpload(ctx, "bkt", "m", store.UploadInput{})
			if err != nil {
				return err
			}
			upload = id
			_, err = a.UploadPart(ctx, "bkt", "m", id, 1, storetest.Input(t, storetest.Data(1, 30), ""))
			return err
		}, bkt + o("s", 40) + store.UploadCost("m", nil) + store.PartCost(30), bkt + o("s", 40) + o("x", 50) + store.UploadCost("m", nil) + store.PartCost(30)},
		{"abort credits the upload and its parts", func() error { return a.AbortMultipartUpload(ctx, "bkt", "m", upload) },
			bkt + o("s", 40), bkt + o("s", 40) + o("x", 50)},
		{"completion replaces the parts and the old object", func() error {
			id, err := a.CreateMultipartUpload(ctx, "bkt", "s", store.UploadInput{})
			if err != nil {
				return err
			}
			p, err := a.UploadPart(ctx, "bkt", "s", id, 1, storetest.Input(t, storetest.Data(2, 10), ""))
			if err != nil {
				return err
			}
			_, err = a.CompleteMultipartUpload(ctx, "bkt", "s", id, []store.CompletePart{{Number: 1, ETag: p.ETag}}, store.CompleteInput{})
			return err
		}, bkt + o("s", 10), bkt + o("s", 10) + o("x", 50)},
	} {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		u, err := a.Usage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u.Bytes != st.want {
			t.Errorf("%s: usage %d, want %d", st.name, u.Bytes, st.want)
		}
		if r := recount(); r != st.wantTruth {
			t.Errorf("%s: recount %d, want %d", st.name, r, st.wantTruth)
		}
	}

	// Once the figure is older than the TTL, a scan replaces it.
	cfg.UsageCacheTTL = 100 * time.Millisecond
	c := open(t, cfg)
	if _, err := c.Usage(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutObject(ctx, "bkt", "y", storetest.Input(t, storetest.Data(3, 5), "")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * cfg.UsageCacheTTL)
	waitUsage(t, c, bkt+o("s", 10)+o("x", 50)+o("y", 5))
}

// waitUsage calls s.Usage until it reports want bytes (a background scan
// refreshes an expired figure), failing t after a generous bound.
func waitUsage(t *testing.T, s *Store, want int64) {
	t.Helper()
	var u store.Usage
	var err error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if u, err = s.Usage(t.Context()); err == nil && u.Bytes == want {
			return
		}
	}
	t.Fatalf("usage %+v, %v; want %d bytes", u, err, want)
}

// listGate holds the upstream listings (the usage scans) while it is
// closed.
type listGate struct {
	mu     sync.Mutex
	closed chan struct{} // nil: open
}

func (g *listGate) close() { g.mu.Lock(); g.closed = make(chan struct{}); g.mu.Unlock() }

func (g *listGate) open() {
	g.mu.Lock()
	if g.closed != nil {
		close(g.closed)
		g.closed = nil
	}
	g.mu.Unlock()
}

func (g *listGate) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && req.URL.Query().Get("list-type") == "2" {
		g.mu.Lock()
		ch := g.closed
		g.mu.Unlock()
		if ch != nil {
			select {
			case <-ch:
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestUsageRefreshDoesNotBlock: once the cached figure expires, Usage
// answers it (adjusted by this Store's writes) at once while one
// background scan refreshes it: a caller holding the order's meter lock
// across Usage never waits for a scan of the whole order.
func TestUsageRefreshDoesNotBlock(t *testing.T) {
	srv := server(t, 1)
	ctx := t.Context()
	cfg := config(srv, newPrefix(t))
	cfg.UsageCacheTTL = 50 * time.Millisecond
	gate := &listGate{}
	a, err := New(cfg, Options{Transport: gate})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	other := open(t, cfg) // another gateway of the order
	if err := a.CreateBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	bkt := store.BucketCost("bkt")
	waitUsage(t, a, bkt)
	if _, err := other.PutObject(ctx, "bkt", "x", storetest.Input(t, storetest.Data(1, 70), "")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * cfg.UsageCacheTTL)

	gate.close() // every scan now hangs until the gate opens
	for range 3 {
		// A caller whose context would end long after any sane scan:
		// before, Usage waited for the hung scan until then.
		uctx, cancel := context.WithTimeout(ctx, time.Minute)
		u, err := a.Usage(uctx)
		cancel()
		if err != nil || u.Bytes != bkt {
			t.Fatalf("usage while the scan hangs: %+v, %v; want the cached %d bytes at once", u, err, bkt)
		}
	}
	// This Store's own writes still adjust the figure meanwhile.
	if _, err := a.PutObject(ctx, "bkt", "y", storetest.Input(t, storetest.Data(2, 30), "")); err != nil {
		t.Fatal(err)
	}
	if u, err := a.Usage(ctx); err != nil || u.Bytes != bkt+store.ObjectCost("y", 30, nil) {
		t.Fatalf("usage after a write: %+v, %v; want %d", u, err, bkt+store.ObjectCost("y", 30, nil))
	}
	gate.open()
	waitUsage(t, a, bkt+store.ObjectCost("x", 70, nil)+store.ObjectCost("y", 30, nil))
}
