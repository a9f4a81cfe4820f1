package scaleout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/lambda/storagecli/internal/testproc"
)

// TestScaleOut runs three gateways of one order (each talking to another
// node of the 4-node MinIO cluster) behind Caddy's reverse_proxy: the
// order's state lives upstream only, so any gateway serves any request.
func TestScaleOut(t *testing.T) {
	d := deploy(t, 3, []int{0, 1, 2})
	ctx := t.Context()
	viaCaddy := sdkClient(t, d.caddyURL, 5)
	direct := make([]*s3.Client, len(d.gateways))
	for i, g := range d.gateways {
		direct[i] = sdkClient(t, g.url(), 5)
	}
	const bucket = "scaleout"
	if _, err := viaCaddy.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket through Caddy: %v", err)
	}
	// Every gateway sees the bucket created through the balancer.
	for i, cl := range direct {
		if _, err := cl.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Errorf("HeadBucket through gateway %d: %v", i, err)
		}
	}

	t.Run("MultipartAcrossGateways", func(t *testing.T) {
		multipartAcrossGateways(t, d, viaCaddy, direct, bucket)
	})
	t.Run("ListingAcrossGateways", func(t *testing.T) {
		listingAcrossGateways(t, viaCaddy, direct, bucket)
	})
	t.Run("AWSCLIThroughCaddy", func(t *testing.T) {
		awsCLIThroughCaddy(t, d, bucket)
	})

	// The data is upstream, under the order's prefix, in the gateways'
	// encoding (docs/upstream.md): not in some gateway's local store.
	names := d.upstreamNames(t)
	if !slices.Contains(names, bucket+"/mp..across-gateways.-bin") || !slices.Contains(names, ".buckets/"+bucket) {
		t.Errorf("the upstream prefix %s does not hold the order's objects; it has %d names: %v", d.prefix, len(names), names)
	}
}

// multipartAcrossGateways creates an upload through gateway 0, sends part
// i through gateway i (concurrently), lists the parts through another
// gateway, completes through Caddy and reads the object back byte for byte
// through every gateway and Caddy, whole, by range across part boundaries
// and by part number.
func multipartAcrossGateways(t *testing.T, d *deployment, viaCaddy *s3.Client, direct []*s3.Client, bucket string) {
	ctx := t.Context()
	const key = "mp/across-gateways.bin"
	partSizes := []int{5 << 20, 5 << 20, 1<<20 + 12345}
	var total int
	for _, n := range partSizes {
		total += n
	}
	data := objectData(key, total)

	created, err := direct[0].CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
		ContentType:       aws.String("application/x-scaleout"),
		Metadata:          map[string]string{"origin": "gateway-0"},
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
	})
	if err != nil {
		t.Fatalf("CreateMultipartUpload through gateway 0: %v", err)
	}
	uploadID := aws.ToString(created.UploadId)

	parts := make([]types.CompletedPart, len(partSizes))
	errs := make([]error, len(partSizes))
	var wg sync.WaitGroup
	off := 0
	for i, n := range partSizes {
		body := data[off : off+n]
		off += n
		gw := i % len(direct)
		wg.Go(func() {
			out, err := direct[gw].UploadPart(ctx, &s3.UploadPartInput{
				Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(n)),
				ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
			})
			if err != nil {
				errs[i] = fmt.Errorf("UploadPart %d through gateway %d: %w", i+1, gw, err)
				return
			}
			parts[i] = types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag, ChecksumCRC32C: out.ChecksumCRC32C}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	// Another gateway than the ones that took them lists the parts.
	lp, err := direct[2].ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID)})
	if err != nil {
		t.Fatalf("ListParts through gateway 2: %v", err)
	}
	if len(lp.Parts) != len(partSizes) {
		t.Fatalf("ListParts through gateway 2: %d parts, want %d", len(lp.Parts), len(partSizes))
	}
	for i, p := range lp.Parts {
		if aws.ToInt32(p.PartNumber) != int32(i+1) || aws.ToInt64(p.Size) != int64(partSizes[i]) ||
			aws.ToString(p.ETag) != aws.ToString(parts[i].ETag) || aws.ToString(p.ChecksumCRC32C) != aws.ToString(parts[i].ChecksumCRC32C) {
			t.Errorf("ListParts part %d: number %d size %d etag %s crc32c %s; uploaded size %d etag %s crc32c %s",
				i+1, aws.ToInt32(p.PartNumber), aws.ToInt64(p.Size), aws.ToString(p.ETag), aws.ToString(p.ChecksumCRC32C),
				partSizes[i], aws.ToString(parts[i].ETag), aws.ToString(parts[i].ChecksumCRC32C))
		}
	}
	ups, err := direct[1].ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String("mp/")})
	if err != nil {
		t.Fatalf("ListMultipartUploads through gateway 1: %v", err)
	}
	if len(ups.Uploads) != 1 || aws.ToString(ups.Uploads[0].UploadId) != uploadID || aws.ToString(ups.Uploads[0].Key) != key {
		t.Errorf("ListMultipartUploads through gateway 1: %+v, want the one upload %s of %s", ups.Uploads, uploadID, key)
	}

	done, err := viaCaddy.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload through Caddy: %v", err)
	}
	etag := aws.ToString(done.ETag)
	if !strings.HasSuffix(strings.Trim(etag, `"`), fmt.Sprintf("-%d", len(partSizes))) {
		t.Errorf("multipart ETag %s, want a -%d suffix", etag, len(partSizes))
	}

	readers := map[string]*s3.Client{"caddy": viaCaddy}
	for i, cl := range direct {
		readers[fmt.Sprintf("gateway %d", i)] = cl
	}
	want := digest(data)
	for name, cl := range readers {
		head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Errorf("HeadObject through %s: %v", name, err)
			continue
		}
		if aws.ToInt64(head.ContentLength) != int64(total) || aws.ToString(head.ETag) != etag ||
			aws.ToString(head.ContentType) != "application/x-scaleout" || head.Metadata["origin"] != "gateway-0" {
			t.Errorf("HeadObject through %s: length %d etag %s type %q metadata %v; want %d, %s, application/x-scaleout, origin=gateway-0",
				name, aws.ToInt64(head.ContentLength), aws.ToString(head.ETag), aws.ToString(head.ContentType), head.Metadata, total, etag)
		}
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Errorf("GetObject through %s: %v", name, err)
			continue
		}
		size, sum, err := readAllDigest(out.Body)
		out.Body.Close()
		if err != nil || size != int64(total) || sum != want {
			t.Errorf("GetObject through %s: %d bytes sha256 %s (%v); want %d bytes sha256 %s", name, size, short(sum), err, total, short(want))
		}
	}

	// Ranges across the part boundaries, through different gateways.
	ranges := []struct {
		gw       int
		from, to int
	}{
		{0, partSizes[0] - 100, partSizes[0] + 99},
		{1, partSizes[0] + partSizes[1] - 1, partSizes[0] + partSizes[1]},
		{2, 0, total - 1},
		{0, total - 7, total - 1},
	}
	for _, r := range ranges {
		out, err := direct[r.gw].GetObject(ctx, &s3.GetObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String(fmt.Sprintf("bytes=%d-%d", r.from, r.to)),
		})
		if err != nil {
			t.Errorf("GetObject bytes=%d-%d through gateway %d: %v", r.from, r.to, r.gw, err)
			continue
		}
		got, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil || !bytes.Equal(got, data[r.from:r.to+1]) {
			t.Errorf("GetObject bytes=%d-%d through gateway %d: %d bytes (%v), not the uploaded ones", r.from, r.to, r.gw, len(got), err)
		}
	}
	// Each part by number, through a gateway that did not upload it.
	off = 0
	for i, n := range partSizes {
		gw := (i + 1) % len(direct)
		out, err := direct[gw].GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), PartNumber: aws.Int32(int32(i + 1))})
		if err != nil {
			t.Errorf("GetObject partNumber=%d through gateway %d: %v", i+1, gw, err)
		} else {
			got, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil || !bytes.Equal(got, data[off:off+n]) || aws.ToInt32(out.PartsCount) != int32(len(partSizes)) {
				t.Errorf("GetObject partNumber=%d through gateway %d: %d bytes, parts count %d (%v); want part %d's %d bytes of %d parts",
					i+1, gw, len(got), aws.ToInt32(out.PartsCount), err, i+1, n, len(partSizes))
			}
		}
		off += n
	}
	// The upload is gone for every gateway.
	if _, err := direct[1].ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID)}); apiCode(err) != "NoSuchUpload" {
		t.Errorf("ListParts of the completed upload through gateway 1: %v, want NoSuchUpload", err)
	}
}

// listingAcrossGateways writes one object through each gateway and checks
// that every gateway (and Caddy) lists, heads and reads all of them, that a
// paginated listing can continue on another gateway with the previous
// page's token, and that a delete through one gateway is seen by another.
func listingAcrossGateways(t *testing.T, viaCaddy *s3.Client, direct []*s3.Client, bucket string) {
	ctx := t.Context()
	var keys []string
	for i, cl := range direct {
		key := fmt.Sprintf("dir-gw%d/obj-%d", i, i)
		keys = append(keys, key)
		body := objectData(key, 1000*(i+1))
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("PutObject %s through gateway %d: %v", key, i, err)
		}
	}
	readers := []struct {
		name string
		cl   *s3.Client
	}{{"caddy", viaCaddy}}
	for i, cl := range direct {
		readers = append(readers, struct {
			name string
			cl   *s3.Client
		}{fmt.Sprintf("gateway %d", i), cl})
	}
	for _, r := range readers {
		t.Run(strings.ReplaceAll(r.name, " ", ""), func(t *testing.T) {
			out, err := r.cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("dir-")})
			if err != nil {
				t.Fatalf("ListObjectsV2: %v", err)
			}
			var got []string
			for _, o := range out.Contents {
				got = append(got, aws.ToString(o.Key))
			}
			if !slices.Equal(got, keys) {
				t.Errorf("ListObjectsV2 prefix dir-: %v, want %v", got, keys)
			}
			out, err = r.cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("dir-"), Delimiter: aws.String("/")})
			if err != nil {
				t.Fatalf("ListObjectsV2 with delimiter: %v", err)
			}
			var prefixes []string
			for _, p := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(p.Prefix))
			}
			if want := []string{"dir-gw0/", "dir-gw1/", "dir-gw2/"}; !slices.Equal(prefixes, want) || len(out.Contents) != 0 {
				t.Errorf("ListObjectsV2 delimiter /: prefixes %v and %d objects, want %v and none", prefixes, len(out.Contents), want)
			}
			for i, key := range keys {
				head, err := r.cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				if err != nil || aws.ToInt64(head.ContentLength) != int64(1000*(i+1)) {
					t.Errorf("HeadObject %s (written through gateway %d): %v", key, i, err)
				}
			}
		})
	}

	// One key per page; page n is asked of gateway n%3 with the token
	// gateway (n-1)%3 gave.
	var paged []string
	var token *string
	for page := 0; ; page++ {
		cl := direct[page%len(direct)]
		out, err := cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("dir-"), MaxKeys: aws.Int32(1), ContinuationToken: token})
		if err != nil {
			t.Fatalf("ListObjectsV2 page %d through gateway %d: %v", page, page%len(direct), err)
		}
		for _, o := range out.Contents {
			paged = append(paged, aws.ToString(o.Key))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		if page > 10 {
			t.Fatalf("pagination does not end: %v", paged)
		}
		token = out.NextContinuationToken
	}
	if !slices.Equal(paged, keys) {
		t.Errorf("paginated across gateways: %v, want %v", paged, keys)
	}

	// Deleted through gateway 0, gone for gateway 2.
	if _, err := direct[0].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys[1])}); err != nil {
		t.Fatalf("DeleteObject through gateway 0: %v", err)
	}
	if _, err := direct[2].HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys[1])}); apiCode(err) != "NotFound" {
		t.Errorf("HeadObject through gateway 2 after delete through gateway 0: %v, want NotFound", err)
	}
}

// awsCLIThroughCaddy copies a 20 MiB file up and down with the aws cli
// through Caddy (multipart with the cli's defaults: 8 MiB parts sent in
// parallel, so Caddy's round robin spreads them over the gateways) and
// lists it through a gateway directly.
func awsCLIThroughCaddy(t *testing.T, d *deployment, bucket string) {
	testproc.RequireTool(t, "the aws cli", "aws", "--version")
	dir := t.TempDir()
	src := filepath.Join(dir, "big.bin")
	data := objectData("aws-cli", 20<<20)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	env := awsEnv(dir)
	awsRun(t, env, "--endpoint-url", d.caddyURL, "s3", "cp", src, "s3://"+bucket+"/cli/big.bin")
	dst := filepath.Join(dir, "back.bin")
	awsRun(t, env, "--endpoint-url", d.caddyURL, "s3", "cp", "s3://"+bucket+"/cli/big.bin", dst)
	back, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, data) {
		t.Errorf("aws s3 cp through Caddy read back %d bytes that differ from the %d written", len(back), len(data))
	}
	ls := awsRun(t, env, "--endpoint-url", d.gateways[2].url(), "s3", "ls", "s3://"+bucket+"/cli/")
	if !strings.Contains(ls, fmt.Sprint(len(data))) || !strings.Contains(ls, "big.bin") {
		t.Errorf("aws s3 ls through gateway 2: %q, want big.bin of %d bytes", ls, len(data))
	}
	head := awsRun(t, env, "--endpoint-url", d.gateways[1].url(), "s3api", "head-object", "--bucket", bucket, "--key", "cli/big.bin")
	if !strings.Contains(head, `-3\"`) {
		t.Errorf("aws s3api head-object through gateway 1: %s; want the ETag of a 3-part upload", head)
	}
}

// awsEnv is the aws cli's environment: isolated, with the order's keys.
func awsEnv(dir string) []string {
	return append(testproc.AWSEnv(dir, accessKey, secretKey, ""), "AWS_DEFAULT_REGION=us-east-1")
}

// awsRun runs the aws cli and returns its stdout; a failure fails t.
func awsRun(t *testing.T, env []string, args ...string) string {
	t.Helper()
	return testproc.MustRun(t, env, 3*time.Minute, "aws", args...)
}

// apiCode is the S3 error code of err ("" if none).
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
