package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/store"
)

// testLock checks object lock: UpdateObjectVersion sets a version's
// retention and legal hold, and DeleteObjectVersion refuses a locked
// version in the same transaction as the delete. A store without
// versions has no lock (UpdateObjectVersion may be ErrNotSupported).
func testLock(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newFixture(t, newStore)
	ctx := t.Context()
	inner := f.s
	if w, ok := inner.(withoutMD5); ok {
		inner = w.Store
	}
	if !store.SupportsVersions(inner) {
		f.put("k", []byte("data"))
		if _, err := f.s.UpdateObjectVersion(ctx, f.bucket, "k", "", func(o *store.Object) error { return nil }); err != nil && !errors.Is(err, store.ErrNotSupported) {
			t.Errorf("UpdateObjectVersion without versions: %v", err)
		}
		return
	}
	// The lock document needs versioning Enabled, and keeps it so.
	lockDoc := []byte("<ObjectLockConfiguration/>")
	wantErr(t, "lock configuration, unversioned", f.s.PutBucketConfig(ctx, f.bucket, store.ConfigObjectLock, lockDoc), store.ErrLockNeedsVersioning)
	if err := f.s.SetBucketVersioning(ctx, f.bucket, store.Suspended); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "lock configuration, Suspended", f.s.PutBucketConfig(ctx, f.bucket, store.ConfigObjectLock, lockDoc), store.ErrLockNeedsVersioning)
	if err := f.s.SetBucketVersioning(ctx, f.bucket, store.Enabled); err != nil {
		t.Fatal(err)
	}
	if err := f.s.PutBucketConfig(ctx, f.bucket, store.ConfigObjectLock, lockDoc); err != nil {
		t.Fatalf("lock configuration, Enabled: %v", err)
	}
	wantErr(t, "suspending a lock bucket", f.s.SetBucketVersioning(ctx, f.bucket, store.Suspended), store.ErrLockNeedsVersioning)
	if err := f.s.DeleteBucketConfig(ctx, f.bucket, store.ConfigObjectLock); err != nil {
		t.Fatal(err)
	}
	v1 := f.put("k", []byte("one")).VersionID
	v2 := f.put("k", []byte("two")).VersionID
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	setLock := func(vid, mode, until, hold string) {
		t.Helper()
		o, err := f.s.UpdateObjectVersion(ctx, f.bucket, "k", vid, func(o *store.Object) error {
			o.Meta.LockMode, o.Meta.LockUntil, o.Meta.LegalHold = mode, until, hold
			return nil
		})
		if err != nil || o.VersionID != vid || o.Meta.LockMode != mode || o.Meta.LegalHold != hold {
			t.Fatalf("UpdateObjectVersion(%s) = %+v, %v", vid, o, err)
		}
	}
	del := func(ctx context.Context, vid string) error {
		_, err := f.s.DeleteObjectVersion(ctx, f.bucket, "k", vid)
		return err
	}

	// A noncurrent version is updated where it is; the current one is not.
	setLock(v1, store.LockGovernance, future, "")
	if o, err := f.s.HeadObjectVersion(ctx, f.bucket, "k", v1); err != nil || o.Meta.LockMode != store.LockGovernance || o.Meta.LockUntil != future {
		t.Errorf("HeadObjectVersion(v1) = %+v, %v; want GOVERNANCE until %s", o, err, future)
	}
	if o, err := f.s.HeadObjectVersion(ctx, f.bucket, "k", ""); err != nil || o.Meta.LockMode != "" {
		t.Errorf("current version = %+v, %v; want no lock", o, err)
	}
	_, err := f.s.UpdateObjectVersion(ctx, f.bucket, "k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", func(*store.Object) error { return nil })
	wantErr(t, "UpdateObjectVersion(absent)", err, store.ErrNoSuchVersion)

	// GOVERNANCE: refused, unless bypassed.
	wantErr(t, "delete GOVERNANCE", del(ctx, v1), store.ErrObjectLocked)
	if err := del(store.WithGovernanceBypass(ctx), v1); err != nil {
		t.Errorf("delete GOVERNANCE with bypass: %v", err)
	}
	// COMPLIANCE: refused even with bypass; a delete without a version
	// id only adds a delete marker.
	setLock(v2, store.LockCompliance, future, "")
	wantErr(t, "delete COMPLIANCE with bypass", del(store.WithGovernanceBypass(ctx), v2), store.ErrObjectLocked)
	res, err := f.s.DeleteObjectVersion(ctx, f.bucket, "k", "")
	if err != nil || !res.DeleteMarker {
		t.Fatalf("delete without version id = %+v, %v; want a delete marker", res, err)
	}
	if o, err := f.s.HeadObjectVersion(ctx, f.bucket, "k", v2); err != nil || o.Meta.LockMode != store.LockCompliance {
		t.Errorf("locked version after the delete marker = %+v, %v", o, err)
	}
	if err := del(ctx, res.VersionID); err != nil {
		t.Errorf("deleting the delete marker: %v", err)
	}
	// Expired retention no longer protects; a legal hold does until removed.
	setLock(v2, store.LockCompliance, past, store.LegalHoldOn)
	wantErr(t, "delete under legal hold", del(store.WithGovernanceBypass(ctx), v2), store.ErrObjectLocked)
	setLock(v2, store.LockCompliance, past, "")
	if err := del(ctx, v2); err != nil {
		t.Errorf("delete after retention and hold ended: %v", err)
	}
	f.wantUsage(0, 0)

	// Atomic: a legal hold set while the version is being deleted either
	// lands first (the delete is refused) or finds the version gone.
	for i := range 30 {
		vid := f.put("k", []byte{byte(i)}).VersionID
		var wg sync.WaitGroup
		var upErr, delErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, upErr = f.s.UpdateObjectVersion(ctx, f.bucket, "k", vid, func(o *store.Object) error {
				o.Meta.LegalHold = store.LegalHoldOn
				return nil
			})
		}()
		go func() { defer wg.Done(); delErr = del(ctx, vid) }()
		wg.Wait()
		switch {
		case upErr == nil && errors.Is(delErr, store.ErrObjectLocked):
			if _, err := f.s.HeadObjectVersion(ctx, f.bucket, "k", vid); err != nil {
				t.Fatalf("round %d: held version gone: %v", i, err)
			}
			setLock(vid, "", "", "")
			if err := del(ctx, vid); err != nil {
				t.Fatal(err)
			}
		case errors.Is(upErr, store.ErrNoSuchVersion) && delErr == nil:
		default:
			t.Fatalf("round %d: hold %v, delete %v: want one of them to win whole", i, upErr, delErr)
		}
	}
	f.wantUsage(0, 0)
}
