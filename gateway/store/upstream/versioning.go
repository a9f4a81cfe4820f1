package upstream

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/lambda/storagecli/gateway/store"
)

// Versioning needs a versioned upstream bucket (versions.go). On a plain
// one every bucket is unversioned: setting a state is refused with
// store.ErrNotSupported (the gateway answers NotImplemented), and the
// versioned forms of the object operations serve only the current
// version ("" or the null one).

// VersionsUnsupported reports whether the store keeps no versions: its
// upstream bucket is not versioned.
func (s *Store) VersionsUnsupported() bool { return !s.versioned() }

// errPlainUpstream refuses what a plain upstream bucket cannot do.
var errPlainUpstream = fmt.Errorf("upstream: the upstream bucket is not versioned (create it with versioning or object lock): %w", store.ErrNotSupported)

// SetBucketVersioning sets the bucket's versioning state.
func (s *Store) SetBucketVersioning(ctx context.Context, bucket, state string) error {
	if err := s.checkBucket(ctx, bucket); err != nil {
		return err
	}
	if !s.versioned() {
		return errPlainUpstream
	}
	return s.setVersioning(ctx, bucket, state)
}

// BucketVersioning reports the bucket's versioning state.
func (s *Store) BucketVersioning(ctx context.Context, bucket string) (string, error) {
	if err := s.checkBucket(ctx, bucket); err != nil || !s.versioned() {
		return store.Unversioned, err
	}
	h, err := s.history(ctx, bucket, false)
	if err != nil {
		return store.Unversioned, err
	}
	return h.state(), nil
}

// HeadObjectVersion describes version versionID of key.
func (s *Store) HeadObjectVersion(ctx context.Context, bucket, key, versionID string) (*store.Object, error) {
	if !s.versioned() {
		if err := currentOnly(versionID); err != nil {
			return nil, err
		}
		return s.HeadObject(ctx, bucket, key)
	}
	o, _, err := s.headVersion(ctx, bucket, key, versionID)
	return o, err
}

// GetObjectVersion opens version versionID of key.
func (s *Store) GetObjectVersion(ctx context.Context, bucket, key, versionID string, check store.CheckFunc) (*store.Object, io.ReadCloser, error) {
	if !s.versioned() {
		if err := currentOnly(versionID); err != nil {
			return nil, nil, err
		}
		return s.GetObject(ctx, bucket, key, check)
	}
	if versionID == "" {
		return s.GetObject(ctx, bucket, key, check)
	}
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, nil, err
	}
	up, found, err := s.resolveVID(ctx, bucket, key, versionID)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		if err := s.checkBucket(ctx, bucket); err != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("upstream: %w", store.ErrNoSuchVersion)
	}
	return s.getObject(ctx, bucket, key, up, versionID, check)
}

// DeleteObjectVersion deletes version versionID of key, or with "" the
// key (a delete marker in a versioned bucket).
func (s *Store) DeleteObjectVersion(ctx context.Context, bucket, key, versionID string) (store.DeleteResult, error) {
	if s.versioned() {
		return s.deleteVersioned(ctx, bucket, key, versionID)
	}
	if err := currentOnly(versionID); err != nil {
		return store.DeleteResult{VersionID: versionID}, s.checkBucket(ctx, bucket)
	}
	return store.DeleteResult{VersionID: versionID}, s.DeleteObject(ctx, bucket, key)
}

// ListObjectVersions lists the versions and delete markers of the
// bucket from the upstream's version listing; on a plain upstream it is
// not supported (the gateway lists the objects as their null versions).
func (s *Store) ListObjectVersions(ctx context.Context, bucket string, opts store.VersionsOptions) (*store.VersionsPage, error) {
	if !s.versioned() {
		return nil, fmt.Errorf("upstream: list object versions: %w", store.ErrNotSupported)
	}
	if err := s.checkBucket(ctx, bucket); err != nil {
		return nil, err
	}
	limit := opts.Limit
	if limit <= 0 || limit > store.MaxListKeys {
		limit = store.MaxListKeys
	}
	h, err := s.history(ctx, bucket, false)
	if err != nil {
		return nil, err
	}
	base := s.dataBase(bucket)
	km, vm, err := s.versionsStart(ctx, bucket, opts)
	if err != nil {
		return nil, err
	}
	page := &store.VersionsPage{}
	for n := 0; ; {
		up, err := s.listVersions(ctx, base+enc(opts.Prefix), km, vm, min(limit-n+1, 1000))
		if err != nil {
			return nil, err
		}
		seek := false
		for _, v := range up.Versions {
			key, ok := dec(strings.TrimPrefix(v.Name, base))
			if !ok || !strings.HasPrefix(v.Name, base) {
				km, vm = v.Name, v.VersionID
				continue
			}
			if n == limit {
				page.Truncated = true
				return page, nil
			}
			n++
			if cp, ok := commonPrefix(key, opts.Prefix, opts.Delimiter); ok {
				page.CommonPrefixes = append(page.CommonPrefixes, cp)
				page.NextKeyMarker, page.NextVersionIDMarker = cp, ""
				km, vm, seek = base+enc(cp)+maxSuffix, "", true
				break
			}
			vid := store.NullVersion
			if len(h) > 0 {
				vid = h.vid(v.VersionID, v.LastModified)
			}
			page.Versions = append(page.Versions, store.Object{Key: key, Size: v.Size, ETag: v.ETag,
				LastModified: v.LastModified, VersionID: vid, DeleteMarker: v.Marker, IsLatest: v.Latest})
			page.NextKeyMarker, page.NextVersionIDMarker = key, vid
			km, vm = v.Name, v.VersionID
		}
		if !seek && !up.Truncated {
			return page, nil
		}
	}
}

// commonPrefix returns the common prefix key rolls up into, if any.
func commonPrefix(key, prefix, delim string) (string, bool) {
	if delim == "" {
		return "", false
	}
	i := strings.Index(key[len(prefix):], delim)
	if i < 0 {
		return "", false
	}
	return key[:len(prefix)+i+len(delim)], true
}

// versionsStart maps a listing's markers to the upstream's.
func (s *Store) versionsStart(ctx context.Context, bucket string, opts store.VersionsOptions) (km, vm string, err error) {
	base := s.dataBase(bucket)
	if opts.KeyMarker == "" {
		if opts.VersionIDMarker != "" && opts.VersionIDMarker != store.NullVersion {
			_, err = upVID(opts.VersionIDMarker)
		}
		return "", "", err
	}
	if strings.HasPrefix(opts.KeyMarker, opts.Prefix) {
		if cp, ok := commonPrefix(opts.KeyMarker, opts.Prefix, opts.Delimiter); ok {
			return base + enc(cp) + maxSuffix, "", nil
		}
	}
	km = base + enc(opts.KeyMarker)
	if opts.VersionIDMarker == "" {
		return km, "", nil
	}
	up, found, err := s.resolveVID(ctx, bucket, opts.KeyMarker, opts.VersionIDMarker)
	if err != nil || !found {
		return km, "", err
	}
	return km, up, nil
}

// currentOnly accepts the version ids that name an unversioned object:
// none, or the null version.
func currentOnly(versionID string) error {
	if versionID == "" || versionID == store.NullVersion {
		return nil
	}
	return fmt.Errorf("upstream: version %q: %w", versionID, store.ErrNoSuchVersion)
}
