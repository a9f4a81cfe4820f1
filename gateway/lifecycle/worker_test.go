package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/embedded"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

// workerEnv is an embedded store, a bucket and a worker whose clock runs
// offset ahead of the store's.
type workerEnv struct {
	t      *testing.T
	s      *embedded.Store
	w      *Worker
	offset time.Duration
}

func newWorkerEnv(t *testing.T, rules ...string) *workerEnv {
	t.Helper()
	s, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := &workerEnv{t: t, s: s}
	e.w = &Worker{Store: s, Now: func() time.Time { return time.Now().Add(e.offset) }}
	if err := s.CreateBucket(t.Context(), "bkt"); err != nil {
		t.Fatal(err)
	}
	c, err := Parse(doc(rules...))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutBucketConfig(t.Context(), "bkt", store.ConfigLifecycle, c.Marshal()); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *workerEnv) put(key string, size int, tags string) *store.Object {
	e.t.Helper()
	in := storetest.Input(e.t, bytes.Repeat([]byte("x"), size), "")
	in.Meta.Tags = tags
	o, err := e.s.PutObject(e.t.Context(), "bkt", key, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func (e *workerEnv) run() Stats {
	e.t.Helper()
	st, err := e.w.RunOnce(e.t.Context())
	if err != nil {
		e.t.Fatalf("RunOnce: %v", err)
	}
	return st
}

func (e *workerEnv) keys() []string {
	e.t.Helper()
	page, err := e.s.ListObjects(e.t.Context(), "bkt", store.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var ks []string
	for _, o := range page.Objects {
		ks = append(ks, o.Key)
	}
	return ks
}

// exact checks the usage counters against a recount.
func (e *workerEnv) exact() {
	e.t.Helper()
	u, _ := e.s.Usage(e.t.Context())
	c, err := store.Recount(e.t.Context(), e.s)
	if err != nil || u != c.Usage {
		e.t.Errorf("Usage %+v, recount %+v (%v)", u, c.Usage, err)
	}
}

func TestWorkerExpiresCurrentAndAbortsUploads(t *testing.T) {
	e := newWorkerEnv(t,
		`<Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>`,
		`<Rule><ID>tmp</ID><Filter><Tag><Key>tmp</Key><Value>1</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`,
		`<Rule><ID>up</ID><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`)
	e.w.Day = func() time.Duration { return time.Hour }
	e.put("logs/a", 10, "")
	e.put("keep", 10, "")
	e.put("scratch", 10, "tmp=1")
	up, err := e.s.CreateMultipartUpload(t.Context(), "bkt", "big", store.UploadInput{})
	if err != nil {
		t.Fatal(err)
	}
	if st := e.run(); st != (Stats{}) {
		t.Errorf("a run before anything is due did %+v", st)
	}
	e.offset = 90 * time.Minute
	if st := e.run(); st.Expired != 1 || st.UploadsAborted != 1 {
		t.Errorf("after 1.5 days: %+v, want the tagged object expired and the upload aborted", st)
	}
	if _, err := e.s.ListParts(t.Context(), "bkt", "big", up, 0, 0); !errors.Is(err, store.ErrNoSuchUpload) {
		t.Errorf("upload after abort: %v", err)
	}
	e.offset = 150 * time.Minute
	e.run()
	if ks := e.keys(); len(ks) != 1 || ks[0] != "keep" {
		t.Errorf("after 2.5 days the bucket holds %v, want [keep]", ks)
	}
	e.exact()
}

// TestWorkerChangedObjectSurvives: an object overwritten after the rule
// made it due (the new one is young) is not deleted.
func TestWorkerChangedObjectSurvives(t *testing.T) {
	e := newWorkerEnv(t, `<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)
	e.w.Day = func() time.Duration { return time.Hour }
	old := e.put("k", 10, "")
	fresh := e.put("k", 20, "")
	// The rule as of the old object's time: the check inside the delete
	// sees the fresh object and refuses.
	e.offset = 2 * time.Hour
	cfg, _ := e.w.config(t.Context(), "bkt")
	var st Stats
	if err := e.w.expire(t.Context(), "bkt", cfg, old, e.w.now(), time.Hour, &st); err != nil {
		t.Fatal(err)
	}
	if st.Expired != 0 {
		t.Error("the worker deleted an object that changed after it was listed")
	}
	if h, err := e.s.HeadObject(t.Context(), "bkt", "k"); err != nil || h.ETag != fresh.ETag {
		t.Errorf("after the refused expiry: %v %v", h, err)
	}
}

func TestWorkerVersions(t *testing.T) {
	e := newWorkerEnv(t,
		`<Rule><ID>k</ID><Filter><Prefix>k</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`,
		`<Rule><ID>m</ID><Filter><Prefix>m</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`)
	e.w.Day = func() time.Duration { return time.Hour }
	ctx := context.Background()
	if err := e.s.SetBucketVersioning(ctx, "bkt", store.Enabled); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		e.put("k", 10+i, "")
	}
	e.put("m", 5, "")
	if _, err := e.s.DeleteObjectVersion(ctx, "bkt", "m", ""); err != nil {
		t.Fatal(err)
	}
	e.offset = 2 * time.Hour
	st := e.run()
	if st.VersionsDeleted != 3 { // k: 2 of 3 noncurrent (the newest kept); m: its one
		t.Errorf("first run: %+v, want 3 versions deleted", st)
	}
	st = e.run() // m's delete marker is alone now
	if st.MarkersRemoved != 1 {
		t.Errorf("second run: %+v, want m's lone delete marker removed", st)
	}
	page, err := e.s.ListObjectVersions(ctx, "bkt", store.VersionsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(page.Versions); n != 2 || page.Versions[0].Key != "k" || page.Versions[0].Size != 13 || page.Versions[1].Size != 12 {
		t.Errorf("versions left: %+v, want k's current (13 bytes) and newest noncurrent (12)", page.Versions)
	}
	e.exact()
}

// TestWorkerBudget: a run looks at Budget entries per bucket; later runs
// carry on where it stopped.
func TestWorkerBudget(t *testing.T) {
	e := newWorkerEnv(t, `<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)
	e.w.Day = func() time.Duration { return time.Hour }
	e.w.Budget = 2
	for _, k := range []string{"a", "bkt", "c", "d", "e"} {
		e.put(k, 1, "")
	}
	e.offset = 2 * time.Hour
	for i, want := range []int{2, 2, 1} {
		if st := e.run(); st.Expired != want {
			t.Errorf("run %d expired %d, want %d", i, st.Expired, want)
		}
	}
	if ks := e.keys(); len(ks) != 0 {
		t.Errorf("left: %v", ks)
	}
	e.exact()
}
