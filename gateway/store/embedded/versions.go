package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// Versions.
//
// A key's current version, when it is an object, stays where unversioned
// objects are (buckets/<name>/o/<key>), so ListObjects and GetObject cost
// what they did. Every other version — noncurrent objects and every delete
// marker, current or not — lives in a second index of the bucket:
//
//	buckets/<name>/s                 versioning state ("Enabled", "Suspended"; absent: never set)
//	buckets/<name>/v/<key>\x00<vid>  noncurrent version or delete marker
//	buckets/<name>/n/<key>           vid of the key's null version, when it is in v
//
// A version id (vid) is 8 bytes of inverted time stamp (big endian, so a
// key's versions sort newest first under a cursor) and 16 random bytes
// (unguessable); clients see it base64url-encoded (32 characters), except
// the null version, which they name "null". Each new version's stamp is
// above every stamp of its key, so the order holds even if the clock goes
// back. A key without a current object whose newest version in v is an
// object does not exist: deleting a current version or a newest delete
// marker promotes the next newest object version back into o.
//
// Every change is one index transaction: a crash leaves the versions as
// they were before it or after it, and the usage counters exact.

// versionID is a version's id: inverted stamp and random bytes.
type versionID [24]byte

var (
	keyVersioning = []byte("s")
	keyVersions   = []byte("v")
	keyNulls      = []byte("n")
)

// newVersionID returns a random version id with the given stamp (Unix ns).
func newVersionID(stamp int64) versionID {
	var v versionID
	binary.BigEndian.PutUint64(v[:8], ^uint64(stamp))
	_, _ = rand.Read(v[8:]) // crypto/rand.Read never fails (Go 1.24+)
	return v
}

// stampVersionID is the id of a record written before versions: its
// modification time and no random bytes.
func stampVersionID(mtime int64) versionID {
	var v versionID
	binary.BigEndian.PutUint64(v[:8], ^uint64(mtime))
	return v
}

// stamp returns the time stamp of v.
func (v versionID) stamp() int64 { return int64(^binary.BigEndian.Uint64(v[:8])) }

// String is the id clients see.
func (v versionID) String() string { return base64.RawURLEncoding.EncodeToString(v[:]) }

// parseVersionID decodes an id made by String.
func parseVersionID(s string) (versionID, bool) {
	var v versionID
	if base64.RawURLEncoding.EncodedLen(len(v)) != len(s) {
		return v, false
	}
	n, err := base64.RawURLEncoding.Decode(v[:], []byte(s))
	return v, err == nil && n == len(v)
}

// versionName is the version id the record shows.
func (r *objRecord) versionName() string {
	switch {
	case !r.versioned:
		return ""
	case r.null:
		return store.NullVersion
	}
	return r.vid.String()
}

// versionKey is the v index key of version vid of key.
func versionKey(key string, vid versionID) []byte {
	k := make([]byte, 0, len(key)+1+len(vid))
	k = append(k, key...)
	k = append(k, 0)
	return append(k, vid[:]...)
}

// vbucket is one S3 bucket's indexes in a transaction.
type vbucket struct {
	objs  *bbolt.Bucket
	vers  *bbolt.Bucket // nil while versioning was never set
	nulls *bbolt.Bucket // nil while versioning was never set
	state string
}

// openVBucket returns bucket's indexes, or nil if it is absent.
func openVBucket(tx *bbolt.Tx, bucket string) *vbucket {
	b := bucketOf(tx, bucket)
	if b == nil {
		return nil
	}
	return &vbucket{objs: b.Bucket(keyObjects), vers: b.Bucket(keyVersions), nulls: b.Bucket(keyNulls),
		state: string(b.Get(keyVersioning))}
}

// decode decodes a record of the bucket.
func (vb *vbucket) decode(v []byte, mode decodeMode) (*objRecord, error) {
	rec, err := decodeObject(v, mode)
	if err != nil {
		return nil, err
	}
	rec.versioned = vb.state != store.Unversioned
	return rec, nil
}

// current returns key's current object, or nil.
func (vb *vbucket) current(key string, mode decodeMode) (*objRecord, error) {
	v := vb.objs.Get([]byte(key))
	if v == nil {
		return nil, nil
	}
	return vb.decode(v, mode)
}

// newestNoncurrent returns the index key and record of key's newest
// version in v, or nil.
func (vb *vbucket) newestNoncurrent(key string, mode decodeMode) ([]byte, *objRecord, error) {
	if vb.vers == nil {
		return nil, nil, nil
	}
	pfx := append([]byte(key), 0)
	k, v := vb.vers.Cursor().Seek(pfx)
	if k == nil || !bytes.HasPrefix(k, pfx) {
		return nil, nil, nil
	}
	rec, err := vb.decode(v, mode)
	return k, rec, err
}

// nextID returns an id for a new version of key stamped now, or just
// above the newest of key's versions if the clock is behind it.
func (vb *vbucket) nextID(key string, cur *objRecord, now int64) (versionID, error) {
	newest := int64(-1 << 63)
	if cur != nil {
		newest = cur.vid.stamp()
	}
	_, rec, err := vb.newestNoncurrent(key, decodeList)
	if err != nil {
		return versionID{}, err
	}
	if rec != nil && rec.vid.stamp() > newest {
		newest = rec.vid.stamp()
	}
	return newVersionID(max(now, newest+1)), nil
}

// demote moves the current object cur of key to v (it stays charged).
func (vb *vbucket) demote(key string, cur *objRecord) error {
	raw := bytes.Clone(vb.objs.Get([]byte(key)))
	if err := vb.vers.Put(versionKey(key, cur.vid), raw); err != nil {
		return err
	}
	if cur.null {
		if err := vb.nulls.Put([]byte(key), cur.vid[:]); err != nil {
			return err
		}
	}
	return vb.objs.Delete([]byte(key))
}

// freed accumulates the records a change removes: their files (released
// after the commit) and their charges.
type freed struct {
	files   []fileID
	bytes   int64
	objects int64
}

func (f *freed) add(key string, rec *objRecord) {
	f.files = append(f.files, rec.files()...)
	f.bytes += rec.cost(key)
	if !rec.marker {
		f.objects++
	}
}

// uncount takes the freed charges off the usage counters.
func (f *freed) uncount(tx *bbolt.Tx) error { return addUsage(tx, -f.bytes, -f.objects) }

// dropNull removes key's null version from v, if it is there.
func (vb *vbucket) dropNull(key string, f *freed) error {
	if vb.nulls == nil {
		return nil
	}
	id := vb.nulls.Get([]byte(key))
	if id == nil {
		return nil
	}
	if len(id) != len(versionID{}) {
		return errCorrupt
	}
	vk := versionKey(key, versionID(id))
	v := vb.vers.Get(vk)
	if v == nil {
		return errCorrupt
	}
	rec, err := vb.decode(v, decodeList)
	if err != nil {
		return err
	}
	f.add(key, rec)
	if err := vb.vers.Delete(vk); err != nil {
		return err
	}
	return vb.nulls.Delete([]byte(key))
}

// promote makes key's newest version in v current when the key has no
// current object and that version is an object (not a delete marker).
func (vb *vbucket) promote(key string) error {
	if vb.vers == nil || vb.objs.Get([]byte(key)) != nil {
		return nil
	}
	k, rec, err := vb.newestNoncurrent(key, decodeList)
	if err != nil || rec == nil || rec.marker {
		return err
	}
	if err := vb.objs.Put([]byte(key), bytes.Clone(vb.vers.Get(k))); err != nil {
		return err
	}
	if rec.null {
		if err := vb.nulls.Delete([]byte(key)); err != nil {
			return err
		}
	}
	return vb.vers.Delete(k)
}

// writeVersionTx makes rec key's current version if cond holds (checked
// against the current object), as the bucket's versioning state says:
// unversioned, it replaces the current object; Enabled, the current one
// becomes noncurrent; Suspended, rec is the null version and replaces the
// previous null version wherever it is. It sets rec's version id and
// returns the files of the versions it removed, to release after the
// commit; res is the expected failure, if any.
func writeVersionTx(tx *bbolt.Tx, bucket, key string, rec *objRecord, cond store.Conditions) (old []fileID, res, err error) {
	vb := openVBucket(tx, bucket)
	if vb == nil {
		return nil, store.ErrNoSuchBucket, nil
	}
	cur, err := vb.current(key, decodeList)
	if err != nil {
		return nil, nil, err
	}
	if res := checkConditions(cur, cond); res != nil {
		return nil, res, nil
	}
	if rec.vid, err = vb.nextID(key, cur, rec.mtime); err != nil {
		return nil, nil, err
	}
	rec.null, rec.versioned = vb.state != store.Enabled, vb.state != store.Unversioned
	var f freed
	switch {
	case cur != nil && (cur.null && rec.null || vb.state == store.Unversioned):
		f.add(key, cur) // replaced in place
	case cur != nil:
		if err := vb.demote(key, cur); err != nil {
			return nil, nil, err
		}
	}
	if vb.state == store.Suspended {
		if err := vb.dropNull(key, &f); err != nil {
			return nil, nil, err
		}
	}
	if err := vb.objs.Put([]byte(key), rec.encode()); err != nil {
		return nil, nil, err
	}
	if err := addUsage(tx, rec.cost(key)-f.bytes, 1-f.objects); err != nil {
		return nil, nil, err
	}
	return f.files, nil, nil
}

// deleteTx deletes key as DeleteObject does: unversioned, the current
// object goes; otherwise a delete marker becomes the current version
// (Enabled: a new one; Suspended: the null one, replacing the previous
// null version), the current object becoming noncurrent.
func deleteTx(tx *bbolt.Tx, bucket, key string, now int64) (out store.DeleteResult, old []fileID, res, err error) {
	vb := openVBucket(tx, bucket)
	if vb == nil {
		return out, nil, store.ErrNoSuchBucket, nil
	}
	cur, err := vb.current(key, decodeList)
	if err != nil {
		return out, nil, nil, err
	}
	var f freed
	if vb.state == store.Unversioned {
		if cur == nil {
			return out, nil, nil, nil
		}
		f.add(key, cur)
		if err := vb.objs.Delete([]byte(key)); err != nil {
			return out, nil, nil, err
		}
		return out, f.files, nil, f.uncount(tx)
	}
	marker := &objRecord{mtime: now, marker: true, versioned: true, null: vb.state == store.Suspended}
	if marker.vid, err = vb.nextID(key, cur, now); err != nil {
		return out, nil, nil, err
	}
	switch {
	case cur != nil && cur.null && marker.null:
		f.add(key, cur)
		err = vb.objs.Delete([]byte(key))
	case cur != nil:
		err = vb.demote(key, cur)
	}
	if err != nil {
		return out, nil, nil, err
	}
	if marker.null {
		if err := vb.dropNull(key, &f); err != nil {
			return out, nil, nil, err
		}
		if err := vb.nulls.Put([]byte(key), marker.vid[:]); err != nil {
			return out, nil, nil, err
		}
	}
	if err := vb.vers.Put(versionKey(key, marker.vid), marker.encode()); err != nil {
		return out, nil, nil, err
	}
	if err := addUsage(tx, store.DeleteMarkerCost(key)-f.bytes, -f.objects); err != nil {
		return out, nil, nil, err
	}
	return store.DeleteResult{VersionID: marker.versionName(), DeleteMarker: true}, f.files, nil, nil
}

// located is a version found by locate: where it is and its record.
type located struct {
	current bool   // in o (else in v)
	vkey    []byte // its v index key (when not current)
	rec     *objRecord
}

// locate finds version vname ("" the current one) of key: nil if it
// does not exist; ErrInvalidVersionID for an id the store cannot have
// made. With "" and no current object it returns key's newest version
// in v, which then is a delete marker (or nil).
func (vb *vbucket) locate(key, vname string, mode decodeMode) (*located, error) {
	if vname == "" {
		cur, err := vb.current(key, mode)
		if cur != nil || err != nil {
			return &located{current: true, rec: cur}, err
		}
		k, rec, err := vb.newestNoncurrent(key, mode)
		if rec == nil || err != nil {
			return nil, err
		}
		return &located{vkey: k, rec: rec}, nil
	}
	var vid versionID
	null := vname == store.NullVersion
	if !null {
		var ok bool
		if vid, ok = parseVersionID(vname); !ok {
			return nil, store.ErrInvalidVersionID
		}
	}
	cur, err := vb.current(key, mode)
	if err != nil {
		return nil, err
	}
	if cur != nil && cur.null == null && (null || cur.vid == vid) {
		return &located{current: true, rec: cur}, nil
	}
	if vb.vers == nil {
		return nil, nil
	}
	if null {
		id := vb.nulls.Get([]byte(key))
		if id == nil {
			return nil, nil
		}
		if len(id) != len(vid) {
			return nil, errCorrupt
		}
		vid = versionID(id)
	}
	vk := versionKey(key, vid)
	v := vb.vers.Get(vk)
	if v == nil {
		return nil, nil
	}
	rec, err := vb.decode(v, mode)
	if err != nil || rec.null != null {
		return nil, err
	}
	return &located{vkey: vk, rec: rec}, nil
}

// readable turns a located version into what a read of it answers: the
// record, or the error for a missing version or a delete marker.
func readable(l *located, vname string) (*objRecord, error) {
	switch {
	case l == nil && vname == "":
		return nil, store.ErrNoSuchKey
	case l == nil:
		return nil, store.ErrNoSuchVersion
	case l.rec.marker:
		return nil, &store.DeleteMarkerError{VersionID: l.rec.versionName(),
			LastModified: unixTime(l.rec.mtime), ByID: vname != ""}
	}
	return l.rec, nil
}

// deleteVersionTx deletes version versionID of key (not "") and promotes
// the next newest version when it was the newest. A version that object
// lock protects is kept: res is store.ErrObjectLocked (lockattrs.go).
func deleteVersionTx(tx *bbolt.Tx, bucket, key, versionID string, lk lockCheck) (out store.DeleteResult, old []fileID, res, err error) {
	out.VersionID = versionID
	vb := openVBucket(tx, bucket)
	if vb == nil {
		return out, nil, store.ErrNoSuchBucket, nil
	}
	l, err := vb.locate(key, versionID, decodeList)
	if err == store.ErrInvalidVersionID || l == nil {
		return out, nil, nil, nil // as S3: nothing to delete is no error
	}
	if err != nil {
		return out, nil, nil, err
	}
	if lk.locked(l.rec) {
		return out, nil, store.ErrObjectLocked, nil
	}
	switch {
	case l.current:
		err = vb.objs.Delete([]byte(key))
	case l.rec.null:
		if err = vb.vers.Delete(l.vkey); err == nil {
			err = vb.nulls.Delete([]byte(key))
		}
	default:
		err = vb.vers.Delete(l.vkey)
	}
	if err != nil {
		return out, nil, nil, err
	}
	var f freed
	f.add(key, l.rec)
	if err := vb.promote(key); err != nil {
		return out, nil, nil, err
	}
	out.DeleteMarker = l.rec.marker
	return out, f.files, nil, f.uncount(tx)
}

// SetBucketVersioning sets the bucket's versioning state.
func (s *Store) SetBucketVersioning(ctx context.Context, bucket, state string) error {
	if !store.ValidBucketName(bucket) {
		return store.ErrInvalidBucketName
	}
	if state != store.Enabled && state != store.Suspended {
		return fmt.Errorf("embedded: versioning state %q", state)
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	var res error
	err := s.update(func(tx *bbolt.Tx) error {
		res = nil
		b := bucketOf(tx, bucket)
		if b == nil {
			res = store.ErrNoSuchBucket
			return nil
		}
		if res = checkLockVersioning(b, "", state); res != nil {
			return nil
		}
		for _, name := range [][]byte{keyVersions, keyNulls} {
			if _, err := b.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return b.Put(keyVersioning, []byte(state))
	})
	if err != nil {
		return fmt.Errorf("embedded: set versioning: %w", err)
	}
	return res
}

// BucketVersioning returns the bucket's versioning state.
func (s *Store) BucketVersioning(ctx context.Context, bucket string) (string, error) {
	if !store.ValidBucketName(bucket) {
		return "", store.ErrInvalidBucketName
	}
	var state string
	err := s.view(func(tx *bbolt.Tx) error {
		b := bucketOf(tx, bucket)
		if b == nil {
			return store.ErrNoSuchBucket
		}
		state = string(b.Get(keyVersioning))
		return nil
	})
	return state, err
}

// HeadObjectVersion describes version versionID ("" the current one).
func (s *Store) HeadObjectVersion(ctx context.Context, bucket, key, versionID string) (*store.Object, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, err
	}
	var obj *store.Object
	err := s.view(func(tx *bbolt.Tx) error {
		vb := openVBucket(tx, bucket)
		if vb == nil {
			return store.ErrNoSuchBucket
		}
		l, err := vb.locate(key, versionID, decodeHead)
		if err != nil {
			return err
		}
		rec, err := readable(l, versionID)
		if err != nil {
			return err
		}
		obj = rec.object(key)
		return nil
	})
	return obj, err
}

// DeleteObjectVersion deletes version versionID, or with "" the key.
func (s *Store) DeleteObjectVersion(ctx context.Context, bucket, key, versionID string) (store.DeleteResult, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return store.DeleteResult{}, err
	}
	if err := s.begin(); err != nil {
		return store.DeleteResult{}, err
	}
	defer s.end()
	now := time.Now().UnixNano()
	lk := lockCheck{now: time.Unix(0, now), bypass: store.GovernanceBypass(ctx)}
	var (
		out      store.DeleteResult
		old      []fileID
		res, err error
	)
	err = s.update(func(tx *bbolt.Tx) (err error) {
		if versionID == "" {
			out, old, res, err = deleteTx(tx, bucket, key, now)
		} else {
			out, old, res, err = deleteVersionTx(tx, bucket, key, versionID, lk)
		}
		return err
	})
	if err != nil {
		return store.DeleteResult{}, fmt.Errorf("embedded: delete %s/%s: %w", bucket, key, err)
	}
	if res != nil {
		return store.DeleteResult{}, res
	}
	s.release(old)
	return out, nil
}

// ListObjectVersions returns a page of versions, delete markers and
// common prefixes. It walks two cursors from one Seek each, o (current
// objects) and v (the other versions), merging them by key: a page costs
// O(page) cursor steps plus O(log n) per Seek, however many versions a
// key has (resuming inside a key seeks straight to the marker version).
func (s *Store) ListObjectVersions(ctx context.Context, bucket string, opts store.VersionsOptions) (*store.VersionsPage, error) {
	if !store.ValidBucketName(bucket) {
		return nil, store.ErrInvalidBucketName
	}
	page := &store.VersionsPage{}
	err := s.view(func(tx *bbolt.Tx) error {
		vb := openVBucket(tx, bucket)
		if vb == nil {
			return store.ErrNoSuchBucket
		}
		w := &versionWalk{vb: vb, opts: opts, limit: listLimit(opts.Limit), page: page,
			prefix: []byte(opts.Prefix), delim: []byte(opts.Delimiter)}
		defer func() { s.listSteps.Add(w.steps) }()
		return w.run()
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// versionWalk is one ListObjectVersions page being made.
type versionWalk struct {
	vb            *vbucket
	opts          store.VersionsOptions
	limit         int
	page          *store.VersionsPage
	prefix, delim []byte
	oc, vc        *bbolt.Cursor
	ok, ov        []byte // o cursor: key and value (nil at the end)
	vk, vv        []byte // v cursor: index key and value (nil at the end)
	lastKey       []byte // the key of the last version listed
	steps         int64
}

// run fills the page.
func (w *versionWalk) run() error {
	if bytes.IndexByte(w.prefix, 0) >= 0 {
		return nil // no key contains NUL
	}
	if err := w.seekStart(); err != nil {
		return err
	}
	for n := 0; ; n++ {
		key, fromO := w.next()
		if key == nil {
			return nil
		}
		if n == w.limit {
			w.page.Truncated = true
			return nil
		}
		w.steps++
		if cp := rollUp(key, w.prefix, w.delim); cp != nil {
			w.page.CommonPrefixes = append(w.page.CommonPrefixes, string(cp))
			w.page.NextKeyMarker, w.page.NextVersionIDMarker = string(cp), ""
			end := prefixEnd(cp)
			if end == nil {
				return nil
			}
			w.seek(end, end)
			continue
		}
		if err := w.emit(key, fromO); err != nil {
			return err
		}
	}
}

// seekStart positions both cursors at the first entry after the markers.
func (w *versionWalk) seekStart() error {
	w.oc = w.vb.objs.Cursor()
	if w.vb.vers != nil {
		w.vc = w.vb.vers.Cursor()
	}
	oFrom, vFrom := w.prefix, w.prefix
	var skipV []byte // the marker version's own index key, when it is in v
	if km := w.opts.KeyMarker; km != "" {
		if cp, ok := store.CommonPrefix(km, w.opts.Prefix, w.opts.Delimiter); ok {
			end := prefixEnd([]byte(cp))
			if end == nil {
				w.ok, w.vk = nil, nil
				return nil
			}
			oFrom, vFrom = maxBytes(oFrom, end), maxBytes(vFrom, end)
		} else {
			after := append([]byte(km), 0) // the first key after km
			oFrom = maxBytes(oFrom, after)
			vFrom = maxBytes(vFrom, append([]byte(km), 1)) // after every version of km
			if vm := w.opts.VersionIDMarker; vm != "" {
				vk, err := w.resumeKey(km, vm)
				if err != nil {
					return err
				}
				if vk != nil {
					vFrom, skipV = maxBytes(w.prefix, vk), vk
					w.lastKey = []byte(km) // resuming inside km: its newest was listed
				}
			}
		}
	}
	w.ok, w.ov = w.oc.Seek(oFrom)
	if w.vc != nil {
		w.vk, w.vv = w.vc.Seek(vFrom)
		if skipV != nil && bytes.Equal(w.vk, skipV) {
			w.vk, w.vv = w.vc.Next()
		}
	}
	return nil
}

// resumeKey returns where in v a listing resumes after version vm of key
// km: the index key the version has (or would have: ids carry their
// place), or nil to resume after the whole key.
func (w *versionWalk) resumeKey(km, vm string) ([]byte, error) {
	if vm != store.NullVersion {
		vid, ok := parseVersionID(vm)
		if !ok {
			return nil, store.ErrInvalidVersionID
		}
		return versionKey(km, vid), nil
	}
	l, err := w.vb.locate(km, vm, decodeList)
	if err != nil || l == nil {
		return nil, err
	}
	return versionKey(km, l.rec.vid), nil
}

func maxBytes(a, b []byte) []byte {
	if bytes.Compare(a, b) >= 0 {
		return a
	}
	return b
}

// forEachVersion calls fn with the key and record of every version and
// delete marker of the bucket b: its current objects and its v index.
func forEachVersion(b *bbolt.Bucket, fn func(key, v []byte) error) error {
	err := b.Bucket(keyObjects).ForEach(fn)
	if vers := b.Bucket(keyVersions); err == nil && vers != nil {
		err = vers.ForEach(func(k, v []byte) error {
			key := vKeyOf(k)
			if key == nil {
				return errCorrupt
			}
			return fn(key, v)
		})
	}
	return err
}

// vKeyOf returns the object key of a v index key.
func vKeyOf(k []byte) []byte {
	if len(k) < len(versionID{})+1 {
		return nil
	}
	return k[:len(k)-len(versionID{})-1]
}

// next returns the key of the next entry in order (nil at the end of the
// prefix) and whether it comes from o (a key's current object comes
// before its versions in v).
func (w *versionWalk) next() ([]byte, bool) {
	var ko, kv []byte
	if w.ok != nil && bytes.HasPrefix(w.ok, w.prefix) {
		ko = w.ok
	}
	if w.vk != nil {
		if k := vKeyOf(w.vk); k != nil && bytes.HasPrefix(k, w.prefix) {
			kv = k
		}
	}
	switch {
	case ko == nil && kv == nil:
		return nil, false
	case kv == nil || ko != nil && bytes.Compare(ko, kv) <= 0:
		return ko, true
	}
	return kv, false
}

// seek moves the o cursor to oFrom and the v cursor to vFrom.
func (w *versionWalk) seek(oFrom, vFrom []byte) {
	w.ok, w.ov = w.oc.Seek(oFrom)
	if w.vc != nil {
		w.vk, w.vv = w.vc.Seek(vFrom)
	}
}

// emit lists the entry at key and advances its cursor.
func (w *versionWalk) emit(key []byte, fromO bool) error {
	v := w.vv
	if fromO {
		v = w.ov
	}
	rec, err := w.vb.decode(v, decodeList)
	if err != nil {
		return err
	}
	// A key's first entry is its current version: its object in o, or
	// else its newest delete marker in v.
	w.page.Versions = append(w.page.Versions, store.Object{})
	o := &w.page.Versions[len(w.page.Versions)-1]
	rec.fill(o, string(key))
	o.IsLatest = !bytes.Equal(key, w.lastKey)
	if o.VersionID == "" {
		o.VersionID = store.NullVersion // never versioned: every object is its null version
	}
	w.page.NextKeyMarker, w.page.NextVersionIDMarker = o.Key, o.VersionID
	w.lastKey = append(w.lastKey[:0], key...)
	if fromO {
		w.ok, w.ov = w.oc.Next()
	} else {
		w.vk, w.vv = w.vc.Next()
	}
	return nil
}
