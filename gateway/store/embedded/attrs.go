package embedded

import (
	"context"
	"fmt"
	"maps"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// UpdateObject changes the attributes of the key's current version in
// place, in one index transaction: the record is rewritten with the new
// attributes, its data files stay.
func (s *Store) UpdateObject(ctx context.Context, bucket, key string, fn func(*store.Object) error) (*store.Object, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, err
	}
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	var out *store.Object
	var res error
	err := s.update(func(tx *bbolt.Tx) error {
		out, res = nil, nil
		objs := objectsOf(tx, bucket)
		if objs == nil {
			res = store.ErrNoSuchBucket
			return nil
		}
		v := objs.Get([]byte(key))
		if v == nil {
			res = store.ErrNoSuchKey
			return nil
		}
		rec, err := decodeObject(v, decodeFull)
		if err != nil {
			return err
		}
		before := rec.cost(key)
		o := rec.object(key)
		o.Meta.User = maps.Clone(o.Meta.User)
		if res = fn(o); res != nil {
			return nil
		}
		rec.meta.CopyAttrs(&o.Meta)
		if err := objs.Put([]byte(key), rec.encode()); err != nil {
			return err
		}
		out = rec.object(key)
		return addUsage(tx, rec.cost(key)-before, 0)
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: update %s/%s: %w", bucket, key, err)
	}
	return out, res
}
