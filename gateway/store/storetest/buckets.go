package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
)

var invalidBucketNames = []string{
	"", "ab", strings.Repeat("a", 64), "Abc", "abc_def", "-abc", "abc-", ".abc", "abc.",
	"a..b", "a.-b", "a-.b", "192.168.1.1", "a b c", "abc/d",
}

func testBuckets(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CreateHeadList", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		if bs, err := s.ListBuckets(ctx); err != nil || len(bs) != 0 {
			t.Fatalf("ListBuckets on a new store = %v, %v; want none", bs, err)
		}
		names := []string{"zeta", "alpha-1", "b.c.d", "m00", strings.Repeat("x", 63), "abc"}
		for _, n := range names {
			if err := s.CreateBucket(ctx, n); err != nil {
				t.Fatalf("CreateBucket(%q): %v", n, err)
			}
		}
		for _, n := range names {
			b, err := s.HeadBucket(ctx, n)
			if err != nil {
				t.Fatalf("HeadBucket(%q): %v", n, err)
			}
			if b.Name != n || !recent(b.Created) {
				t.Errorf("HeadBucket(%q) = %+v", n, b)
			}
		}
		bs, err := s.ListBuckets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"abc", "alpha-1", "b.c.d", "m00", strings.Repeat("x", 63), "zeta"}
		if len(bs) != len(want) {
			t.Fatalf("ListBuckets = %v, want %v", bs, want)
		}
		for i, b := range bs {
			if b.Name != want[i] || !recent(b.Created) {
				t.Errorf("ListBuckets[%d] = %+v, want name %q", i, b, want[i])
			}
		}
	})
	t.Run("Exists", func(t *testing.T) {
		s := newStore(t)
		if err := s.CreateBucket(t.Context(), "dup"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "CreateBucket twice", s.CreateBucket(t.Context(), "dup"), store.ErrBucketExists)
	})
	t.Run("InvalidName", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		for _, n := range invalidBucketNames {
			wantErr(t, "CreateBucket("+n+")", s.CreateBucket(ctx, n), store.ErrInvalidBucketName)
			_, err := s.HeadBucket(ctx, n)
			wantErr(t, "HeadBucket("+n+")", err, store.ErrInvalidBucketName)
			wantErr(t, "DeleteBucket("+n+")", s.DeleteBucket(ctx, n), store.ErrInvalidBucketName)
			_, err = s.PutObject(ctx, n, "k", Input(t, []byte("x"), ""))
			wantErr(t, "PutObject("+n+")", err, store.ErrInvalidBucketName)
			_, err = s.ListObjects(ctx, n, store.ListOptions{})
			wantErr(t, "ListObjects("+n+")", err, store.ErrInvalidBucketName)
		}
		if bs, _ := s.ListBuckets(ctx); len(bs) != 0 {
			t.Errorf("ListBuckets = %v after invalid creates", bs)
		}
	})
	t.Run("Absent", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		const n = "absent"
		_, err := s.HeadBucket(ctx, n)
		wantErr(t, "HeadBucket", err, store.ErrNoSuchBucket)
		wantErr(t, "DeleteBucket", s.DeleteBucket(ctx, n), store.ErrNoSuchBucket)
		_, err = s.PutObject(ctx, n, "k", Input(t, []byte("x"), ""))
		wantErr(t, "PutObject", err, store.ErrNoSuchBucket)
		_, err = s.PutObject(ctx, n, "k", Input(t, Data(1, 300<<10), ""))
		wantErr(t, "PutObject (large)", err, store.ErrNoSuchBucket)
		_, err = s.HeadObject(ctx, n, "k")
		wantErr(t, "HeadObject", err, store.ErrNoSuchBucket)
		_, _, err = s.GetObject(ctx, n, "k", nil)
		wantErr(t, "GetObject", err, store.ErrNoSuchBucket)
		wantErr(t, "DeleteObject", s.DeleteObject(ctx, n, "k"), store.ErrNoSuchBucket)
		_, err = s.ListObjects(ctx, n, store.ListOptions{})
		wantErr(t, "ListObjects", err, store.ErrNoSuchBucket)
		_, err = s.CreateMultipartUpload(ctx, n, "k", store.UploadInput{})
		wantErr(t, "CreateMultipartUpload", err, store.ErrNoSuchBucket)
		_, err = s.ListMultipartUploads(ctx, n, store.UploadsOptions{})
		wantErr(t, "ListMultipartUploads", err, store.ErrNoSuchBucket)
		if u, err := s.Usage(ctx); err != nil || u != (store.Usage{}) {
			t.Errorf("Usage = %+v, %v; want zero", u, err)
		}
	})
	t.Run("DeleteNotEmpty", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		f.put("k", []byte("v"))
		wantErr(t, "DeleteBucket with an object", f.s.DeleteBucket(ctx, f.bucket), store.ErrBucketNotEmpty)
		if err := f.s.DeleteObject(ctx, f.bucket, "k"); err != nil {
			t.Fatal(err)
		}
		// An object and uploads: the object keeps the bucket.
		f.put("obj", []byte("v"))
		id := f.createUpload("up", store.UploadInput{})
		f.uploadPart("up", id, 1, []byte("part"), "")
		wantErr(t, "DeleteBucket with an object and an upload", f.s.DeleteBucket(ctx, f.bucket), store.ErrBucketNotEmpty)
		if _, err := f.s.ListParts(ctx, f.bucket, "up", id, 0, 0); err != nil {
			t.Fatalf("ListParts after a refused DeleteBucket: %v", err)
		}
		if err := f.s.DeleteObject(ctx, f.bucket, "obj"); err != nil {
			t.Fatal(err)
		}
		// Only unfinished uploads: the bucket goes, and its uploads and
		// their parts with it, as S3 does.
		id2 := f.createUpload("up", store.UploadInput{ChecksumAlgorithm: store.CRC32})
		f.uploadPart("up", id2, 3, []byte("part three"), store.CRC32)
		f.createUpload("other/key", store.UploadInput{})
		f.wantUsage(int64(len("part")+len("part three")), 0)
		if err := f.s.DeleteBucket(ctx, f.bucket); err != nil {
			t.Fatalf("DeleteBucket with only uploads: %v", err)
		}
		f.wantUsage(0, 0)
		_, err := f.s.ListParts(ctx, f.bucket, "up", id, 0, 0)
		if !errors.Is(err, store.ErrNoSuchUpload) && !errors.Is(err, store.ErrNoSuchBucket) {
			t.Errorf("ListParts after DeleteBucket = %v, want ErrNoSuchUpload or ErrNoSuchBucket", err)
		}
		_, err = f.s.HeadBucket(ctx, f.bucket)
		wantErr(t, "HeadBucket after delete", err, store.ErrNoSuchBucket)
		if bs, _ := f.s.ListBuckets(ctx); len(bs) != 0 {
			t.Errorf("ListBuckets after delete = %v", bs)
		}
		// The name can be used again, and the new bucket is empty.
		if err := f.s.CreateBucket(ctx, f.bucket); err != nil {
			t.Fatalf("CreateBucket after delete: %v", err)
		}
		page, err := f.s.ListObjects(ctx, f.bucket, store.ListOptions{})
		if err != nil || len(page.Objects) != 0 {
			t.Errorf("ListObjects of recreated bucket = %+v, %v", page, err)
		}
		if up, err := f.s.ListMultipartUploads(ctx, f.bucket, store.UploadsOptions{}); err != nil || len(up.Uploads) != 0 {
			t.Errorf("ListMultipartUploads of recreated bucket = %+v, %v", up, err)
		}
		f.wantNoUpload("up", id2)
	})
	t.Run("Isolation", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		if err := f.s.CreateBucket(ctx, "other"); err != nil {
			t.Fatal(err)
		}
		f.put("k", []byte("in bucket-1"))
		f.putIn("other", "k", Input(t, []byte("in other"), ""))
		f.wantContent("k", []byte("in bucket-1"))
		if got, _ := f.getFrom("other", "k"); string(got) != "in other" {
			t.Errorf("other/k = %q", got)
		}
		if err := f.s.DeleteObject(ctx, "other", "k"); err != nil {
			t.Fatal(err)
		}
		f.wantContent("k", []byte("in bucket-1"))
		if err := f.s.DeleteBucket(ctx, "other"); err != nil {
			t.Errorf("DeleteBucket(other): %v", err)
		}
		if err := f.s.DeleteBucket(ctx, f.bucket); !errors.Is(err, store.ErrBucketNotEmpty) {
			t.Errorf("DeleteBucket(bucket-1) = %v, want ErrBucketNotEmpty", err)
		}
	})
}
