package upstream

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
	"github.com/lambda/storagecli/internal/miniotest"
)

const testBucket = "orders"

// servers are started once per test binary and shared by the tests.
var (
	srvMu   sync.Mutex
	servers = map[int]*miniotest.Server{}
	srvErr  = map[int]error{}
	prefixN atomic.Int64
)

// knownLimits are conformance subtests that cannot pass on an S3
// upstream, skipped unless -test.skip is given. Keys/Unusual stores keys
// of store.MaxKeyLength (1024) bytes: with the order's prefix and bucket
// the upstream name exceeds S3's 1024-byte limit (and MinIO's 255 bytes
// per name segment); see docs/upstream.md.
//
// On a versioned upstream bucket, MinIO never stacks two delete markers
// (a delete of a deleted key replaces its marker) and makes none for a
// key without versions (MinIO PR 15521, a deliberate deviation from S3):
// the checks of those are skipped on it (TestMinIOMarkers checks what it
// does instead). The cluster run leaves the many versions of one key to
// the single node (see TestMain).
const knownLimits = `^TestConformance(Cluster|Streaming|MD5|SeaweedFS|SeaweedFSStreaming|Versioned|VersionedCluster)?$/^Keys$/^Unusual$` +
	`|^TestConformanceVersioned(Cluster)?$/^Versions$/^(DeleteMarkers|ListPages)$` +
	`|^TestConformanceVersionedCluster$/^Versions$/^ManyVersions$` +
	`|^TestConformance(Versioned|VersionedCluster)$/^Lock$`

func TestMain(m *testing.M) {
	flag.Parse()
	// MinIO rewrites a key's metadata, which holds all its versions, at
	// each write: 10,000 versions of one key took 10-18 minutes on one
	// node here. 1,200 check the same paging (pages of 120) in seconds;
	// the embedded store runs the 10,000.
	storetest.ManyVersions = 1200
	if f := flag.Lookup("test.skip"); f != nil && f.Value.String() == "" {
		f.Value.Set(knownLimits)
	}
	code := m.Run()
	for _, s := range servers {
		s.Close()
	}
	closeSeaweed()
	os.Exit(code)
}

// server returns the shared server with n nodes, creating the upstream
// bucket; MinIO missing skips (fails in CI).
func server(t *testing.T, nodes int) *miniotest.Server {
	t.Helper()
	bin := miniotest.Binary(t)
	srvMu.Lock()
	defer srvMu.Unlock()
	if s := servers[nodes]; s != nil {
		return s
	}
	if err := srvErr[nodes]; err != nil {
		t.Fatal(err)
	}
	s, err := miniotest.Launch(bin, miniotest.Options{Nodes: nodes})
	if err == nil {
		err = makeBucket(s)
	}
	if err != nil {
		srvErr[nodes] = err
		t.Fatal(err)
	}
	servers[nodes] = s
	return s
}

func makeBucket(s *miniotest.Server) error {
	cl, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		return err
	}
	return cl.MakeBucket(context.Background(), testBucket, minio.MakeBucketOptions{})
}

func config(s *miniotest.Server, prefix string) Config {
	return Config{
		Endpoint:  "http://" + s.Endpoint,
		Bucket:    testBucket,
		Prefix:    prefix,
		AccessKey: s.AccessKey,
		SecretKey: s.SecretKey,
	}
}

func newPrefix(t testing.TB) string {
	return fmt.Sprintf("order-%d-%d/", time.Now().UnixNano()%1e9, prefixN.Add(1))
}

func open(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := server(t, 1)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, config(srv, newPrefix(t))) })
}

// TestConformanceStreaming runs the suite with every body of more than
// one byte streamed to its key (BufferSize 1) instead of buffered.
func TestConformanceStreaming(t *testing.T) {
	srv := server(t, 1)
	storetest.Run(t, func(t *testing.T) store.Store {
		cfg := config(srv, newPrefix(t))
		cfg.BufferSize = 1
		return open(t, cfg)
	})
}

// TestConformanceMD5 runs the streaming suite with transfer_check md5: the
// store gets every body's MD5 and checks the upstream's ETags against it.
func TestConformanceMD5(t *testing.T) {
	srv := server(t, 1)
	storetest.Run(t, func(t *testing.T) store.Store {
		cfg := config(srv, newPrefix(t))
		cfg.BufferSize = 1
		cfg.TransferCheck = checkMD5
		return open(t, cfg)
	})
}

func TestConformanceCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the 4-node cluster run is skipped")
	}
	srv := server(t, 4)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, config(srv, newPrefix(t))) })
}

func TestEncoding(t *testing.T) {
	keys := []string{"a", "a-b", "a.", "a.b", "a/", "a//", "a/.b", "a0", "a\x01", ".x", "x/..y", "é/ü", "/", "..", "-."}
	for _, k := range keys {
		if got, ok := dec(enc(k)); !ok || got != k {
			t.Errorf("dec(enc(%q)) = %q, %v", k, got, ok)
		}
		for _, k2 := range keys {
			if (k < k2) != (enc(k) < enc(k2)) {
				t.Errorf("order of %q, %q not kept: %q, %q", k, k2, enc(k), enc(k2))
			}
		}
	}
	for _, bad := range []string{"a/b", "a.", "a.x"} {
		if _, ok := dec(bad); ok {
			t.Errorf("dec(%q) accepted", bad)
		}
	}
}

// Two orders share one upstream bucket under different prefixes: neither
// sees, lists, counts, nor reaches the other's buckets and objects.
func TestOrdersIsolated(t *testing.T) {
	srv := server(t, 1)
	ctx := t.Context()
	base := newPrefix(t)
	a := open(t, config(srv, base+"a/"))
	b := open(t, config(srv, base+"b/"))
	for _, s := range []*Store{a, b} {
		if err := s.CreateBucket(ctx, "shared"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.PutObject(ctx, "shared", "k", storetest.Input(t, []byte("from a"), "")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateMultipartUpload(ctx, "shared", "up", store.UploadInput{}); err != nil {
		t.Fatal(err)
	}
	if err := a.CreateBucket(ctx, "only-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.HeadObject(ctx, "shared", "k"); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("b sees a's object: %v", err)
	}
	if _, err := b.HeadBucket(ctx, "only-a"); !errors.Is(err, store.ErrNoSuchBucket) {
		t.Errorf("b sees a's bucket: %v", err)
	}
	if bs, _ := b.ListBuckets(ctx); len(bs) != 1 || bs[0].Name != "shared" {
		t.Errorf("b lists buckets %v", bs)
	}
	if p, err := b.ListObjects(ctx, "shared", store.ListOptions{}); err != nil || len(p.Objects) != 0 {
		t.Errorf("b lists %+v, %v", p, err)
	}
	if p, err := b.ListMultipartUploads(ctx, "shared", store.UploadsOptions{}); err != nil || len(p.Uploads) != 0 {
		t.Errorf("b lists uploads %+v, %v", p, err)
	}
	if u, err := b.Usage(ctx); err != nil || u != (store.Usage{Bytes: store.BucketCost("shared")}) {
		t.Errorf("b usage %+v, %v: want its bucket's charge only", u, err)
	}
	if err := b.DeleteBucket(ctx, "shared"); err != nil {
		t.Errorf("b cannot delete its empty bucket: %v", err)
	}
	if _, err := a.HeadObject(ctx, "shared", "k"); err != nil {
		t.Errorf("a lost its object: %v", err)
	}
	// Keys cannot climb out of the order (the store refuses them).
	for _, k := range []string{"../b/shared/k", "/k", "x/../../k"} {
		if _, err := a.PutObject(ctx, "shared", k, storetest.Input(t, []byte("x"), "")); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("PutObject(%q) = %v, want ErrInvalidKey", k, err)
		}
		if _, err := a.CopyObject(ctx, "shared", k, "shared", "dst", store.CopyInput{}); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("CopyObject from %q = %v, want ErrInvalidKey", k, err)
		}
	}
}

// The upstream down: calls fail fast with ErrUnavailable; when it is back
// the same Store works again.
func TestUpstreamDown(t *testing.T) {
	bin := miniotest.Binary(t)
	srv, err := miniotest.Launch(bin, miniotest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := makeBucket(srv); err != nil {
		t.Fatal(err)
	}
	cfg := config(srv, newPrefix(t))
	cfg.BucketCacheTTL = -1
	s := open(t, cfg)
	ctx := t.Context()
	if err := s.CreateBucket(ctx, "bkt1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutObject(ctx, "bkt1", "k", storetest.Input(t, []byte("v1"), "")); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for _, op := range []struct {
		name string
		fn   func() error
	}{
		{"HeadObject", func() error { _, err := s.HeadObject(ctx, "bkt1", "k"); return err }},
		{"PutObject", func() error {
			_, err := s.PutObject(ctx, "bkt1", "k2", storetest.Input(t, []byte("v2"), ""))
			return err
		}},
		{"ListObjects", func() error { _, err := s.ListObjects(ctx, "bkt1", store.ListOptions{}); return err }},
		{"ListBuckets", func() error { _, err := s.ListBuckets(ctx); return err }},
	} {
		start := time.Now()
		err := op.fn()
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with the upstream down: %v, want ErrUnavailable", op.name, err)
		}
		d := time.Since(start)
		if d > 10*time.Second {
			t.Errorf("%s took %s to fail", op.name, d)
		}
		t.Logf("%s with the upstream down failed in %s: %v", op.name, d.Round(time.Millisecond), err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		o, rc, err := s.GetObject(ctx, "bkt1", "k", nil)
		if err == nil {
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != "v1" || o.Size != 2 {
				t.Fatalf("after recovery read %q", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := s.PutObject(ctx, "bkt1", "k2", storetest.Input(t, []byte("v2"), "")); err != nil {
		t.Fatalf("PutObject after recovery: %v", err)
	}
}

// An endpoint where nothing listens gives ErrUnavailable quickly.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := New(Config{Endpoint: "http://" + addr, Bucket: "xyz", AccessKey: "a", SecretKey: "b"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.HeadBucket(t.Context(), "abc")
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("HeadBucket = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
}

// Large bodies stream through a staging object.
func TestLargePut(t *testing.T) {
	srv := server(t, 1)
	cfg := config(srv, newPrefix(t))
	cfg.BufferSize = 64 << 10
	s := open(t, cfg)
	ctx := t.Context()
	if err := s.CreateBucket(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	data := storetest.Data(9, 1<<20+3)
	for _, size := range []int64{int64(len(data)), -1} {
		b := storetest.NewBody(t, bytes.NewReader(data), store.CRC32C)
		o, err := s.PutObject(ctx, "big", "k", b.Input(size))
		if err != nil {
			t.Fatal(err)
		}
		if o.ETag != storetest.MD5Hex(data) || o.Checksum.Algorithm != store.CRC32C {
			t.Errorf("size %d: %+v", size, o)
		}
		_, rc, err := s.GetObject(ctx, "big", "k", nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, data) {
			t.Errorf("size %d: read back differs", size)
		}
	}
	// Too short and too long bodies leave nothing.
	for _, size := range []int64{int64(len(data)) + 1, int64(len(data)) - 1} {
		_, err := s.PutObject(ctx, "big", "bad", storetest.NewBody(t, bytes.NewReader(data), "").Input(size))
		if !errors.Is(err, store.ErrIncompleteBody) {
			t.Errorf("declared %d: %v", size, err)
		}
	}
	if _, err := s.HeadObject(ctx, "big", "bad"); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("bad body stored: %v", err)
	}
}

// An upstream that accepts connections but never answers gives
// ErrUnavailable once ResponseTimeout has passed (retries included).
func TestHungUpstream(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	s, err := New(Config{Endpoint: "http://" + l.Addr().String(), Bucket: "xyz", AccessKey: "a", SecretKey: "b",
		ResponseTimeout: 300 * time.Millisecond, MaxRetries: 2}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.HeadBucket(t.Context(), "abc")
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("HeadBucket = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

// One node of a 4-node cluster stops during a mixed load: writes and reads
// go on, and every acknowledged object reads back intact.
func TestClusterNodeDown(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the 4-node cluster run is skipped")
	}
	srv := miniotest.Start(t, miniotest.Options{Nodes: 4})
	if err := makeBucket(srv); err != nil {
		t.Fatal(err)
	}
	s := open(t, config(srv, newPrefix(t)))
	ctx := t.Context()
	if err := s.CreateBucket(ctx, "load"); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		acked = map[string][]byte{}
		fails atomic.Int64
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("w%d/%04d", w, i)
				data := storetest.Data(uint64(w*100000+i), 1000+i*37%(200<<10))
				if _, err := s.PutObject(ctx, "load", key, storetest.Input(t, data, store.CRC32C)); err != nil {
					fails.Add(1)
					continue
				}
				mu.Lock()
				acked[key] = data
				mu.Unlock()
				if _, rc, err := s.GetObject(ctx, "load", key, nil); err == nil {
					got, _ := io.ReadAll(rc)
					rc.Close()
					if !bytes.Equal(got, data) {
						t.Errorf("%s read back wrong right after its put", key)
					}
				} else {
					fails.Add(1)
				}
			}
		})
	}
	time.Sleep(2 * time.Second)
	srv.StopNode(2)
	time.Sleep(4 * time.Second)
	mu.Lock()
	during := len(acked)
	mu.Unlock()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	mu.Lock()
	after := len(acked)
	mu.Unlock()
	if after <= during {
		t.Errorf("no write acknowledged with a node down (%d before, %d after)", during, after)
	}
	t.Logf("%d objects acknowledged, %d failed calls", after, fails.Load())
	for key, data := range acked {
		_, rc, err := s.GetObject(ctx, "load", key, nil)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, data) {
			t.Errorf("%s: acknowledged object reads back wrong", key)
		}
	}
	page, err := s.ListObjects(ctx, "load", store.ListOptions{Prefix: "w0/"})
	if err != nil || len(page.Objects) == 0 {
		t.Errorf("listing with a node down: %v", err)
	}
	if err := srv.StartNode(2); err != nil {
		t.Fatal(err)
	}
}

// recordingTransport records the method of every request it sends.
type recordingTransport struct {
	mu      sync.Mutex
	methods []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.methods = append(r.methods, req.Method)
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recordingTransport) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.methods
	r.methods = nil
	return m
}

// A PUT whose caller does not need the modification time is one upstream
// request (while usage is tracked, one more to learn the size it
// replaces); one
// that does is followed by a HEAD that reads the time the upstream
// recorded, which HeadObject then reports.
func TestPutModTimeUnused(t *testing.T) {
	srv := server(t, 1)
	for _, c := range []struct {
		usage  bool // a usage scan first: the cached figure is live
		unused bool
		want   string
	}{
		{false, true, "[PUT]"},
		{false, false, "[PUT HEAD]"},
		{true, true, "[HEAD PUT]"},
		{true, false, "[HEAD PUT HEAD]"},
	} {
		rec := &recordingTransport{}
		s, err := New(config(srv, newPrefix(t)), Options{Transport: rec})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		if err := s.CreateBucket(ctx, "mtime"); err != nil {
			t.Fatal(err)
		}
		if c.usage {
			if _, err := s.Usage(ctx); err != nil {
				t.Fatal(err)
			}
		}
		s.versioned() // the store asks once whether the upstream bucket is versioned
		data := []byte("modification time")
		rec.take()
		in := storetest.NewBody(t, bytes.NewReader(data), "").Input(int64(len(data)))
		in.ModTimeUnused = c.unused
		before := time.Now()
		o, err := s.PutObject(ctx, "mtime", "k", in)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(rec.take()); got != c.want {
			t.Errorf("usage %v, ModTimeUnused %v: upstream requests %s, want %s", c.usage, c.unused, got, c.want)
		}
		h, err := s.HeadObject(ctx, "mtime", "k")
		if err != nil || h.ETag != o.ETag || h.ETag != storetest.MD5Hex(data) {
			t.Fatalf("HeadObject = %+v, %v; PutObject said %+v", h, err, o)
		}
		if d := o.LastModified.Sub(before); d < -2*time.Second || d > 2*time.Second {
			t.Errorf("LastModified %v, %v after the call started", o.LastModified, d)
		}
		if !c.unused && !h.LastModified.Equal(o.LastModified) {
			t.Errorf("HeadObject.LastModified = %v, PutObject said %v", h.LastModified, o.LastModified)
		}
		s.Close()
	}
}
