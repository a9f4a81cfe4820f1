package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lambda/storagecli/internal/testproc"
)

// startTLSGateway starts a gateway of its own over TLS (SSE-C needs it)
// and returns it with its endpoint and CA bundle.
func startTLSGateway(t *testing.T, dir string) (g *gateway, ep, ca string) {
	t.Helper()
	certPath, keyPath := writeSelfSignedCert(t, dir)
	home := filepath.Join(dir, "home")
	if err := initHome(home); err != nil {
		t.Fatal(err)
	}
	addr, err := testproc.FreeAddrNow()
	if err != nil {
		t.Fatal(err)
	}
	g, err = startGatewayAt(home, addr, filepath.Join(dir, "gateway.log"), "--tls.cert", certPath, "--tls.key", keyPath)
	if err != nil {
		t.Fatal(err)
	}
	cleanupGateway(t, g)
	return g, "https://" + addr, certPath
}

// noPlaintext fails t if a file under dir holds marker.
func noPlaintext(t *testing.T, dir string, marker []byte) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, marker) {
			t.Errorf("plaintext marker found in %s", path)
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walking %s: %v (%d files)", dir, err, files)
	}
}

// TestBoto3Encryption runs py/sse.py against a gateway over TLS.
func TestBoto3Encryption(t *testing.T) {
	requireBoto3(t)
	_, ep, ca := startTLSGateway(t, t.TempDir())
	runPy(t, clientEnv(t), "sse.py", ep, ca, "boto3-sse")
}

// TestAWSCLIEncryption: the aws cli's --sse and --sse-c round trips over
// TLS (multipart above 8 MiB, a multipart copy from SSE-C to SSE-S3),
// wrong and missing keys, and no plaintext in the store.
func TestAWSCLIEncryption(t *testing.T) {
	requireAWS(t)
	dir := t.TempDir()
	g, ep, ca := startTLSGateway(t, dir)
	env := clientEnv(t)
	s3cmd := func(args ...string) string {
		return awsCLI(t, env, append([]string{"s3", "--endpoint-url", ep, "--ca-bundle", ca}, args...)...)
	}
	keyPath, otherPath := filepath.Join(dir, "key.bin"), filepath.Join(dir, "other.bin")
	for _, p := range []string{keyPath, otherPath} {
		k := make([]byte, 32)
		rand.Read(k)
		writeFile(t, p, k)
	}
	sseC := []string{"--sse-c", "AES256", "--sse-c-key", "fileb://" + keyPath}
	marker := []byte("E2E-PLAINTEXT-MARKER-51c0")
	src := filepath.Join(dir, "src")
	writeFile(t, src, bytes.Repeat(marker, (20<<20+7)/len(marker)))
	s3cmd("mb", "s3://cli-sse")
	s3cmd("cp", src, "s3://cli-sse/s3", "--sse", "AES256")
	s3cmd(append([]string{"cp", src, "s3://cli-sse/c"}, sseC...)...)
	s3cmd("cp", "s3://cli-sse/c", "s3://cli-sse/c-to-s3", "--sse", "AES256",
		"--sse-c-copy-source", "AES256", "--sse-c-copy-source-key", "fileb://"+keyPath)
	for _, c := range []struct {
		key   string
		extra []string
	}{{"s3", nil}, {"c", sseC}, {"c-to-s3", nil}} {
		back := filepath.Join(dir, "back-"+c.key)
		s3cmd(append([]string{"cp", "s3://cli-sse/" + c.key, back}, c.extra...)...)
		if same, why := sameFile(t, src, back); !same {
			t.Errorf("%s: %s", c.key, why)
		}
	}
	var head struct {
		ContentLength        int64
		SSECustomerAlgorithm string
		ServerSideEncryption string
	}
	headObject := func(args ...string) {
		out := awsCLI(t, env, append([]string{"s3api", "--endpoint-url", ep, "--ca-bundle", ca, "--output", "json",
			"head-object", "--bucket", "cli-sse"}, args...)...)
		mustJSON(t, out, &head)
	}
	headObject("--key", "c", "--sse-customer-algorithm", "AES256", "--sse-customer-key", "fileb://"+keyPath)
	if head.ContentLength != 20<<20+7-(20<<20+7)%int64(len(marker)) || head.SSECustomerAlgorithm != "AES256" {
		t.Errorf("head-object of the SSE-C object: %+v", head)
	}
	headObject("--key", "c-to-s3")
	if head.ServerSideEncryption != "AES256" {
		t.Errorf("head-object of the SSE-S3 copy: %+v", head)
	}
	for name, args := range map[string][]string{
		"without the key":  nil,
		"with another key": {"--sse-c", "AES256", "--sse-c-key", "fileb://" + otherPath},
	} {
		out, err := testproc.Run(env, time.Minute, "aws", append([]string{"s3", "--endpoint-url", ep, "--ca-bundle", ca,
			"cp", "s3://cli-sse/c", filepath.Join(dir, "never")}, args...)...)
		if err == nil {
			t.Errorf("cp of the SSE-C object %s succeeded: %s", name, out)
		}
	}
	if out := s3cmd("ls", "s3://cli-sse/c"); !strings.Contains(out, fmt.Sprint(head.ContentLength)) {
		t.Errorf("ls does not show the plaintext size %d: %s", head.ContentLength, out)
	}
	noPlaintext(t, g.home, marker)
}

// TestEncryptionCrash SIGKILLs the gateway while clients write SSE-S3
// (the bucket's default) and SSE-C objects, single and multipart, then
// restarts it: every acknowledged object reads back intact with its key,
// every listed object decrypts completely to its listed size, and no
// plaintext is on disk. SSE-C runs over plain HTTP here, allowed from
// loopback by gateway.sse_c_plain_http.
func TestEncryptionCrash(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := initHome(home); err != nil {
		t.Fatal(err)
	}
	if out, code, err := storagecli(home, 30*time.Second, "--home", home, "config", "gateway.sse_c_plain_http", "true"); err != nil || code != 0 {
		t.Fatalf("config: %v %d %s", err, code, out)
	}
	logPath := filepath.Join(dir, "gateway.log")
	g, err := startGateway(home, logPath)
	if err != nil {
		t.Fatal(err)
	}
	cleanupGateway(t, g)
	ctx := context.Background()
	c := newS3Client(g)
	const bucket = "enc-crash"
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(bucket),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}}}}); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	sum := md5.Sum(key)
	keyB64, md5B64 := base64.StdEncoding.EncodeToString(key), base64.StdEncoding.EncodeToString(sum[:])
	marker := []byte("CRASH-PLAINTEXT-MARKER-9e2d")
	content := func(seed uint64, n int) []byte {
		b := randomBytes(seed, n)
		copy(b, marker) // every object starts with the marker
		return b
	}
	var (
		mu      sync.Mutex
		acked   = map[string]string{} // key -> MD5 of an acknowledged write
		started = map[string]string{}
		killed  atomic.Bool
		wg      sync.WaitGroup
	)
	ssec := func(k string) bool { return strings.HasPrefix(k, "c/") }
	loadCtx, stop := context.WithCancel(ctx)
	defer stop()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; loadCtx.Err() == nil; i++ {
				k := fmt.Sprintf("%s/w%d-%04d", map[bool]string{true: "c", false: "s3"}[w%2 == 0], w, i)
				n := 1 + (w*7919+i*104729)%(3<<20)
				if w == 1 {
					n = 6<<20 + i // multipart: 5 MiB + the rest
				}
				data := content(uint64(w)<<32|uint64(i), n)
				mu.Lock()
				started[k] = md5Hex(data)
				mu.Unlock()
				var err error
				if w == 1 {
					err = putMultipart(loadCtx, c, bucket, k, data)
				} else {
					in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(n))}
					if ssec(k) {
						in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(keyB64), aws.String(md5B64)
					}
					_, err = c.PutObject(loadCtx, in)
				}
				mu.Lock()
				if err == nil {
					acked[k] = md5Hex(data)
				} else if !killed.Load() {
					t.Errorf("write %s before the kill: %v", k, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	start := time.Now()
	for {
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if (n >= 24 && time.Since(start) > time.Second) || time.Since(start) > 20*time.Second {
			break
		}
	}
	killed.Store(true)
	g.Kill()
	stop()
	wg.Wait()
	t.Logf("killed after %v: %d writes acknowledged, %d started", time.Since(start).Round(time.Millisecond), len(acked), len(started))
	noPlaintext(t, home, marker)

	g.quiet = true
	g2, err := startGatewayAt(home, g.addr, logPath)
	if err != nil {
		if g2, err = startGateway(home, logPath); err != nil {
			t.Fatal(err)
		}
	}
	cleanupGateway(t, g2)
	c = newS3Client(g2)
	read := func(k string) (string, int64, error) {
		in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}
		if ssec(k) {
			in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), aws.String(keyB64), aws.String(md5B64)
		}
		out, err := c.GetObject(ctx, in)
		if err != nil {
			return "", 0, err
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		return md5Hex(b), int64(len(b)), err
	}
	listed := map[string]bool{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			listed[k] = true
			sum, n, err := read(k)
			switch {
			case err != nil:
				t.Errorf("listed %s: %v", k, err)
			case n != aws.ToInt64(o.Size):
				t.Errorf("listed %s: size %d, read %d bytes", k, aws.ToInt64(o.Size), n)
			case sum != started[k]:
				t.Errorf("listed %s: MD5 %s, written %s", k, sum, started[k])
			}
		}
	}
	for k, want := range acked {
		if sum, _, err := read(k); err != nil || sum != want {
			t.Errorf("acknowledged %s after the restart: %v (MD5 %s, want %s)", k, err, sum, want)
		}
	}
	if len(listed) < len(acked) {
		t.Errorf("%d objects listed, %d acknowledged", len(listed), len(acked))
	}
}

// putMultipart writes data to key in parts of 5 MiB (the bucket's default
// encryption applies).
func putMultipart(ctx context.Context, c *s3.Client, bucket, key string, data []byte) error {
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	var parts []s3types.CompletedPart
	for i := 0; i*(5<<20) < len(data); i++ {
		chunk := data[i*(5<<20) : min(len(data), (i+1)*(5<<20))]
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(chunk), ContentLength: aws.Int64(int64(len(chunk)))})
		if err != nil {
			return err
		}
		parts = append(parts, s3types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}})
	return err
}
