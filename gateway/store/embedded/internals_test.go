package embedded

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/checksum"
	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

func newBucket(t *testing.T, opts Options) *Store {
	t.Helper()
	s := openTest(t, opts)
	if err := s.CreateBucket(t.Context(), "bkt"); err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t *testing.T, s *Store, key string, data []byte) *store.Object {
	t.Helper()
	o, err := s.PutObject(t.Context(), "bkt", key, storetest.Input(t, data, ""))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// record returns key's index record.
func record(t *testing.T, s *Store, key string) *objRecord {
	t.Helper()
	var rec *objRecord
	err := s.db.View(func(tx *bbolt.Tx) (err error) {
		v := objectsOf(tx, "bkt").Get([]byte(key))
		if v == nil {
			return store.ErrNoSuchKey
		}
		rec, err = decodeObject(bytes.Clone(v), decodeFull)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestSendfileReader(t *testing.T) {
	s := newBucket(t, Options{})
	data := storetest.Data(1, 300<<10)
	put(t, s, "k", data)
	_, rc, err := s.GetObject(t.Context(), "bkt", "k", func(*store.Object) (int64, int64, error) { return 1000, 5000, nil })
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var w storetest.ReadFromRecorder
	if _, err := io.Copy(&w, rc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), data[1000:6000]) {
		t.Fatalf("wrong bytes")
	}
	// net/http and *net.TCPConn use sendfile for exactly this source.
	if len(w.Sources) != 1 {
		t.Fatalf("ReadFrom called %d times", len(w.Sources))
	}
	lr, ok := w.Sources[0].(*io.LimitedReader)
	if !ok {
		t.Fatalf("ReadFrom got %T, want *io.LimitedReader", w.Sources[0])
	}
	if _, ok := lr.R.(*os.File); !ok {
		t.Errorf("LimitedReader over %T, want *os.File", lr.R)
	}
}

// multipartObject stores key as parts of MinPartSize, MinPartSize and 100
// bytes and returns its bytes.
func multipartObject(t *testing.T, s *Store, key string) []byte {
	t.Helper()
	ctx := t.Context()
	id, err := s.CreateMultipartUpload(ctx, "bkt", key, store.UploadInput{})
	if err != nil {
		t.Fatal(err)
	}
	parts := [][]byte{storetest.Data(1, store.MinPartSize), storetest.Data(2, store.MinPartSize), storetest.Data(3, 100)}
	var cps []store.CompletePart
	var files []fileID
	for i, p := range parts {
		part, err := s.UploadPart(ctx, "bkt", key, id, i+1, storetest.Input(t, p, ""))
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, store.CompletePart{Number: i + 1, ETag: part.ETag})
		s.db.View(func(tx *bbolt.Tx) error {
			pid, _ := parseUploadID(id)
			p, err := decodePart(tx.Bucket(bktParts).Get(partKey(pid, i+1)))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, p.file)
			return nil
		})
	}
	if _, err := s.CompleteMultipartUpload(ctx, "bkt", key, id, cps, store.CompleteInput{}); err != nil {
		t.Fatal(err)
	}
	// Completing copied nothing: the part files are the segments.
	if got := record(t, s, key).files(); fmt.Sprint(got) != fmt.Sprint(files) {
		t.Errorf("segments %v, part files %v", got, files)
	}
	return bytes.Join(parts, nil)
}

func TestSegmentsPinned(t *testing.T) {
	s := newBucket(t, Options{})
	whole := multipartObject(t, s, "mp")
	segs := record(t, s, "mp").files()
	off := int64(store.MinPartSize + 10)
	_, rc, err := s.GetObject(t.Context(), "bkt", "mp", func(*store.Object) (int64, int64, error) { return off, -1, nil })
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "mp", []byte("replaced"))
	onDisk := dataFiles(t, s)
	if onDisk[segs[0]] || !onDisk[segs[1]] || !onDisk[segs[2]] {
		t.Errorf("after overwrite: segment files present %v %v %v; want only the pinned ones (2, 3)", onDisk[segs[0]], onDisk[segs[1]], onDisk[segs[2]])
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, whole[off:]) {
		t.Errorf("read across segments after overwrite: %v", err)
	}
	rc.Close()
	checkConsistent(t, s) // the deferred removals happened
	// A reader closed before reaching a segment releases its pin too.
	whole = multipartObject(t, s, "mp2")
	_, rc, err = s.GetObject(t.Context(), "bkt", "mp2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteObject(t.Context(), "bkt", "mp2"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(rc, buf); err != nil || !bytes.Equal(buf, whole[:10]) {
		t.Fatal("read", err)
	}
	rc.Close()
	checkConsistent(t, s)
	if len(s.pinned.pins) != 0 || len(s.pinned.pending) != 0 {
		t.Errorf("pins left: %v %v", s.pinned.pins, s.pinned.pending)
	}
}

func sameFile(t *testing.T, s *Store, a, b fileID) bool {
	t.Helper()
	fa, err := os.Stat(s.filePath(a))
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Stat(s.filePath(b))
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(fa, fb)
}

func TestCopyLinks(t *testing.T) {
	s := newBucket(t, Options{})
	ctx := t.Context()
	put(t, s, "src", storetest.Data(1, 300<<10))
	multipartObject(t, s, "mp")
	for _, src := range []string{"src", "mp"} {
		if _, err := s.CopyObject(ctx, "bkt", src, "bkt", src+"-copy", store.CopyInput{}); err != nil {
			t.Fatal(err)
		}
		a, b := record(t, s, src).files(), record(t, s, src+"-copy").files()
		if len(a) != len(b) {
			t.Fatalf("%s: %d segments, copy has %d", src, len(a), len(b))
		}
		for i := range a {
			if a[i] == b[i] || !sameFile(t, s, a[i], b[i]) {
				t.Errorf("%s: segment %d of the copy is not a new link to the same file", src, i)
			}
		}
	}
	checkConsistent(t, s)
}

func TestCopyWithoutLinks(t *testing.T) {
	link = func(string, string) error { return errors.New("no hard links here") }
	defer func() { link = os.Link }()
	for _, opts := range []Options{{}, {InlineLimit: -1}} {
		s := newBucket(t, opts)
		ctx := t.Context()
		data := storetest.Data(1, 300<<10)
		if _, err := s.PutObject(ctx, "bkt", "src", storetest.Input(t, data, store.SHA256)); err != nil {
			t.Fatal(err)
		}
		whole := multipartObject(t, s, "mp")
		for src, want := range map[string][]byte{"src": data, "mp": whole} {
			o, err := s.CopyObject(ctx, "bkt", src, "bkt", src+"-copy", store.CopyInput{})
			if err != nil {
				t.Fatal(err)
			}
			if o.ETag != storetest.MD5Hex(want) || len(record(t, s, src+"-copy").segs) != 1 {
				t.Errorf("%s copy: ETag %s, segments %d", src, o.ETag, len(record(t, s, src+"-copy").segs))
			}
			if src == "src" && o.Checksum.Algorithm != store.SHA256 {
				t.Errorf("copy lost its checksum: %+v", o.Checksum)
			}
		}
		checkConsistent(t, s)
	}
}

func TestListCost(t *testing.T) {
	s := newBucket(t, Options{})
	// 20,000 keys under one prefix, written directly in one transaction.
	enc := (&objRecord{inline: true, mtime: time.Now().UnixNano()}).encode()
	err := s.db.Update(func(tx *bbolt.Tx) error {
		objs := objectsOf(tx, "bkt")
		for i := range 20000 {
			if err := objs.Put(fmt.Appendf(nil, "big/%06d", i), enc); err != nil {
				return err
			}
		}
		for _, k := range []string{"a", "big", "big0", "c/x", "d"} {
			if err := objs.Put([]byte(k), enc); err != nil {
				return err
			}
		}
		return addUsage(tx, 0, 20005)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opts     store.ListOptions
		maxSteps int64
		want     string
	}{
		{store.ListOptions{Delimiter: "/"}, 7, "[a big big0 d] [big/ c/]"},
		{store.ListOptions{Delimiter: "/", After: "big/000005"}, 4, "[big0 d] [c/]"},
		{store.ListOptions{Delimiter: "/", After: "big", Limit: 1}, 2, "[] [big/]"},
		{store.ListOptions{Prefix: "big/", After: "big/010000", Limit: 5}, 6, "[big/010001 big/010002 big/010003 big/010004 big/010005] []"},
	} {
		before := s.listSteps.Load()
		p, err := s.ListObjects(t.Context(), "bkt", c.opts)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, o := range p.Objects {
			keys = append(keys, o.Key)
		}
		if got := fmt.Sprint(keys, p.CommonPrefixes); got != c.want {
			t.Errorf("%+v: %s, want %s", c.opts, got, c.want)
		}
		if steps := s.listSteps.Load() - before; steps > c.maxSteps {
			t.Errorf("%+v: %d cursor steps, want at most %d", c.opts, steps, c.maxSteps)
		}
	}
}

func TestStoreHashesWithoutSums(t *testing.T) {
	s := newBucket(t, Options{})
	ctx := t.Context()
	for _, n := range []int{0, 100, 300 << 10} {
		data := storetest.Data(1, n)
		o, err := s.PutObject(ctx, "bkt", "k", store.PutInput{Body: bytes.NewReader(data), Size: -1})
		if err != nil || o.ETag != storetest.MD5Hex(data) {
			t.Errorf("%d bytes without Sums: %+v, %v", n, o, err)
		}
	}
}

func TestPartChecksumComputed(t *testing.T) {
	// The upload asks for CRC32C but the part body's digests lack it: the
	// store computes it from the part file.
	s := newBucket(t, Options{})
	ctx := t.Context()
	id, err := s.CreateMultipartUpload(ctx, "bkt", "k", store.UploadInput{ChecksumAlgorithm: store.CRC32C, ChecksumType: store.FullObject})
	if err != nil {
		t.Fatal(err)
	}
	data := storetest.Data(1, 1000)
	p, err := s.UploadPart(ctx, "bkt", "k", id, 1, storetest.Input(t, data, ""))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := checksum.New(store.CRC32C)
	h.Write(data)
	want := base64.StdEncoding.EncodeToString(h.Sum(nil))
	if p.Checksum != want {
		t.Errorf("part checksum %q, want %q", p.Checksum, want)
	}
	o, err := s.CompleteMultipartUpload(ctx, "bkt", "k", id, []store.CompletePart{{Number: 1, ETag: p.ETag, Checksum: want}}, store.CompleteInput{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Checksum != (store.Checksum{Algorithm: store.CRC32C, Type: store.FullObject, Value: want}) {
		t.Errorf("object checksum %+v", o.Checksum)
	}
}

func TestInlineLimit(t *testing.T) {
	for _, c := range []struct {
		limit  int
		inline []int
		files  []int
	}{
		{0, []int{0, 1, DefaultInlineLimit}, []int{DefaultInlineLimit + 1, 1 << 20}},
		{100, []int{0, 100}, []int{101, 1000}},
		{-1, nil, []int{0, 1, 1000}},
	} {
		s := newBucket(t, Options{InlineLimit: c.limit})
		for _, sizes := range [][]int{c.inline, c.files} {
			for _, n := range sizes {
				for _, size := range []int64{int64(n), -1} {
					key := fmt.Sprint(n, size)
					data := storetest.Data(uint64(n), n)
					if _, err := s.PutObject(t.Context(), "bkt", key, storetest.NewBody(t, bytes.NewReader(data), "").Input(size)); err != nil {
						t.Fatal(err)
					}
					rec := record(t, s, key)
					if wantInline := len(c.inline) > 0 && &sizes[0] == &c.inline[0]; rec.inline != wantInline || (!rec.inline && len(rec.segs) != 1) {
						t.Errorf("limit %d: %d bytes (declared %d) inline=%v segments=%d", c.limit, n, size, rec.inline, len(rec.segs))
					}
				}
			}
		}
		checkConsistent(t, s)
	}
}

// encodedSize bounds the encoding, so encode allocates exactly once.
func TestRecordEncodeOneAllocation(t *testing.T) {
	recs := []*objRecord{
		{size: 4096, mtime: time.Now().UnixNano(), inline: true, data: make([]byte, 4096),
			meta: store.Metadata{ContentType: "binary/octet-stream", CacheControl: "no-cache", User: map[string]string{"a": "b", "long-name": strings.Repeat("v", 300)}},
			sum:  store.Checksum{Algorithm: store.CRC64NVME, Type: store.FullObject, Value: "AAAAAAAAAAA="}},
		{size: 3 << 30, mtime: -1, etagParts: 10000, segs: make([]segment, 3),
			parts: []partInfo{{number: 10000, size: 5 << 30, checksum: "x", mtime: 1 << 62}, {number: 1}}},
		{},
	}
	for i, r := range recs {
		if enc := r.encode(); len(enc) > r.encodedSize() {
			t.Errorf("record %d: %d bytes encoded, estimate %d", i, len(enc), r.encodedSize())
		}
		if n := testing.AllocsPerRun(10, func() { r.encode() }); n != 1 {
			t.Errorf("record %d: %v allocations", i, n)
		}
	}
}
