package gateway_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/minio/minio-go/v7"
)

// apiCode returns the S3 error code of an SDK error.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestBuckets(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("alpha")
	e.mkBucket("beta.bucket")
	// us-east-1's legacy rule: re-creating an owned bucket succeeds.
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Errorf("re-create in us-east-1: %v", err)
	}
	// With a LocationConstraint body of our region.
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("gamma"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: "us-west-2"}}); apiCode(err) != "IllegalLocationConstraintException" {
		t.Errorf("foreign location constraint: %v", err)
	}
	list, err := e.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range list.Buckets {
		names = append(names, *b.Name)
	}
	if strings.Join(names, ",") != "alpha,beta.bucket" {
		t.Errorf("buckets = %v", names)
	}
	if _, err := e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("alpha")}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}
	if _, err := e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("nope")}); err == nil {
		t.Errorf("HeadBucket of a missing bucket succeeded")
	}
	loc, err := e.s3.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("alpha")})
	if err != nil || loc.LocationConstraint != "" {
		t.Errorf("GetBucketLocation = %v, %v", loc, err)
	}
	ver, err := e.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("alpha")})
	if err != nil || ver.Status != "" {
		t.Errorf("GetBucketVersioning = %v, %v", ver, err)
	}
	e.put("alpha", "x", []byte("x"))
	if _, err := e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("alpha")}); apiCode(err) != "BucketNotEmpty" {
		t.Errorf("DeleteBucket non-empty: %v", err)
	}
	if _, err := e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("beta.bucket")}); err != nil {
		t.Errorf("DeleteBucket: %v", err)
	}
	if _, err := e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("beta.bucket")}); apiCode(err) != "NoSuchBucket" {
		t.Errorf("DeleteBucket again: %v", err)
	}
}

func TestInvalidBucketNames(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"ab", "UPPER", "a_b", "192.168.1.1", "-ab", "ab-", "a..b", strings.Repeat("a", 64)} {
		resp, body := e.do("PUT", "/"+name, nil, nil)
		wantError(t, resp, body, 400, "InvalidBucketName")
	}
}

func TestBucketSubresourceProbes(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("probe")
	for _, c := range []struct {
		query  string
		status int
		code   string
	}{
		{"policy", 404, "NoSuchBucketPolicy"},
		{"cors", 404, "NoSuchCORSConfiguration"},
		{"lifecycle", 404, "NoSuchLifecycleConfiguration"},
		{"tagging", 404, "NoSuchTagSet"},
		{"website", 404, "NoSuchWebsiteConfiguration"},
		{"encryption", 404, "ServerSideEncryptionConfigurationNotFoundError"},
		{"object-lock", 404, "ObjectLockConfigurationNotFoundError"},
		{"publicAccessBlock", 404, "NoSuchPublicAccessBlockConfiguration"},
		{"replication", 404, "ReplicationConfigurationNotFoundError"},
		{"analytics", 501, "NotImplemented"},
		{"logging", 200, ""},
		{"acl", 200, ""},
		{"ownershipControls", 200, ""}, // BucketOwnerEnforced, as AWS sets on a new bucket
		{"notification", 200, ""},
	} {
		resp, body := e.do("GET", "/probe?"+c.query, nil, nil)
		if c.status == 200 {
			if resp.StatusCode != 200 || !bytes.HasPrefix(body, []byte("<?xml")) {
				t.Errorf("GET ?%s = %d %s", c.query, resp.StatusCode, body)
			}
			continue
		}
		wantError(t, resp, body, c.status, c.code)
	}
	resp, body := e.do("GET", "/missing-bucket?cors", nil, nil)
	wantError(t, resp, body, 404, "NoSuchBucket")
	resp, body = e.do("PUT", "/probe?replication", []byte("<ReplicationConfiguration/>"), nil)
	wantError(t, resp, body, 501, "NotImplemented")
}

func TestObjectRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("objs")
	data := randBytes(300_000, 1)
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("objs"), Key: aws.String("dir/file name+ü.bin"), Body: bytes.NewReader(data),
		ContentType: aws.String("application/x-test"), ContentDisposition: aws.String("attachment"),
		CacheControl: aws.String("max-age=60"), ContentLanguage: aws.String("de"),
		Metadata: map[string]string{"alpha": "1", "camelCase": "two"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.get("objs", "dir/file name+ü.bin")
	if !bytes.Equal(got, data) {
		t.Fatalf("body differs")
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/file name+ü.bin")})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	if *head.ETag != `"`+hex.EncodeToString(sum[:])+`"` || *head.ContentLength != int64(len(data)) ||
		*head.ContentType != "application/x-test" || *head.ContentDisposition != "attachment" ||
		*head.CacheControl != "max-age=60" || *head.ContentLanguage != "de" {
		t.Errorf("head = %+v", head)
	}
	if head.Metadata["alpha"] != "1" || head.Metadata["camelcase"] != "two" {
		t.Errorf("metadata = %v", head.Metadata)
	}
	// Metadata names go back in lower case on the wire.
	if raw := e.rawResponse("HEAD", "/objs/dir/file%20name%2B%C3%BC.bin"); !strings.Contains(raw, "\r\nx-amz-meta-camelcase: two\r\n") {
		t.Errorf("metadata header not lower case on the wire:\n%s", raw)
	}
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/file name+ü.bin")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("objs"), Key: aws.String("dir/file name+ü.bin")})
	if apiCode(err) != "NoSuchKey" {
		t.Errorf("get after delete: %v", err)
	}
	// Deleting a missing key succeeds.
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("objs"), Key: aws.String("never")}); err != nil {
		t.Errorf("delete missing: %v", err)
	}
}

func TestCoexistingKeys(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("coexist")
	for _, k := range []string{"a", "a/b", "a/", "dir/", "dir/file"} {
		e.put("coexist", k, []byte("v:"+k))
	}
	for _, k := range []string{"a", "a/b", "a/", "dir/", "dir/file"} {
		if got := string(e.get("coexist", k)); got != "v:"+k {
			t.Errorf("%q = %q", k, got)
		}
	}
}

func TestRangeAndConditionals(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("rng")
	data := []byte("0123456789")
	e.put("rng", "k", data)
	sum := md5.Sum(data)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	for _, c := range []struct {
		name   string
		hdr    map[string]string
		query  string
		status int
		body   string
		code   string
	}{
		{"whole", nil, "", 200, "0123456789", ""},
		{"range", map[string]string{"Range": "bytes=2-4"}, "", 206, "234", ""},
		{"open range", map[string]string{"Range": "bytes=7-"}, "", 206, "789", ""},
		{"suffix", map[string]string{"Range": "bytes=-3"}, "", 206, "789", ""},
		{"suffix larger than object", map[string]string{"Range": "bytes=-30"}, "", 206, "0123456789", ""},
		{"end past size", map[string]string{"Range": "bytes=8-100"}, "", 206, "89", ""},
		{"unsatisfiable", map[string]string{"Range": "bytes=10-"}, "", 416, "", "InvalidRange"},
		{"malformed range ignored", map[string]string{"Range": "bytes=x-y"}, "", 200, "0123456789", ""},
		{"if-match ok", map[string]string{"If-Match": etag}, "", 200, "0123456789", ""},
		{"if-match fails", map[string]string{"If-Match": `"abc"`}, "", 412, "", "PreconditionFailed"},
		{"if-none-match", map[string]string{"If-None-Match": etag}, "", 304, "", ""},
		{"if-modified-since future", map[string]string{"If-Modified-Since": future}, "", 304, "", ""},
		{"if-modified-since past", map[string]string{"If-Modified-Since": past}, "", 200, "0123456789", ""},
		{"if-unmodified-since past", map[string]string{"If-Unmodified-Since": past}, "", 412, "", "PreconditionFailed"},
		// AWS answers partNumber=1 of a single-part object as a range over
		// the whole object (206 with Content-Range; see TestRangeEdgeCases).
		{"partNumber 1 of single part", nil, "?partNumber=1", 206, "0123456789", ""},
		{"partNumber 2 of single part", nil, "?partNumber=2", 416, "", "InvalidPartNumber"},
		{"override", nil, "?response-content-type=text%2Fplain&response-content-disposition=inline", 200, "0123456789", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.do("GET", "/rng/k"+c.query, nil, c.hdr)
			if c.code != "" {
				wantError(t, resp, body, c.status, c.code)
				return
			}
			if resp.StatusCode != c.status || string(body) != c.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, c.status, c.body)
			}
		})
	}
	resp, _ := e.do("GET", "/rng/k?response-content-type=text%2Fplain", nil, nil)
	if resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("override ignored: %v", resp.Header)
	}
}

func TestConditionalWrites(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("cwr")
	put := func(ifNoneMatch, ifMatch string) error {
		in := &s3.PutObjectInput{Bucket: aws.String("cwr"), Key: aws.String("k"), Body: strings.NewReader("x")}
		if ifNoneMatch != "" {
			in.IfNoneMatch = aws.String(ifNoneMatch)
		}
		if ifMatch != "" {
			in.IfMatch = aws.String(ifMatch)
		}
		_, err := e.s3.PutObject(ctx, in)
		return err
	}
	if err := put("*", ""); err != nil {
		t.Fatal(err)
	}
	if err := put("*", ""); apiCode(err) != "PreconditionFailed" {
		t.Errorf("second If-None-Match put: %v", err)
	}
	if err := put("", `"0000"`); apiCode(err) != "PreconditionFailed" {
		t.Errorf("If-Match wrong: %v", err)
	}
	sum := md5.Sum([]byte("x"))
	if err := put("", `"`+hex.EncodeToString(sum[:])+`"`); err != nil {
		t.Errorf("If-Match right: %v", err)
	}
	// ETag lists and If-Match: * (as MinIO and Ceph): 412, not 501.
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	if err := put(`"0000", `+etag, ""); apiCode(err) != "PreconditionFailed" {
		t.Errorf("If-None-Match list naming the current ETag: %v", err)
	}
	if err := put(`"0000", "1111"`, ""); err != nil {
		t.Errorf("If-None-Match list without the current ETag: %v", err)
	}
	if err := put("", "*"); err != nil {
		t.Errorf("If-Match * on an existing key: %v", err)
	}
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cwr"), Key: aws.String("absent"),
		Body: strings.NewReader("x"), IfMatch: aws.String("*")})
	if apiCode(err) != "PreconditionFailed" {
		t.Errorf("If-Match * on an absent key: %v", err)
	}
	// Racing writers with If-None-Match: exactly one wins.
	const n = 12
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cwr"), Key: aws.String("race"),
				Body: strings.NewReader("body"), IfNoneMatch: aws.String("*")})
			errs <- err
		}()
	}
	wins := 0
	for i := 0; i < n; i++ {
		if err := <-errs; err == nil {
			wins++
		} else if apiCode(err) != "PreconditionFailed" && apiCode(err) != "ConditionalRequestConflict" {
			t.Errorf("racing put: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d racing conditional writers won, want 1", wins)
	}
}

func TestCopyObject(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("src")
	e.mkBucket("dst")
	data := randBytes(100_000, 2)
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src"), Key: aws.String("a b"),
		Body: bytes.NewReader(data), Metadata: map[string]string{"m": "1"}, ContentType: aws.String("text/x"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy"),
		CopySource: aws.String("src/a%20b")})
	if err != nil {
		t.Fatal(err)
	}
	// The source has a CRC32; the copy reports it with its type.
	if r := cp.CopyObjectResult; r == nil || r.ChecksumCRC32 == nil || r.ChecksumType != types.ChecksumTypeFullObject {
		t.Errorf("CopyObjectResult checksum: %+v", r)
	}
	if !bytes.Equal(e.get("dst", "copy"), data) {
		t.Errorf("copy differs")
	}
	h, _ := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("copy")})
	if h.Metadata["m"] != "1" || *h.ContentType != "text/x" {
		t.Errorf("COPY directive lost metadata: %+v", h)
	}
	// Copy onto itself without REPLACE is refused; with REPLACE changes metadata.
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("src"), Key: aws.String("a b"), CopySource: aws.String("src/a%20b")})
	if apiCode(err) != "InvalidRequest" {
		t.Errorf("self copy: %v", err)
	}
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("src"), Key: aws.String("a b"), CopySource: aws.String("src/a%20b"),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"n": "2"}, ContentType: aws.String("text/y")})
	if err != nil {
		t.Fatal(err)
	}
	h, _ = e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("src"), Key: aws.String("a b")})
	if h.Metadata["n"] != "2" || h.Metadata["m"] != "" || *h.ContentType != "text/y" {
		t.Errorf("REPLACE: %+v", h)
	}
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("c2"), CopySource: aws.String("src/a%20b"),
		CopySourceIfMatch: aws.String(`"nope"`)})
	if apiCode(err) != "PreconditionFailed" {
		t.Errorf("copy-source-if-match: %v", err)
	}
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst"), Key: aws.String("c3"), CopySource: aws.String("src/missing")})
	if apiCode(err) != "NoSuchKey" {
		t.Errorf("copy of missing source: %v", err)
	}
}

func TestMinioClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.minio.MakeBucket(ctx, "mcl", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := randBytes(3<<20, 3)
	// minio-go signs chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) over http.
	if _, err := e.minio.PutObject(ctx, "mcl", "obj", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		UserMetadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	// Unknown size: minio-go switches to multipart.
	big := randBytes(18<<20, 4)
	if _, err := e.minio.PutObject(ctx, "mcl", "big", bytes.NewReader(big), -1, minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string][]byte{"obj": data, "big": big} {
		o, err := e.minio.GetObject(ctx, "mcl", key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(o); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs", key)
		}
	}
	n := 0
	for o := range e.minio.ListObjects(ctx, "mcl", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("listed %d objects", n)
	}
	if err := e.minio.RemoveObject(ctx, "mcl", "obj", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestRangeEdgeCases covers partNumber on single-part objects and ranges on
// empty objects, as AWS answers them.
func TestRangeEdgeCases(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("edges")
	e.put("edges", "ten", []byte("0123456789"))
	e.put("edges", "empty", nil)
	for _, c := range []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		body               string
		length             string // Content-Length
		contentRange       string // "" when absent
		code               string
	}{
		{"partNumber=1 of a single-part object is a whole-object range", "GET", "/edges/ten?partNumber=1", nil, 206, "0123456789", "10", "bytes 0-9/10", ""},
		{"HEAD partNumber=1 of a single-part object", "HEAD", "/edges/ten?partNumber=1", nil, 206, "", "10", "bytes 0-9/10", ""},
		{"partNumber=1 of an empty object has no range", "GET", "/edges/empty?partNumber=1", nil, 200, "", "0", "", ""},
		{"suffix range of an empty object is the empty object", "GET", "/edges/empty", map[string]string{"Range": "bytes=-5"}, 200, "", "0", "", ""},
		{"HEAD suffix range of an empty object", "HEAD", "/edges/empty", map[string]string{"Range": "bytes=-5"}, 200, "", "0", "", ""},
		{"first byte of an empty object", "GET", "/edges/empty", map[string]string{"Range": "bytes=0-"}, 416, "", "", "bytes */0", "InvalidRange"},
		{"0-0 of an empty object", "GET", "/edges/empty", map[string]string{"Range": "bytes=0-0"}, 416, "", "", "bytes */0", "InvalidRange"},
		{"zero suffix", "GET", "/edges/ten", map[string]string{"Range": "bytes=-0"}, 416, "", "", "bytes */10", "InvalidRange"},
		{"a space after bytes= is malformed: ignored", "GET", "/edges/ten", map[string]string{"Range": "bytes= -1"}, 200, "0123456789", "10", "", ""},
		{"a space inside the range is malformed: ignored", "GET", "/edges/ten", map[string]string{"Range": "bytes=1 -2"}, 200, "0123456789", "10", "", ""},
		{"partNumber=2 of a single-part object", "GET", "/edges/ten?partNumber=2", nil, 416, "", "", "", "InvalidPartNumber"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.do(c.method, c.path, nil, c.hdr)
			if c.code != "" {
				wantError(t, resp, body, c.status, c.code)
			} else if resp.StatusCode != c.status || string(body) != c.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, c.status, c.body)
			}
			if got := resp.Header.Get("Content-Range"); got != c.contentRange {
				t.Errorf("Content-Range %q, want %q", got, c.contentRange)
			}
			if c.length != "" && resp.Header.Get("Content-Length") != c.length {
				t.Errorf("Content-Length %q, want %s", resp.Header.Get("Content-Length"), c.length)
			}
			if c.code == "" && resp.Header.Get("Accept-Ranges") != "bytes" {
				t.Errorf("no Accept-Ranges: bytes")
			}
			if resp.Header.Get("x-amz-mp-parts-count") != "" {
				t.Errorf("parts count on a single-part object: %q", resp.Header.Get("x-amz-mp-parts-count"))
			}
		})
	}
	// The SDK reads the whole object through partNumber=1, as ranged
	// downloaders (s3 manager, s3transfer) do.
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("edges"), Key: aws.String("ten"), PartNumber: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	if out.ContentRange == nil || *out.ContentRange != "bytes 0-9/10" {
		t.Errorf("SDK ContentRange = %v", out.ContentRange)
	}
}

// TestNotModifiedResponse: a 304 carries the validators and no body and,
// since there is no body, no Content-Type (net/http would hide a wrong one
// on HTTP/1.1, so the handler is called directly).
func TestNotModifiedResponse(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("notmod")
	e.put("notmod", "k", []byte("x"))
	sum := md5.Sum([]byte("x"))
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	for _, method := range []string{"GET", "HEAD"} {
		req := e.rawRequest(method, "/notmod/k", nil)
		req.Header.Set("If-None-Match", etag)
		sign(t, req, nil, testAK, testSK, time.Now())
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("%s: %d %q, want an empty 304", method, rec.Code, rec.Body.String())
		}
		hdr := rec.Header()
		if hdr.Get("ETag") != etag || hdr.Get("Last-Modified") == "" || hdr.Get("x-amz-request-id") == "" {
			t.Errorf("%s: 304 headers %v", method, hdr)
		}
		if ct := hdr.Get("Content-Type"); ct != "" {
			t.Errorf("%s: 304 with Content-Type %q", method, ct)
		}
	}
}

// TestCopyObjectChecksumAlgorithm: x-amz-checksum-algorithm on CopyObject
// gives the copy that checksum, computed over its bytes (onto itself too:
// that is how S3 adds a checksum to an existing object).
func TestCopyObjectChecksumAlgorithm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("cka")
	data := []byte("copy me with another checksum")
	e.put("cka", "src", data)
	sum := sha256.Sum256(data)
	want := base64.StdEncoding.EncodeToString(sum[:])
	for _, dst := range []string{"dst", "src"} {
		out, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("cka"), Key: aws.String(dst),
			CopySource: aws.String("cka/src"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
		if err != nil {
			t.Fatalf("copy to %s: %v", dst, err)
		}
		if r := out.CopyObjectResult; r == nil || aws.ToString(r.ChecksumSHA256) != want || r.ChecksumType != types.ChecksumTypeFullObject {
			t.Errorf("copy to %s: CopyObjectResult %+v, want SHA256 %s", dst, r, want)
		}
		head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("cka"), Key: aws.String(dst), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || aws.ToString(head.ChecksumSHA256) != want {
			t.Errorf("head %s: %+v, %v", dst, head, err)
		}
	}
	resp, body := e.do("PUT", "/cka/dst", nil, map[string]string{"x-amz-copy-source": "/cka/src", "x-amz-checksum-algorithm": "BLAKE3"})
	wantError(t, resp, body, 400, "InvalidRequest")
}

// TestDefaultChecksum: a PUT that declares no checksum gets a full-object
// CRC64NVME computed and stored, as S3 does: in the PUT answer and in
// checksum-mode reads. A declared algorithm is used instead.
func TestDefaultChecksum(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("dck")
	data := randBytes(100<<10, 31)
	want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, crc64.Checksum(data, crc64.MakeTable(0x9a6c9329ac4bc9b5))))
	resp, body := e.do("PUT", "/dck/plain", data, nil)
	if resp.StatusCode != 200 || resp.Header.Get("x-amz-checksum-crc64nvme") != want || resp.Header.Get("x-amz-checksum-type") != "FULL_OBJECT" {
		t.Fatalf("PUT without a checksum: %s %s, crc64nvme %q type %q, want %s", resp.Status, body,
			resp.Header.Get("x-amz-checksum-crc64nvme"), resp.Header.Get("x-amz-checksum-type"), want)
	}
	for _, mode := range []string{"HEAD", "GET"} {
		resp, _ := e.do(mode, "/dck/plain", nil, map[string]string{"x-amz-checksum-mode": "ENABLED"})
		if got := resp.Header.Get("x-amz-checksum-crc64nvme"); got != want {
			t.Errorf("%s with checksum mode: crc64nvme %q, want %s", mode, got, want)
		}
	}
	// The SDK declares CRC32: that one is stored, not CRC64NVME.
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("dck"), Key: aws.String("crc32"),
		Body: bytes.NewReader(data), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}); err != nil {
		t.Fatal(err)
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dck"), Key: aws.String("crc32"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || head.ChecksumCRC32 == nil || head.ChecksumCRC64NVME != nil {
		t.Errorf("head of a CRC32 upload: %+v, %v", head, err)
	}
}
