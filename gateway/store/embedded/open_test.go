package embedded

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

// markDirty makes the next Open of dir run the leftover scan, as after a
// crash.
func markDirty(t *testing.T, dir string) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, "index.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bktMeta).Put(keyState, stateDirty) })
	if err != nil {
		t.Fatal(err)
	}
}

func mustOpen(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// populate fills a store with inline, file, multipart and in-progress
// data, and returns the upload id left in progress.
func populate(t *testing.T, s *Store) string {
	t.Helper()
	ctx := t.Context()
	for _, b := range []string{"one", "two"} {
		if err := s.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	put := func(b, k string, data []byte) {
		in := storetest.Input(t, data, store.CRC32C)
		in.Meta = populatedMeta[k]
		if _, err := s.PutObject(ctx, b, k, in); err != nil {
			t.Fatal(err)
		}
	}
	put("one", "small", []byte("small object"))
	put("one", "large", storetest.Data(1, 200<<10))
	put("two", "a/b/c", storetest.Data(2, 70<<10))
	put("one", "gone", []byte("deleted"))
	if err := s.DeleteObject(ctx, "one", "gone"); err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateMultipartUpload(ctx, "two", "mp", store.UploadInput{})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := s.UploadPart(ctx, "two", "mp", id, 1, storetest.Input(t, storetest.Data(3, store.MinPartSize), ""))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := s.UploadPart(ctx, "two", "mp", id, 2, storetest.Input(t, []byte("tail"), ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteMultipartUpload(ctx, "two", "mp", id, []store.CompletePart{{Number: 1, ETag: p1.ETag}, {Number: 2, ETag: p2.ETag}}, store.CompleteInput{}); err != nil {
		t.Fatal(err)
	}
	open, err := s.CreateMultipartUpload(ctx, "one", "pending", store.UploadInput{Meta: store.Metadata{ContentType: "x/y"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadPart(ctx, "one", "pending", open, 3, storetest.Input(t, []byte("part three"), "")); err != nil {
		t.Fatal(err)
	}
	return open
}

// populatedMeta is the metadata populate gives some objects.
var populatedMeta = map[string]store.Metadata{
	"small": {ContentDisposition: "attachment", User: map[string]string{"name": "value"}},
}

// checkPopulated checks what populate stored.
func checkPopulated(t *testing.T, s *Store, upload string) {
	t.Helper()
	ctx := t.Context()
	read := func(b, k string) []byte {
		t.Helper()
		_, rc, err := s.GetObject(ctx, b, k, nil)
		if err != nil {
			t.Fatalf("%s/%s: %v", b, k, err)
		}
		defer rc.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(rc); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if got := read("one", "small"); string(got) != "small object" {
		t.Errorf("one/small = %q", got)
	}
	if got := read("one", "large"); !bytes.Equal(got, storetest.Data(1, 200<<10)) {
		t.Errorf("one/large differs")
	}
	if got := read("two", "a/b/c"); !bytes.Equal(got, storetest.Data(2, 70<<10)) {
		t.Errorf("two/a/b/c differs")
	}
	if got := read("two", "mp"); !bytes.Equal(got, append(storetest.Data(3, store.MinPartSize), "tail"...)) {
		t.Errorf("two/mp differs")
	}
	if _, err := s.HeadObject(ctx, "one", "gone"); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("one/gone: %v", err)
	}
	h, err := s.HeadObject(ctx, "one", "large")
	if err != nil || h.Checksum.Algorithm != store.CRC32C || h.Checksum.Value == "" {
		t.Errorf("one/large checksum: %+v %v", h, err)
	}
	lp, err := s.ListParts(ctx, "one", "pending", upload, 0, 0)
	if err != nil || len(lp.Parts) != 1 || lp.Parts[0].Number != 3 || lp.Upload.Meta.ContentType != "x/y" {
		t.Errorf("pending upload: %+v %v", lp, err)
	}
	bs, err := s.ListBuckets(ctx)
	if err != nil || len(bs) != 2 || bs[0].Name != "one" || bs[1].Name != "two" {
		t.Errorf("ListBuckets = %v %v", bs, err)
	}
	small := populatedMeta["small"]
	want := store.BucketCost("one") + store.BucketCost("two") +
		store.ObjectCost("small", int64(len("small object")), &small) +
		store.ObjectCost("large", 200<<10, &store.Metadata{}) +
		store.ObjectCost("a/b/c", 70<<10, &store.Metadata{}) +
		store.ObjectCost("mp", store.MinPartSize+4, &store.Metadata{}) +
		store.UploadCost("pending", &store.Metadata{ContentType: "x/y"}) + store.PartCost(int64(len("part three")))
	if want != 2048+6+512*6+5+5+5+2+7+int64(len("attachmentnamevalue")+len("x/y"))+int64(len("small object")+200<<10+70<<10+store.MinPartSize+4+len("part three")) {
		t.Fatalf("the charges changed: update README.md (Capacity) and this figure (%d)", want)
	}
	if u, err := s.Usage(ctx); err != nil || u.Bytes != want || u.Objects != 4 {
		t.Errorf("Usage = %+v %v, want %d bytes, 4 objects", u, err, want)
	}
}

func TestReopen(t *testing.T) {
	for _, dirty := range []bool{false, true} {
		t.Run(map[bool]string{false: "Clean", true: "Dirty"}[dirty], func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir, Options{})
			upload := populate(t, s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if dirty {
				markDirty(t, dir)
			}
			s = mustOpen(t, dir, Options{})
			defer s.Close()
			checkPopulated(t, s, upload)
			checkConsistent(t, s)
		})
	}
}

func TestLeftovers(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	upload := populate(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, dataDir)
	orphans := []string{
		filepath.Join(data, "ab", newFileIDWithPrefix(0xab).String()),
		filepath.Join(data, "00", newFileIDWithPrefix(0x00).String()),
		filepath.Join(data, "ff", newFileIDWithPrefix(0xff).String()),
		filepath.Join(data, "ab", "upload.tmp"),
		filepath.Join(data, "ab", newFileIDWithPrefix(0xcd).String()), // in the wrong directory
		filepath.Join(data, "tmp", "x.tmp"),
		filepath.Join(data, "stray"),
	}
	for _, p := range orphans {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("leftover"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// After a clean shutdown Open trusts the index and does not scan.
	s = mustOpen(t, dir, Options{})
	if _, err := os.Stat(orphans[0]); err != nil {
		t.Errorf("clean Open scanned: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	markDirty(t, dir)
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	for _, p := range orphans {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("leftover %s survived Open: %v", p, err)
		}
	}
	checkPopulated(t, s, upload)
	checkConsistent(t, s)
}

func newFileIDWithPrefix(b byte) fileID {
	id := newFileID()
	id[0] = b
	return id
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	ctx := t.Context()
	if err := s.CreateBucket(ctx, "bkt"); err != nil {
		t.Fatal(err)
	}
	// A reader open across Close keeps working: its file is open.
	if _, err := s.PutObject(ctx, "bkt", "k", storetest.Input(t, storetest.Data(1, 100<<10), "")); err != nil {
		t.Fatal(err)
	}
	_, rc, err := s.GetObject(ctx, "bkt", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil || !bytes.Equal(buf.Bytes(), storetest.Data(1, 100<<10)) {
		t.Errorf("reader across Close: %v", err)
	}
	rc.Close()
	if _, err := s.PutObject(ctx, "bkt", "k2", storetest.Input(t, []byte("x"), "")); err == nil {
		t.Errorf("PutObject after Close succeeded")
	}
	if _, err := s.HeadObject(ctx, "bkt", "k"); err == nil {
		t.Errorf("HeadObject after Close succeeded")
	}
	// Only one process (or Store) may hold the directory.
	s2 := mustOpen(t, dir, Options{})
	if _, err := Open(dir, Options{}); err == nil {
		t.Errorf("second Open of a held directory succeeded")
	}
	s2.Close()
}

func TestNoSyncReopen(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{NoSync: true, InlineLimit: 100})
	upload := populate(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, Options{NoSync: true})
	defer s.Close()
	checkPopulated(t, s, upload)
}

// TestOpenInUse: a store another holder has open is ErrInUse, not a
// timeout to decode.
func TestOpenInUse(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := Open(dir, Options{NoSync: true}); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: %v, want ErrInUse", err)
	}
}
