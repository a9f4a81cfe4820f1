package storetest

import (
	"errors"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
)

func testDeleteIf(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newFixture(t, newStore)
	ctx := t.Context()
	o := f.put("k", Data(1, 100))
	errNo := errors.New("no")
	var seen *store.Object
	_, err := f.s.DeleteObjectIf(ctx, f.bucket, "k", func(cur *store.Object) error {
		seen = cur
		return errNo
	})
	if errors.Is(err, store.ErrNotSupported) {
		f.get("k") // still there
		f.wantUsage(100, 1)
		return
	}
	wantErr(t, "DeleteObjectIf refused by check", err, errNo)
	if seen == nil || seen.ETag != o.ETag || seen.Size != 100 {
		t.Errorf("check saw %+v, want the current object %s", seen, o.ETag)
	}
	f.get("k")
	f.wantUsage(100, 1)

	if _, err := f.s.DeleteObjectIf(ctx, f.bucket, "k", func(cur *store.Object) error {
		if cur == nil || cur.ETag != o.ETag {
			return errNo
		}
		return nil
	}); err != nil {
		t.Fatalf("DeleteObjectIf accepted by check: %v", err)
	}
	if _, err := f.s.HeadObject(ctx, f.bucket, "k"); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("HeadObject after DeleteObjectIf: %v, want ErrNoSuchKey", err)
	}
	f.wantUsage(0, 0)

	// An absent key: check sees nil.
	called := false
	if _, err := f.s.DeleteObjectIf(ctx, f.bucket, "absent", func(cur *store.Object) error {
		called = true
		if cur != nil {
			t.Errorf("check saw %+v for an absent key", cur)
		}
		return nil
	}); err != nil || !called {
		t.Errorf("DeleteObjectIf of an absent key: %v (check called: %v)", err, called)
	}
	_, err = f.s.DeleteObjectIf(ctx, "absent-bucket", "k", func(*store.Object) error { return nil })
	wantErr(t, "DeleteObjectIf in an absent bucket", err, store.ErrNoSuchBucket)
}
