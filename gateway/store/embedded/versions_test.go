package embedded

import (
	"fmt"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// fillVersions writes n versions of key "k" (and keys "j" and "l" with one
// version each) directly into bkt's index, with versioning Enabled, and
// returns the ids newest first. It writes in index order (newest first),
// in transactions of at most 100,000 records.
func fillVersions(tb testing.TB, s *Store, n int) []string {
	tb.Helper()
	if err := s.SetBucketVersioning(tb.Context(), "bkt", store.Enabled); err != nil {
		tb.Fatal(err)
	}
	ids := make([]string, n)
	now := time.Now().UnixNano()
	for from := 0; from < n; from += 100000 {
		err := s.db.Update(func(tx *bbolt.Tx) error {
			vb := openVBucket(tx, "bkt")
			var bytes int64
			for i := from; i < min(n, from+100000); i++ {
				rec := &objRecord{inline: true, mtime: now - int64(i), vid: newVersionID(now - int64(i))}
				ids[i] = rec.vid.String()
				bytes += rec.cost("k")
				b, k := vb.vers, versionKey("k", rec.vid)
				if i == 0 {
					b, k = vb.objs, []byte("k")
				}
				if err := b.Put(k, rec.encode()); err != nil {
					return err
				}
			}
			return addUsage(tx, bytes, int64(min(n, from+100000)-from))
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		vb := openVBucket(tx, "bkt")
		var bytes int64
		for _, k := range []string{"j", "l"} {
			rec := &objRecord{inline: true, mtime: now, vid: newVersionID(now)}
			bytes += rec.cost(k)
			if err := vb.objs.Put([]byte(k), rec.encode()); err != nil {
				return err
			}
		}
		return addUsage(tx, bytes, 2)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

// TestVersionListCost: a page of versions costs cursor steps in proportion
// to the page, not to the number of versions of the key.
func TestVersionListCost(t *testing.T) {
	for _, n := range []int{100, 10000} {
		s := newBucket(t, Options{NoSync: true})
		ids := fillVersions(t, s, n)
		for _, c := range []struct {
			opts      store.VersionsOptions
			wantFirst string
			wantLen   int
		}{
			{store.VersionsOptions{Limit: 50}, "j/", 50},
			{store.VersionsOptions{KeyMarker: "k", VersionIDMarker: ids[n/2], Limit: 50}, "k/" + ids[n/2+1], 50},
			{store.VersionsOptions{KeyMarker: "k", VersionIDMarker: ids[n-2], Limit: 50}, "k/" + ids[n-1], 2},
			{store.VersionsOptions{KeyMarker: "k", Limit: 50}, "l/", 1},
			{store.VersionsOptions{Delimiter: "k", Limit: 50}, "j/", 3},
		} {
			before := s.listSteps.Load()
			p, err := s.ListObjectVersions(t.Context(), "bkt", c.opts)
			if err != nil {
				t.Fatal(err)
			}
			steps := s.listSteps.Load() - before
			if len(p.Versions)+len(p.CommonPrefixes) != c.wantLen {
				t.Errorf("%d versions, %+v: %d entries, want %d", n, c.opts, len(p.Versions)+len(p.CommonPrefixes), c.wantLen)
				continue
			}
			first := p.Versions[0]
			if got := first.Key + "/" + map[bool]string{true: first.VersionID}[first.Key == "k"]; got != c.wantFirst {
				t.Errorf("%d versions, %+v: first %s, want %s", n, c.opts, got, c.wantFirst)
			}
			if steps > int64(c.wantLen) {
				t.Errorf("%d versions, %+v: %d cursor steps for %d entries", n, c.opts, steps, c.wantLen)
			}
		}
	}
}

// BenchmarkListVersions10k: a page of 1,000 versions from the middle of
// the 10,000 versions of one key. Besides the wall time (noisy on a shared
// machine) it reports the process's CPU time and the cursor steps per page.
func BenchmarkListVersions10k(b *testing.B) { benchListVersions(b, 10000) }

// BenchmarkListVersions1M: the same page among 1,000,000 versions.
func BenchmarkListVersions1M(b *testing.B) { benchListVersions(b, 1000000) }

func benchListVersions(b *testing.B, n int) {
	s := openTest(b, Options{NoSync: true})
	if err := s.CreateBucket(b.Context(), "bkt"); err != nil {
		b.Fatal(err)
	}
	ids := fillVersions(b, s, n)
	opts := store.VersionsOptions{KeyMarker: "k", VersionIDMarker: ids[n/2], Limit: 1000}
	steps, cpu := s.listSteps.Load(), cpuTime()
	b.ResetTimer()
	for b.Loop() {
		p, err := s.ListObjectVersions(b.Context(), "bkt", opts)
		if err != nil || len(p.Versions) != 1000 {
			b.Fatal(len(p.Versions), err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(s.listSteps.Load()-steps)/float64(b.N), "steps/op")
}

// TestVersionRecordCompat: a record written before versions reads as the
// null version, and keeps its place when versioning demotes it.
func TestVersionRecordCompat(t *testing.T) {
	s := newBucket(t, Options{})
	old := (&objRecord{inline: true, mtime: 12345}).encode()
	old[1] &^= flagVID // as the previous format wrote it: no version id
	old = append(old[:len(old)-len(versionID{})], old[len(old):]...)
	if err := s.db.Update(func(tx *bbolt.Tx) error { return objectsOf(tx, "bkt").Put([]byte("k"), old) }); err != nil {
		t.Fatal(err)
	}
	rec := record(t, s, "k")
	if !rec.null || rec.vid.stamp() != 12345 {
		t.Fatalf("old record: null %v, stamp %d", rec.null, rec.vid.stamp())
	}
	if err := s.SetBucketVersioning(t.Context(), "bkt", store.Enabled); err != nil {
		t.Fatal(err)
	}
	v := put(t, s, "k", []byte("new"))
	p, err := s.ListObjectVersions(t.Context(), "bkt", store.VersionsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%d %v %s", len(p.Versions), p.Versions[0].VersionID == v.VersionID, p.Versions[1].VersionID); got != "2 true null" {
		t.Errorf("versions after the old record: %s", got)
	}
}
