package gateway_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestMultipartManagerDefaults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("mpu")
	data := randBytes(23<<20, 5)
	up := manager.NewUploader(e.s3) // default 5 MiB parts, CRC32 checksums
	// An io.Reader that is not seekable: the uploader streams parts.
	if _, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big"),
		Body: io.MultiReader(bytes.NewReader(data))}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.get("mpu", "big"), data) {
		t.Fatal("multipart object differs")
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	// ETag is md5 of the part md5s, with the part count.
	var md5s []byte
	for off := 0; off < len(data); off += 5 << 20 {
		s := md5.Sum(data[off:min(off+5<<20, len(data))])
		md5s = append(md5s, s[:]...)
	}
	sum := md5.Sum(md5s)
	if want := fmt.Sprintf(`"%s-5"`, hex.EncodeToString(sum[:])); *head.ETag != want {
		t.Errorf("ETag %s, want %s", *head.ETag, want)
	}
	// GET ?partNumber=2 returns the second part.
	out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big"), PartNumber: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(part, data[5<<20:10<<20]) || *out.PartsCount != 5 {
		t.Errorf("part 2: %d bytes, parts count %v", len(part), out.PartsCount)
	}
	// Range across a part boundary.
	out, err = e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpu"), Key: aws.String("big"), Range: aws.String(fmt.Sprintf("bytes=%d-%d", 5<<20-10, 5<<20+9))})
	if err != nil {
		t.Fatal(err)
	}
	rng, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(rng, data[5<<20-10:5<<20+10]) {
		t.Errorf("range across parts differs")
	}
}

func TestMultipartChecksums(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("mpc")
	data := randBytes(11<<20, 6)
	for _, c := range []struct {
		alg types.ChecksumAlgorithm
		typ types.ChecksumType
	}{
		{types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite},
		{types.ChecksumAlgorithmCrc32c, types.ChecksumTypeFullObject},
		{types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeFullObject},
		{types.ChecksumAlgorithmSha256, types.ChecksumTypeComposite},
	} {
		t.Run(string(c.alg)+"-"+string(c.typ), func(t *testing.T) {
			key := "obj-" + string(c.alg)
			cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpc"), Key: aws.String(key),
				ChecksumAlgorithm: c.alg, ChecksumType: c.typ})
			if err != nil {
				t.Fatal(err)
			}
			var parts []types.CompletedPart
			for i, off := 0, 0; off < len(data); i, off = i+1, off+(5<<20) {
				body := data[off:min(off+5<<20, len(data))]
				up, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpc"), Key: aws.String(key), UploadId: cr.UploadId,
					PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(body), ChecksumAlgorithm: c.alg})
				if err != nil {
					t.Fatal(err)
				}
				parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag,
					ChecksumCRC32: up.ChecksumCRC32, ChecksumCRC32C: up.ChecksumCRC32C, ChecksumCRC64NVME: up.ChecksumCRC64NVME, ChecksumSHA256: up.ChecksumSHA256})
			}
			comp, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpc"), Key: aws.String(key), UploadId: cr.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
			if err != nil {
				t.Fatal(err)
			}
			if comp.ChecksumType != c.typ {
				t.Errorf("checksum type %q", comp.ChecksumType)
			}
			// The SDK validates the checksum it gets back on a full GET.
			out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mpc"), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("body: %v", err)
			}
		})
	}
}

func TestMultipartErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("mpe")
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpe"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	small := []byte("small part")
	up1, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpe"), Key: aws.String("k"), UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(small)})
	if err != nil {
		t.Fatal(err)
	}
	up2, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpe"), Key: aws.String("k"), UploadId: cr.UploadId, PartNumber: aws.Int32(2), Body: bytes.NewReader(small)})
	if err != nil {
		t.Fatal(err)
	}
	complete := func(parts ...types.CompletedPart) error {
		_, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpe"), Key: aws.String("k"), UploadId: cr.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		return err
	}
	p := func(n int32, etag *string) types.CompletedPart {
		return types.CompletedPart{PartNumber: aws.Int32(n), ETag: etag}
	}
	if err := complete(p(2, up2.ETag), p(1, up1.ETag)); apiCode(err) != "InvalidPartOrder" {
		t.Errorf("order: %v", err)
	}
	if err := complete(p(1, aws.String(`"00000000000000000000000000000000"`))); apiCode(err) != "InvalidPart" {
		t.Errorf("wrong etag: %v", err)
	}
	if err := complete(p(1, up1.ETag), p(3, up2.ETag)); apiCode(err) != "InvalidPart" {
		t.Errorf("missing part: %v", err)
	}
	if err := complete(p(1, up1.ETag), p(2, up2.ETag)); apiCode(err) != "EntityTooSmall" {
		t.Errorf("small part: %v", err)
	}
	lp, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpe"), Key: aws.String("k"), UploadId: cr.UploadId, MaxParts: aws.Int32(1)})
	if err != nil || len(lp.Parts) != 1 || !*lp.IsTruncated || *lp.NextPartNumberMarker != "1" {
		t.Errorf("ListParts: %+v %v", lp, err)
	}
	lu, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("mpe")})
	if err != nil || len(lu.Uploads) != 1 || *lu.Uploads[0].UploadId != *cr.UploadId {
		t.Errorf("ListMultipartUploads: %+v %v", lu, err)
	}
	// A single small part is a valid last part.
	if err := complete(p(1, up1.ETag)); err != nil {
		t.Errorf("single-part complete: %v", err)
	}
	if !bytes.Equal(e.get("mpe", "k"), small) {
		t.Errorf("completed object differs")
	}
	// An SDK retrying a Complete whose answer was lost gets the object's
	// ETag again, as from AWS; another part list does not.
	again, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpe"), Key: aws.String("k"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{p(1, up1.ETag)}}})
	if sum := md5.Sum(small); err != nil || *again.ETag != fmt.Sprintf(`"%x-1"`, md5.Sum(sum[:])) {
		t.Errorf("complete twice: %+v, %v", again, err)
	}
	if err := complete(p(1, up1.ETag), p(2, up2.ETag)); apiCode(err) != "NoSuchUpload" {
		t.Errorf("complete twice with other parts: %v", err)
	}
	_, err = e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpe"), Key: aws.String("k"), UploadId: aws.String("nope"), PartNumber: aws.Int32(1), Body: bytes.NewReader(small)})
	if apiCode(err) != "NoSuchUpload" {
		t.Errorf("part for unknown upload: %v", err)
	}
	cr2, _ := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpe"), Key: aws.String("k2")})
	if _, err := e.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("mpe"), Key: aws.String("k2"), UploadId: cr2.UploadId}); err != nil {
		t.Errorf("abort: %v", err)
	}
	if _, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpe"), Key: aws.String("k2"), UploadId: cr2.UploadId}); apiCode(err) != "NoSuchUpload" {
		t.Errorf("ListParts after abort: %v", err)
	}
}

func TestUploadPartCopy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("upc")
	src := randBytes(7<<20, 7)
	e.put("upc", "src", src)
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("upc"), Key: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	c1, err := e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("upc"), Key: aws.String("dst"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String("upc/src"), CopySourceRange: aws.String("bytes=0-5242879")})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("upc"), Key: aws.String("dst"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(2), CopySource: aws.String("upc/src"), CopySourceRange: aws.String("bytes=5242880-7340031")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("upc"), Key: aws.String("dst"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(3), CopySource: aws.String("upc/src"), CopySourceRange: aws.String("bytes=0-99999999")})
	if apiCode(err) != "InvalidRange" {
		t.Errorf("range past source: %v", err)
	}
	_, err = e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("upc"), Key: aws.String("dst"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: c1.CopyPartResult.ETag}, {PartNumber: aws.Int32(2), ETag: c2.CopyPartResult.ETag}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.get("upc", "dst"), src) {
		t.Errorf("copied multipart object differs")
	}
}

func TestDeleteObjects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("del")
	for _, k := range []string{"a", "b", "c"} {
		e.put("del", k, []byte(k))
	}
	ids := []types.ObjectIdentifier{{Key: aws.String("a")}, {Key: aws.String("b")}, {Key: aws.String("missing")}, {Key: aws.String("../evil")}}
	out, err := e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("del"), Delete: &types.Delete{Objects: ids}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Deleted) != 3 || len(out.Errors) != 1 || *out.Errors[0].Key != "../evil" {
		t.Errorf("DeleteObjects: deleted %d, errors %+v", len(out.Deleted), out.Errors)
	}
	out, err = e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("del"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("c")}}, Quiet: aws.Bool(true)}})
	if err != nil || len(out.Deleted) != 0 || len(out.Errors) != 0 {
		t.Errorf("quiet: %+v %v", out, err)
	}
	list, _ := e.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("del")})
	if len(list.Contents) != 0 {
		t.Errorf("objects left: %d", len(list.Contents))
	}
	many := make([]types.ObjectIdentifier, 1001)
	for i := range many {
		many[i] = types.ObjectIdentifier{Key: aws.String(fmt.Sprint(i))}
	}
	_, err = e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("del"), Delete: &types.Delete{Objects: many}})
	if apiCode(err) != "MalformedXML" {
		t.Errorf("1001 keys: %v", err)
	}
}

// TestCompleteDeclaredChecksum: x-amz-checksum-<alg> on
// CompleteMultipartUpload is the checksum of the whole object (SDKs send it
// for FULL_OBJECT uploads), not of the XML document: checked against the
// parts before anything is committed.
func TestCompleteDeclaredChecksum(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("mpdecl")
	part1, part2 := randBytes(5<<20, 11), randBytes(1000, 12)
	whole := append(append([]byte{}, part1...), part2...)
	crc := func(alg types.ChecksumAlgorithm, b []byte) string {
		var sum []byte
		switch alg {
		case types.ChecksumAlgorithmCrc64nvme:
			sum = binary.BigEndian.AppendUint64(nil, crc64.Checksum(b, crc64.MakeTable(0x9a6c9329ac4bc9b5)))
		case types.ChecksumAlgorithmCrc32:
			sum = binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b))
		}
		return base64.StdEncoding.EncodeToString(sum)
	}
	// The COMPOSITE value: CRC32 of the parts' raw CRC32s, "-N".
	raw := func(v string) []byte { b, _ := base64.StdEncoding.DecodeString(v); return b }
	composite := crc(types.ChecksumAlgorithmCrc32, append(raw(crc(types.ChecksumAlgorithmCrc32, part1)), raw(crc(types.ChecksumAlgorithmCrc32, part2))...))
	for _, c := range []struct {
		name    string
		alg     types.ChecksumAlgorithm
		typ     types.ChecksumType
		declare func(in *s3.CompleteMultipartUploadInput)
		code    string
	}{
		{"full object crc64nvme", types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeFullObject, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC64NVME, in.ChecksumType = aws.String(crc(types.ChecksumAlgorithmCrc64nvme, whole)), types.ChecksumTypeFullObject
		}, ""},
		{"full object crc32", types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC32 = aws.String(crc(types.ChecksumAlgorithmCrc32, whole))
		}, ""},
		{"composite with its part count", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC32 = aws.String(composite + "-2")
		}, ""},
		{"composite without its part count", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC32 = aws.String(composite)
		}, ""},
		{"wrong full object value", types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeFullObject, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC64NVME = aws.String(crc(types.ChecksumAlgorithmCrc64nvme, part1))
		}, "BadDigest"},
		{"other algorithm than the upload's", types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeFullObject, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC32 = aws.String(crc(types.ChecksumAlgorithmCrc32, whole))
		}, "InvalidRequest"},
		{"other type than the upload's", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumType = types.ChecksumTypeFullObject
		}, "InvalidRequest"},
		{"malformed value", types.ChecksumAlgorithmCrc32, types.ChecksumTypeFullObject, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC32 = aws.String("not base64")
		}, "InvalidRequest"},
		{"malformed part count", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC32 = aws.String(composite + "-2a")
		}, "InvalidRequest"},
		{"two part counts", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC32 = aws.String(composite + "-2-2")
		}, "InvalidRequest"},
		{"empty part count", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC32 = aws.String(composite + "-")
		}, "InvalidRequest"},
		{"signed part count", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC32 = aws.String(composite + "-+2")
		}, "InvalidRequest"},
		{"part count with a leading zero", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, func(in *s3.CompleteMultipartUploadInput) {
			in.ChecksumCRC32 = aws.String(composite + "-02")
		}, "InvalidRequest"},
		// Part checksums (S3: InvalidRequest).
		{"full object without part checksums", types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeFullObject, func(in *s3.CompleteMultipartUploadInput) {
			for i := range in.MultipartUpload.Parts {
				in.MultipartUpload.Parts[i].ChecksumCRC64NVME = nil
			}
		}, ""},
		{"composite with a part checksum missing", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, func(in *s3.CompleteMultipartUploadInput) {
			in.MultipartUpload.Parts[1].ChecksumCRC32 = nil
		}, "InvalidRequest"},
		{"a part checksum of another algorithm", types.ChecksumAlgorithmCrc64nvme, types.ChecksumTypeFullObject, func(in *s3.CompleteMultipartUploadInput) {
			in.MultipartUpload.Parts[0].ChecksumSHA256 = aws.String("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
		}, "InvalidRequest"},
		{"a part checksum for an upload without one", "", "", func(in *s3.CompleteMultipartUploadInput) {
			in.MultipartUpload.Parts[0].ChecksumCRC32 = aws.String(crc(types.ChecksumAlgorithmCrc32, part1))
		}, "InvalidRequest"},
		// x-amz-mp-object-size (S3: InvalidRequest when it differs).
		{"right object size", "", "", func(in *s3.CompleteMultipartUploadInput) {
			in.MpuObjectSize = aws.Int64(int64(len(whole)))
		}, ""},
		{"wrong object size", types.ChecksumAlgorithmCrc32, types.ChecksumTypeComposite, func(in *s3.CompleteMultipartUploadInput) {
			in.MpuObjectSize = aws.Int64(int64(len(whole) - 1))
		}, "InvalidRequest"},
		{"negative object size", "", "", func(in *s3.CompleteMultipartUploadInput) {
			in.MpuObjectSize = aws.Int64(-1)
		}, "InvalidRequest"},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := "obj " + c.name
			cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpdecl"), Key: aws.String(key),
				ChecksumAlgorithm: c.alg, ChecksumType: c.typ})
			if err != nil {
				t.Fatal(err)
			}
			var parts []types.CompletedPart
			for i, body := range [][]byte{part1, part2} {
				up, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpdecl"), Key: aws.String(key), UploadId: cr.UploadId,
					PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(body), ChecksumAlgorithm: c.alg})
				if err != nil {
					t.Fatal(err)
				}
				parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: up.ETag,
					ChecksumCRC32: up.ChecksumCRC32, ChecksumCRC64NVME: up.ChecksumCRC64NVME})
			}
			in := &s3.CompleteMultipartUploadInput{Bucket: aws.String("mpdecl"), Key: aws.String(key), UploadId: cr.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}
			c.declare(in)
			out, err := e.s3.CompleteMultipartUpload(ctx, in)
			if c.code != "" {
				if apiCode(err) != c.code {
					t.Fatalf("complete: %v, want %s", err, c.code)
				}
				// Nothing was committed: the upload is still there.
				if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("mpdecl"), Key: aws.String(key)}); apiCode(err) != "NotFound" {
					t.Errorf("object after a refused complete: %v", err)
				}
				if _, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("mpdecl"), Key: aws.String(key), UploadId: cr.UploadId}); err != nil {
					t.Errorf("upload gone after a refused complete: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := "http://" + strings.TrimPrefix(e.srv.URL, "http://") + "/mpdecl/" + strings.ReplaceAll(key, " ", "%20"); out.Location == nil || *out.Location != want {
				t.Errorf("Location %v, want %s", aws.ToString(out.Location), want)
			}
			if !bytes.Equal(e.get("mpdecl", key), whole) {
				t.Errorf("object differs")
			}
		})
	}
}

func TestListPartsAndUploadsFields(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("mpfields")
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("mpfields"), Key: aws.String("k"),
		StorageClass: types.StorageClassStandardIa})
	if err != nil {
		t.Fatal(err)
	}
	for i := int32(1); i <= 2; i++ {
		if _, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("mpfields"), Key: aws.String("k"), UploadId: cr.UploadId,
			PartNumber: aws.Int32(i), Body: bytes.NewReader([]byte("part"))}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		maxParts, marker string
		parts            int
		truncated        bool
	}{
		{"0", "", 0, false}, // as AWS answers max-keys=0
		{"0", "2", 0, false},
		{"1", "", 1, true},
		{"", "1", 1, false},
	} {
		resp, body := e.do("GET", "/mpfields/k?uploadId="+*cr.UploadId+"&max-parts="+c.maxParts+"&part-number-marker="+c.marker, nil, nil)
		var res struct {
			MaxParts     string
			IsTruncated  bool
			StorageClass string
			Part         []struct{ PartNumber int }
		}
		if err := xml.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if len(res.Part) != c.parts || res.IsTruncated != c.truncated || (c.maxParts != "" && res.MaxParts != c.maxParts) {
			t.Errorf("max-parts=%s marker=%s: %d parts, truncated %v, MaxParts %s", c.maxParts, c.marker, len(res.Part), res.IsTruncated, res.MaxParts)
		}
		if res.StorageClass != "STANDARD_IA" {
			t.Errorf("ListParts StorageClass %q", res.StorageClass)
		}
	}
	lu, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("mpfields")})
	if err != nil || len(lu.Uploads) != 1 || lu.Uploads[0].StorageClass != types.StorageClassStandardIa {
		t.Errorf("ListMultipartUploads: %+v %v", lu, err)
	}
}

// TestPutWithUploadIDNoPartNumber: a part upload that lacks its partNumber
// is refused; it must not become a PutObject that replaces the object.
func TestPutWithUploadIDNoPartNumber(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("mpnopart")
	e.put("mpnopart", "k", []byte("original"))
	cr, err := e.s3.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: aws.String("mpnopart"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	for _, hdr := range []map[string]string{nil, {"x-amz-copy-source": "mpnopart/k"}} {
		resp, body := e.do("PUT", "/mpnopart/k?uploadId="+*cr.UploadId, []byte("clobber"), hdr)
		wantError(t, resp, body, 400, "InvalidArgument")
	}
	if got := string(e.get("mpnopart", "k")); got != "original" {
		t.Errorf("object replaced by a part upload without partNumber: %q", got)
	}
}

// TestDeleteBucketWithUploads: a bucket whose only content is unfinished
// uploads is deleted with them (aws s3 rb --force, rclone purge and mc rb
// --force rely on it); an object still keeps it.
func TestDeleteBucketWithUploads(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("rbf")
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("rbf"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("rbf"), Key: aws.String("k"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part"))}); err != nil {
		t.Fatal(err)
	}
	e.put("rbf", "obj", []byte("x"))
	if _, err := e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("rbf")}); apiCode(err) != "BucketNotEmpty" {
		t.Errorf("DeleteBucket with an object and an upload: %v", err)
	}
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("rbf"), Key: aws.String("obj")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("rbf")}); err != nil {
		t.Fatalf("DeleteBucket with only an upload: %v", err)
	}
	if _, err := e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("rbf")}); err == nil {
		t.Error("the bucket is still there")
	}
	e.mkBucket("rbf")
	if _, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("rbf"), Key: aws.String("k"), UploadId: cr.UploadId}); apiCode(err) != "NoSuchUpload" {
		t.Errorf("ListParts of the deleted bucket's upload: %v", err)
	}
}

// TestResendPartInFlight: a part re-sent while the first upload of its
// number is still arriving (an SDK retrying a part it thinks timed out):
// the upload that finishes last is the part, and Complete with its ETag
// succeeds.
func TestResendPartInFlight(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("resend")
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("resend"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	slow, fast := randBytes(6<<20, 21), randBytes(6<<20, 22)
	pr, pw := io.Pipe()
	path := "/resend/k?partNumber=1&uploadId=" + *cr.UploadId
	req, err := http.NewRequest("PUT", e.srv.URL+path, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(slow))
	sign(t, req, slow, testAK, testSK, time.Now())
	slowDone := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("slow part: %v", err)
		}
		slowDone <- resp
	}()
	if _, err := pw.Write(slow[:1<<20]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("resend"), Key: aws.String("k"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(fast)}); err != nil {
		t.Fatalf("re-sent part: %v", err)
	}
	if _, err := pw.Write(slow[1<<20:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	resp := <-slowDone
	if resp == nil {
		t.FailNow()
	}
	resp.Body.Close()
	slowSum := md5.Sum(slow)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != fmt.Sprintf(`"%x"`, slowSum) {
		t.Fatalf("slow part: %s, ETag %s", resp.Status, resp.Header.Get("ETag"))
	}
	out, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("resend"), Key: aws.String("k"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(resp.Header.Get("ETag"))}}}})
	if err != nil {
		t.Fatalf("Complete with the part that finished last: %v", err)
	}
	if want := fmt.Sprintf(`"%x-1"`, md5.Sum(slowSum[:])); *out.ETag != want {
		t.Errorf("ETag %s, want %s", *out.ETag, want)
	}
	if !bytes.Equal(e.get("resend", "k"), slow) {
		t.Error("the object is not the part that finished last")
	}
}

// TestAbortIfMatchInitiatedTime: x-amz-if-match-initiated-time aborts only
// the upload initiated at that time (412 otherwise, the upload kept); a
// missing upload is a success; a malformed date is refused.
func TestAbortIfMatchInitiatedTime(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("aim")
	cr, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("aim"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	ups, err := e.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("aim")})
	if err != nil || len(ups.Uploads) != 1 {
		t.Fatalf("ListMultipartUploads: %+v, %v", ups, err)
	}
	initiated := aws.ToTime(ups.Uploads[0].Initiated)
	path := "/aim/k?uploadId=" + aws.ToString(cr.UploadId)
	resp, body := e.do("DELETE", path, nil, map[string]string{"x-amz-if-match-initiated-time": "yesterday"})
	wantError(t, resp, body, 400, "InvalidArgument")
	resp, body = e.do("DELETE", path, nil, map[string]string{"x-amz-if-match-initiated-time": initiated.Add(-time.Hour).Format(http.TimeFormat)})
	wantError(t, resp, body, 412, "PreconditionFailed")
	if _, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("aim"), Key: aws.String("k"), UploadId: cr.UploadId}); err != nil {
		t.Fatalf("the upload is gone after a failed condition: %v", err)
	}
	for range 2 { // the second time the upload is missing: still 204
		resp, body = e.do("DELETE", path, nil, map[string]string{"x-amz-if-match-initiated-time": initiated.Format(http.TimeFormat)})
		if resp.StatusCode != 204 {
			t.Fatalf("abort with the upload's initiation time: %s %s", resp.Status, body)
		}
	}
	if _, err := e.s3.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("aim"), Key: aws.String("k"), UploadId: cr.UploadId}); apiCode(err) != "NoSuchUpload" {
		t.Errorf("upload still there after the abort: %v", err)
	}
}
