package upstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/lambda/storagecli/gateway/store"
)

// maxCondDeleteAttempts bounds DeleteObjectIf's retries when a write
// slips in between its check and its delete.
const maxCondDeleteAttempts = 8

// DeleteObjectIf deletes key if check accepts its current object. On a
// versioned upstream the delete is tied to the version checked: in an
// unversioned bucket that version alone is removed by id (a write that
// came after the check stays); in a versioned bucket a delete marker is
// added and, if the version beneath it is not the one checked (a write
// slipped in), removed again and the check repeated on the new current
// version. On a plain upstream the check and the delete would be two
// requests, and a write between them would be deleted: not supported.
func (s *Store) DeleteObjectIf(ctx context.Context, bucket, key string, check func(*store.Object) error) (store.DeleteResult, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return store.DeleteResult{}, err
	}
	if !s.versioned() {
		return store.DeleteResult{}, fmt.Errorf("upstream: conditional delete needs a versioned upstream bucket: %w", store.ErrNotSupported)
	}
	if err := s.checkBucket(ctx, bucket); err != nil {
		return store.DeleteResult{}, err
	}
	for attempt := 0; ; attempt++ {
		cur, up, err := s.currentVersion(ctx, bucket, key)
		if err != nil {
			return store.DeleteResult{}, err
		}
		if err := check(cur); err != nil {
			return store.DeleteResult{}, err
		}
		res, done, err := s.deleteChecked(ctx, bucket, key, up, cur != nil)
		if err != nil || done {
			return res, err
		}
		if attempt == maxCondDeleteAttempts {
			return store.DeleteResult{}, fmt.Errorf("upstream: conditional delete of a key written without pause: %w", ErrUnavailable)
		}
	}
}

// currentVersion returns key's current object (nil if none) and the
// upstream id of its newest version ("" if none).
func (s *Store) currentVersion(ctx context.Context, bucket, key string) (*store.Object, string, error) {
	o, info, err := s.versionInfo(ctx, bucket, key, "")
	var dme *store.DeleteMarkerError
	switch {
	case err == nil:
		return o, info.VersionID, nil
	case errors.As(err, &dme) || errors.Is(err, store.ErrNoSuchKey):
		top, _, err := s.nameVersions(ctx, s.dataName(bucket, key), "", 1)
		if err != nil || len(top) == 0 {
			return nil, "", err
		}
		return nil, top[0].VersionID, nil
	}
	return nil, "", err
}

// deleteChecked deletes key as DeleteObject does if its newest version
// is still up, an object version (isObj) or not ("" none, or a delete
// marker: the key is deleted already, and a marker is added without a
// check, as MinIO may replace the one there); done is false when it was
// not.
func (s *Store) deleteChecked(ctx context.Context, bucket, key, up string, isObj bool) (store.DeleteResult, bool, error) {
	name := s.dataName(bucket, key)
	h, err := s.history(ctx, bucket, true)
	if err != nil {
		return store.DeleteResult{}, false, err
	}
	if h.state() == store.Unversioned {
		if !isObj {
			return store.DeleteResult{}, true, nil
		}
		v, ok, err := s.findVersion(ctx, bucket, key, up)
		if err != nil || !ok {
			return store.DeleteResult{}, ok, err // gone meanwhile: check again
		}
		return store.DeleteResult{}, true, s.removeVersions(ctx, bucket, key, []upVersion{v})
	}
	res, err := s.deleteCurrent(ctx, bucket, key)
	if err != nil || !res.DeleteMarker || !isObj {
		return res, true, err
	}
	dm, _ := upVID(res.VersionID)
	vs, _, err := s.nameVersions(ctx, name, dm, 1)
	if err != nil {
		return res, true, err
	}
	if len(vs) == 1 && vs[0].VersionID == up {
		return res, true, nil
	}
	// A write came between the check and the marker: take the marker away.
	if _, err := s.deleteVersioned(ctx, bucket, key, res.VersionID); err != nil {
		return res, true, err
	}
	return store.DeleteResult{}, false, nil
}
