package upstream

import (
	"context"
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
	if u, err := c.Usage(ctx); err != nil || u.Bytes != bkt+o("s", 10)+o("x", 50)+o("y", 5) {
		t.Errorf("after the TTL: usage %+v, %v; want %d bytes", u, err, bkt+o("s", 10)+o("x", 50)+o("y", 5))
	}
}
