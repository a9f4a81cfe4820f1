package upstream

import (
	"context"
	"fmt"
	"io"

	"github.com/lambda/storagecli/gateway/store"
)

// Versioning is not supported in upstream mode yet: every bucket is
// unversioned, setting a state is refused with store.ErrNotSupported
// (the gateway answers NotImplemented), and the versioned forms of the
// object operations serve only the current version ("" or the null one).

// VersionsUnsupported marks the store as keeping no versions.
func (s *Store) VersionsUnsupported() {}

// SetBucketVersioning refuses: upstream buckets stay unversioned.
func (s *Store) SetBucketVersioning(ctx context.Context, bucket, state string) error {
	if err := s.checkBucket(ctx, bucket); err != nil {
		return err
	}
	return fmt.Errorf("upstream: bucket versioning: %w", store.ErrNotSupported)
}

// BucketVersioning reports every bucket unversioned.
func (s *Store) BucketVersioning(ctx context.Context, bucket string) (string, error) {
	return store.Unversioned, s.checkBucket(ctx, bucket)
}

// HeadObjectVersion serves the current version only.
func (s *Store) HeadObjectVersion(ctx context.Context, bucket, key, versionID string) (*store.Object, error) {
	if err := currentOnly(versionID); err != nil {
		return nil, err
	}
	return s.HeadObject(ctx, bucket, key)
}

// GetObjectVersion serves the current version only.
func (s *Store) GetObjectVersion(ctx context.Context, bucket, key, versionID string, check store.CheckFunc) (*store.Object, io.ReadCloser, error) {
	if err := currentOnly(versionID); err != nil {
		return nil, nil, err
	}
	return s.GetObject(ctx, bucket, key, check)
}

// DeleteObjectVersion deletes the current version (the null one); any
// other id names no version, which is no error (S3 semantics).
func (s *Store) DeleteObjectVersion(ctx context.Context, bucket, key, versionID string) (store.DeleteResult, error) {
	if err := currentOnly(versionID); err != nil {
		return store.DeleteResult{VersionID: versionID}, s.checkBucket(ctx, bucket)
	}
	return store.DeleteResult{VersionID: versionID}, s.DeleteObject(ctx, bucket, key)
}

// UpdateObjectVersion updates the current version only.
func (s *Store) UpdateObjectVersion(ctx context.Context, bucket, key, versionID string, fn func(*store.Object) error) (*store.Object, error) {
	if err := currentOnly(versionID); err != nil {
		return nil, err
	}
	return s.UpdateObject(ctx, bucket, key, fn)
}

// ListObjectVersions is not supported: the gateway lists the objects as
// their null versions instead (store.ErrNotSupported).
func (s *Store) ListObjectVersions(ctx context.Context, bucket string, opts store.VersionsOptions) (*store.VersionsPage, error) {
	return nil, fmt.Errorf("upstream: list object versions: %w", store.ErrNotSupported)
}

// currentOnly accepts the version ids that name an unversioned object:
// none, or the null version.
func currentOnly(versionID string) error {
	if versionID == "" || versionID == store.NullVersion {
		return nil
	}
	return fmt.Errorf("upstream: version %q: %w", versionID, store.ErrNoSuchVersion)
}
