// Package storetest is the conformance suite of store.Store: every store
// implementation runs it from its own tests,
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openStore(t) })
//	}
//
// It checks every method against the rules of package store. Multipart
// tests upload a few parts of store.MinPartSize bytes; the rest is small.
package storetest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/checksum"
	"github.com/lambda/storagecli/gateway/store"
)

// Run runs the conformance suite against stores made by newStore (a fresh,
// empty store per call).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	groups := []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T) store.Store)
	}{
		{"Buckets", testBuckets},
		{"Objects", testObjects},
		{"Keys", testKeys},
		{"Bodies", testBodies},
		{"Ranges", testRanges},
		{"Conditions", testConditions},
		{"Concurrency", testConcurrency},
		{"List", testList},
		{"Copy", testCopy},
		{"Multipart", testMultipart},
		{"Usage", testUsage},
		{"Configs", testConfigs},
		{"Attrs", testAttrs},
		{"DeleteIf", testDeleteIf},
		{"Versions", testVersions},
		{"Lock", testLock},
	}
	asGateway := func(t *testing.T) store.Store {
		s := newStore(t)
		if store.MakesETags(s) {
			return withoutMD5{s}
		}
		return s
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.fn(t, asGateway) })
	}
}

// withoutMD5 hands a store that makes its own ETags the Sums the gateway
// gives it: without the MD5 (the client sent no Content-MD5).
type withoutMD5 struct{ store.Store }

func dropMD5(in store.PutInput) store.PutInput {
	sums := in.Sums
	in.Sums = func() store.Sums {
		s := sums()
		s.MD5 = nil
		return s
	}
	return in
}

func (w withoutMD5) PutObject(ctx context.Context, bucket, key string, in store.PutInput) (*store.Object, error) {
	return w.Store.PutObject(ctx, bucket, key, dropMD5(in))
}

func (w withoutMD5) UploadPart(ctx context.Context, bucket, key, uploadID string, number int, in store.PutInput) (*store.Part, error) {
	return w.Store.UploadPart(ctx, bucket, key, uploadID, number, dropMD5(in))
}

// fixture is a fresh store with one bucket.
type fixture struct {
	t      *testing.T
	s      store.Store
	bucket string
}

const testBucket = "bucket-1"

func newFixture(t *testing.T, newStore func(t *testing.T) store.Store) *fixture {
	t.Helper()
	f := &fixture{t: t, s: newStore(t), bucket: testBucket}
	if err := f.s.CreateBucket(t.Context(), f.bucket); err != nil {
		t.Fatalf("CreateBucket(%q): %v", f.bucket, err)
	}
	return f
}

// Body is a request body like the gateway's: it computes the MD5 (and a
// checksum, if alg is set) while it is read, and Sums returns them. Sums
// reports a test error if the store calls it before EOF or more than once.
type Body struct {
	t        testing.TB
	r        io.Reader
	md5      hash.Hash
	alg      string
	sum      hash.Hash
	eof      atomic.Bool
	sumCalls atomic.Int32
}

// NewBody returns a body streaming r, hashing with MD5 and alg ("" none).
func NewBody(t testing.TB, r io.Reader, alg string) *Body {
	b := &Body{t: t, r: r, md5: md5.New(), alg: alg}
	if alg != "" {
		h, err := checksum.New(alg)
		if err != nil {
			t.Fatalf("checksum.New(%q): %v", alg, err)
		}
		b.sum = h
	}
	return b
}

// Read implements io.Reader (and nothing else, like a network body).
func (b *Body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.md5.Write(p[:n])
	if b.sum != nil {
		b.sum.Write(p[:n])
	}
	if err == io.EOF {
		b.eof.Store(true)
	}
	return n, err
}

// Sums returns the digests of the bytes read.
func (b *Body) Sums() store.Sums {
	if !b.eof.Load() {
		b.t.Errorf("store called Sums before the body returned io.EOF")
	}
	if b.sumCalls.Add(1) > 1 {
		b.t.Errorf("store called Sums more than once")
	}
	s := store.Sums{MD5: b.md5.Sum(nil)}
	if b.sum != nil {
		s.Checksum = store.Checksum{Algorithm: b.alg, Type: store.FullObject,
			Value: base64.StdEncoding.EncodeToString(b.sum.Sum(nil))}
	}
	return s
}

// SumCalls returns how often Sums was called.
func (b *Body) SumCalls() int { return int(b.sumCalls.Load()) }

// Input returns a PutInput of the body with the given declared size.
func (b *Body) Input(size int64) store.PutInput {
	return store.PutInput{Body: b, Size: size, Sums: b.Sums}
}

// Input returns a PutInput of data (exact size, MD5 and alg's checksum).
func Input(t testing.TB, data []byte, alg string) store.PutInput {
	return NewBody(t, bytes.NewReader(data), alg).Input(int64(len(data)))
}

// Data returns n deterministic pseudo-random bytes for seed.
func Data(seed uint64, n int) []byte {
	b := make([]byte, n)
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// MD5Hex returns the hex MD5 of data, an S3 ETag.
func MD5Hex(data []byte) string {
	h := md5.Sum(data)
	return hex.EncodeToString(h[:])
}

func checksumOf(t testing.TB, alg string, data []byte) string {
	t.Helper()
	h, err := checksum.New(alg)
	if err != nil {
		t.Fatalf("checksum.New(%q): %v", alg, err)
	}
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Big parts are store.MinPartSize bytes, shared by the multipart tests.
var (
	bigOnce  sync.Once
	bigParts [3][]byte
)

func bigPart(i int) []byte {
	bigOnce.Do(func() {
		for j := range bigParts {
			bigParts[j] = Data(uint64(100+j), store.MinPartSize)
		}
	})
	return bigParts[i]
}

func (f *fixture) put(key string, data []byte) *store.Object {
	f.t.Helper()
	return f.putIn(f.bucket, key, Input(f.t, data, ""))
}

func (f *fixture) putIn(bucket, key string, in store.PutInput) *store.Object {
	f.t.Helper()
	o, err := f.s.PutObject(f.t.Context(), bucket, key, in)
	if err != nil {
		f.t.Fatalf("PutObject(%q, %q): %v", bucket, key, err)
	}
	return o
}

// get reads the whole object.
func (f *fixture) get(key string) ([]byte, *store.Object) {
	f.t.Helper()
	return f.getFrom(f.bucket, key)
}

func (f *fixture) getFrom(bucket, key string) ([]byte, *store.Object) {
	f.t.Helper()
	o, rc, err := f.s.GetObject(f.t.Context(), bucket, key, nil)
	if err != nil {
		f.t.Fatalf("GetObject(%q, %q): %v", bucket, key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		f.t.Fatalf("GetObject(%q, %q): read: %v", bucket, key, err)
	}
	return b, o
}

// wantContent checks that key holds data (and an ETag matching its MD5
// unless multipart).
func (f *fixture) wantContent(key string, data []byte) {
	f.t.Helper()
	got, o := f.get(key)
	if !bytes.Equal(got, data) {
		f.t.Fatalf("GetObject(%q) = %s, want %s", key, describe(got), describe(data))
	}
	if o.Size != int64(len(data)) {
		f.t.Errorf("GetObject(%q).Size = %d, want %d", key, o.Size, len(data))
	}
	if len(o.Parts) == 0 && o.ETag != MD5Hex(data) {
		f.t.Errorf("GetObject(%q).ETag = %q, want %q", key, o.ETag, MD5Hex(data))
	}
}

// wantAbsent checks that key does not exist.
func (f *fixture) wantAbsent(key string) {
	f.t.Helper()
	if _, err := f.s.HeadObject(f.t.Context(), f.bucket, key); !errors.Is(err, store.ErrNoSuchKey) {
		f.t.Fatalf("HeadObject(%q) error = %v, want ErrNoSuchKey", key, err)
	}
	_, rc, err := f.s.GetObject(f.t.Context(), f.bucket, key, nil)
	if rc != nil {
		rc.Close()
	}
	if !errors.Is(err, store.ErrNoSuchKey) {
		f.t.Fatalf("GetObject(%q) error = %v, want ErrNoSuchKey", key, err)
	}
}

func (f *fixture) usage() store.Usage {
	f.t.Helper()
	u, err := f.s.Usage(f.t.Context())
	if err != nil {
		f.t.Fatalf("Usage: %v", err)
	}
	return u
}

// wantUsage checks that the store holds bytes of object and part data
// and objects objects, and that Usage is exactly what a recount of its
// listings charges (store.Recount: data plus the cost of every entry).
func (f *fixture) wantUsage(bytes, objects int64) {
	f.t.Helper()
	u := f.usage()
	c, err := store.Recount(f.t.Context(), f.s)
	if err != nil {
		f.t.Fatalf("Recount: %v", err)
	}
	if c.Data != bytes || u.Objects != objects {
		f.t.Errorf("data = %d bytes, Usage = %d objects; want %d bytes, %d objects", c.Data, u.Objects, bytes, objects)
	}
	if u != c.Usage {
		f.t.Errorf("Usage = %+v, a recount charges %+v", u, c.Usage)
	}
}

func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

// describe summarizes bytes for failure messages.
func describe(b []byte) string {
	if len(b) <= 64 {
		return strconv.Quote(string(b))
	}
	return fmt.Sprintf("<%d bytes, md5 %s>", len(b), MD5Hex(b))
}

// recent reports whether tm is a plausible modification time of something
// written just now (store clocks may differ a little from ours).
func recent(tm time.Time) bool {
	d := time.Since(tm)
	return d > -5*time.Minute && d < 5*time.Minute
}

// errReader returns data, then err.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// ReadFromRecorder is a writer that records the source every ReadFrom
// call is given (to check that io.Copy hands a store's body over for
// sendfile or splice), keeping what it reads.
type ReadFromRecorder struct {
	bytes.Buffer
	Sources []io.Reader
}

// ReadFrom records r and reads it to the end.
func (w *ReadFromRecorder) ReadFrom(r io.Reader) (int64, error) {
	w.Sources = append(w.Sources, r)
	return w.Buffer.ReadFrom(r)
}
