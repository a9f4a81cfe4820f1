package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
)

func testUsage(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Steps", func(t *testing.T) { testUsageSteps(t, newStore) })
	t.Run("Random", func(t *testing.T) { testUsageRandom(t, newStore) })
}

func testUsageSteps(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newFixture(t, newStore)
	ctx := t.Context()
	f.wantUsage(0, 0)
	f.put("a", Data(1, 100))
	f.wantUsage(100, 1)
	f.put("b", Data(2, 300<<10))
	f.wantUsage(100+300<<10, 2)
	f.put("b", Data(3, 30))
	f.wantUsage(130, 2)
	f.put("a", nil)
	f.wantUsage(30, 2)
	if err := f.s.DeleteObject(ctx, f.bucket, "b"); err != nil {
		t.Fatal(err)
	}
	f.wantUsage(0, 1)
	if err := f.s.DeleteObject(ctx, f.bucket, "b"); err != nil {
		t.Fatal(err)
	}
	f.wantUsage(0, 1)

	// Parts count as bytes while the upload is in progress.
	id := f.createUpload("m", store.UploadInput{})
	f.uploadPart("m", id, 1, Data(4, 1000), "")
	f.uploadPart("m", id, 2, Data(5, 10), "")
	f.wantUsage(1010, 1)
	f.uploadPart("m", id, 2, Data(6, 20), "")
	f.wantUsage(1020, 1)
	if err := f.s.AbortMultipartUpload(ctx, f.bucket, "m", id); err != nil {
		t.Fatal(err)
	}
	f.wantUsage(0, 1)
	id = f.createUpload("a", store.UploadInput{})
	p := f.uploadPart("a", id, 1, Data(7, 70), "")
	f.uploadPart("a", id, 2, Data(8, 80), "") // unlisted
	f.wantUsage(150, 1)
	if _, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "a", id, []store.CompletePart{{Number: 1, ETag: p.ETag}}, store.CompleteInput{}); err != nil {
		t.Fatal(err)
	}
	f.wantUsage(70, 1) // replaced the empty "a"

	if _, err := f.s.CopyObject(ctx, f.bucket, "a", f.bucket, "c", store.CopyInput{}); err != nil {
		t.Fatal(err)
	}
	f.wantUsage(140, 2)
	if err := f.s.CreateBucket(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	f.putIn("other", "x", Input(t, Data(9, 5), ""))
	f.wantUsage(145, 3)

	// Entries cost something even when empty: an empty object with
	// metadata, an upload without parts, a bucket.
	before := f.usage().Bytes
	in := Input(t, nil, "")
	in.Meta = store.Metadata{ContentType: "text/plain", User: map[string]string{"k": "v"}}
	f.putIn("other", "empty", in)
	if got := f.usage().Bytes - before; got < store.ObjectCost("empty", 0, nil) {
		t.Errorf("an empty object costs %d bytes, want at least %d", got, store.ObjectCost("empty", 0, nil))
	}
	id = f.createUpload("u", store.UploadInput{Meta: in.Meta})
	f.wantUsage(145, 4)
	if err := f.s.CreateBucket(ctx, "third"); err != nil {
		t.Fatal(err)
	}
	f.wantUsage(145, 4)
	for _, err := range []error{f.s.AbortMultipartUpload(ctx, f.bucket, "u", id), f.s.DeleteBucket(ctx, "third"),
		f.s.DeleteObject(ctx, "other", "empty")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := f.usage().Bytes; got != before {
		t.Errorf("usage %d after removing what was added, want %d", got, before)
	}
	f.wantUsage(145, 3)
}

// testUsageRandom: after any sequence of writes and deletes (objects with
// and without metadata, copies, uploads completed or aborted, parts
// replaced, buckets created and deleted), Usage is what a recount of the
// listings charges.
func testUsageRandom(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newFixture(t, newStore)
	ctx := t.Context()
	r := rand.New(rand.NewPCG(12, 34))
	buckets := []string{f.bucket, "second"}
	type upload struct {
		bucket, key, id string
		part            int    // the part last uploaded
		etag            string // its ETag
	}
	var uploads []*upload
	meta := func() store.Metadata {
		if r.IntN(2) == 0 {
			return store.Metadata{}
		}
		return store.Metadata{ContentType: strings.Repeat("t", r.IntN(50)),
			User: map[string]string{fmt.Sprint("k", r.IntN(3)): strings.Repeat("v", r.IntN(100))}}
	}
	tolerate := func(what string, err error) {
		for _, ok := range []error{store.ErrNoSuchBucket, store.ErrNoSuchKey, store.ErrBucketExists, store.ErrBucketNotEmpty} {
			if errors.Is(err, ok) {
				return
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for step := range 150 {
		b, key := buckets[r.IntN(2)], fmt.Sprint("key", r.IntN(6))
		switch op := r.IntN(9); op {
		case 0, 1:
			in := Input(t, Data(uint64(step), r.IntN(3)*100), "")
			in.Meta = meta()
			_, err := f.s.PutObject(ctx, b, key, in)
			tolerate("put", err)
		case 2:
			tolerate("delete", f.s.DeleteObject(ctx, b, key))
		case 3:
			in := store.CopyInput{}
			if r.IntN(2) == 0 {
				m := meta()
				in.Meta = &m
			}
			_, err := f.s.CopyObject(ctx, b, key, buckets[r.IntN(2)], fmt.Sprint("key", r.IntN(6)), in)
			tolerate("copy", err)
		case 4:
			id, err := f.s.CreateMultipartUpload(ctx, b, key, store.UploadInput{Meta: meta()})
			tolerate("create upload", err)
			if err == nil {
				uploads = append(uploads, &upload{bucket: b, key: key, id: id})
			}
		case 5, 6, 7:
			if len(uploads) == 0 {
				continue
			}
			i := r.IntN(len(uploads))
			u := uploads[i]
			switch {
			case op == 5:
				// Parts 1 to 3 in any order, uploaded again and again: the
				// replaced part is credited.
				n := 1 + r.IntN(3)
				p, err := f.s.UploadPart(ctx, u.bucket, u.key, u.id, n, Input(t, Data(uint64(step), r.IntN(100)), ""))
				tolerate("upload part", err)
				if err == nil {
					u.part, u.etag = n, p.ETag
				}
				continue
			case op == 6 && u.etag != "":
				// The last part sent alone (no part is too small); the
				// others are discarded.
				_, err := f.s.CompleteMultipartUpload(ctx, u.bucket, u.key, u.id, []store.CompletePart{{Number: u.part, ETag: u.etag}}, store.CompleteInput{})
				tolerate("complete", err)
			default:
				tolerate("abort", f.s.AbortMultipartUpload(ctx, u.bucket, u.key, u.id))
			}
			uploads = append(uploads[:i], uploads[i+1:]...)
		case 8:
			if r.IntN(2) == 0 {
				tolerate("create bucket", f.s.CreateBucket(ctx, "second"))
			} else {
				tolerate("delete bucket", f.s.DeleteBucket(ctx, "second"))
			}
		}
		if c, err := store.Recount(ctx, f.s); err != nil || c.Usage != f.usage() {
			t.Fatalf("step %d: Usage = %+v, a recount charges %+v (%v)", step, f.usage(), c.Usage, err)
		}
	}
}
