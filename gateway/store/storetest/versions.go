package storetest

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
)

// testVersions checks versioning. A store without versions
// (store.SupportsVersions false) runs only the checks of that: it refuses
// to version a bucket and serves every object as its null version.
func testVersions(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	if w, ok := s.(withoutMD5); ok {
		s = w.Store
	}
	if !store.SupportsVersions(s) {
		t.Run("Unsupported", func(t *testing.T) { testVersionsUnsupported(t, newStore) })
		return
	}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T) store.Store)
	}{
		{"State", testVersioningState},
		{"Unversioned", testVersionsUnversioned},
		{"Enabled", testVersionsEnabled},
		{"Null", testVersionsNull},
		{"DeleteMarkers", testVersionsMarkers},
		{"Conditions", testVersionsConditions},
		{"MultipartCopy", testVersionsMultipartCopy},
		{"ListPages", testVersionsListPages},
		{"ManyVersions", testVersionsMany},
		{"Usage", testVersionsUsage},
		{"Attrs", testVersionsAttrs},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}

func testVersionsUnsupported(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newFixture(t, newStore)
	ctx := t.Context()
	wantErr(t, "SetBucketVersioning", f.s.SetBucketVersioning(ctx, f.bucket, store.Enabled), store.ErrNotSupported)
	if st, err := f.s.BucketVersioning(ctx, f.bucket); err != nil || st != store.Unversioned {
		t.Errorf("BucketVersioning = %q, %v; want unversioned", st, err)
	}
	f.put("k", []byte("data"))
	if o, err := f.s.HeadObjectVersion(ctx, f.bucket, "k", store.NullVersion); err != nil || o.Size != 4 {
		t.Errorf("HeadObjectVersion(null) = %+v, %v", o, err)
	}
	_, err := f.s.HeadObjectVersion(ctx, f.bucket, "k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	wantErr(t, "HeadObjectVersion(other id)", err, store.ErrNoSuchVersion)
	if r, err := f.s.DeleteObjectVersion(ctx, f.bucket, "k", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); err != nil || r.VersionID != "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" {
		t.Errorf("DeleteObjectVersion(other id) = %+v, %v; want nothing deleted, no error", r, err)
	}
	f.wantContent("k", []byte("data"))
	if _, err := f.s.DeleteObjectVersion(ctx, f.bucket, "k", store.NullVersion); err != nil {
		t.Fatal(err)
	}
	f.wantAbsent("k")
}

// vfix is a fixture with versioning helpers.
type vfix struct{ *fixture }

func newVFix(t *testing.T, newStore func(t *testing.T) store.Store, state string) vfix {
	f := vfix{newFixture(t, newStore)}
	if state != store.Unversioned {
		f.setState(state)
	}
	return f
}

func (f vfix) setState(state string) {
	f.t.Helper()
	if err := f.s.SetBucketVersioning(f.t.Context(), f.bucket, state); err != nil {
		f.t.Fatalf("SetBucketVersioning(%s): %v", state, err)
	}
}

func (f vfix) del(key, vid string) store.DeleteResult {
	f.t.Helper()
	r, err := f.s.DeleteObjectVersion(f.t.Context(), f.bucket, key, vid)
	if err != nil {
		f.t.Fatalf("DeleteObjectVersion(%q, %q): %v", key, vid, err)
	}
	return r
}

// getVersion reads version vid of key.
func (f vfix) getVersion(key, vid string) []byte {
	f.t.Helper()
	o, rc, err := f.s.GetObjectVersion(f.t.Context(), f.bucket, key, vid, nil)
	if err != nil {
		f.t.Fatalf("GetObjectVersion(%q, %q): %v", key, vid, err)
	}
	defer rc.Close()
	if vid != "" && o.VersionID != vid && (vid != store.NullVersion || o.VersionID != "") {
		f.t.Errorf("GetObjectVersion(%q, %q).VersionID = %q", key, vid, o.VersionID)
	}
	b, err := io.ReadAll(rc)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// listAll lists every version of the bucket, page by page.
func (f vfix) listAll(opts store.VersionsOptions) ([]store.Object, []string) {
	f.t.Helper()
	var vs []store.Object
	var cps []string
	for i := 0; ; i++ {
		p, err := f.s.ListObjectVersions(f.t.Context(), f.bucket, opts)
		if err != nil {
			f.t.Fatalf("ListObjectVersions(%+v): %v", opts, err)
		}
		vs = append(vs, p.Versions...)
		cps = append(cps, p.CommonPrefixes...)
		if !p.Truncated {
			return vs, cps
		}
		if i > 100000 {
			f.t.Fatal("ListObjectVersions does not end")
		}
		opts.KeyMarker, opts.VersionIDMarker = p.NextKeyMarker, p.NextVersionIDMarker
	}
}

// summary renders versions as "key:id-or-marker:latest" for comparisons,
// naming ids by ids (a map from id to a short name).
func summary(vs []store.Object, ids map[string]string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		name, ok := ids[v.VersionID]
		if !ok {
			name = "?" + v.VersionID
		}
		s := v.Key + ":" + name
		if v.DeleteMarker {
			s += ":DM"
		}
		if v.IsLatest {
			s += ":latest"
		}
		out[i] = s
	}
	return out
}

func (f vfix) wantVersions(ids map[string]string, want ...string) {
	f.t.Helper()
	vs, _ := f.listAll(store.VersionsOptions{})
	if got := summary(vs, ids); !slices.Equal(got, want) {
		f.t.Errorf("versions:\n got %q\nwant %q", got, want)
	}
}

func testVersioningState(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newVFix(t, newStore, store.Unversioned)
	ctx := t.Context()
	for _, step := range []string{store.Unversioned, store.Enabled, store.Suspended, store.Enabled} {
		if step != store.Unversioned {
			f.setState(step)
		}
		if st, err := f.s.BucketVersioning(ctx, f.bucket); err != nil || st != step {
			t.Errorf("BucketVersioning = %q, %v; want %q", st, err, step)
		}
	}
	wantErr(t, "SetBucketVersioning(absent)", f.s.SetBucketVersioning(ctx, "absent-bucket", store.Enabled), store.ErrNoSuchBucket)
	_, err := f.s.BucketVersioning(ctx, "absent-bucket")
	wantErr(t, "BucketVersioning(absent)", err, store.ErrNoSuchBucket)
	if err := f.s.SetBucketVersioning(ctx, f.bucket, "Disabled"); err == nil {
		t.Error("SetBucketVersioning(Disabled) succeeded")
	}
}

func testVersionsUnversioned(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newVFix(t, newStore, store.Unversioned)
	o := f.put("k", []byte("one"))
	if o.VersionID != "" {
		t.Errorf("PutObject in an unversioned bucket: VersionID %q, want none", o.VersionID)
	}
	f.put("k", []byte("two"))
	f.wantVersions(map[string]string{store.NullVersion: "null"}, "k:null:latest")
	if got := string(f.getVersion("k", store.NullVersion)); got != "two" {
		t.Errorf("null version = %q", got)
	}
	if r := f.del("k", ""); r.DeleteMarker || r.VersionID != "" {
		t.Errorf("DeleteObjectVersion = %+v, want no marker", r)
	}
	f.wantAbsent("k")
	f.wantVersions(nil)
	f.put("k", []byte("three"))
	f.del("k", store.NullVersion)
	f.wantAbsent("k")
	f.wantUsage(0, 0)
}

func testVersionsEnabled(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newVFix(t, newStore, store.Enabled)
	ctx := t.Context()
	ids := map[string]string{}
	var vids []string
	for i, body := range []string{"v1", "v2", "v3"} {
		o := f.put("k", []byte(body))
		if o.VersionID == "" || o.VersionID == store.NullVersion || ids[o.VersionID] != "" {
			t.Fatalf("PutObject VersionID = %q: want a new id", o.VersionID)
		}
		if url.PathEscape(o.VersionID) != o.VersionID || url.QueryEscape(o.VersionID) != o.VersionID {
			t.Errorf("version id %q is not URL-safe", o.VersionID)
		}
		ids[o.VersionID] = fmt.Sprintf("v%d", i+1)
		vids = append(vids, o.VersionID)
	}
	f.wantContent("k", []byte("v3"))
	for i, vid := range vids {
		if got := string(f.getVersion("k", vid)); got != fmt.Sprintf("v%d", i+1) {
			t.Errorf("version %d = %q", i+1, got)
		}
		o, err := f.s.HeadObjectVersion(ctx, f.bucket, "k", vid)
		if err != nil || o.VersionID != vid || o.ETag != MD5Hex([]byte(fmt.Sprintf("v%d", i+1))) {
			t.Errorf("HeadObjectVersion(v%d) = %+v, %v", i+1, o, err)
		}
	}
	if o, err := f.s.HeadObject(ctx, f.bucket, "k"); err != nil || o.VersionID != vids[2] {
		t.Errorf("HeadObject = %+v, %v; want version v3", o, err)
	}
	f.wantVersions(ids, "k:v3:latest", "k:v2", "k:v1")
	// Listings of objects show the current version only.
	page, err := f.s.ListObjects(ctx, f.bucket, store.ListOptions{})
	if err != nil || len(page.Objects) != 1 || page.Objects[0].Size != 2 {
		t.Errorf("ListObjects = %+v, %v", page, err)
	}

	// Unknown and malformed ids.
	f.put("other", []byte("x"))
	oid, _ := f.s.HeadObject(ctx, f.bucket, "other")
	_, err = f.s.HeadObjectVersion(ctx, f.bucket, "k", oid.VersionID)
	wantErr(t, "HeadObjectVersion(another key's id)", err, store.ErrNoSuchVersion)
	_, err = f.s.HeadObjectVersion(ctx, f.bucket, "k", store.NullVersion)
	wantErr(t, "HeadObjectVersion(null)", err, store.ErrNoSuchVersion)
	_, _, err = f.s.GetObjectVersion(ctx, f.bucket, "k", "not-an-id", nil)
	wantErr(t, "GetObjectVersion(malformed)", err, store.ErrInvalidVersionID)
	if r := f.del("k", oid.VersionID); r.VersionID != oid.VersionID || r.DeleteMarker {
		t.Errorf("deleting a version the key does not have = %+v", r)
	}
	f.del("k", "not-an-id") // nothing to delete: no error
	f.wantVersions(ids, "k:v3:latest", "k:v2", "k:v1", "other:?"+oid.VersionID+":latest")
	f.del("other", oid.VersionID)

	// Deleting the current version makes the previous one current.
	if r := f.del("k", vids[2]); r.VersionID != vids[2] || r.DeleteMarker {
		t.Errorf("DeleteObjectVersion(v3) = %+v", r)
	}
	f.wantContent("k", []byte("v2"))
	f.wantVersions(ids, "k:v2:latest", "k:v1")
	// Deleting a noncurrent one leaves the current one.
	f.del("k", vids[0])
	f.wantVersions(ids, "k:v2:latest")
	f.del("k", vids[1])
	f.wantAbsent("k")
	f.wantVersions(ids)
	f.wantUsage(0, 0)
	if err := f.s.DeleteBucket(ctx, f.bucket); err != nil {
		t.Errorf("DeleteBucket of an emptied versioned bucket: %v", err)
	}
}

func testVersionsMarkers(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newVFix(t, newStore, store.Enabled)
	ctx := t.Context()
	ids := map[string]string{}
	v1 := f.put("k", []byte("v1")).VersionID
	ids[v1] = "v1"
	r := f.del("k", "")
	if !r.DeleteMarker || r.VersionID == "" || r.VersionID == store.NullVersion || r.VersionID == v1 {
		t.Fatalf("DeleteObjectVersion without id = %+v, want a new delete marker", r)
	}
	dm1 := r.VersionID
	ids[dm1] = "dm1"
	f.wantAbsent("k")
	_, err := f.s.HeadObject(ctx, f.bucket, "k")
	var dme *store.DeleteMarkerError
	if !errors.As(err, &dme) || dme.VersionID != dm1 || dme.ByID || !recent(dme.LastModified) {
		t.Errorf("HeadObject of a deleted key: %#v, want a DeleteMarkerError of %s", err, dm1)
	}
	_, err = f.s.HeadObjectVersion(ctx, f.bucket, "k", dm1)
	if !errors.As(err, &dme) || !dme.ByID || !errors.Is(err, store.ErrMethodNotAllowed) || errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("HeadObjectVersion(marker): %v, want a DeleteMarkerError by id", err)
	}
	_, _, err = f.s.GetObjectVersion(ctx, f.bucket, "k", dm1, nil)
	wantErr(t, "GetObjectVersion(marker)", err, store.ErrMethodNotAllowed)
	_, err = f.s.CopyObject(ctx, f.bucket, "k", f.bucket, "c", store.CopyInput{SrcVersionID: dm1})
	wantErr(t, "CopyObject(source marker)", err, store.ErrMethodNotAllowed)
	_, err = f.s.CopyObject(ctx, f.bucket, "k", f.bucket, "c", store.CopyInput{})
	wantErr(t, "CopyObject(deleted source)", err, store.ErrNoSuchKey)
	if got := string(f.getVersion("k", v1)); got != "v1" {
		t.Errorf("noncurrent version after delete = %q", got)
	}
	page, err := f.s.ListObjects(ctx, f.bucket, store.ListOptions{})
	if err != nil || len(page.Objects) != 0 {
		t.Errorf("ListObjects after delete = %+v, %v", page, err)
	}
	// A second delete adds a second marker.
	dm2 := f.del("k", "").VersionID
	ids[dm2] = "dm2"
	f.wantVersions(ids, "k:dm2:DM:latest", "k:dm1:DM", "k:v1")
	// Deleting the newest marker leaves the older one current.
	if r := f.del("k", dm2); !r.DeleteMarker || r.VersionID != dm2 {
		t.Errorf("DeleteObjectVersion(marker) = %+v", r)
	}
	f.wantAbsent("k")
	f.wantVersions(ids, "k:dm1:DM:latest", "k:v1")
	// Deleting the last marker makes the object current again.
	f.del("k", dm1)
	f.wantContent("k", []byte("v1"))
	f.wantVersions(ids, "k:v1:latest")
	// A marker on a key that never existed.
	dm3 := f.del("never", "").VersionID
	ids[dm3] = "dm3"
	f.wantVersions(ids, "k:v1:latest", "never:dm3:DM:latest")
	wantErr(t, "DeleteBucket with versions", f.s.DeleteBucket(ctx, f.bucket), store.ErrBucketNotEmpty)
	f.del("k", v1)
	wantErr(t, "DeleteBucket with a delete marker", f.s.DeleteBucket(ctx, f.bucket), store.ErrBucketNotEmpty)
	f.del("never", dm3)
	f.wantUsage(0, 0)
	if err := f.s.DeleteBucket(ctx, f.bucket); err != nil {
		t.Error(err)
	}
}

func testVersionsNull(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newVFix(t, newStore, store.Unversioned)
	ids := map[string]string{store.NullVersion: "null"}
	f.put("k", []byte("n0")) // the null version, before versioning
	f.setState(store.Enabled)
	if o, _ := f.s.HeadObject(f.t.Context(), f.bucket, "k"); o.VersionID != store.NullVersion {
		t.Errorf("object written unversioned: VersionID %q, want null", o.VersionID)
	}
	v1 := f.put("k", []byte("v1")).VersionID
	ids[v1] = "v1"
	f.wantVersions(ids, "k:v1:latest", "k:null")
	if got := string(f.getVersion("k", store.NullVersion)); got != "n0" {
		t.Errorf("null version = %q", got)
	}

	// Suspended: a PUT replaces the null version (noncurrent here).
	f.setState(store.Suspended)
	if o := f.put("k", []byte("n1")); o.VersionID != store.NullVersion {
		t.Errorf("Suspended PutObject VersionID = %q, want null", o.VersionID)
	}
	f.wantVersions(ids, "k:null:latest", "k:v1")
	f.wantContent("k", []byte("n1"))
	// …and the current null version in place.
	f.put("k", []byte("n2"))
	f.wantVersions(ids, "k:null:latest", "k:v1")
	f.wantUsage(4, 2)
	// A Suspended DELETE writes a null delete marker, replacing the null
	// version.
	if r := f.del("k", ""); !r.DeleteMarker || r.VersionID != store.NullVersion {
		t.Errorf("Suspended DeleteObject = %+v, want the null delete marker", r)
	}
	f.wantAbsent("k")
	f.wantVersions(ids, "k:null:DM:latest", "k:v1")
	f.wantUsage(2, 1)
	f.del("k", "") // again: the null marker is replaced
	f.wantVersions(ids, "k:null:DM:latest", "k:v1")
	// A PUT replaces the null marker.
	f.put("k", []byte("n3"))
	f.wantVersions(ids, "k:null:latest", "k:v1")
	// Enabled again: new versions keep the null one.
	f.setState(store.Enabled)
	v2 := f.put("k", []byte("v2")).VersionID
	ids[v2] = "v2"
	f.wantVersions(ids, "k:v2:latest", "k:null", "k:v1")
	// Suspended, a DELETE demotes the current (non-null) version and
	// replaces the null one with the marker.
	f.setState(store.Suspended)
	f.del("k", "")
	f.wantVersions(ids, "k:null:DM:latest", "k:v2", "k:v1")
	// Deleting the null marker by id promotes v2.
	if r := f.del("k", store.NullVersion); !r.DeleteMarker {
		t.Errorf("DeleteObjectVersion(null marker) = %+v", r)
	}
	f.wantContent("k", []byte("v2"))
	f.wantVersions(ids, "k:v2:latest", "k:v1")
	f.wantUsage(4, 2)
	f.del("k", store.NullVersion) // there is none: no error
	f.wantVersions(ids, "k:v2:latest", "k:v1")
}

func testVersionsConditions(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newVFix(t, newStore, store.Enabled)
	ctx := t.Context()
	old := f.put("k", []byte("one"))
	f.put("k", []byte("two"))
	// If-Match applies to the current version only.
	in := Input(t, []byte("x"), "")
	in.Cond = store.Conditions{IfMatch: old.ETag}
	_, err := f.s.PutObject(ctx, f.bucket, "k", in)
	wantErr(t, "If-Match of a noncurrent version", err, store.ErrPreconditionFailed)
	f.del("k", "")
	// A delete marker is no current object: If-None-Match * succeeds.
	in = Input(t, []byte("three"), "")
	in.Cond = store.Conditions{IfNoneMatch: "*"}
	if _, err := f.s.PutObject(ctx, f.bucket, "k", in); err != nil {
		t.Errorf("If-None-Match * over a delete marker: %v", err)
	}
	vs, _ := f.listAll(store.VersionsOptions{})
	if len(vs) != 4 {
		t.Errorf("%d versions, want 4", len(vs))
	}
}

func testVersionsMultipartCopy(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newVFix(t, newStore, store.Enabled)
	ctx := t.Context()
	v1 := f.put("k", []byte("first"))
	id := f.createUpload("k", store.UploadInput{})
	p := f.uploadPart("k", id, 1, []byte("multi"), "")
	o, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, []store.CompletePart{{Number: 1, ETag: p.ETag}}, store.CompleteInput{})
	if err != nil {
		t.Fatal(err)
	}
	if o.VersionID == "" || o.VersionID == v1.VersionID {
		t.Errorf("CompleteMultipartUpload VersionID = %q, want a new version", o.VersionID)
	}
	// A repeated completion answers the same version.
	again, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, []store.CompletePart{{Number: 1, ETag: p.ETag}}, store.CompleteInput{})
	if err != nil || again.VersionID != o.VersionID {
		t.Errorf("repeated CompleteMultipartUpload = %+v, %v; want version %s", again, err, o.VersionID)
	}
	if got := string(f.getVersion("k", v1.VersionID)); got != "first" {
		t.Errorf("version before the upload = %q", got)
	}
	c, err := f.s.CopyObject(ctx, f.bucket, "k", f.bucket, "copy", store.CopyInput{SrcVersionID: v1.VersionID})
	if err != nil {
		t.Fatal(err)
	}
	if c.VersionID == "" || c.VersionID == v1.VersionID {
		t.Errorf("CopyObject VersionID = %q", c.VersionID)
	}
	f.wantContent("copy", []byte("first"))
	_, err = f.s.CopyObject(ctx, f.bucket, "k", f.bucket, "copy", store.CopyInput{SrcVersionID: c.VersionID})
	wantErr(t, "CopyObject(another key's version)", err, store.ErrNoSuchVersion)
	f.wantUsage(5+5+5, 3)
}

// testVersionsListPages pages through a bucket of keys with versions and
// delete markers at every page size, with and without a delimiter and a
// prefix, and checks each listing against the one-page listing.
func testVersionsListPages(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newVFix(t, newStore, store.Unversioned)
	f.put("a/x", []byte("n")) // a null version
	f.setState(store.Enabled)
	keys := []string{"a/x", "a/y", "a/z/1", "b", "b/c", "c"}
	for i, k := range keys {
		for j := 0; j <= i%3; j++ {
			f.put(k, []byte(k))
		}
		if i%2 == 1 {
			f.del(k, "")
		}
	}
	f.del("d", "") // a marker alone
	for _, opts := range []store.VersionsOptions{{}, {Delimiter: "/"}, {Prefix: "a/"}, {Prefix: "a/", Delimiter: "/"}, {Prefix: "b"}} {
		all, err := f.s.ListObjectVersions(t.Context(), f.bucket, opts)
		if err != nil {
			t.Fatal(err)
		}
		if all.Truncated {
			t.Fatal("one page truncated")
		}
		want := pageSummary(all.Versions, all.CommonPrefixes)
		for limit := 1; limit <= len(want)+1; limit++ {
			o := opts
			o.Limit = limit
			vs, cps := f.listAll(o)
			if got := pageSummary(vs, cps); !slices.Equal(got, want) {
				t.Errorf("%+v by pages:\n got %q\nwant %q", o, got, want)
			}
		}
		latest := map[string]int{}
		for _, v := range all.Versions {
			if v.IsLatest {
				latest[v.Key]++
			}
		}
		for k, n := range latest {
			if n != 1 {
				t.Errorf("%+v: %s has %d latest versions", opts, k, n)
			}
		}
	}
	full, _ := f.listAll(store.VersionsOptions{})
	if n := len(full); n != 2+3+3+2+2+4+1 {
		t.Errorf("%d versions listed: %q", n, pageSummary(full, nil))
	}
	// A key marker alone resumes after every version of the key.
	vs, _ := f.listAll(store.VersionsOptions{KeyMarker: "b"})
	if len(vs) == 0 || vs[0].Key != "b/c" {
		t.Errorf("after key marker b: %q", pageSummary(vs, nil))
	}
	// A key marker that is a common prefix resumes after its keys.
	_, cps := f.listAll(store.VersionsOptions{Delimiter: "/", KeyMarker: "a/"})
	if !slices.Equal(cps, []string{"b/"}) {
		t.Errorf("after common prefix a/: %q", cps)
	}
	_, err := f.s.ListObjectVersions(t.Context(), f.bucket, store.VersionsOptions{KeyMarker: "a", VersionIDMarker: "bad!"})
	wantErr(t, "malformed version id marker", err, store.ErrInvalidVersionID)
}

func pageSummary(vs []store.Object, cps []string) []string {
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprintf("%s/%s/%v/%v", v.Key, v.VersionID, v.DeleteMarker, v.IsLatest))
	}
	for _, p := range cps {
		out = append(out, "CP "+p)
	}
	slices.Sort(out)
	return out
}

// ManyVersions is how many versions of one key testVersionsMany writes
// (10,000): a store over an upstream whose cost per write grows with the
// key's versions (MinIO rewrites them all at each write) sets fewer.
var ManyVersions = 10000

// testVersionsMany lists ManyVersions versions of one key (written by
// concurrent writers) in pages of a tenth of them, without repeating or
// skipping one, the current one first, and resumes from the middle.
func testVersionsMany(t *testing.T, newStore func(t *testing.T) store.Store) {
	if testing.Short() {
		t.Skip("many versions")
	}
	f := newVFix(t, newStore, store.Enabled)
	const writers = 16
	n := ManyVersions / writers * writers
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range n / writers {
				o, err := f.s.PutObject(t.Context(), f.bucket, "k", Input(t, nil, ""))
				if err != nil {
					t.Error(err)
					return
				}
				ids <- o.VersionID
			}
		})
	}
	wg.Wait()
	close(ids)
	f.put("l", nil)
	vs, _ := f.listAll(store.VersionsOptions{Limit: max(n/10, 1)})
	if len(vs) != n+1 {
		t.Fatalf("%d versions listed, want %d", len(vs), n+1)
	}
	cur, err := f.s.HeadObject(t.Context(), f.bucket, "k")
	if err != nil || vs[0].VersionID != cur.VersionID || !vs[0].IsLatest {
		t.Errorf("first version listed %+v, current %+v (%v)", vs[0], cur, err)
	}
	seen := map[string]bool{}
	for i, v := range vs[:n] {
		if v.Key != "k" || seen[v.VersionID] || v.IsLatest != (i == 0) {
			t.Fatalf("version %d: %+v (repeated: %v)", i, v, seen[v.VersionID])
		}
		seen[v.VersionID] = true
	}
	for id := range ids {
		if !seen[id] {
			t.Fatalf("version %s not listed", id)
		}
	}
	// Resuming in the middle.
	mid := n / 2
	p, err := f.s.ListObjectVersions(t.Context(), f.bucket, store.VersionsOptions{KeyMarker: "k", VersionIDMarker: vs[mid].VersionID, Limit: 2})
	if err != nil || len(p.Versions) != 2 || p.Versions[0].VersionID != vs[mid+1].VersionID || p.Versions[1].VersionID != vs[mid+2].VersionID {
		t.Errorf("page after version %d: %+v, %v", mid, p, err)
	}
}

// testVersionsUsage checks that every version is charged, and that
// deleting versions frees their charges, exactly.
func testVersionsUsage(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newVFix(t, newStore, store.Enabled)
	a := f.put("a", Data(1, 100)).VersionID
	f.put("a", Data(2, 200))
	f.wantUsage(300, 2)
	dm := f.del("a", "").VersionID
	f.wantUsage(300, 2)
	f.del("a", dm)
	f.wantUsage(300, 2)
	f.del("a", a)
	f.wantUsage(200, 1)
	f.setState(store.Suspended)
	f.put("a", Data(3, 50)) // demotes the 200 version
	f.put("a", Data(4, 60)) // replaces the null version
	f.wantUsage(260, 2)
	f.del("a", "")
	f.wantUsage(200, 1)
	u := f.usage()
	want := store.BucketCost(f.bucket) + store.ObjectCost("a", 200, &store.Metadata{}) + store.DeleteMarkerCost("a")
	if u.Bytes != want {
		t.Errorf("Usage.Bytes = %d, want %d (bucket, one version, one delete marker)", u.Bytes, want)
	}
}

// testVersionsAttrs changes the attributes of a noncurrent version in
// place: the other versions keep theirs, the charges follow.
func testVersionsAttrs(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newVFix(t, newStore, store.Enabled)
	ctx := t.Context()
	v1 := f.put("k", []byte("one")).VersionID
	v2 := f.put("k", []byte("two")).VersionID
	o, err := f.s.UpdateObjectVersion(ctx, f.bucket, "k", v1, func(o *store.Object) error {
		o.Meta.Tags = "a=b"
		return nil
	})
	if err != nil || o.VersionID != v1 || o.Meta.Tags != "a=b" {
		t.Fatalf("UpdateObjectVersion(v1) = %+v, %v", o, err)
	}
	for vid, want := range map[string]string{v1: "a=b", v2: ""} {
		if o, err := f.s.HeadObjectVersion(ctx, f.bucket, "k", vid); err != nil || o.Meta.Tags != want {
			t.Errorf("HeadObjectVersion(%s).Meta.Tags = %+v, %v; want %q", vid, o, err, want)
		}
	}
	if got := string(f.getVersion("k", v1)); got != "one" {
		t.Errorf("bytes of the updated version: %q", got)
	}
	f.wantVersions(map[string]string{v1: "v1", v2: "v2"}, "k:v2:latest", "k:v1")
	f.wantUsage(6, 2)
	dm := f.del("k", "").VersionID
	_, err = f.s.UpdateObjectVersion(ctx, f.bucket, "k", dm, func(*store.Object) error { return nil })
	wantErr(t, "UpdateObjectVersion(delete marker)", err, store.ErrMethodNotAllowed)
	_, err = f.s.UpdateObject(ctx, f.bucket, "k", func(*store.Object) error { return nil })
	wantErr(t, "UpdateObject(deleted key)", err, store.ErrNoSuchKey)
	_, err = f.s.UpdateObjectVersion(ctx, f.bucket, "k", "bad", func(*store.Object) error { return nil })
	wantErr(t, "UpdateObjectVersion(malformed id)", err, store.ErrInvalidVersionID)
}
