package upstream

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

// listCounter counts the upstream ListObjectsV2 requests.
type listCounter struct{ n atomic.Int32 }

func (c *listCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && req.URL.Query().Get("list-type") == "2" {
		c.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(req)
}

// A full page costs one upstream listing: its truncation comes from the
// upstream's, not from a listing of one more name.
func TestListingRequests(t *testing.T) {
	srv := server(t, 1)
	lc := &listCounter{}
	s, err := New(config(srv, newPrefix(t)), Options{Transport: lc})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if err := s.CreateBucket(ctx, "lst"); err != nil {
		t.Fatal(err)
	}
	const n = store.MaxListKeys + 1
	keys := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for k := range keys {
				if _, err := s.PutObject(ctx, "lst", k, storetest.Input(t, nil, "")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range n {
		keys <- fmt.Sprintf("k%04d", i)
	}
	close(keys)
	wg.Wait()

	list := func(after string) (*store.ListPage, int32) {
		t.Helper()
		before := lc.n.Load()
		p, err := s.ListObjects(ctx, "lst", store.ListOptions{After: after})
		if err != nil {
			t.Fatal(err)
		}
		return p, lc.n.Load() - before
	}
	check := func(what string, p *store.ListPage, listings int32, objects int, truncated bool) {
		t.Helper()
		if len(p.Objects) != objects || p.Truncated != truncated || listings != 1 {
			t.Errorf("%s: %d objects, truncated %v, %d upstream listings; want %d, %v, 1",
				what, len(p.Objects), p.Truncated, listings, objects, truncated)
		}
	}
	p, c := list("")
	check("first of two pages", p, c, store.MaxListKeys, true)
	p, c = list(p.Next)
	check("second page", p, c, 1, false)

	if err := s.DeleteObject(ctx, "lst", fmt.Sprintf("k%04d", n-1)); err != nil {
		t.Fatal(err)
	}
	p, c = list("")
	check("exactly one page", p, c, store.MaxListKeys, false)

	// A name the gateway did not write (invisible) after the last key:
	// the full page says truncated, the next one is empty.
	if _, err := s.core.PutObject(ctx, s.bucket, s.dataBase("lst")+"zzz/not-ours", bytes.NewReader(nil), 0, "", "",
		minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	p, c = list("")
	check("page before a hidden name", p, c, store.MaxListKeys, true)
	p, c = list(p.Next)
	check("page of a hidden name", p, c, 0, false)
}
