package upstream

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/lambda/storagecli/gateway/store"
)

// Versioning on a versioned upstream bucket (docs/upstream.md).
//
// The upstream bucket's own versioning keeps every version: a user
// bucket's object K is the upstream name P<B>/<enc(K)> whatever the user
// bucket's state, its versions and delete markers are the upstream
// name's, and their ids are the upstream's (wrapped, see userVID).
//
// A user bucket's state is kept at P.versioning/<B>, a document written
// at each change ("Enabled" or "Suspended"); its upstream versions are
// the bucket's history, each change at its version's upstream mtime. A
// version (or delete marker) is the bucket's null version when the state
// at its own upstream mtime was not Enabled (or when the upstream made
// it before the upstream bucket was versioned: upstream id "null"). So
// every gateway classifies every version alike, from upstream times only.
//
// Where a write makes a null version (unversioned or Suspended), the null
// versions of its key older than its own are removed after it: each
// writer removes only versions older than the one it wrote, so racing
// writers (through any number of gateways) leave the newest. Before
// removing anything a writer reads the history afresh, not from the
// cache, and classifies by it the versions it listed before that read.

// maxStateChanges bounds a bucket's history (its versioning changes).
const maxStateChanges = 1000

// stateChangeDelay separates a change of a bucket's state from the
// writes before it, in whole seconds of upstream time.
const stateChangeDelay = time.Second

// versioningName is where the state of user bucket B is kept.
func (s *Store) versioningName(bucket string) string { return s.pfx + ".versioning/" + bucket }

// history is a bucket's versioning changes, oldest first.
type history []stateChange

type stateChange struct {
	at      time.Time
	enabled bool
}

// state is the bucket's current versioning state.
func (h history) state() string {
	switch {
	case len(h) == 0:
		return store.Unversioned
	case h[len(h)-1].enabled:
		return store.Enabled
	}
	return store.Suspended
}

// null reports whether upstream version up, made at mtime (as a listing
// gives it: milliseconds), is a null version.
func (h history) null(up string, mtime time.Time) bool {
	if up == "" || up == store.NullVersion {
		return true
	}
	for i := len(h) - 1; i >= 0; i-- {
		if !h[i].at.After(mtime) {
			return !h[i].enabled
		}
	}
	return true
}

// vid is the VersionID shown for upstream version up made at mtime: none
// in a bucket whose versioning was never set.
func (h history) vid(up string, mtime time.Time) string {
	if len(h) == 0 {
		return ""
	}
	if h.null(up, mtime) {
		return store.NullVersion
	}
	return userVID(up)
}

// near reports whether a change happened within a second after t (a time
// in whole seconds, as HEAD answers give it, is then ambiguous).
func (h history) near(t time.Time) bool {
	for _, c := range h {
		if !c.at.Before(t) && c.at.Before(t.Add(time.Second)) {
			return true
		}
	}
	return false
}

// verCache remembers each bucket's history for BucketCacheTTL.
type verCache struct {
	mu      sync.Mutex
	entries map[string]verEntry
}

type verEntry struct {
	h  history
	at time.Time
}

// history returns bucket's versioning history; fresh skips the cache.
func (s *Store) history(ctx context.Context, bucket string, fresh bool) (history, error) {
	c := &s.vers
	if !fresh && s.cfg.BucketCacheTTL > 0 {
		c.mu.Lock()
		e, ok := c.entries[bucket]
		c.mu.Unlock()
		if ok && time.Since(e.at) < s.cfg.BucketCacheTTL {
			return e.h, nil
		}
	}
	vs, _, err := s.nameVersions(ctx, s.versioningName(bucket), "", maxStateChanges)
	if err != nil {
		return nil, err
	}
	h := make(history, 0, len(vs))
	for i := len(vs) - 1; i >= 0; i-- {
		if !vs[i].Marker {
			h = append(h, stateChange{at: vs[i].LastModified, enabled: vs[i].Size == int64(len(store.Enabled))})
		}
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxCachedConfigs {
		c.entries = map[string]verEntry{}
	}
	c.entries[bucket] = verEntry{h: h, at: time.Now()}
	c.mu.Unlock()
	return h, nil
}

func (s *Store) forgetVersioning(bucket string) {
	s.vers.mu.Lock()
	delete(s.vers.entries, bucket)
	s.vers.mu.Unlock()
}

// setVersioning records a change of bucket's state (none if it is the
// state already). Suspending a bucket with an object lock configuration
// is refused (checked before the change: a lock configuration written
// meanwhile through another gateway is not seen).
func (s *Store) setVersioning(ctx context.Context, bucket, state string) error {
	if state != store.Enabled && state != store.Suspended {
		return fmt.Errorf("upstream: versioning state %q is not Enabled or Suspended", state)
	}
	h, err := s.history(ctx, bucket, true)
	if err != nil || h.state() == state {
		return err
	}
	if len(h) >= maxStateChanges {
		return fmt.Errorf("upstream: bucket %s changed its versioning %d times, the most kept: %w", bucket, len(h), store.ErrNotSupported)
	}
	if state == store.Suspended {
		if _, err := s.GetBucketConfig(ctx, bucket, store.ConfigObjectLock); err == nil {
			return fmt.Errorf("upstream: %w", store.ErrLockNeedsVersioning)
		} else if !errors.Is(err, store.ErrNoSuchConfig) {
			return err
		}
	}
	// Upstream times may be whole seconds (SeaweedFS's are): the change
	// is recorded a second after the call, so that it is later than every
	// write finished before the call (a write in the same second as the
	// change counts as after it).
	select {
	case <-time.After(stateChangeDelay):
	case <-ctx.Done():
		return ctx.Err()
	}
	_, err = s.core.PutObject(ctx, s.bucket, s.versioningName(bucket), strings.NewReader(state), int64(len(state)), "", "",
		minio.PutObjectOptions{ContentType: "text/plain"})
	s.forgetVersioning(bucket)
	return s.mapErr(err)
}

// ---- version ids ----

// userVID is the id clients see for upstream version up: the null
// version's is store.NullVersion, others are the upstream id in
// unpadded URL-safe base64 (opaque, and never one of the upstream's
// own ids, which clients could otherwise mistake for ours).
func userVID(up string) string {
	if up == "" || up == store.NullVersion {
		return store.NullVersion
	}
	return base64.RawURLEncoding.EncodeToString([]byte(up))
}

// minVIDLen is the shortest id userVID makes (of an 8-byte upstream id;
// MinIO's are 36 bytes).
const minVIDLen = 11

// upVID inverts userVID for ids other than the null one:
// store.ErrInvalidVersionID for an id of a shape userVID never makes,
// store.ErrNoSuchVersion for one of its shape that wraps no upstream id.
func upVID(vid string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(vid)
	if err != nil || len(vid) < minVIDLen || len(b) > 256 || base64.RawURLEncoding.EncodeToString(b) != vid {
		return "", fmt.Errorf("upstream: version id %q: %w", vid, store.ErrInvalidVersionID)
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", fmt.Errorf("upstream: version id %q: %w", vid, store.ErrNoSuchVersion)
		}
	}
	return string(b), nil
}

// stamp sets o.VersionID for upstream version up. o.LastModified comes
// from a HEAD or GET (whole seconds): a version made within a second
// before a change of the bucket's state is looked up in a listing
// (milliseconds).
func (s *Store) stamp(ctx context.Context, bucket string, o *store.Object, up string) error {
	if !s.versioned() {
		return nil
	}
	h, err := s.history(ctx, bucket, false)
	if err != nil {
		return err
	}
	mtime := o.LastModified
	if up != store.NullVersion && up != "" && mtime.Truncate(time.Second).Equal(mtime) && h.near(mtime) {
		if mtime, err = s.versionTime(ctx, s.dataName(bucket, o.Key), up); err != nil {
			return err
		}
	}
	o.VersionID = h.vid(up, mtime)
	return nil
}

// versionTime returns the listing mtime of version up of name.
func (s *Store) versionTime(ctx context.Context, name, up string) (time.Time, error) {
	vs, _, err := s.nameVersions(ctx, name, "", 1000)
	if err != nil {
		return time.Time{}, err
	}
	for _, v := range vs {
		if v.VersionID == up {
			return v.LastModified, nil
		}
	}
	return time.Time{}, fmt.Errorf("upstream: version vanished: %w", store.ErrNoSuchVersion)
}

// resolveVID maps a client's version id of key to the upstream's: the
// null version is looked up (found false if the key has none).
func (s *Store) resolveVID(ctx context.Context, bucket, key, vid string) (up string, found bool, err error) {
	if vid != store.NullVersion {
		up, err := upVID(vid)
		if errors.Is(err, store.ErrNoSuchVersion) {
			return "", false, nil
		}
		return up, err == nil, err
	}
	h, err := s.history(ctx, bucket, false)
	if err != nil {
		return "", false, err
	}
	name := s.dataName(bucket, key)
	marker := ""
	for {
		vs, more, err := s.nameVersions(ctx, name, marker, 1000)
		if err != nil {
			return "", false, err
		}
		for _, v := range vs {
			if h.null(v.VersionID, v.LastModified) {
				return v.VersionID, true, nil
			}
		}
		if !more || len(vs) == 0 {
			return "", false, nil
		}
		marker = vs[len(vs)-1].VersionID
	}
}

// ---- reads ----

// headVersion describes version vid of key ("" the current one) and
// returns its upstream id.
func (s *Store) headVersion(ctx context.Context, bucket, key, vid string) (*store.Object, string, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, "", err
	}
	up := ""
	if vid != "" {
		var found bool
		var err error
		if up, found, err = s.resolveVID(ctx, bucket, key, vid); err != nil {
			return nil, "", err
		}
		if !found {
			if err := s.checkBucket(ctx, bucket); err != nil {
				return nil, "", err
			}
			return nil, "", fmt.Errorf("upstream: %w", store.ErrNoSuchVersion)
		}
	}
	name := s.dataName(bucket, key)
	s.gates.read(ctx, name)
	info, err := s.core.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{VersionID: up})
	if err != nil {
		return nil, "", s.readErr(ctx, bucket, key, vid, info, err)
	}
	o, err := s.describe(ctx, bucket, key, info)
	if err != nil {
		return nil, "", err
	}
	return o, info.VersionID, s.stamp(ctx, bucket, o, info.VersionID)
}

// readErr maps a failed read of version vid ("" the current one): a
// delete marker is a *store.DeleteMarkerError, a version the key does
// not have ErrNoSuchVersion.
func (s *Store) readErr(ctx context.Context, bucket, key, vid string, info minio.ObjectInfo, err error) error {
	r := minio.ToErrorResponse(err)
	switch {
	case vid != "" && (r.StatusCode == http.StatusMethodNotAllowed || info.IsDeleteMarker):
		return &store.DeleteMarkerError{VersionID: vid, ByID: true}
	case vid != "" && (r.StatusCode == http.StatusNotFound || r.Code == "InvalidArgument"):
		if err := s.checkBucket(ctx, bucket); err != nil {
			return err
		}
		return fmt.Errorf("upstream: %w", store.ErrNoSuchVersion)
	case vid == "" && isNotFound(err):
		if err := s.checkBucket(ctx, bucket); err != nil {
			return err
		}
		return s.currentMarker(ctx, bucket, key)
	}
	return s.mapErr(err)
}

// currentMarker returns the error of a key without a current object: a
// DeleteMarkerError when its newest version is a delete marker.
func (s *Store) currentMarker(ctx context.Context, bucket, key string) error {
	vs, _, err := s.nameVersions(ctx, s.dataName(bucket, key), "", 1)
	if err != nil {
		return err
	}
	if len(vs) == 1 && vs[0].Marker {
		h, err := s.history(ctx, bucket, false)
		if err != nil {
			return err
		}
		return &store.DeleteMarkerError{VersionID: h.vid(vs[0].VersionID, vs[0].LastModified),
			LastModified: vs[0].LastModified}
	}
	return fmt.Errorf("upstream: %w", store.ErrNoSuchKey)
}

// ---- writes ----

// settle runs after version up of key was written (versioned upstream):
// if up is a null version, the null versions of the key older than it
// are removed. It returns the VersionID to report. A bucket whose cached
// state is Enabled is taken at its word (a Suspend through another
// gateway shows within BucketCacheTTL).
func (s *Store) settle(ctx context.Context, bucket, key, up string) (string, error) {
	if !s.versioned() {
		return "", nil
	}
	h, err := s.history(ctx, bucket, false)
	if err != nil {
		return "", err
	}
	if h.state() == store.Enabled {
		return userVID(up), nil
	}
	vs, _, err := s.nameVersions(ctx, s.dataName(bucket, key), "", 1000)
	if err != nil {
		return "", err
	}
	own := slices.IndexFunc(vs, func(v upVersion) bool { return v.VersionID == up })
	if own < 0 {
		return h.vid(up, time.Now()), nil // removed already by a newer write
	}
	if len(vs) == 1 {
		return h.vid(up, vs[own].LastModified), nil // nothing else
	}
	if h, err = s.history(ctx, bucket, true); err != nil {
		return "", err
	}
	err = s.removeNull(ctx, bucket, key, h, vs, own)
	if errors.Is(err, store.ErrObjectLocked) {
		err = nil // a locked null version outlives the write
	}
	return h.vid(up, vs[own].LastModified), err
}

// removeNull runs after vs[own] was made (vs: the key's versions, newest
// first): if it is a null version, every null version but the newest is
// removed. The newest may be another writer's that started later but
// finished first (upstream times are those of a write's start), which
// then did not see vs[own]: so a superseded write removes its own
// version too, and racing writers leave one null version.
func (s *Store) removeNull(ctx context.Context, bucket, key string, h history, vs []upVersion, own int) error {
	if !h.null(vs[own].VersionID, vs[own].LastModified) {
		return nil
	}
	var old []upVersion
	newest := true
	for _, v := range vs {
		if !h.null(v.VersionID, v.LastModified) {
			continue
		}
		if !newest {
			old = append(old, v)
		}
		newest = false
	}
	return s.removeVersions(ctx, bucket, key, old)
}

// removeVersions deletes versions of key and credits them.
func (s *Store) removeVersions(ctx context.Context, bucket, key string, vs []upVersion) error {
	if len(vs) == 0 {
		return nil
	}
	name := s.dataName(bucket, key)
	var ups []string
	var locked error
	for _, v := range vs {
		done := s.gates.write(name) // readers of the key wait (gate.go)
		_, _, err := s.rawDelete(ctx, name, v.VersionID, store.GovernanceBypass(ctx))
		done()
		if err != nil && !isNotFound(err) {
			if err = s.deleteErr(err); errors.Is(err, store.ErrObjectLocked) {
				locked = err // a locked version stays; the others go
				continue
			}
			return err
		}
		s.account(versionEffect(key, v, -1))
		ups = append(ups, v.VersionID)
	}
	if err := s.dropSidecars(ctx, bucket, key, ups); err != nil {
		return err
	}
	return locked
}

// versionEffect is what adding (sign 1) or removing (-1) version v of key
// does to the usage.
func versionEffect(key string, v upVersion, sign int64) effect {
	var e effect
	n := store.DeleteMarkerCost(key)
	if !v.Marker {
		n = store.ObjectCost(key, v.Size, nil)
		e.objs = sign
	}
	if sign > 0 {
		e.added = n
	} else {
		e.freed = n
	}
	return e
}

// emptySHA256 is the SHA-256 of an empty body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// signedDo sends a bodiless request for upstream name (query and header
// as given), signed, and returns a 2xx answer (its body to be closed by
// the caller); any other answer is a minio.ErrorResponse.
func (s *Store) signedDo(ctx context.Context, method, name string, query url.Values, h http.Header) (*http.Response, error) {
	u, err := url.Parse(s.cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	target := u.Scheme + "://" + u.Host + "/" + s.bucket + "/" + s3utils.EncodePath(name)
	if len(query) > 0 {
		target += "?" + s3utils.QueryEncode(query)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	req = signer.SignV4(*req, s.cfg.AccessKey, s.cfg.SecretKey, "", s.cfg.Region)
	resp, err := s.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, answerErr(resp)
	}
	return resp, nil
}

// rawDelete sends DELETE name (?versionId=up): it returns the version
// removed or the delete marker made, and whether it is a delete marker.
func (s *Store) rawDelete(ctx context.Context, name, up string, bypass bool) (string, bool, error) {
	var q url.Values
	if up != "" {
		q = url.Values{"versionId": {up}}
	}
	h := http.Header{}
	if bypass {
		h.Set("X-Amz-Bypass-Governance-Retention", "true")
	}
	resp, err := s.signedDo(ctx, http.MethodDelete, name, q, h)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.Header.Get("X-Amz-Version-Id"), resp.Header.Get("X-Amz-Delete-Marker") == "true", nil
}

// purgeName removes every version of the internal upstream name (on a
// plain upstream: the object).
func (s *Store) purgeName(ctx context.Context, name string) error {
	if !s.versioned() {
		err := s.core.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
		if err != nil && !isNotFound(err) {
			return s.mapErr(err)
		}
		return nil
	}
	for {
		vs, more, err := s.nameVersions(ctx, name, "", 1000)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if _, _, err := s.rawDelete(ctx, name, v.VersionID, false); err != nil && !isNotFound(err) {
				return s.mapErr(err)
			}
		}
		if len(vs) == 0 {
			return s.purgeUnlisted(ctx, name)
		}
		if !more {
			return nil
		}
	}
}

// maxUnlistedVersions bounds purgeUnlisted.
const maxUnlistedVersions = 100

// purgeUnlisted removes the versions of name newest first, as HEAD finds
// them: for names an upstream leaves out of its version listings
// (SeaweedFS hides every ".uploads" directory, where it keeps its own
// multipart uploads).
func (s *Store) purgeUnlisted(ctx context.Context, name string) error {
	for range maxUnlistedVersions {
		info, err := s.core.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
		switch {
		case err == nil || info.IsDeleteMarker && info.VersionID != "":
		case isNotFound(err):
			return nil
		default:
			return s.mapErr(err)
		}
		if _, _, err := s.rawDelete(ctx, name, info.VersionID, false); err != nil && !isNotFound(err) {
			return s.mapErr(err)
		}
	}
	return fmt.Errorf("upstream: more than %d versions of an internal object", maxUnlistedVersions)
}

// purgeOlder removes the versions of internal name older than up (after
// an overwrite of a configuration document).
func (s *Store) purgeOlder(ctx context.Context, name, up string) error {
	if !s.versioned() || up == "" {
		return nil
	}
	vs, _, err := s.nameVersions(ctx, name, up, 1000)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if _, _, err := s.rawDelete(ctx, name, v.VersionID, false); err != nil && !isNotFound(err) {
			return s.mapErr(err)
		}
	}
	return nil
}

// deleteVersioned is DeleteObjectVersion on a versioned upstream.
func (s *Store) deleteVersioned(ctx context.Context, bucket, key, vid string) (store.DeleteResult, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return store.DeleteResult{}, err
	}
	if err := s.checkBucket(ctx, bucket); err != nil {
		return store.DeleteResult{}, err
	}
	name := s.dataName(bucket, key)
	if vid == "" {
		return s.deleteCurrent(ctx, bucket, key)
	}
	res := store.DeleteResult{VersionID: vid}
	up, found, err := s.resolveVID(ctx, bucket, key, vid)
	if errors.Is(err, store.ErrInvalidVersionID) || err == nil && !found {
		return res, nil // no such version: nothing to delete
	}
	if err != nil {
		return res, err
	}
	unlock := s.lockKey(name + "\x00" + up)
	defer unlock()
	v, ok, err := s.findVersion(ctx, bucket, key, up)
	if err != nil || !ok {
		return res, err
	}
	done := s.gates.write(name)
	_, _, err = s.rawDelete(ctx, name, up, store.GovernanceBypass(ctx))
	done()
	if err != nil {
		if isNotFound(err) {
			return res, nil
		}
		return res, s.deleteErr(err)
	}
	res.DeleteMarker = v.Marker
	s.account(versionEffect(key, v, -1))
	if v.tagged {
		return res, s.dropSidecars(ctx, bucket, key, []string{up})
	}
	return res, nil
}

// deleteErr maps a refused delete: a version under object lock.
func (s *Store) deleteErr(err error) error {
	r := minio.ToErrorResponse(err)
	// MinIO answers 400 InvalidRequest "Object is WORM protected…".
	if r.StatusCode == http.StatusForbidden || r.Code == "ObjectLocked" || strings.Contains(r.Message, "WORM") {
		return fmt.Errorf("upstream: %s: %w", r.Code, store.ErrObjectLocked)
	}
	return s.mapErr(err)
}

// findVersion returns version up of key as a listing describes it.
func (s *Store) findVersion(ctx context.Context, bucket, key, up string) (upVersion, bool, error) {
	name := s.dataName(bucket, key)
	info, err := s.core.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{VersionID: up})
	switch {
	case err == nil:
		return upVersion{Name: name, VersionID: up, Size: info.Size, LastModified: info.LastModified,
			tagged: info.UserTagCount > 0}, true, nil
	case minio.ToErrorResponse(err).StatusCode == http.StatusMethodNotAllowed || info.IsDeleteMarker:
		return upVersion{Name: name, VersionID: up, Marker: true}, true, nil
	case isNotFound(err) || isCode(err, "InvalidArgument"):
		return upVersion{}, false, nil
	}
	return upVersion{}, false, s.mapErr(err)
}

// deleteCurrent deletes key without a version id: in an unversioned
// bucket it removes the key's versions (listed, then the state read
// afresh: see the top of the file); otherwise it adds a delete marker,
// which in a Suspended bucket is the null version and replaces the
// older one.
func (s *Store) deleteCurrent(ctx context.Context, bucket, key string) (store.DeleteResult, error) {
	name := s.dataName(bucket, key)
	h, err := s.history(ctx, bucket, false)
	if err != nil {
		return store.DeleteResult{}, err
	}
	if h.state() == store.Unversioned {
		vs, _, err := s.nameVersions(ctx, name, "", 1000)
		if err != nil {
			return store.DeleteResult{}, err
		}
		if len(vs) > 0 {
			if h, err = s.history(ctx, bucket, true); err != nil {
				return store.DeleteResult{}, err
			}
		}
		if h.state() == store.Unversioned {
			return store.DeleteResult{}, s.removeVersions(ctx, bucket, key, vs)
		}
	}
	// MinIO keeps no two delete markers in a row (a delete of a deleted
	// key replaces its marker) and makes none for a key without
	// versions: what the delete did is found out to charge it exactly.
	top, _, err := s.nameVersions(ctx, name, "", 1)
	if err != nil {
		return store.DeleteResult{}, err
	}
	done := s.gates.write(name)
	dm, _, err := s.rawDelete(ctx, name, "", false)
	done()
	if err != nil {
		return store.DeleteResult{}, s.deleteErr(err)
	}
	if dm == "" {
		return store.DeleteResult{}, nil // no marker made
	}
	e := versionEffect(key, upVersion{Marker: true}, 1)
	if len(top) == 1 && top[0].Marker && top[0].VersionID != dm {
		if _, still, err := s.findVersion(ctx, bucket, key, top[0].VersionID); err == nil && !still {
			e.freed = e.added // the old marker was replaced
		}
	}
	if len(top) == 1 && top[0].VersionID == dm {
		e = effect{} // the marker there already
	}
	s.account(e)
	res := store.DeleteResult{VersionID: userVID(dm), DeleteMarker: true}
	if h.state() == store.Enabled {
		return res, nil
	}
	vs, _, err := s.nameVersions(ctx, name, "", 1000)
	if err != nil {
		return res, err
	}
	own := slices.IndexFunc(vs, func(v upVersion) bool { return v.VersionID == dm })
	if own < 0 {
		return res, nil
	}
	if h, err = s.history(ctx, bucket, true); err != nil {
		return res, err
	}
	res.VersionID = h.vid(dm, vs[own].LastModified)
	return res, s.removeNull(ctx, bucket, key, h, vs, own)
}
