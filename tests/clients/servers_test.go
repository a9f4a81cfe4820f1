package clients

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/lambda/storagecli/internal/testproc"
)

// target is a server the clients are run against.
type target struct {
	name     string // "gateway" or "caddy"
	endpoint string // http://127.0.0.1:<port> or https://localhost:<port>
	host     string // host:port of endpoint
	caFile   string // the CA of an HTTPS endpoint, "" for plain HTTP
	ak, sk   string // the order's key pair
	hc       *http.Client
}

// startGateway runs `storagecli gateway run` on a fresh home (the keys
// `storagecli init` writes) on a free loopback port.
func startGateway(t *testing.T) *target {
	t.Helper()
	bin := testproc.Binary(t, "storagecli")
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	env := testproc.IsolatedEnv(filepath.Join(dir, "user-home"))
	init := exec.Command(bin, "--home", home, "init")
	init.Env = env
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("storagecli init: %v\n%s", err, out)
	}
	addr := testproc.FreeAddr(t)
	cmd := exec.Command(bin, "gateway", "run", "--home", home, "--gateway.address", addr, "--debug")
	cmd.Env = env
	p := testproc.StartT(t, "gateway", addr, filepath.Join(dir, "gateway.log"), cmd)
	if err := testproc.WaitTCP(addr, p, 30*time.Second); err != nil {
		t.Fatalf("gateway: %v\nlog:\n%s", err, p.LogTail(4000))
	}
	return &target{name: "gateway", endpoint: "http://" + addr, host: addr, ak: "accesskey", sk: "secretkey",
		hc: &http.Client{Timeout: time.Minute}}
}

// startCaddyTarget runs the built Caddy over HTTPS (`tls internal`) with
// the s3gateway module serving one order.
func startCaddyTarget(t *testing.T) *target {
	t.Helper()
	bin := testproc.Binary(t, "caddy")
	dir := t.TempDir()
	ak, sk := "clients-ak", "clients-secret-key"
	cfg := filepath.Join(dir, "user.toml")
	toml := fmt.Sprintf("[gateway]\naccess_key = %q\nsecret_key = \"from-the-file\"\n\n[broker]\nextra_order_id = \"clients\"\ndb_path = %q\n",
		ak, filepath.Join(dir, "data"))
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	site := fmt.Sprintf("s3gateway {\n\t\tconfig %s\n\t\tsecret_key {env.CLIENTS_S3_SECRET}\n\t\taccess_key %s\n\t}", cfg, ak)
	c := testproc.StartCaddy(t, bin, dir, "", site, []string{"CLIENTS_S3_SECRET=" + sk})
	return &target{name: "caddy", endpoint: c.Endpoint, host: strings.TrimPrefix(c.Endpoint, "https://"),
		caFile: c.CAFile, ak: ak, sk: sk, hc: c.Client}
}

// sdk is an aws-sdk-go-v2 client of tg, to look at what a client left.
func (tg *target) sdk() *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(tg.endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(tg.ak, tg.sk, ""),
		HTTPClient:   tg.hc,
	})
}

// etag returns the ETag of bucket/key.
func (tg *target) etag(t *testing.T, bucket, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := tg.sdk().HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("HeadObject %s/%s: %v", bucket, key, err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`)
}

// wantMultipart checks that bucket/key was stored by a multipart upload
// (its ETag is "<md5 of the part MD5s>-<parts>").
func (tg *target) wantMultipart(t *testing.T, client, bucket, key string) {
	t.Helper()
	if etag := tg.etag(t, bucket, key); !strings.Contains(etag, "-") {
		t.Errorf("%s uploaded %s with a single PUT (ETag %s), want a multipart upload at its defaults", client, key, etag)
	}
}

// leavePendingUpload starts a multipart upload in bucket and uploads a
// part of it, never completing it: the interrupted upload a client's
// delete-everything path must cope with, as on AWS.
func (tg *target) leavePendingUpload(t *testing.T, bucket string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := tg.sdk()
	key := "interrupted/upload.bin"
	mp, err := cl.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	if _, err := cl.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: mp.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("an interrupted upload")}); err != nil {
		t.Fatalf("UploadPart: %v", err)
	}
}

// wantBucketGone checks that bucket no longer exists.
func (tg *target) wantBucketGone(t *testing.T, client, bucket string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := tg.sdk().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "NotFound" {
		t.Errorf("after %s deleted everything, HeadBucket %s: %v, want NotFound", client, bucket, err)
	}
}

// removeBucket deletes every object of bucket and the bucket with the Go
// SDK (for restic, which deletes no buckets).
func (tg *target) removeBucket(t *testing.T, bucket string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := tg.sdk()
	p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("listing %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			if _, err := cl.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key}); err != nil {
				t.Fatalf("DeleteObject %s: %v", aws.ToString(o.Key), err)
			}
		}
	}
	if _, err := cl.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("DeleteBucket %s: %v", bucket, err)
	}
}
