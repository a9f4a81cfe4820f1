package upstream

import (
	"context"
	"fmt"

	"github.com/lambda/storagecli/gateway/store"
)

// UpdateObject is not supported upstream yet: an object's attributes
// travel in its upstream metadata, which only a copy of the object can
// change (and a copy changes a multipart object's ETag). The gateway
// answers 501 NotImplemented; see docs/upstream.md.
func (s *Store) UpdateObject(ctx context.Context, bucket, key string, fn func(*store.Object) error) (*store.Object, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("upstream: changing an object's attributes in place: %w", store.ErrNotSupported)
}
