package lifecycle

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway/store"
)

// DefaultBudget is how many entries (objects, versions, uploads) a run
// looks at per bucket and kind when Worker.Budget is 0.
const DefaultBudget = 1000

// Worker applies the buckets' lifecycle rules to a store: it expires
// current versions (a delete marker in a versioned bucket), deletes
// noncurrent versions and lone delete markers, and aborts old multipart
// uploads. Each run looks at a bounded number of entries per bucket and
// continues where the last one stopped, so it never holds the store for
// long; it keeps no state that a restart would lose (the rules are about
// ages). Deletions go through the store's own operations, which keep the
// order's usage exact and refuse to delete locked versions.
type Worker struct {
	Store store.Store
	// Day returns the length of a lifecycle day (Day when nil or 0).
	Day func() time.Duration
	// Budget bounds the entries looked at per bucket, kind and run.
	Budget int
	Log    *zap.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	cursors map[string]*cursor // by bucket
	parsed  map[string]*Configuration
}

// cursor is where the next run resumes in a bucket.
type cursor struct {
	objects  string // ListObjects: after this key
	verKey   string // ListObjectVersions: after this key and version
	verID    string
	verState keyState // the key being walked when the page ended
	uploads  store.UploadsOptions
}

// keyState follows one key's versions, newest first, across pages.
type keyState struct {
	key         string
	prevMTime   time.Time // the newer version's time: when this one became noncurrent
	noncurrent  int       // noncurrent versions seen so far
	latestMark  *store.Object
	sawVersions bool // versions below the latest delete marker
}

// Stats counts what a run did.
type Stats struct {
	Expired, VersionsDeleted, MarkersRemoved, UploadsAborted, Refused int
}

func (w *Worker) day() time.Duration {
	if w.Day != nil {
		if d := w.Day(); d > 0 {
			return d
		}
	}
	return Day
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) budget() int {
	if w.Budget > 0 {
		return w.Budget
	}
	return DefaultBudget
}

// Interval is the pause between runs: a 24th of a lifecycle day, between
// one second and one hour.
func (w *Worker) Interval() time.Duration {
	return min(max(w.day()/24, time.Second), time.Hour)
}

// Run runs the worker until ctx is done.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTimer(w.Interval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil && w.Log != nil {
			w.Log.Warn("lifecycle run", zap.Error(err))
		}
		t.Reset(w.Interval())
	}
}

// RunOnce applies the rules of every bucket once, within the budget.
func (w *Worker) RunOnce(ctx context.Context) (Stats, error) {
	var st Stats
	buckets, err := w.Store.ListBuckets(ctx)
	if err != nil {
		return st, err
	}
	var errs []error
	for _, b := range buckets {
		if err := w.runBucket(ctx, b.Name, &st); err != nil && !errors.Is(err, store.ErrNoSuchBucket) {
			errs = append(errs, err)
		}
	}
	return st, errors.Join(errs...)
}

// config returns the bucket's parsed rules (nil when it has none).
func (w *Worker) config(ctx context.Context, bucket string) (*Configuration, error) {
	doc, err := w.Store.GetBucketConfig(ctx, bucket, store.ConfigLifecycle)
	if errors.Is(err, store.ErrNoSuchConfig) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.parsed[string(doc)]; ok {
		return c, nil
	}
	c, err := Parse(doc)
	if err != nil {
		return nil, err
	}
	if w.parsed == nil || len(w.parsed) > 1024 {
		w.parsed = map[string]*Configuration{}
	}
	w.parsed[string(doc)] = c
	return c, nil
}

func (w *Worker) cursor(bucket string, reset bool) *cursor {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cursors == nil {
		w.cursors = map[string]*cursor{}
	}
	c := w.cursors[bucket]
	if c == nil || reset {
		c = &cursor{}
		w.cursors[bucket] = c
	}
	return c
}

func (w *Worker) runBucket(ctx context.Context, bucket string, st *Stats) error {
	cfg, err := w.config(ctx, bucket)
	if err != nil || cfg == nil {
		w.cursor(bucket, true)
		return err
	}
	state, err := w.Store.BucketVersioning(ctx, bucket)
	if err != nil && !errors.Is(err, store.ErrNotSupported) {
		return err
	}
	cur := w.cursor(bucket, false)
	now, day := w.now(), w.day()
	var errs []error
	if state == "" {
		errs = append(errs, w.expireCurrent(ctx, bucket, cfg, cur, now, day, st))
	} else {
		errs = append(errs, w.walkVersions(ctx, bucket, cfg, cur, now, day, st))
	}
	errs = append(errs, w.abortUploads(ctx, bucket, cfg, cur, now, day, st))
	return errors.Join(errs...)
}

// expireCurrent expires the current objects of a bucket never versioned.
func (w *Worker) expireCurrent(ctx context.Context, bucket string, cfg *Configuration, cur *cursor, now time.Time, day time.Duration, st *Stats) error {
	page, err := w.Store.ListObjects(ctx, bucket, store.ListOptions{After: cur.objects, Limit: min(w.budget(), store.MaxListKeys)})
	if err != nil {
		return err
	}
	for i := range page.Objects {
		if err := w.expire(ctx, bucket, cfg, &page.Objects[i], now, day, st); err != nil {
			return err
		}
	}
	cur.objects = page.Next
	if !page.Truncated {
		cur.objects = ""
	}
	return nil
}

// expire deletes o, the key's current object, if a rule expires it by
// now, provided it is still the current object when deleted.
func (w *Worker) expire(ctx context.Context, bucket string, cfg *Configuration, o *store.Object, now time.Time, day time.Duration, st *Stats) error {
	obj, err := w.withTags(ctx, bucket, cfg, o)
	if err != nil || obj == nil {
		return err
	}
	at, _, ok := cfg.Expiry(*obj, day)
	if !ok || now.Before(at) {
		return nil
	}
	_, err = w.Store.DeleteObjectIf(ctx, bucket, o.Key, func(c *store.Object) error {
		if c == nil || c.ETag != o.ETag || !c.LastModified.Equal(o.LastModified) || c.VersionID != o.VersionID {
			return errChanged
		}
		return nil
	})
	switch {
	case err == nil:
		st.Expired++
	case errors.Is(err, errChanged), errors.Is(err, store.ErrNoSuchKey):
	case errors.Is(err, store.ErrNotSupported):
		return err
	default:
		st.Refused++
		w.logRefused(bucket, o.Key, err)
	}
	return nil
}

var errChanged = errors.New("lifecycle: object changed since it was listed")

// withTags describes o for the rules, reading its tags when a rule needs
// them and the listing did not carry them. nil: the object is gone.
func (w *Worker) withTags(ctx context.Context, bucket string, cfg *Configuration, o *store.Object) (*Object, error) {
	obj := &Object{Key: o.Key, Size: o.Size, Tags: o.Meta.Tags, MTime: o.LastModified}
	if obj.Tags != "" || !cfg.needsTags() {
		return obj, nil
	}
	h, err := w.Store.HeadObjectVersion(ctx, bucket, o.Key, o.VersionID)
	if errors.Is(err, store.ErrNoSuchKey) || errors.Is(err, store.ErrNoSuchVersion) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	obj.Tags = h.Meta.Tags
	return obj, nil
}

func (c *Configuration) needsTags() bool {
	for i := range c.Rules {
		if c.Rules[i].enabled() && c.Rules[i].NeedsTags() {
			return true
		}
	}
	return false
}

func (w *Worker) logRefused(bucket, key string, err error) {
	if w.Log != nil {
		w.Log.Info("lifecycle: not deleted", zap.String("bucket", bucket), zap.String("key", key), zap.Error(err))
	}
}

// walkVersions applies the rules to a versioned bucket: current objects
// expire into delete markers, noncurrent versions are deleted, lone
// delete markers removed.
func (w *Worker) walkVersions(ctx context.Context, bucket string, cfg *Configuration, cur *cursor, now time.Time, day time.Duration, st *Stats) error {
	page, err := w.Store.ListObjectVersions(ctx, bucket, store.VersionsOptions{KeyMarker: cur.verKey, VersionIDMarker: cur.verID,
		Limit: min(w.budget(), store.MaxListKeys)})
	if err != nil {
		return err
	}
	ks := &cur.verState
	for i := range page.Versions {
		v := &page.Versions[i]
		if v.Key != ks.key {
			if err := w.endKey(ctx, bucket, cfg, ks, st); err != nil {
				return err
			}
			*ks = keyState{key: v.Key}
		}
		if err := w.version(ctx, bucket, cfg, ks, v, now, day, st); err != nil {
			return err
		}
		ks.prevMTime = v.LastModified
	}
	cur.verKey, cur.verID = page.NextKeyMarker, page.NextVersionIDMarker
	if !page.Truncated {
		err := w.endKey(ctx, bucket, cfg, ks, st)
		cur.verKey, cur.verID, cur.verState = "", "", keyState{}
		return err
	}
	return nil
}

// version applies the rules to one version of ks.key.
func (w *Worker) version(ctx context.Context, bucket string, cfg *Configuration, ks *keyState, v *store.Object, now time.Time, day time.Duration, st *Stats) error {
	if v.IsLatest {
		if v.DeleteMarker {
			ks.latestMark = v
			return nil
		}
		return w.expire(ctx, bucket, cfg, v, now, day, st)
	}
	ks.sawVersions = true
	ks.noncurrent++
	obj, err := w.withTags(ctx, bucket, cfg, v)
	if err != nil || obj == nil {
		return err
	}
	if !cfg.noncurrentExpired(*obj, ks.prevMTime, ks.noncurrent, now, day) {
		return nil
	}
	return w.deleteVersion(ctx, bucket, v, &st.VersionsDeleted, st)
}

// endKey removes the key's latest delete marker when it was the key's
// only version and a rule asks for expired delete markers to go.
func (w *Worker) endKey(ctx context.Context, bucket string, cfg *Configuration, ks *keyState, st *Stats) error {
	m := ks.latestMark
	if m == nil || ks.sawVersions || !cfg.removesMarker(m.Key) {
		return nil
	}
	return w.deleteVersion(ctx, bucket, m, &st.MarkersRemoved, st)
}

func (w *Worker) deleteVersion(ctx context.Context, bucket string, v *store.Object, count *int, st *Stats) error {
	_, err := w.Store.DeleteObjectVersion(ctx, bucket, v.Key, v.VersionID)
	switch {
	case err == nil:
		*count++
	case errors.Is(err, store.ErrNotSupported):
		return err
	default:
		st.Refused++
		w.logRefused(bucket, v.Key, err)
	}
	return nil
}

// noncurrentExpired reports whether a rule deletes the noncurrent
// version o, the n-th newest noncurrent version of its key, noncurrent
// since since.
func (c *Configuration) noncurrentExpired(o Object, since time.Time, n int, now time.Time, day time.Duration) bool {
	for i := range c.Rules {
		r := &c.Rules[i]
		e := r.NoncurrentVersionExpiration
		if !r.enabled() || e == nil || !r.Matches(o) {
			continue
		}
		if e.NewerNoncurrentVersions != nil && n <= *e.NewerNoncurrentVersions {
			continue
		}
		if !now.Before(after(since, *e.NoncurrentDays, day)) {
			return true
		}
	}
	return false
}

// removesMarker reports whether a rule removes key's lone delete marker.
func (c *Configuration) removesMarker(key string) bool {
	for i := range c.Rules {
		r := &c.Rules[i]
		e := r.Expiration
		if r.enabled() && e != nil && e.ExpiredObjectDeleteMarker != nil && *e.ExpiredObjectDeleteMarker && r.Matches(Object{Key: key}) {
			return true
		}
	}
	return false
}

// abortUploads aborts uploads older than an AbortIncompleteMultipartUpload
// rule allows.
func (w *Worker) abortUploads(ctx context.Context, bucket string, cfg *Configuration, cur *cursor, now time.Time, day time.Duration, st *Stats) error {
	if !cfg.aborts() {
		return nil
	}
	opts := cur.uploads
	opts.Limit = min(w.budget(), store.MaxListKeys)
	page, err := w.Store.ListMultipartUploads(ctx, bucket, opts)
	if err != nil {
		return err
	}
	for _, u := range page.Uploads {
		if !cfg.abortDue(u, now, day) {
			continue
		}
		err := w.Store.AbortMultipartUpload(ctx, bucket, u.Key, u.UploadID)
		switch {
		case err == nil:
			st.UploadsAborted++
		case errors.Is(err, store.ErrNoSuchUpload):
		default:
			return err
		}
	}
	cur.uploads = store.UploadsOptions{KeyMarker: page.NextKeyMarker, UploadIDMarker: page.NextUploadIDMarker}
	if !page.Truncated {
		cur.uploads = store.UploadsOptions{}
	}
	return nil
}

func (c *Configuration) aborts() bool {
	for i := range c.Rules {
		if c.Rules[i].enabled() && c.Rules[i].AbortIncompleteMultipartUpload != nil {
			return true
		}
	}
	return false
}

func (c *Configuration) abortDue(u store.Upload, now time.Time, day time.Duration) bool {
	for i := range c.Rules {
		r := &c.Rules[i]
		a := r.AbortIncompleteMultipartUpload
		if r.enabled() && a != nil && r.Matches(Object{Key: u.Key}) && !now.Before(after(u.Initiated, *a.DaysAfterInitiation, day)) {
			return true
		}
	}
	return false
}
