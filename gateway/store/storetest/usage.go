package storetest

import (
	"testing"

	"github.com/lambda/storagecli/gateway/store"
)

func testUsage(t *testing.T, newStore func(t *testing.T) store.Store) {
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
