package upstream

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
	"github.com/lambda/storagecli/internal/miniotest"
)

// lockBucket is the upstream bucket of the versioned tests: created with
// object lock (which turns its versioning on).
const lockBucket = "orders-locked"

var lockMade sync.Map // *miniotest.Server -> error

// versionedConfig returns the configuration of a fresh order in srv's
// versioned upstream bucket.
func versionedConfig(t *testing.T, srv *miniotest.Server) Config {
	t.Helper()
	v, _ := lockMade.LoadOrStore(srv, sync.OnceValue(func() error {
		cl, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
		if err != nil {
			return err
		}
		return cl.MakeBucket(context.Background(), lockBucket, minio.MakeBucketOptions{ObjectLocking: true})
	}))
	if err := v.(func() error)(); err != nil {
		t.Fatal(err)
	}
	cfg := config(srv, newPrefix(t))
	cfg.Bucket = lockBucket
	return cfg
}

// TestConformanceVersioned runs the suite on a versioned upstream bucket:
// user buckets can be versioned.
func TestConformanceVersioned(t *testing.T) {
	srv := server(t, 1)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, versionedConfig(t, srv)) })
}

// TestConformanceVersionedCluster runs the suite on a versioned bucket
// of the 4-node cluster (but for the 10,000 versions of one key, which
// the single node writes: see knownLimits).
func TestConformanceVersionedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the 4-node cluster run is skipped")
	}
	srv := server(t, 4)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, versionedConfig(t, srv)) })
}

// A plain upstream bucket keeps every user bucket unversioned, with a
// clear refusal; a versioned one supports versions.
func TestVersioningDetected(t *testing.T) {
	srv := server(t, 1)
	plain := open(t, config(srv, newPrefix(t)))
	versioned := open(t, versionedConfig(t, srv))
	if store.SupportsVersions(plain) || !store.SupportsVersions(versioned) {
		t.Fatalf("SupportsVersions: plain %v, versioned %v", store.SupportsVersions(plain), store.SupportsVersions(versioned))
	}
	ctx := t.Context()
	for _, s := range []*Store{plain, versioned} {
		if err := s.CreateBucket(ctx, "bkt"); err != nil {
			t.Fatal(err)
		}
	}
	err := plain.SetBucketVersioning(ctx, "bkt", store.Enabled)
	if err == nil || err.Error() != errPlainUpstream.Error() {
		t.Errorf("SetBucketVersioning on a plain upstream: %v", err)
	}
	if err := versioned.SetBucketVersioning(ctx, "bkt", store.Enabled); err != nil {
		t.Errorf("SetBucketVersioning on a versioned upstream: %v", err)
	}
}

// TestMinIOMarkers checks delete markers on MinIO, which never stacks two
// of them and makes none for a key without versions (see knownLimits):
// the rest is S3's behaviour, and the usage stays exact.
func TestMinIOMarkers(t *testing.T) {
	srv := server(t, 1)
	s := open(t, versionedConfig(t, srv))
	ctx := t.Context()
	const b = "bkt"
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBucketVersioning(ctx, b, store.Enabled); err != nil {
		t.Fatal(err)
	}
	v1, err := s.PutObject(ctx, b, "k", storetest.Input(t, []byte("v1"), ""))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.DeleteObjectVersion(ctx, b, "k", "")
	if err != nil || !r.DeleteMarker || r.VersionID == "" || r.VersionID == v1.VersionID {
		t.Fatalf("delete = %+v, %v", r, err)
	}
	_, err = s.HeadObject(ctx, b, "k")
	var dme *store.DeleteMarkerError
	if !errors.As(err, &dme) || dme.VersionID != r.VersionID || dme.ByID || time.Since(dme.LastModified) > time.Minute {
		t.Errorf("HeadObject of a deleted key: %#v", err)
	}
	_, _, err = s.GetObjectVersion(ctx, b, "k", r.VersionID, nil)
	if !errors.Is(err, store.ErrMethodNotAllowed) {
		t.Errorf("GetObjectVersion(marker): %v", err)
	}
	_, err = s.CopyObject(ctx, b, "k", b, "c", store.CopyInput{SrcVersionID: r.VersionID})
	if !errors.Is(err, store.ErrMethodNotAllowed) {
		t.Errorf("CopyObject(source marker): %v", err)
	}
	// A second delete: MinIO replaces the marker.
	r2, err := s.DeleteObjectVersion(ctx, b, "k", "")
	if err != nil || !r2.DeleteMarker {
		t.Fatalf("second delete = %+v, %v", r2, err)
	}
	wantUsageExact(t, s)
	// A delete of a key without versions makes no marker on MinIO.
	if r, err := s.DeleteObjectVersion(ctx, b, "never", ""); err != nil || r.DeleteMarker {
		t.Errorf("delete of a key without versions = %+v, %v", r, err)
	}
	if err := s.DeleteBucket(ctx, b); !errors.Is(err, store.ErrBucketNotEmpty) {
		t.Errorf("DeleteBucket with versions: %v", err)
	}
	// Removing the marker makes v1 current again.
	if r, err := s.DeleteObjectVersion(ctx, b, "k", r2.VersionID); err != nil || !r.DeleteMarker {
		t.Errorf("delete of the marker = %+v, %v", r, err)
	}
	if o, err := s.HeadObject(ctx, b, "k"); err != nil || o.VersionID != v1.VersionID {
		t.Errorf("after the marker's removal: %+v, %v", o, err)
	}
	wantUsageExact(t, s)
}

// wantUsageExact compares the store's usage with a recount.
func wantUsageExact(t *testing.T, s store.Store) {
	t.Helper()
	u, err := s.Usage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c, err := store.Recount(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if u != c.Usage {
		t.Errorf("Usage = %+v, a recount charges %+v", u, c.Usage)
	}
}

// Two gateways serve one order: a write through a gateway whose cache
// still says the bucket is unversioned, after versioning was enabled
// through the other, removes no version (the state is read afresh before
// anything is removed); in an unversioned bucket, racing overwrites
// through both leave one version.
func TestVersioningTwoGateways(t *testing.T) {
	srv := server(t, 1)
	cfg := versionedConfig(t, srv)
	cfg.BucketCacheTTL = time.Hour // b's cache stays stale
	a, b := open(t, cfg), open(t, cfg)
	ctx := t.Context()
	const bkt = "bkt"
	if err := a.CreateBucket(ctx, bkt); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		s := []*Store{a, b}[i%2]
		wg.Go(func() {
			if _, err := s.PutObject(ctx, bkt, "race", storetest.Input(t, []byte{byte(i)}, "")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p, err := a.ListObjectVersions(ctx, bkt, store.VersionsOptions{}); err != nil || len(p.Versions) != 1 || p.Versions[0].VersionID != store.NullVersion {
		t.Errorf("after racing overwrites: %+v, %v; want one null version", p, err)
	}
	if st, _ := b.BucketVersioning(ctx, bkt); st != store.Unversioned {
		t.Fatalf("b's state %q", st)
	}
	if err := a.SetBucketVersioning(ctx, bkt, store.Enabled); err != nil {
		t.Fatal(err)
	}
	v1, err := a.PutObject(ctx, bkt, "race", storetest.Input(t, []byte("v1"), ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutObject(ctx, bkt, "race", storetest.Input(t, []byte("stale"), "")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DeleteObjectVersion(ctx, bkt, "race", ""); err != nil {
		t.Fatal(err)
	}
	p, err := a.ListObjectVersions(ctx, bkt, store.VersionsOptions{})
	if err != nil || len(p.Versions) != 4 {
		t.Fatalf("versions after stale writes: %+v, %v; want 4", p, err)
	}
	if got, err := a.HeadObjectVersion(ctx, bkt, "race", v1.VersionID); err != nil || got.Size != 2 {
		t.Errorf("version v1 after a stale gateway's writes: %+v, %v", got, err)
	}
}

// TestLockNative checks object lock on an upstream bucket with object
// lock: retention and legal holds are the upstream's, so no delete path
// of any gateway removes a locked version, and the store suite's lock
// checks hold but for shortening COMPLIANCE, which the upstream refuses
// (as S3 does; the store suite does it to test expiry).
func TestLockNative(t *testing.T) {
	srv := server(t, 1)
	cfg := versionedConfig(t, srv)
	s, other := open(t, cfg), open(t, cfg)
	ctx := t.Context()
	const b = "bkt"
	if err := s.CreateBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	lockDoc := []byte("<ObjectLockConfiguration/>")
	if err := s.PutBucketConfig(ctx, b, store.ConfigObjectLock, lockDoc); !errors.Is(err, store.ErrLockNeedsVersioning) {
		t.Errorf("lock configuration, unversioned: %v", err)
	}
	if err := s.SetBucketVersioning(ctx, b, store.Enabled); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBucketConfig(ctx, b, store.ConfigObjectLock, lockDoc); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBucketVersioning(ctx, b, store.Suspended); !errors.Is(err, store.ErrLockNeedsVersioning) {
		t.Errorf("suspending a lock bucket: %v", err)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	in := storetest.Input(t, []byte("locked at write"), "")
	in.Meta = store.Metadata{LockMode: store.LockCompliance, LockUntil: future}
	w, err := s.PutObject(ctx, b, "k", in)
	if err != nil {
		t.Fatal(err)
	}
	v1 := w.VersionID
	v2, err := s.PutObject(ctx, b, "k", storetest.Input(t, []byte("two"), ""))
	if err != nil {
		t.Fatal(err)
	}
	if o, err := other.HeadObjectVersion(ctx, b, "k", v1); err != nil || o.Meta.LockMode != store.LockCompliance || o.Meta.LockUntil != future {
		t.Errorf("version locked at write = %+v, %v", o, err)
	}
	del := func(ctx context.Context, s *Store, vid string) error {
		_, err := s.DeleteObjectVersion(ctx, b, "k", vid)
		return err
	}
	setLock := func(vid, mode, until, hold string) error {
		_, err := s.UpdateObjectVersion(ctx, b, "k", vid, func(o *store.Object) error {
			o.Meta.LockMode, o.Meta.LockUntil, o.Meta.LegalHold = mode, until, hold
			return nil
		})
		return err
	}
	// COMPLIANCE: refused to every gateway, with bypass too; not shortened.
	for _, g := range []*Store{s, other} {
		if err := del(store.WithGovernanceBypass(ctx), g, v1); !errors.Is(err, store.ErrObjectLocked) {
			t.Errorf("delete COMPLIANCE: %v", err)
		}
	}
	if err := setLock(v1, "", "", ""); !errors.Is(err, store.ErrObjectLocked) {
		t.Errorf("removing COMPLIANCE: %v", err)
	}
	// GOVERNANCE: refused unless bypassed.
	if err := setLock(v2.VersionID, store.LockGovernance, future, ""); err != nil {
		t.Fatal(err)
	}
	if err := del(ctx, other, v2.VersionID); !errors.Is(err, store.ErrObjectLocked) {
		t.Errorf("delete GOVERNANCE: %v", err)
	}
	// A delete without a version id adds a marker; the marker goes freely.
	res, err := other.DeleteObjectVersion(ctx, b, "k", "")
	if err != nil || !res.DeleteMarker {
		t.Fatalf("delete without version id = %+v, %v", res, err)
	}
	if err := del(ctx, s, res.VersionID); err != nil {
		t.Errorf("deleting the marker: %v", err)
	}
	if err := del(store.WithGovernanceBypass(ctx), other, v2.VersionID); err != nil {
		t.Errorf("delete GOVERNANCE with bypass: %v", err)
	}
	// A legal hold protects until removed; DeleteObjectIf honours it.
	v3, err := s.PutObject(ctx, b, "k", storetest.Input(t, []byte("three"), ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := setLock(v3.VersionID, "", "", store.LegalHoldOn); err != nil {
		t.Fatal(err)
	}
	if o, err := other.HeadObject(ctx, b, "k"); err != nil || o.Meta.LegalHold != store.LegalHoldOn {
		t.Errorf("held version = %+v, %v", o, err)
	}
	if err := del(store.WithGovernanceBypass(ctx), other, v3.VersionID); !errors.Is(err, store.ErrObjectLocked) {
		t.Errorf("delete under legal hold: %v", err)
	}
	if err := setLock(v3.VersionID, "", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := del(ctx, other, v3.VersionID); err != nil {
		t.Errorf("delete after the hold: %v", err)
	}
	// A legal hold racing a delete: one of them wins whole.
	for i := range 20 {
		o, err := s.PutObject(ctx, b, "r", storetest.Input(t, []byte{byte(i)}, ""))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var upErr, delErr error
		wg.Go(func() {
			_, upErr = s.UpdateObjectVersion(ctx, b, "r", o.VersionID, func(o *store.Object) error {
				o.Meta.LegalHold = store.LegalHoldOn
				return nil
			})
		})
		wg.Go(func() { _, delErr = other.DeleteObjectVersion(ctx, b, "r", o.VersionID) })
		wg.Wait()
		switch {
		case upErr == nil && errors.Is(delErr, store.ErrObjectLocked):
			if _, err := s.UpdateObjectVersion(ctx, b, "r", o.VersionID, func(o *store.Object) error {
				o.Meta.LegalHold = ""
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DeleteObjectVersion(ctx, b, "r", o.VersionID); err != nil {
				t.Fatal(err)
			}
		case errors.Is(upErr, store.ErrNoSuchVersion) && delErr == nil:
		default:
			t.Fatalf("round %d: hold %v, delete %v: want one of them to win whole", i, upErr, delErr)
		}
	}
	wantUsageExact(t, s)
}

// weedLockOnce creates the versioned (object lock) bucket on SeaweedFS.
var weedLockOnce = sync.OnceValue(func() error {
	cl, err := weedCluster.Client(0)
	if err != nil {
		return err
	}
	return cl.MakeBucket(context.Background(), lockBucket, minio.MakeBucketOptions{ObjectLocking: true})
})

// TestSeaweedFSVersionedRefused: SeaweedFS lists the objects of a
// versioned bucket out of byte order and leaves some out of paginated
// listings (measured with the conformance suite's List group on SeaweedFS
// 4.53: "é" listed before "B"), so the store refuses to open an order on
// a versioned SeaweedFS bucket, with the reason.
func TestSeaweedFSVersionedRefused(t *testing.T) {
	c := seaweed(t)
	if err := weedLockOnce(); err != nil {
		t.Fatal(err)
	}
	cfg := weedConfig(c, 0, newPrefix(t))
	cfg.Bucket = lockBucket
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(t.Context()); !errors.Is(err, errSeaweedVersioned) {
		t.Errorf("Check of a versioned SeaweedFS bucket: %v", err)
	}
	if store.SupportsVersions(s) {
		t.Error("a refused SeaweedFS bucket supports versions")
	}
	plain := open(t, weedConfig(c, 0, newPrefix(t)))
	if store.SupportsVersions(plain) {
		t.Error("a plain SeaweedFS bucket supports versions")
	}
}
