package upstream

import (
	"context"
	"fmt"

	"github.com/lambda/storagecli/gateway/store"
)

// DeleteObjectIf is not supported upstream: the check and the delete
// would be two requests, and a write between them would be deleted.
func (s *Store) DeleteObjectIf(ctx context.Context, bucket, key string, check func(*store.Object) error) (store.DeleteResult, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return store.DeleteResult{}, err
	}
	return store.DeleteResult{}, fmt.Errorf("upstream: conditional delete: %w", store.ErrNotSupported)
}
