package scaleout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
)

// ackedObject is what the load knows of an object whose PUT (or multipart
// completion) was acknowledged: its length and SHA-256.
type ackedObject struct {
	size int64
	sum  [32]byte
}

// ledger records every acknowledged write. Keys are never reused, so an
// acknowledged object must read back with exactly these bytes forever.
type ledger struct {
	mu   sync.Mutex
	objs map[string]ackedObject
	keys []string // in acknowledgement order
}

func (l *ledger) ack(key string, data []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.objs == nil {
		l.objs = map[string]ackedObject{}
	}
	if _, ok := l.objs[key]; !ok {
		l.keys = append(l.keys, key)
	}
	l.objs[key] = ackedObject{size: int64(len(data)), sum: digest(data)}
}

// snapshot returns the acknowledged keys and objects so far.
func (l *ledger) snapshot() map[string]ackedObject {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]ackedObject, len(l.objs))
	for k, v := range l.objs {
		m[k] = v
	}
	return m
}

// pick returns a random acknowledged key.
func (l *ledger) pick(r *rand.Rand) (string, ackedObject, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.keys) == 0 {
		return "", ackedObject{}, false
	}
	k := l.keys[r.IntN(len(l.keys))]
	return k, l.objs[k], true
}

// loadCounts are the operations the load completed (successfully, after
// retries): acknowledged PUTs and multipart uploads, verified GETs and
// complete listings.
type loadCounts struct {
	puts, multiparts, gets, lists int64
}

func (c loadCounts) String() string {
	return fmt.Sprintf("%d PUTs, %d multipart uploads, %d verified GETs, %d listings", c.puts, c.multiparts, c.gets, c.lists)
}

// atLeast reports whether c has reached min in every count.
func (c loadCounts) atLeast(min loadCounts) bool {
	return c.puts >= min.puts && c.multiparts >= min.multiparts && c.gets >= min.gets && c.lists >= min.lists
}

func (c loadCounts) plus(d loadCounts) loadCounts {
	return loadCounts{c.puts + d.puts, c.multiparts + d.multiparts, c.gets + d.gets, c.lists + d.lists}
}

// mixedLoad runs concurrent clients against one endpoint (Caddy) until
// stopped: PUT writers (aws-sdk-go-v2 and minio-go, sizes on both sides of
// the gateways' buffer_size so that streamed PUTs are included), GET
// readers verifying acknowledged objects (whole and ranged), a multipart
// uploader (the SDK's upload manager: parts in parallel, spread over the
// gateways by Caddy's round robin) and a lister checking that paginated
// listings (pages through different gateways) contain every object
// acknowledged before they started.
//
// Every client retries (the SDKs' own retries, plus a few whole-operation
// attempts, as a careful application does); an operation that still
// fails, and any wrong byte read, is recorded as an error.
type mixedLoad struct {
	bucket string
	sdk    *s3.Client
	mc     *minio.Client
	led    ledger

	puts, multiparts, gets, lists atomic.Int64
	// retried counts whole operations repeated after the SDK gave up (or a
	// body read failed); mpActive is true while a multipart upload runs.
	retried  atomic.Int64
	mpActive atomic.Bool
	// trips counts failed HTTP exchanges of the clients (retried).
	trips roundTrips

	ctx    context.Context // bounds the whole load
	cancel context.CancelFunc
	stop   chan struct{}
	wg     sync.WaitGroup

	errMu sync.Mutex
	errs  []error
}

// Object sizes the writers choose from: empty, small (kept in one
// buffered PUT with Content-MD5) and above the gateways' 1 MiB
// buffer_size (streamed to staging, then copied into place).
var putSizes = []int{0, 1000, 17 << 10, 200 << 10, 1200 << 10}

// startLoad starts the clients on endpoint against bucket (which exists).
func startLoad(t *testing.T, endpoint, bucket string) *mixedLoad {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	l := &mixedLoad{
		bucket: bucket,
		ctx:    ctx,
		cancel: cancel,
		stop:   make(chan struct{}),
	}
	l.sdk = countedSDKClient(t, endpoint, 10, &l.trips)
	l.mc = countedMinioClient(t, endpoint, &l.trips)
	t.Cleanup(func() { l.finish() })
	seed := uint64(time.Now().UnixNano())
	l.spawn(func() { l.putWorker(0, "sdk", seedOf(seed, 1)) })
	l.spawn(func() { l.putWorker(1, "sdk", seedOf(seed, 2)) })
	l.spawn(func() { l.putWorker(2, "minio-go", seedOf(seed, 3)) })
	l.spawn(func() { l.getWorker("sdk", seedOf(seed, 4)) })
	l.spawn(func() { l.getWorker("minio-go", seedOf(seed, 5)) })
	l.spawn(func() { l.multipartWorker(seedOf(seed, 6)) })
	l.spawn(func() { l.listWorker() })
	return l
}

func (l *mixedLoad) spawn(f func()) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
}

// stopped reports whether the load was told to stop.
func (l *mixedLoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return l.ctx.Err() != nil
	}
}

func (l *mixedLoad) fail(err error) {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	l.errs = append(l.errs, err)
}

// errors returns the errors recorded so far.
func (l *mixedLoad) errors() []error {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return append([]error(nil), l.errs...)
}

// counts returns what the load has completed so far.
func (l *mixedLoad) counts() loadCounts {
	return loadCounts{l.puts.Load(), l.multiparts.Load(), l.gets.Load(), l.lists.Load()}
}

// waitCounts waits until the load has completed at least min operations of
// every kind (progress, not time), failing the test if a client gave up
// or nothing moves for a long time.
func (l *mixedLoad) waitCounts(t *testing.T, min loadCounts, what string) loadCounts {
	t.Helper()
	last, lastMove := l.counts(), time.Now()
	for {
		c := l.counts()
		if errs := l.errors(); len(errs) > 0 {
			t.Fatalf("%s: the load failed (%s):\n%v", what, c, errors.Join(errs...))
		}
		if c.atLeast(min) {
			t.Logf("%s: %s", what, c)
			return c
		}
		if c != last {
			last, lastMove = c, time.Now()
		}
		// A stall this long is a hang, not slowness.
		if time.Since(lastMove) > 2*time.Minute || l.ctx.Err() != nil {
			t.Fatalf("%s: no progress (at %s, waiting for %s)", what, c, min)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitMultipartInFlight waits until a multipart upload is running, so
// that a fault hits large requests in flight (the uploader is busy most
// of the time; this only avoids the gaps between two uploads).
func (l *mixedLoad) waitMultipartInFlight(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !l.mpActive.Load(); time.Sleep(20 * time.Millisecond) {
		if errs := l.errors(); len(errs) > 0 {
			t.Fatalf("the load failed: %v", errors.Join(errs...))
		}
		if time.Now().After(deadline) {
			t.Fatal("no multipart upload started in 2 minutes")
		}
	}
}

// finish stops the clients and waits for them (each completes the
// operation it is in).
func (l *mixedLoad) finish() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
	l.cancel()
}

// attempts is how many times a client repeats a whole operation that
// failed after the SDK's own retries (e.g. a GET whose body was cut off
// when a gateway died: SDKs do not retry body reads).
const attempts = 4

// retryOp runs op up to attempts times with a pause between attempts,
// returning the last error.
func (l *mixedLoad) retryOp(op func(ctx context.Context) error) error {
	var err error
	for i := range attempts {
		if i > 0 {
			l.retried.Add(1)
			select {
			case <-time.After(time.Duration(i) * 500 * time.Millisecond):
			case <-l.ctx.Done():
				return errors.Join(err, l.ctx.Err())
			}
		}
		ctx, cancel := opContext(l.ctx)
		err = op(ctx)
		cancel()
		if err == nil || errors.Is(err, errCorrupt) {
			return err
		}
	}
	return err
}

// errCorrupt marks wrong bytes: never retried, always a failure.
var errCorrupt = errors.New("wrong content")

func (l *mixedLoad) putWorker(id int, client string, r *rand.Rand) {
	for i := 0; !l.stopped(); i++ {
		key := fmt.Sprintf("put/w%d/%05d", id, i)
		data := objectData(key, putSizes[r.IntN(len(putSizes))])
		err := l.retryOp(func(ctx context.Context) error {
			if client == "minio-go" {
				_, err := l.mc.PutObject(ctx, l.bucket, key, bytes.NewReader(data), int64(len(data)),
					minio.PutObjectOptions{ContentType: "application/octet-stream"})
				return err
			}
			_, err := l.sdk.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String(l.bucket), Key: aws.String(key),
				Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
			})
			return err
		})
		if err != nil {
			l.fail(fmt.Errorf("%s PUT %s (%d bytes): %w", client, key, len(data), err))
			return
		}
		l.led.ack(key, data)
		l.puts.Add(1)
	}
}

func (l *mixedLoad) getWorker(client string, r *rand.Rand) {
	for !l.stopped() {
		key, obj, ok := l.led.pick(r)
		if !ok {
			time.Sleep(50 * time.Millisecond) // nothing acknowledged yet
			continue
		}
		// One GET in three is a range, checked byte for byte.
		var off, n int64 = 0, obj.size
		ranged := obj.size > 1 && r.IntN(3) == 0
		if ranged {
			off = r.Int64N(obj.size)
			n = 1 + r.Int64N(obj.size-off)
		}
		err := l.retryOp(func(ctx context.Context) error {
			return l.get(ctx, client, key, obj, ranged, off, n)
		})
		if err != nil {
			l.fail(fmt.Errorf("%s GET %s: %w", client, key, err))
			return
		}
		l.gets.Add(1)
	}
}

// get reads key (whole, or n bytes at off) with the client and compares.
func (l *mixedLoad) get(ctx context.Context, client, key string, obj ackedObject, ranged bool, off, n int64) error {
	var body io.ReadCloser
	switch client {
	case "minio-go":
		opts := minio.GetObjectOptions{}
		if ranged {
			if err := opts.SetRange(off, off+n-1); err != nil {
				return err
			}
		}
		o, err := l.mc.GetObject(ctx, l.bucket, key, opts)
		if err != nil {
			return err
		}
		body = o
	default:
		in := &s3.GetObjectInput{Bucket: aws.String(l.bucket), Key: aws.String(key)}
		if ranged {
			in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))
		}
		out, err := l.sdk.GetObject(ctx, in)
		if err != nil {
			return err
		}
		body = out.Body
	}
	defer body.Close()
	if !ranged {
		size, sum, err := readAllDigest(body)
		if err != nil {
			return err
		}
		if size != obj.size || sum != obj.sum {
			return fmt.Errorf("%w: read %d bytes sha256 %s, acknowledged %d bytes sha256 %s", errCorrupt, size, short(sum), obj.size, short(obj.sum))
		}
		return nil
	}
	got, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	want := objectData(key, int(obj.size))[off : off+n]
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%w: range %d+%d: read %d bytes that differ from the acknowledged ones", errCorrupt, off, n, len(got))
	}
	return nil
}

// multipartWorker uploads objects of 2–3 parts with the SDK's upload
// manager (parts in parallel; Caddy spreads them over the gateways).
func (l *mixedLoad) multipartWorker(r *rand.Rand) {
	up := manager.NewUploader(l.sdk, func(u *manager.Uploader) {
		u.PartSize = manager.MinUploadPartSize // 5 MiB
		u.Concurrency = 2
	})
	for i := 0; !l.stopped(); i++ {
		key := fmt.Sprintf("mp/%03d", i)
		data := objectData(key, 5<<20+1+r.IntN(7<<20))
		l.mpActive.Store(true)
		err := l.retryOp(func(ctx context.Context) error {
			_, err := up.Upload(ctx, &s3.PutObjectInput{
				Bucket: aws.String(l.bucket), Key: aws.String(key), Body: bytes.NewReader(data),
			})
			return err
		})
		l.mpActive.Store(false)
		if err != nil {
			l.fail(fmt.Errorf("multipart upload %s (%d bytes): %w", key, len(data), err))
			return
		}
		l.led.ack(key, data)
		l.multiparts.Add(1)
	}
}

// listWorker lists the whole bucket in pages of 25 (each page may be
// served by another gateway, with the continuation token of the previous
// one) and checks that every object acknowledged before the listing began
// is in it with its size.
func (l *mixedLoad) listWorker() {
	for !l.stopped() {
		before := l.led.snapshot()
		var listed map[string]int64
		err := l.retryOp(func(ctx context.Context) error {
			listed = map[string]int64{}
			p := s3.NewListObjectsV2Paginator(l.sdk, &s3.ListObjectsV2Input{Bucket: aws.String(l.bucket), MaxKeys: aws.Int32(25)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					return err
				}
				for _, o := range page.Contents {
					listed[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
				}
			}
			return nil
		})
		if err != nil {
			l.fail(fmt.Errorf("listing: %w", err))
			return
		}
		var missing []string
		for k, o := range before {
			if size, ok := listed[k]; !ok || size != o.size {
				missing = append(missing, fmt.Sprintf("%s (listed: %v, size %d, acknowledged %d)", k, ok, size, o.size))
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			l.fail(fmt.Errorf("a listing misses %d acknowledged objects: %v", len(missing), missing))
			return
		}
		l.lists.Add(1)
		// Pace the lister: a full listing is the heaviest request here.
		select {
		case <-time.After(300 * time.Millisecond):
		case <-l.stop:
		}
	}
}

// verifyAll reads every acknowledged object through get (concurrently)
// and reports each one that does not read back intact.
func verifyAll(t *testing.T, what string, led map[string]ackedObject, get func(ctx context.Context, key string) (io.ReadCloser, error)) {
	t.Helper()
	keys := make([]string, 0, len(led))
	for k := range led {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	work := make(chan string)
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for key := range work {
				want := led[key]
				var err error
				for i := range attempts {
					if i > 0 {
						time.Sleep(time.Duration(i) * 500 * time.Millisecond)
					}
					ctx, cancel := opContext(t.Context())
					err = func() error {
						body, err := get(ctx, key)
						if err != nil {
							return err
						}
						defer body.Close()
						size, sum, err := readAllDigest(body)
						if err != nil {
							return err
						}
						if size != want.size || sum != want.sum {
							return fmt.Errorf("%w: %d bytes sha256 %s, acknowledged %d bytes sha256 %s", errCorrupt, size, short(sum), want.size, short(want.sum))
						}
						return nil
					}()
					cancel()
					if err == nil || errors.Is(err, errCorrupt) {
						break
					}
				}
				if err != nil {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%s: %v", key, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Errorf("%s: %d of %d acknowledged objects do not read back intact:\n%v", what, len(bad), len(keys), bad)
		return
	}
	t.Logf("%s: all %d acknowledged objects read back intact", what, len(keys))
}

// sdkGetter reads objects of bucket with an aws-sdk-go-v2 client.
func sdkGetter(cl *s3.Client, bucket string) func(ctx context.Context, key string) (io.ReadCloser, error) {
	return func(ctx context.Context, key string) (io.ReadCloser, error) {
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, err
		}
		return out.Body, nil
	}
}

// minioGetter reads objects of bucket with a minio-go client.
func minioGetter(cl *minio.Client, bucket string) func(ctx context.Context, key string) (io.ReadCloser, error) {
	return func(ctx context.Context, key string) (io.ReadCloser, error) {
		return cl.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	}
}
