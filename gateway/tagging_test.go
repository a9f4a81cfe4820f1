package gateway_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func tagSet(kv ...string) []types.Tag {
	var tags []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		tags = append(tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return tags
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func wantAPIError(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("%s: error %v, want %s", what, err, code)
	}
}

// TestObjectTagging: tags set by PutObject, PutObjectTagging, copies and
// multipart uploads, read back by GetObjectTagging and counted on GET/HEAD.
func TestObjectTagging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("bkt")
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
		Body: strings.NewReader("data"), Tagging: aws.String("a=1&b=two%20words&empty=")}); err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if m := tagMap(got.TagSet); len(m) != 3 || m["a"] != "1" || m["b"] != "two words" || m["empty"] != "" {
		t.Errorf("tags after PutObject = %v", m)
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if head.TagCount != nil { // S3 sends x-amz-tagging-count on GET only; we send it on both
		if *head.TagCount != 3 {
			t.Errorf("HEAD tag count = %d, want 3", *head.TagCount)
		}
	}
	obj, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	obj.Body.Close()
	if aws.ToInt32(obj.TagCount) != 3 {
		t.Errorf("GET tag count = %d, want 3", aws.ToInt32(obj.TagCount))
	}

	// Replace in place; the object is unchanged otherwise.
	if _, err := e.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
		Tagging: &types.Tagging{TagSet: tagSet("project", "x", "ünïcode", "vålue +-=._:/@")}}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if m := tagMap(got.TagSet); len(m) != 2 || m["project"] != "x" || m["ünïcode"] != "vålue +-=._:/@" {
		t.Errorf("tags after PutObjectTagging = %v", m)
	}
	if string(e.get("bkt", "k")) != "data" {
		t.Error("object bytes changed by PutObjectTagging")
	}

	// Copies take the source's tags (COPY) or the request's (REPLACE).
	copyIn := func(dst, directive, tagging string) error {
		in := &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String(dst), CopySource: aws.String("bkt/k")}
		if directive != "" {
			in.TaggingDirective = types.TaggingDirective(directive)
		}
		if tagging != "" {
			in.Tagging = aws.String(tagging)
		}
		_, err := e.s3.CopyObject(ctx, in)
		return err
	}
	if err := copyIn("c1", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := copyIn("c2", "REPLACE", "only=this"); err != nil {
		t.Fatal(err)
	}
	if err := copyIn("c3", "REPLACE", ""); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"c1": 2, "c2": 1, "c3": 0} {
		got, err := e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String(key)})
		if err != nil || len(got.TagSet) != want {
			t.Errorf("%s: %d tags (%v), want %d", key, len(got.TagSet), err, want)
		}
	}
	wantAPIError(t, "unknown tagging directive", copyIn("c4", "MOVE", ""), "InvalidArgument")

	// Multipart uploads carry their tags to the object.
	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), Tagging: aws.String("m=p")})
	if err != nil {
		t.Fatal(err)
	}
	part, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("mp")})
	if m := tagMap(got.TagSet); m["m"] != "p" {
		t.Errorf("multipart object tags = %v", m)
	}

	// Delete clears; absent objects are NoSuchKey.
	if _, err := e.s3.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if len(got.TagSet) != 0 {
		t.Errorf("tags after DeleteObjectTagging = %v", tagMap(got.TagSet))
	}
	_, err = e.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("absent"),
		Tagging: &types.Tagging{TagSet: tagSet("a", "b")}})
	wantAPIError(t, "PutObjectTagging of an absent key", err, "NoSuchKey")
	_, err = e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("absent")})
	wantAPIError(t, "GetObjectTagging of an absent key", err, "NoSuchKey")
}

// TestTagValidation: S3's limits on tags, for objects and buckets, through
// each way of setting them; nothing is stored when refused.
func TestTagValidation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("bkt")
	e.put("bkt", "k", []byte("x"))
	many := func(n int) []types.Tag {
		var kv []string
		for i := range n {
			kv = append(kv, "k"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "v")
		}
		return tagSet(kv...)
	}
	cases := []struct {
		name string
		tags []types.Tag
		code string
	}{
		{"eleven tags", many(11), "InvalidTag"},
		{"key too long", tagSet(strings.Repeat("k", 129), "v"), "InvalidTag"},
		{"value too long", tagSet("k", strings.Repeat("v", 257)), "InvalidTag"},
		{"empty key", tagSet("", "v"), "InvalidTag"},
		{"bad character", tagSet("k*", "v"), "InvalidTag"},
		{"aws prefix", tagSet("aws:k", "v"), "InvalidTag"},
		{"duplicate keys", tagSet("k", "1", "k", "2"), "InvalidTag"},
	}
	for _, c := range cases {
		_, err := e.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
			Tagging: &types.Tagging{TagSet: c.tags}})
		wantAPIError(t, "PutObjectTagging "+c.name, err, c.code)
	}
	// Limits are in characters, not bytes.
	if _, err := e.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
		Tagging: &types.Tagging{TagSet: append(many(9), tagSet(strings.Repeat("é", 128), strings.Repeat("ü", 256))...)}}); err != nil {
		t.Errorf("10 tags with 128/256-character keys and values: %v", err)
	}
	// x-amz-tagging is a query string: empty parameters are skipped; a
	// repeated or empty name or a bad escape is InvalidArgument, a bad tag
	// InvalidTag.
	for _, c := range []struct{ header, code string }{
		{"a=1&a=2", "InvalidArgument"}, {"=v", "InvalidArgument"}, {"k=%zz", "InvalidArgument"},
		{"aws%3Ax=1", "InvalidTag"}, {"k*=v", "InvalidTag"},
	} {
		_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("refused"),
			Body: strings.NewReader("x"), Tagging: aws.String(c.header)})
		wantAPIError(t, "PutObject with x-amz-tagging "+c.header, err, c.code)
	}
	for header, want := range map[string]int{"&": 0, "&&&": 0, "k": 1, "k=&": 1, "a=1&&b=2&": 2, "k%2E=v%2F": 1} {
		if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("tagged"),
			Body: strings.NewReader("x"), Tagging: aws.String(header)}); err != nil {
			t.Errorf("PutObject with x-amz-tagging %q: %v", header, err)
			continue
		}
		out, err := e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("tagged")})
		if err != nil || len(out.TagSet) != want {
			t.Errorf("x-amz-tagging %q: tags %+v, %v; want %d", header, out, err, want)
		}
	}
	if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("refused")}); err == nil {
		t.Error("a PutObject with refused tags stored the object")
	}
	// Buckets take up to 50.
	_, err := e.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("bkt"), Tagging: &types.Tagging{TagSet: many(51)}})
	wantAPIError(t, "PutBucketTagging with 51 tags", err, "InvalidTag")
	if _, err := e.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("bkt"), Tagging: &types.Tagging{TagSet: many(50)}}); err != nil {
		t.Errorf("PutBucketTagging with 50 tags: %v", err)
	}
}

// TestBucketTagging: Put/Get/DeleteBucketTagging round trip.
func TestBucketTagging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("bkt")
	_, err := e.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("bkt")})
	wantAPIError(t, "GetBucketTagging unset", err, "NoSuchTagSet")
	if _, err := e.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("bkt"),
		Tagging: &types.Tagging{TagSet: tagSet("team", "web", "cost centre", "42")}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("bkt")})
	if err != nil {
		t.Fatal(err)
	}
	if m := tagMap(got.TagSet); len(m) != 2 || m["team"] != "web" || m["cost centre"] != "42" {
		t.Errorf("bucket tags = %v", m)
	}
	if _, err := e.s3.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("bkt")})
	wantAPIError(t, "GetBucketTagging after delete", err, "NoSuchTagSet")
	_, err = e.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("absent"), Tagging: &types.Tagging{TagSet: tagSet("a", "b")}})
	wantAPIError(t, "PutBucketTagging of an absent bucket", err, "NoSuchBucket")
}

// TestCreateBucketTags: CreateBucketConfiguration's Tags become the
// bucket's tag set; invalid ones refuse the bucket; elements of directory
// buckets are refused, never ignored.
func TestCreateBucketTags(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tagged"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{Tags: tagSet("team", "web")}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("tagged")})
	if err != nil || tagMap(got.TagSet)["team"] != "web" {
		t.Errorf("tags of a bucket created with tags: %v %v", got, err)
	}
	_, err = e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bad-tags"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{Tags: tagSet("k", "1", "k", "2")}})
	wantAPIError(t, "CreateBucket with duplicate tag keys", err, "InvalidTag")
	if _, err := e.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bad-tags")}); err == nil {
		t.Error("a CreateBucket refused for its tags created the bucket")
	}
	resp, body := e.do("PUT", "/dir-bucket", []byte(`<CreateBucketConfiguration><Bucket><Type>Directory</Type></Bucket></CreateBucketConfiguration>`), nil)
	wantError(t, resp, body, 501, "NotImplemented")
}
