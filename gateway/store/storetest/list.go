package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/store"
)

// listKeys is a key set with the cases listings get wrong: '-' < '/' <
// '0' (S3 byte order), keys equal to a common prefix, empty path
// segments, runs of keys under one prefix that straddle page boundaries,
// multi-byte characters, and prefixes of other keys.
var listKeys = []string{
	"a", "a-b", "a/", "a/b", "a/b/c", "a/c", "a0", "ab", "abab", "abc/d", "abx",
	"b", "b/", "b//", "b//c", "b/x/y",
	"c d", "c%20d", "c+d",
	"p/1", "p/2", "p/3", "p/4", "p/5", "p-q", "pab",
	"x-y", "x-y-z", "x-yz",
	"é", "é/ü", "éé", "日本/語", "日本/語/x",
	"z/", "z/z",
}

var listDelims = []string{"", "/", "-", "ab", "é", "/b"}

var listPrefixes = []string{"", "a", "a/", "b/", "p", "p/", "x-", "é", "z/z", "nope", "a/b/c"}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

func objectKeys(p *store.ListPage) []string {
	var out []string
	for _, o := range p.Objects {
		out = append(out, o.Key)
	}
	return out
}

// refList is the reference listing: every entry (key or common prefix)
// after `after`, in order.
func refList(keys []string, prefix, delim, after string) []string {
	skip, skipOK := store.CommonPrefix(after, prefix, delim)
	var out []string
	seen := map[string]bool{}
	for _, k := range sortedCopy(keys) {
		if !strings.HasPrefix(k, prefix) || k <= after || (skipOK && strings.HasPrefix(k, skip)) {
			continue
		}
		if cp, ok := store.CommonPrefix(k, prefix, delim); ok {
			if !seen[cp] {
				seen[cp] = true
				out = append(out, cp)
			}
			continue
		}
		out = append(out, k)
	}
	return out
}

// pageEntries merges a page's objects and prefixes, checking that they
// are sorted, unique, and that Next is the last one.
func pageEntries(t *testing.T, what string, p *store.ListPage) []string {
	t.Helper()
	entries := append(objectKeys(p), p.CommonPrefixes...)
	slices.Sort(entries)
	if !slices.IsSorted(objectKeys(p)) || !slices.IsSorted(p.CommonPrefixes) {
		t.Errorf("%s: page not sorted: %q / %q", what, objectKeys(p), p.CommonPrefixes)
	}
	if len(slices.Compact(slices.Clone(entries))) != len(entries) {
		t.Errorf("%s: page repeats entries: %q", what, entries)
	}
	if len(entries) > 0 && p.Next != entries[len(entries)-1] {
		t.Errorf("%s: Next = %q, want the last entry %q", what, p.Next, entries[len(entries)-1])
	}
	if p.Truncated && len(entries) == 0 {
		t.Errorf("%s: truncated empty page", what)
	}
	return entries
}

// listAll pages through a listing with the given page size.
func (f *fixture) listAll(prefix, delim, after string, limit int) []string {
	f.t.Helper()
	var out []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			f.t.Fatalf("listing prefix %q delimiter %q does not end", prefix, delim)
		}
		what := fmt.Sprintf("ListObjects(prefix %q, delimiter %q, after %q, limit %d)", prefix, delim, after, limit)
		p, err := f.s.ListObjects(f.t.Context(), f.bucket, store.ListOptions{Prefix: prefix, Delimiter: delim, After: after, Limit: limit})
		if err != nil {
			f.t.Fatalf("%s: %v", what, err)
		}
		entries := pageEntries(f.t, what, p)
		if limit > 0 && len(entries) > limit {
			f.t.Errorf("%s: %d entries", what, len(entries))
		}
		for _, o := range p.Objects {
			if o.ETag != MD5Hex([]byte(o.Key)) || o.Size != int64(len(o.Key)) || !recent(o.LastModified) {
				f.t.Errorf("%s: object %+v", what, o)
			}
		}
		out = append(out, entries...)
		if !p.Truncated {
			return out
		}
		after = p.Next
	}
}

func (f *fixture) putKeys(keys []string) {
	f.t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, k := range keys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := f.s.PutObject(f.t.Context(), f.bucket, k, Input(f.t, []byte(k), "")); err != nil {
				f.t.Errorf("PutObject(%q): %v", k, err)
			}
		})
	}
	wg.Wait()
}

func testList(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Empty", func(t *testing.T) {
		f := newFixture(t, newStore)
		p, err := f.s.ListObjects(t.Context(), f.bucket, store.ListOptions{Delimiter: "/"})
		if err != nil || len(p.Objects)+len(p.CommonPrefixes) != 0 || p.Truncated {
			t.Errorf("ListObjects of an empty bucket = %+v, %v", p, err)
		}
	})
	t.Run("ByteOrder", func(t *testing.T) {
		f := newFixture(t, newStore)
		keys := []string{"a0", "a/b", "a-b", "B", "b", "é", "z", "Z", "~", "a"}
		f.putKeys(keys)
		got := f.listAll("", "", "", 0)
		want := []string{"B", "Z", "a", "a-b", "a/b", "a0", "b", "z", "~", "é"}
		if !equalStrings(got, want) {
			t.Errorf("ListObjects order = %q, want %q", got, want)
		}
	})
	t.Run("Pagination", func(t *testing.T) {
		f := newFixture(t, newStore)
		f.putKeys(listKeys)
		for _, delim := range listDelims {
			for _, prefix := range listPrefixes {
				want := refList(listKeys, prefix, delim, "")
				if got := f.listAll(prefix, delim, "", 0); !equalStrings(got, want) {
					t.Errorf("prefix %q delimiter %q: got %q, want %q", prefix, delim, got, want)
					continue
				}
				for limit := 1; limit <= len(want)+1; limit++ {
					if got := f.listAll(prefix, delim, "", limit); !equalStrings(got, want) {
						t.Errorf("prefix %q delimiter %q limit %d: got %q, want %q", prefix, delim, limit, got, want)
					}
				}
			}
		}
	})
	t.Run("After", func(t *testing.T) {
		// Resuming after any entry, any key (also inside a common prefix)
		// and strings that are neither.
		f := newFixture(t, newStore)
		f.putKeys(listKeys)
		afters := append(slices.Clone(listKeys), "", "0", "a.", "a/a", "a/bb", "b/z", "p/", "p/0", "p/3x",
			"é/", "zz", "\U0010FFFF", "a-", "ab", "x-y-")
		for _, delim := range listDelims {
			for _, prefix := range listPrefixes {
				full := refList(listKeys, prefix, delim, "")
				for _, after := range append(afters, full...) {
					want := refList(listKeys, prefix, delim, after)
					if got := f.listAll(prefix, delim, after, 2); !equalStrings(got, want) {
						t.Errorf("prefix %q delimiter %q after %q: got %q, want %q", prefix, delim, after, got, want)
					}
				}
			}
		}
	})
	t.Run("CommonPrefixAcrossPages", func(t *testing.T) {
		f := newFixture(t, newStore)
		var keys []string
		for i := range 30 {
			keys = append(keys, fmt.Sprintf("dir/%02d", i), fmt.Sprintf("dir/sub%d/x", i%3))
		}
		keys = append(keys, "dir/", "dir0", "dir-", "dir/sub1", "e")
		f.putKeys(keys)
		p, err := f.s.ListObjects(t.Context(), f.bucket, store.ListOptions{Delimiter: "/", Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if got := pageEntries(t, "first page", p); !equalStrings(got, []string{"dir-", "dir/"}) || !p.Truncated {
			t.Errorf("first page = %q (truncated %v), want [dir- dir/] truncated", got, p.Truncated)
		}
		if !equalStrings(p.CommonPrefixes, []string{"dir/"}) {
			t.Errorf("first page prefixes = %q", p.CommonPrefixes)
		}
		p, err = f.s.ListObjects(t.Context(), f.bucket, store.ListOptions{Delimiter: "/", After: p.Next})
		if err != nil {
			t.Fatal(err)
		}
		if got := pageEntries(t, "second page", p); !equalStrings(got, []string{"dir0", "e"}) || p.Truncated {
			t.Errorf("second page = %q (truncated %v), want [dir0 e]", got, p.Truncated)
		}
		for limit := 1; limit <= 8; limit++ {
			want := refList(keys, "dir/", "/", "")
			if got := f.listAll("dir/", "/", "", limit); !equalStrings(got, want) {
				t.Errorf("limit %d: got %q, want %q", limit, got, want)
			}
		}
	})
	t.Run("DefaultLimit", func(t *testing.T) {
		f := newFixture(t, newStore)
		var keys []string
		for i := range store.MaxListKeys + 1 {
			keys = append(keys, fmt.Sprintf("k%05d", i))
		}
		// Content equals the key, as listAll expects.
		f.putKeys(keys)
		p, err := f.s.ListObjects(t.Context(), f.bucket, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Objects) != store.MaxListKeys || !p.Truncated || p.Next != keys[store.MaxListKeys-1] {
			t.Fatalf("ListObjects with Limit 0: %d objects, truncated %v, next %q; want %d, true, %q",
				len(p.Objects), p.Truncated, p.Next, store.MaxListKeys, keys[store.MaxListKeys-1])
		}
		p, err = f.s.ListObjects(t.Context(), f.bucket, store.ListOptions{After: p.Next})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Objects) != 1 || p.Truncated || p.Objects[0].Key != keys[store.MaxListKeys] {
			t.Errorf("second page = %q, truncated %v", objectKeys(p), p.Truncated)
		}
		f.wantUsage(int64(len(keys)*6), int64(len(keys)))
	})
	t.Run("Metadata", func(t *testing.T) {
		f := newFixture(t, newStore)
		in := Input(t, []byte("0123456789"), store.CRC32C)
		in.Meta = testMeta()
		put := f.putIn(f.bucket, "m", in)
		p, err := f.s.ListObjects(t.Context(), f.bucket, store.ListOptions{})
		if err != nil || len(p.Objects) != 1 {
			t.Fatalf("ListObjects = %+v, %v", p, err)
		}
		o := p.Objects[0]
		if d := o.LastModified.Sub(put.LastModified); o.Key != "m" || o.Size != 10 || o.ETag != put.ETag || d < -time.Second || d > time.Second {
			t.Errorf("listed %+v, put %+v", o, put)
		}
	})
}
