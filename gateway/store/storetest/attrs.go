package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
)

// attrs is a full set of attributes.
var attrs = store.Metadata{ACL: "public-read", Tags: "k1=v1&k2=v%202", LockMode: "GOVERNANCE",
	LockUntil: "2030-01-02T03:04:05Z", LegalHold: "ON", WebsiteRedirect: "https://example.com/" + strings.Repeat("r", 200)}

func testAttrs(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newFixture(t, newStore)
	ctx := t.Context()

	// Attributes given at write time are kept by puts, copies and uploads.
	in := Input(t, Data(1, 100), "")
	in.Meta = attrs
	in.Meta.ContentType = "text/plain"
	f.putIn(f.bucket, "put", in)
	wantAttrs(t, f, "put", attrs)
	if _, err := f.s.CopyObject(ctx, f.bucket, "put", f.bucket, "copy", store.CopyInput{}); err != nil {
		t.Fatal(err)
	}
	wantAttrs(t, f, "copy", attrs)
	other := store.Metadata{Tags: "only=tags"}
	if _, err := f.s.CopyObject(ctx, f.bucket, "put", f.bucket, "copy2", store.CopyInput{
		Attrs: func(src *store.Object) store.Metadata {
			if src.Meta.Tags != attrs.Tags {
				t.Errorf("CopyInput.Attrs got a source with tags %q", src.Meta.Tags)
			}
			return other
		},
	}); err != nil {
		t.Fatal(err)
	}
	wantAttrs(t, f, "copy2", other)
	if err := f.s.DeleteObject(ctx, f.bucket, "copy2"); err != nil {
		t.Fatal(err)
	}
	id := f.createUpload("mp", store.UploadInput{Meta: attrs})
	p := f.uploadPart("mp", id, 1, Data(2, 10), "")
	if _, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "mp", id, []store.CompletePart{{Number: 1, ETag: p.ETag}}, store.CompleteInput{}); err != nil {
		t.Fatal(err)
	}
	wantAttrs(t, f, "mp", attrs)
	f.wantUsage(210, 3)

	// In place: only the attributes change.
	plain := f.put("plain", Data(3, 70<<10))
	up, err := f.s.UpdateObject(ctx, f.bucket, "plain", func(o *store.Object) error {
		if o.ETag != plain.ETag || o.Size != plain.Size {
			t.Errorf("UpdateObject gave %s/%d, want the object %s/%d", o.ETag, o.Size, plain.ETag, plain.Size)
		}
		o.Meta.CopyAttrs(&attrs)
		o.Meta.ContentType = "changed/ignored"
		o.Size, o.ETag = 1, "ignored"
		return nil
	})
	if errors.Is(err, store.ErrNotSupported) {
		// A store may not change attributes in place; then nothing changed.
		wantAttrs(t, f, "plain", store.Metadata{})
		f.wantUsage(210+70<<10, 4)
		return
	}
	if err != nil {
		t.Fatalf("UpdateObject: %v", err)
	}
	if up.ETag != plain.ETag || up.Size != plain.Size || up.Meta.Tags != attrs.Tags {
		t.Errorf("UpdateObject returned %+v", up)
	}
	wantAttrs(t, f, "plain", attrs)
	data, o := f.get("plain")
	if string(data) != string(Data(3, 70<<10)) || o.ETag != plain.ETag || !o.LastModified.Equal(plain.LastModified) || o.Meta.ContentType != plain.Meta.ContentType {
		t.Errorf("after UpdateObject the object is %s %+v, want it unchanged but for its attributes", describe(data), o)
	}
	f.wantUsage(210+70<<10, 4)

	// Clearing, an error from fn, absent keys and buckets.
	if _, err := f.s.UpdateObject(ctx, f.bucket, "plain", func(o *store.Object) error {
		o.Meta.CopyAttrs(&store.Metadata{})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantAttrs(t, f, "plain", store.Metadata{})
	errStop := errors.New("stop")
	_, err = f.s.UpdateObject(ctx, f.bucket, "put", func(o *store.Object) error {
		o.Meta.Tags = "x=y"
		return errStop
	})
	wantErr(t, "UpdateObject with fn failing", err, errStop)
	wantAttrs(t, f, "put", attrs)
	_, err = f.s.UpdateObject(ctx, f.bucket, "absent", func(*store.Object) error { return nil })
	wantErr(t, "UpdateObject of an absent key", err, store.ErrNoSuchKey)
	_, err = f.s.UpdateObject(ctx, "absent-bucket", "k", func(*store.Object) error { return nil })
	wantErr(t, "UpdateObject in an absent bucket", err, store.ErrNoSuchBucket)
	f.wantUsage(210+70<<10, 4)
}

// wantAttrs checks the attributes of key's current version.
func wantAttrs(t *testing.T, f *fixture, key string, want store.Metadata) {
	t.Helper()
	o, err := f.s.HeadObject(t.Context(), f.bucket, key)
	if err != nil {
		t.Fatalf("HeadObject(%s): %v", key, err)
	}
	var got store.Metadata
	got.CopyAttrs(&o.Meta)
	var w store.Metadata
	w.CopyAttrs(&want)
	if got.ACL != w.ACL || got.Tags != w.Tags || got.LockMode != w.LockMode || got.LockUntil != w.LockUntil || got.LegalHold != w.LegalHold ||
		got.WebsiteRedirect != w.WebsiteRedirect {
		t.Errorf("%s has attributes %+v, want %+v", key, got, w)
	}
}
