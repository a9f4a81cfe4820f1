package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// newS3Client returns an aws-sdk-go-v2 S3 client for g: path style,
// us-east-1, the default credentials, no retries (a retry would hide which
// request the gateway failed).
func newS3Client(g *gateway) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(g.endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Timeout: 60 * time.Second},
	})
}

// getMD5 reads bucket/key with c and returns the MD5 (hex) and length of its
// body and the ETag the response carried.
func getMD5(ctx context.Context, c *s3.Client, bucket, key string) (sum string, n int64, etag string, err error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", 0, "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return "", int64(len(b)), "", fmt.Errorf("reading body: %w", err)
	}
	return md5Hex(b), int64(len(b)), strings.Trim(aws.ToString(out.ETag), `"`), nil
}

// TestCrashDurability puts random objects from 32 concurrent clients, SIGKILLs
// the gateway under load, restarts it on the same home, and checks that
// every acknowledged object reads back intact and that every listed object
// is complete (no partial or torn object is ever visible).
func TestCrashDurability(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	logPath := filepath.Join(dir, "gateway.log")
	g, err := startGateway(home, logPath)
	if err != nil {
		t.Fatalf("starting gateway: %v", err)
	}
	cleanupGateway(t, g)

	const bucket = "crash"
	ctx := context.Background()
	c := newS3Client(g)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}

	var (
		mu         sync.Mutex
		acked      = map[string]string{} // key -> MD5 of an acknowledged put
		ackedBytes int64
		attempted  = map[string]string{} // key -> MD5 of every put started
		loadErrs   []string              // failures while the gateway was up
		killed     atomic.Bool
		wg         sync.WaitGroup
	)
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for i := 0; loadCtx.Err() == nil; i++ {
				size := 1<<10 + rng.IntN(4<<20-1<<10+1) // 1 KiB .. 4 MiB
				data := randomBytes(uint64(w)<<32|uint64(i), size)
				key := fmt.Sprintf("w%02d/obj-%05d", w, i)
				sum := md5Hex(data)
				mu.Lock()
				attempted[key] = sum
				mu.Unlock()
				out, err := c.PutObject(loadCtx, &s3.PutObjectInput{
					Bucket: aws.String(bucket), Key: aws.String(key),
					Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(size)),
				})
				mu.Lock()
				switch {
				case err != nil && !killed.Load():
					loadErrs = append(loadErrs, fmt.Sprintf("PutObject %s (%d bytes) before the kill: %v", key, size, err))
				case err == nil:
					acked[key] = sum
					ackedBytes += int64(size)
					if got := strings.Trim(aws.ToString(out.ETag), `"`); got != sum {
						loadErrs = append(loadErrs, fmt.Sprintf("PutObject %s: ETag %q, want %q", key, got, sum))
					}
				}
				mu.Unlock()
				if err != nil && killed.Load() {
					return
				}
			}
		}()
	}

	// Load for 1.5 s (longer if fewer than 16 puts were acknowledged yet).
	start := time.Now()
	time.Sleep(1500 * time.Millisecond)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 16 || time.Since(start) > 15*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	killed.Store(true)
	g.Kill()
	stopLoad()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	for i, e := range loadErrs {
		if i == 10 {
			t.Errorf("... and %d more load errors", len(loadErrs)-10)
			break
		}
		t.Error(e)
	}
	t.Logf("killed the gateway after %v: %d puts acknowledged, %d started", time.Since(start).Round(time.Millisecond), len(acked), len(attempted))
	if len(acked) == 0 {
		t.Fatal("no PutObject was acknowledged before the kill")
	}

	g.quiet = true // g2 logs to the same file
	g2, err1 := startGatewayAt(home, g.addr, logPath)
	if err1 != nil {
		// The old port may still be held; any free port will do.
		g2, err = startGateway(home, logPath)
		if err != nil {
			t.Fatalf("restarting the gateway on the same home after SIGKILL: %v\n(on the old address: %v)", err, err1)
		}
	}
	cleanupGateway(t, g2)
	c = newS3Client(g2)

	// Every listed object is complete: its bytes hash to its ETag and to
	// the content a client sent for that key.
	listed := map[string]bool{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(100)})
	var order []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListObjectsV2 after restart: %v", err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if listed[key] {
				t.Errorf("ListObjectsV2 returned %s twice", key)
			}
			listed[key] = true
			order = append(order, key)
			want, ok := attempted[key]
			if !ok {
				t.Errorf("listed object %s was never written", key)
				continue
			}
			sum, n, _, err := getMD5(ctx, c, bucket, key)
			switch {
			case err != nil:
				t.Errorf("listed object %s: GetObject: %v", key, err)
			case n != aws.ToInt64(o.Size):
				t.Errorf("listed object %s: listed Size %d, GetObject returned %d bytes", key, aws.ToInt64(o.Size), n)
			case sum != strings.Trim(aws.ToString(o.ETag), `"`):
				t.Errorf("listed object %s: MD5 of its bytes %s != listed ETag %s (partial or torn object)", key, sum, aws.ToString(o.ETag))
			case sum != want:
				t.Errorf("listed object %s: MD5 %s, but the client sent content with MD5 %s", key, sum, want)
			}
		}
	}
	if !slices.IsSorted(order) {
		t.Errorf("ListObjectsV2 keys are not in ascending order")
	}

	// Every acknowledged object is there, intact.
	lost := 0
	for key, want := range acked {
		if !listed[key] {
			lost++
			if lost <= 10 {
				t.Errorf("acknowledged object %s is not listed after the restart", key)
			}
		}
		sum, _, _, err := getMD5(ctx, c, bucket, key)
		var nf interface{ ErrorCode() string }
		switch {
		case errors.As(err, &nf) && lost <= 10:
			t.Errorf("acknowledged object %s: GetObject after restart: %s", key, nf.ErrorCode())
		case err != nil && lost <= 10:
			t.Errorf("acknowledged object %s: GetObject after restart: %v", key, err)
		case err == nil && sum != want:
			t.Errorf("acknowledged object %s: MD5 %s after restart, want %s", key, sum, want)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged objects lost", lost, len(acked))
	}

	// The data is under --home, and nothing went to $HOME.
	if n := dirSize(t, home); n < ackedBytes {
		t.Errorf("%s holds %d bytes, less than the %d acknowledged: is the data stored under --home?", home, n, ackedBytes)
	}
	if n := dirSize(t, filepath.Join(dir, "user-home")); n != 0 {
		t.Errorf("the gateway wrote %d bytes under $HOME although --home was given", n)
	}

	// The restarted gateway still takes writes.
	data := randomBytes(99, 12345)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("after-restart"), Body: bytes.NewReader(data)}); err != nil {
		t.Errorf("PutObject after restart: %v", err)
	} else if sum, _, _, err := getMD5(ctx, c, bucket, "after-restart"); err != nil || sum != md5Hex(data) {
		t.Errorf("GetObject after-restart: md5 %s err %v, want %s", sum, err, md5Hex(data))
	}
}

// dirSize returns the total size of the regular files under dir (0 if dir
// does not exist).
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
