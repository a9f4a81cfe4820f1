package upstream

import (
	"context"
	"fmt"

	"github.com/lambda/storagecli/gateway/store"
)

// UpdateObjectVersion is not supported upstream, as UpdateObject: object
// lock (retention, legal hold) is refused in upstream mode; see
// docs/objectlock.md.
func (s *Store) UpdateObjectVersion(ctx context.Context, bucket, key, versionID string, fn func(*store.Object) error) (*store.Object, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("upstream: changing a version's attributes in place: %w", store.ErrNotSupported)
}
