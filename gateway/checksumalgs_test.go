package gateway_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/cespare/xxhash/v2"
	"github.com/zeebo/xxh3"
)

// laterAlgorithms are the checksum algorithms S3 added after the first five,
// with an independent hash for each and the SDK's field for its value.
var laterAlgorithms = []struct {
	alg   types.ChecksumAlgorithm
	hash  func() hash.Hash
	field func(*s3.PutObjectInput) **string
}{
	{types.ChecksumAlgorithmSha512, sha512.New, func(in *s3.PutObjectInput) **string { return &in.ChecksumSHA512 }},
	{types.ChecksumAlgorithmMd5, md5.New, func(in *s3.PutObjectInput) **string { return &in.ChecksumMD5 }},
	{types.ChecksumAlgorithmXxhash64, func() hash.Hash { return xxhash.New() }, func(in *s3.PutObjectInput) **string { return &in.ChecksumXXHASH64 }},
	{types.ChecksumAlgorithmXxhash3, func() hash.Hash { return xxh3.New() }, func(in *s3.PutObjectInput) **string { return &in.ChecksumXXHASH3 }},
	{types.ChecksumAlgorithmXxhash128, func() hash.Hash { return xxh3.New128() }, func(in *s3.PutObjectInput) **string { return &in.ChecksumXXHASH128 }},
}

func b64sum(h hash.Hash, parts ...[]byte) string {
	for _, p := range parts {
		h.Write(p)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// TestLaterChecksumAlgorithms: SHA512, MD5, XXHASH64, XXHASH3 and XXHASH128
// are verified on PUT (a wrong value is BadDigest, nothing stored), stored,
// returned in checksum mode and by GetObjectAttributes, and combined as
// COMPOSITE checksums of multipart uploads (FULL_OBJECT refused, as S3 does
// for every non-CRC algorithm).
func TestLaterChecksumAlgorithms(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("later")
	data := randBytes(5<<20+100<<10, 77)
	for _, a := range laterAlgorithms {
		t.Run(string(a.alg), func(t *testing.T) {
			name := strings.ToLower(string(a.alg))
			want := b64sum(a.hash(), data)
			in := &s3.PutObjectInput{Bucket: aws.String("later"), Key: aws.String(name), Body: bytes.NewReader(data)}
			*a.field(in) = aws.String(want)
			out, err := e.s3.PutObject(ctx, in)
			if err != nil {
				t.Fatalf("PUT: %v", err)
			}
			if out.ChecksumType != types.ChecksumTypeFullObject {
				t.Errorf("PUT checksum type %q, want FULL_OBJECT", out.ChecksumType)
			}
			resp, body := e.do("HEAD", "/later/"+name, nil, map[string]string{"x-amz-checksum-mode": "ENABLED"})
			if got := resp.Header.Get("x-amz-checksum-" + name); resp.StatusCode != 200 || got != want {
				t.Errorf("HEAD: %s %s, x-amz-checksum-%s %q, want %q", resp.Status, body, name, got, want)
			}
			attrs, err := e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("later"), Key: aws.String(name),
				ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesChecksum}})
			if err != nil || attrs.Checksum == nil {
				t.Fatalf("GetObjectAttributes: %+v, %v", attrs, err)
			}
			if got := attributeChecksum(attrs.Checksum, a.alg); got != want {
				t.Errorf("GetObjectAttributes checksum %q, want %q", got, want)
			}

			// A wrong value (another object's checksum) is refused.
			bad := b64sum(a.hash(), []byte("other"))
			resp, body = e.do("PUT", "/later/"+name+"-bad", data, map[string]string{"x-amz-checksum-" + name: bad})
			wantError(t, resp, body, 400, "BadDigest")
			resp, _ = e.do("HEAD", "/later/"+name+"-bad", nil, nil)
			if resp.StatusCode != 404 {
				t.Errorf("object with a bad checksum stored: HEAD %s", resp.Status)
			}

			// Multipart: COMPOSITE is the default; FULL_OBJECT is refused.
			resp, body = e.do("POST", "/later/"+name+"-mp?uploads", nil, map[string]string{
				"x-amz-checksum-algorithm": string(a.alg), "x-amz-checksum-type": "FULL_OBJECT"})
			wantError(t, resp, body, 400, "InvalidRequest")
			mp, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("later"),
				Key: aws.String(name + "-mp"), ChecksumAlgorithm: a.alg})
			if err != nil {
				t.Fatal(err)
			}
			p1, p2 := data[:5<<20], data[5<<20:]
			var completed []types.CompletedPart
			var partSums []string
			for i, p := range [][]byte{p1, p2} {
				sum := b64sum(a.hash(), p)
				partSums = append(partSums, sum)
				resp, body := e.do("PUT", "/later/"+name+"-mp?partNumber="+string(rune('1'+i))+"&uploadId="+aws.ToString(mp.UploadId), p,
					map[string]string{"x-amz-checksum-" + name: sum})
				if resp.StatusCode != 200 || resp.Header.Get("x-amz-checksum-"+name) != sum {
					t.Fatalf("UploadPart %d: %s %s", i+1, resp.Status, body)
				}
				cp := types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: aws.String(resp.Header.Get("ETag"))}
				setCompletedChecksum(&cp, a.alg, sum)
				completed = append(completed, cp)
			}
			comp, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("later"),
				Key: aws.String(name + "-mp"), UploadId: mp.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: completed}})
			if err != nil {
				t.Fatalf("CompleteMultipartUpload: %v", err)
			}
			h := a.hash()
			for _, s := range partSums {
				raw, _ := base64.StdEncoding.DecodeString(s)
				h.Write(raw)
			}
			wantMP := base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-2"
			if comp.ChecksumType != types.ChecksumTypeComposite {
				t.Errorf("Complete checksum type %q", comp.ChecksumType)
			}
			resp, _ = e.do("HEAD", "/later/"+name+"-mp", nil, map[string]string{"x-amz-checksum-mode": "ENABLED"})
			if got := resp.Header.Get("x-amz-checksum-" + name); got != wantMP {
				t.Errorf("multipart checksum %q, want %q", got, wantMP)
			}
			if got := e.get("later", name+"-mp"); !bytes.Equal(got, data) {
				t.Errorf("multipart body differs")
			}
		})
	}
	// The SDK computes SHA512 itself and sends it as an aws-chunked trailer.
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("later"), Key: aws.String("trailer"),
		Body: bytes.NewReader(data), ChecksumAlgorithm: types.ChecksumAlgorithmSha512}); err != nil {
		t.Fatalf("PUT with a SHA512 trailer: %v", err)
	}
	out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("later"), Key: aws.String("trailer"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, data) || aws.ToString(out.ChecksumSHA512) != b64sum(sha512.New(), data) {
		t.Errorf("GET of the trailer upload: sha512 %q", aws.ToString(out.ChecksumSHA512))
	}
}

func attributeChecksum(c *types.Checksum, alg types.ChecksumAlgorithm) string {
	for _, f := range []struct {
		alg types.ChecksumAlgorithm
		v   *string
	}{{types.ChecksumAlgorithmSha512, c.ChecksumSHA512}, {types.ChecksumAlgorithmMd5, c.ChecksumMD5},
		{types.ChecksumAlgorithmXxhash64, c.ChecksumXXHASH64}, {types.ChecksumAlgorithmXxhash3, c.ChecksumXXHASH3},
		{types.ChecksumAlgorithmXxhash128, c.ChecksumXXHASH128}} {
		if f.alg == alg {
			return aws.ToString(f.v)
		}
	}
	return ""
}

func setCompletedChecksum(p *types.CompletedPart, alg types.ChecksumAlgorithm, v string) {
	switch alg {
	case types.ChecksumAlgorithmSha512:
		p.ChecksumSHA512 = &v
	case types.ChecksumAlgorithmMd5:
		p.ChecksumMD5 = &v
	case types.ChecksumAlgorithmXxhash64:
		p.ChecksumXXHASH64 = &v
	case types.ChecksumAlgorithmXxhash3:
		p.ChecksumXXHASH3 = &v
	case types.ChecksumAlgorithmXxhash128:
		p.ChecksumXXHASH128 = &v
	}
}
