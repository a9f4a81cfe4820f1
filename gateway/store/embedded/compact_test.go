package embedded

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

func indexSize(t *testing.T, dir string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, indexFile))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestCompactOnOpen: an index that grew with many objects carrying large
// metadata, all deleted since, shrinks when the store is opened again, and
// keeps everything still stored (and a leftover of an interrupted
// compaction is removed).
func TestCompactOnOpen(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{NoSync: true})
	upload := populate(t, s)
	before, err := s.Usage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	meta := store.Metadata{ContentType: strings.Repeat("t", 4000), ContentDisposition: strings.Repeat("d", 4000)}
	const n = 4000
	var wg sync.WaitGroup
	for w := range 8 { // concurrent writers share commits: faster
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				in := storetest.Input(t, nil, "")
				in.Meta = meta
				if _, err := s.PutObject(t.Context(), "one", fmt.Sprintf("attack/%05d", i), in); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	grown := indexSize(t, dir)
	for i := range n {
		if err := s.DeleteObject(t.Context(), "one", fmt.Sprintf("attack/%05d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if size := indexSize(t, dir); size < grown {
		t.Fatalf("the index shrank without a compaction (%d -> %d): the test proves nothing", grown, size)
	}
	if err := os.WriteFile(filepath.Join(dir, compactFile), []byte("partial copy"), 0o600); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, dir, Options{NoSync: true})
	defer s.Close()
	after := indexSize(t, dir)
	t.Logf("index: %d bytes after the writes, %d after the deletes and a reopen", grown, after)
	if grown < 8*compactMinFree || after > grown/4 {
		t.Errorf("index %d bytes after a reopen, %d at its largest", after, grown)
	}
	if _, err := os.Stat(filepath.Join(dir, compactFile)); !os.IsNotExist(err) {
		t.Errorf("the interrupted compaction's file is still there: %v", err)
	}
	checkPopulated(t, s, upload)
	checkConsistent(t, s)
	if u, err := s.Usage(t.Context()); err != nil || u != before {
		t.Errorf("Usage = %+v, %v; want %+v as before", u, err, before)
	}
}

// TestNoCompactWhenDense: a reopened index with little free space is left
// as it is.
func TestNoCompactWhenDense(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{NoSync: true})
	populate(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, indexFile))
	if err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, Options{NoSync: true})
	defer s.Close()
	fi2, err := os.Stat(filepath.Join(dir, indexFile))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(fi, fi2) {
		t.Error("a dense index was rewritten")
	}
}
