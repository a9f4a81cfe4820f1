package gateway_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var allAttributes = []types.ObjectAttributes{types.ObjectAttributesEtag, types.ObjectAttributesChecksum,
	types.ObjectAttributesObjectParts, types.ObjectAttributesStorageClass, types.ObjectAttributesObjectSize}

// multipartUpload uploads parts of 5 MiB (the last shorter) of data with
// the checksum algorithm alg ("" for none) and returns the parts.
func (e *testEnv) multipartUpload(bucket, key string, data []byte, alg types.ChecksumAlgorithm) []types.CompletedPart {
	e.t.Helper()
	ctx := context.Background()
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumAlgorithm: alg})
	if err != nil {
		e.t.Fatal(err)
	}
	var parts []types.CompletedPart
	for i, off := 0, 0; off < len(data); i, off = i+1, off+(5<<20) {
		up, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cr.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(data[off:min(off+5<<20, len(data))]), ChecksumAlgorithm: alg})
		if err != nil {
			e.t.Fatal(err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag, ChecksumCRC32: up.ChecksumCRC32, ChecksumSHA256: up.ChecksumSHA256})
	}
	if _, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		e.t.Fatal(err)
	}
	return parts
}

func TestGetObjectAttributesSinglePart(t *testing.T) {
	eachStore(t, testGetObjectAttributesSinglePart)
}

func testGetObjectAttributesSinglePart(t *testing.T, open storeOpener) {
	e := envOn(t, open)
	e.mkBucket("attrs")
	ctx := context.Background()
	data := []byte("hello attributes")
	sum, md := sha256.Sum256(data), md5.Sum(data)
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("attrs"), Key: aws.String("one"), Body: bytes.NewReader(data),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatal(err)
	}
	out, err := e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("one"), ObjectAttributes: allAttributes})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case aws.ToString(out.ETag) != hex.EncodeToString(md[:]):
		t.Errorf("ETag %q, want the unquoted MD5", aws.ToString(out.ETag))
	case out.Checksum == nil || aws.ToString(out.Checksum.ChecksumSHA256) != base64.StdEncoding.EncodeToString(sum[:]) ||
		out.Checksum.ChecksumType != types.ChecksumTypeFullObject:
		t.Errorf("Checksum %+v", out.Checksum)
	case out.ObjectParts != nil:
		t.Errorf("ObjectParts %+v for a single-part object", out.ObjectParts)
	case out.StorageClass != types.StorageClassStandard || aws.ToInt64(out.ObjectSize) != int64(len(data)) || out.LastModified == nil:
		t.Errorf("StorageClass %q, ObjectSize %d, LastModified %v", out.StorageClass, aws.ToInt64(out.ObjectSize), out.LastModified)
	}

	// Only what is asked for; a PUT without a checksum got a CRC64NVME.
	e.put("attrs", "plain", data)
	out, err = e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("plain"),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectSize, types.ObjectAttributesChecksum}})
	if err != nil {
		t.Fatal(err)
	}
	if out.ETag != nil || out.StorageClass != "" || aws.ToInt64(out.ObjectSize) != int64(len(data)) ||
		out.Checksum == nil || out.Checksum.ChecksumCRC64NVME == nil {
		t.Errorf("ObjectSize and Checksum only: ETag %v, StorageClass %q, ObjectSize %v, Checksum %+v", out.ETag, out.StorageClass, out.ObjectSize, out.Checksum)
	}
}

func TestGetObjectAttributesMultipart(t *testing.T) {
	eachStore(t, testGetObjectAttributesMultipart)
}

func testGetObjectAttributesMultipart(t *testing.T, open storeOpener) {
	e := envOn(t, open)
	e.mkBucket("attrs")
	ctx := context.Background()
	data := randBytes(3*(5<<20)+100, 7) // four parts, the last of 100 bytes
	parts := e.multipartUpload("attrs", "crc", data, types.ChecksumAlgorithmCrc32)

	// Two pages of two parts, each with its CRC32.
	var got []types.ObjectPart
	marker := ""
	for page := 0; ; page++ {
		in := &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("crc"), ObjectAttributes: allAttributes, MaxParts: aws.Int32(2)}
		if marker != "" {
			in.PartNumberMarker = aws.String(marker)
		}
		out, err := e.s3.GetObjectAttributes(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		op := out.ObjectParts
		if op == nil || aws.ToInt32(op.TotalPartsCount) != 4 || aws.ToInt32(op.MaxParts) != 2 || len(op.Parts) != 2 {
			t.Fatalf("page %d: ObjectParts %+v", page, op)
		}
		if page == 0 && (out.Checksum == nil || out.Checksum.ChecksumType != types.ChecksumTypeComposite || !strings.HasSuffix(aws.ToString(out.Checksum.ChecksumCRC32), "-4")) {
			t.Errorf("Checksum %+v, want a COMPOSITE CRC32 of 4 parts", out.Checksum)
		}
		if aws.ToInt64(out.ObjectSize) != int64(len(data)) || !strings.HasSuffix(aws.ToString(out.ETag), "-4") {
			t.Errorf("ObjectSize %d, ETag %q", aws.ToInt64(out.ObjectSize), aws.ToString(out.ETag))
		}
		got = append(got, op.Parts...)
		if !aws.ToBool(op.IsTruncated) {
			if page != 1 {
				t.Fatalf("not truncated after page %d", page)
			}
			break
		}
		marker = aws.ToString(op.NextPartNumberMarker)
		if marker != "2" {
			t.Fatalf("NextPartNumberMarker %q, want 2", marker)
		}
	}
	for i, p := range got {
		want := int64(5 << 20)
		if i == 3 {
			want = 100
		}
		if aws.ToInt32(p.PartNumber) != int32(i+1) || aws.ToInt64(p.Size) != want || aws.ToString(p.ChecksumCRC32) != aws.ToString(parts[i].ChecksumCRC32) {
			t.Errorf("part %d: number %d size %d CRC32 %q, want size %d CRC32 %q", i+1, aws.ToInt32(p.PartNumber), aws.ToInt64(p.Size),
				aws.ToString(p.ChecksumCRC32), want, aws.ToString(parts[i].ChecksumCRC32))
		}
	}

	// max-parts=0: no parts, not truncated; a marker past the end: the same.
	for _, in := range []*s3.GetObjectAttributesInput{{MaxParts: aws.Int32(0)}, {PartNumberMarker: aws.String("4")}} {
		in.Bucket, in.Key, in.ObjectAttributes = aws.String("attrs"), aws.String("crc"), allAttributes
		out, err := e.s3.GetObjectAttributes(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if op := out.ObjectParts; op == nil || aws.ToInt32(op.TotalPartsCount) != 4 || len(op.Parts) != 0 || aws.ToBool(op.IsTruncated) {
			t.Errorf("max-parts %v, marker %v: ObjectParts %+v", aws.ToInt32(in.MaxParts), aws.ToString(in.PartNumberMarker), out.ObjectParts)
		}
	}

	// An upload without a checksum: its parts are counted, not listed.
	e.multipartUpload("attrs", "nosum", data[:(5<<20)+1], "")
	out, err := e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("attrs"), Key: aws.String("nosum"), ObjectAttributes: allAttributes})
	if err != nil {
		t.Fatal(err)
	}
	if out.ObjectParts == nil || aws.ToInt32(out.ObjectParts.TotalPartsCount) != 2 || len(out.ObjectParts.Parts) != 0 || out.Checksum != nil {
		t.Errorf("no-checksum upload: ObjectParts %+v, Checksum %+v", out.ObjectParts, out.Checksum)
	}
}

// TestGetObjectAttributesErrors: the refusals, and the conditional headers.
func TestGetObjectAttributesErrors(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("attrs")
	e.put("attrs", "k", []byte("data"))
	md := md5.Sum([]byte("data"))
	etag := `"` + hex.EncodeToString(md[:]) + `"`
	attrs := map[string]string{"x-amz-object-attributes": "ETag,ObjectSize"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range attrs {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name, path string
		hdr        map[string]string
		status     int
		code, msg  string
	}{
		{"no attributes header", "/attrs/k?attributes", nil, 400, "InvalidRequest", "either missing or empty"},
		{"empty attributes header", "/attrs/k?attributes", map[string]string{"x-amz-object-attributes": " , "}, 400, "InvalidRequest", "either missing or empty"},
		{"unknown attribute", "/attrs/k?attributes", map[string]string{"x-amz-object-attributes": "ETag,Owner"}, 400, "InvalidArgument", "Invalid attribute name specified."},
		{"lower-case attribute", "/attrs/k?attributes", map[string]string{"x-amz-object-attributes": "etag"}, 400, "InvalidArgument", "Invalid attribute name specified."},
		{"bad max-parts", "/attrs/k?attributes", with("x-amz-max-parts", "-1"), 400, "InvalidArgument", "max-parts"},
		{"bad part-number-marker", "/attrs/k?attributes", with("x-amz-part-number-marker", "x"), 400, "InvalidArgument", "part-number-marker"},
		{"no key", "/attrs/nope?attributes", attrs, 404, "NoSuchKey", ""},
		{"no bucket", "/nope/k?attributes", attrs, 404, "NoSuchBucket", ""},
		{"If-Match fails", "/attrs/k?attributes", with("If-Match", `"0123"`), 412, "PreconditionFailed", ""},
		{"If-Unmodified-Since fails", "/attrs/k?attributes", with("If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"), 412, "PreconditionFailed", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.do("GET", c.path, nil, c.hdr)
			wantError(t, resp, body, c.status, c.code)
			if !bytes.Contains(body, []byte(c.msg)) {
				t.Errorf("message %s, want %q", body, c.msg)
			}
		})
	}
	// If-None-Match with the ETag: 304 without a body.
	resp, body := e.do("GET", "/attrs/k?attributes", nil, with("If-None-Match", etag))
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != etag {
		t.Errorf("If-None-Match: %s %q ETag %q", resp.Status, body, resp.Header.Get("ETag"))
	}
	// versionId=null names the one version there is; If-Match holds.
	resp, body = e.do("GET", "/attrs/k?attributes&versionId=null", nil, with("If-Match", etag))
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("<ObjectSize>4</ObjectSize>")) || resp.Header.Get("Last-Modified") == "" {
		t.Errorf("versionId=null: %s %s", resp.Status, body)
	}
}

// TestGetObjectAttributesVersions: versionId names a version of a
// versioned bucket; delete markers answer as on HeadObject.
func TestGetObjectAttributesVersions(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("vers")
	ctx := context.Background()
	if _, err := e.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("vers"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, body := range []string{"first", "second version"} {
		out, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vers"), Key: aws.String("k"), Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.VersionId))
	}
	attrs := func(versionID string) (*s3.GetObjectAttributesOutput, error) {
		in := &s3.GetObjectAttributesInput{Bucket: aws.String("vers"), Key: aws.String("k"), ObjectAttributes: allAttributes}
		if versionID != "" {
			in.VersionId = aws.String(versionID)
		}
		return e.s3.GetObjectAttributes(ctx, in)
	}
	for _, c := range []struct {
		id      string
		size    int64
		version string
	}{{"", 14, ids[1]}, {ids[0], 5, ids[0]}, {ids[1], 14, ids[1]}} {
		out, err := attrs(c.id)
		if err != nil {
			t.Fatalf("versionId %q: %v", c.id, err)
		}
		if aws.ToInt64(out.ObjectSize) != c.size || aws.ToString(out.VersionId) != c.version {
			t.Errorf("versionId %q: ObjectSize %d, VersionId %q; want %d, %q", c.id, aws.ToInt64(out.ObjectSize), aws.ToString(out.VersionId), c.size, c.version)
		}
	}
	del, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("vers"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	marker := aws.ToString(del.VersionId)
	resp, body := e.do("GET", "/vers/k?attributes", nil, map[string]string{"x-amz-object-attributes": "ETag"})
	wantError(t, resp, body, 404, "NoSuchKey")
	if resp.Header.Get("x-amz-delete-marker") != "true" || resp.Header.Get("x-amz-version-id") != marker {
		t.Errorf("current version a delete marker: headers %v", resp.Header)
	}
	resp, body = e.do("GET", "/vers/k?attributes&versionId="+marker, nil, map[string]string{"x-amz-object-attributes": "ETag"})
	wantError(t, resp, body, 405, "MethodNotAllowed")
	if resp.Header.Get("x-amz-delete-marker") != "true" || resp.Header.Get("Last-Modified") == "" {
		t.Errorf("delete marker by id: headers %v", resp.Header)
	}
	if out, err := attrs(ids[0]); err != nil || aws.ToInt64(out.ObjectSize) != 5 {
		t.Errorf("an older version behind the delete marker: %+v, %v", out, err)
	}
}

// TestGetObjectAttributesVersionIDRefusals: a version id the store cannot
// have made, or none of its versions has, is refused as GetObject refuses
// it, on both stores (upstream keeps no versions).
func TestGetObjectAttributesVersionIDRefusals(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeOpener) {
		e := envOn(t, open)
		e.mkBucket("attrs")
		e.put("attrs", "k", []byte("data"))
		for _, id := range []string{"3HL4kqtJlcpXroDTDmJ", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ""} {
			get, getBody := e.do("GET", "/attrs/k?versionId="+id, nil, nil)
			resp, body := e.do("GET", "/attrs/k?attributes&versionId="+id, nil, map[string]string{"x-amz-object-attributes": "ETag"})
			if get.StatusCode < 400 {
				t.Fatalf("GetObject versionId %q: %s", id, get.Status)
			}
			wantError(t, resp, body, get.StatusCode, errorCode(t, getBody))
		}
	})
}

// errorCode returns the Code of an S3 XML error body.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e s3Error
	if err := xml.Unmarshal(body, &e); err != nil {
		t.Fatalf("not an S3 error: %q", body)
	}
	return e.Code
}
