package embedded

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// DeleteObjectIf deletes key as DeleteObject does if check accepts its
// current object, in the transaction of the delete.
func (s *Store) DeleteObjectIf(ctx context.Context, bucket, key string, check func(*store.Object) error) (store.DeleteResult, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return store.DeleteResult{}, err
	}
	if err := s.begin(); err != nil {
		return store.DeleteResult{}, err
	}
	defer s.end()
	now := time.Now().UnixNano()
	var (
		out store.DeleteResult
		old []fileID
		res error
	)
	err := s.update(func(tx *bbolt.Tx) (err error) {
		out, old, res = store.DeleteResult{}, nil, nil
		vb := openVBucket(tx, bucket)
		if vb == nil {
			res = store.ErrNoSuchBucket
			return nil
		}
		cur, err := vb.current(key, decodeHead)
		if err != nil {
			return err
		}
		var obj *store.Object
		if cur != nil {
			obj = cur.object(key)
		}
		if res = check(obj); res != nil {
			return nil
		}
		out, old, res, err = deleteTx(tx, bucket, key, now)
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
