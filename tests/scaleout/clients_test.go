package scaleout

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
)

// transport is an HTTP transport for one client, closed when t ends.
func transport(t *testing.T) *http.Transport {
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       60 * time.Second,
		ExpectContinueTimeout: 5 * time.Second,
		// Generous: a loaded 2-core machine with a degraded cluster can be
		// slow, but a hung request must end (and be retried) eventually.
		ResponseHeaderTimeout: 90 * time.Second,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// sdkClient is an aws-sdk-go-v2 S3 client of endpoint (path style, the
// order's keys) making up to attempts attempts per call with the SDK's
// standard retryer (which retries 500/502/503/504, throttling and
// connection errors with backoff). The retry quota is disabled: during a
// failure many calls retry at once, and the test wants each to keep
// trying rather than fail fast.
func sdkClient(t *testing.T, endpoint string, attempts int) *s3.Client {
	return countedSDKClient(t, endpoint, attempts, nil)
}

// countedSDKClient is sdkClient counting what its requests meet in c (if
// not nil).
func countedSDKClient(t *testing.T, endpoint string, attempts int, c *roundTrips) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		HTTPClient:   &http.Client{Transport: counting(transport(t), c)},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = 2 * time.Second
			o.RateLimiter = ratelimit.None
		}),
	})
}

// minioClient is a minio-go client of endpoint (an http:// URL) with the
// order's keys; minio-go retries failed requests itself (up to
// minio.MaxRetry times, 502/503/504 and connection errors included).
func minioClient(t *testing.T, endpoint string) *minio.Client {
	t.Helper()
	return countedMinioClient(t, endpoint, nil)
}

// countedMinioClient is minioClient counting what its requests meet in c
// (if not nil).
func countedMinioClient(t *testing.T, endpoint string, c *roundTrips) *minio.Client {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := minio.New(u.Host, &minio.Options{
		Creds:        miniocreds.NewStaticV4(accessKey, secretKey, ""),
		Secure:       false,
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
		Transport:    counting(transport(t), c),
	})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// roundTrips counts the HTTP exchanges of clients that did not succeed:
// answers with a 5xx status (e.g. Caddy's 502 for a request cut off by a
// dying gateway, a gateway's 503 while MinIO loses a node) and transport
// errors. Clients retry them; the tests log the counts to show what the
// fault did to the clients.
type roundTrips struct {
	status5xx, transportErrors atomic.Int64
}

func (c *roundTrips) String() string {
	return fmt.Sprintf("%d answers with a 5xx status and %d transport errors", c.status5xx.Load(), c.transportErrors.Load())
}

type countingTransport struct {
	next http.RoundTripper
	c    *roundTrips
}

// counting wraps rt to count into c (rt itself if c is nil).
func counting(rt http.RoundTripper, c *roundTrips) http.RoundTripper {
	if c == nil {
		return rt
	}
	return countingTransport{rt, c}
}

func (ct countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := ct.next.RoundTrip(r)
	switch {
	case err != nil:
		ct.c.transportErrors.Add(1)
	case resp.StatusCode >= 500:
		ct.c.status5xx.Add(1)
	}
	return resp, err
}

// minioListOpts lists everything under prefix, recursively.
func minioListOpts(prefix string) minio.ListObjectsOptions {
	return minio.ListObjectsOptions{Prefix: prefix, Recursive: true}
}

// objectData returns size deterministic pseudo-random bytes for key.
func objectData(key string, size int) []byte {
	seed := sha256.Sum256([]byte(key))
	r := rand.NewChaCha8(seed)
	b := make([]byte, size)
	_, _ = r.Read(b)
	return b
}

// digest is the SHA-256 of b.
func digest(b []byte) [32]byte { return sha256.Sum256(b) }

// readAllDigest reads r to the end and returns its length and SHA-256.
func readAllDigest(r io.Reader) (int64, [32]byte, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return n, sum, err
}

// seedOf derives a per-goroutine random source.
func seedOf(parts ...uint64) *rand.Rand {
	var b [32]byte
	for i, p := range parts {
		if i >= 4 {
			break
		}
		binary.LittleEndian.PutUint64(b[i*8:], p)
	}
	return rand.New(rand.NewChaCha8(b))
}

// opContext bounds one client operation (with all its retries): generous,
// so that only a hang fails the test.
func opContext(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, 3*time.Minute)
}

// short renders a digest for messages.
func short(d [32]byte) string { return fmt.Sprintf("%x", d[:6]) }
