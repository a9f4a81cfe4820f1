package embedded

import (
	"context"
	"fmt"
	"maps"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// UpdateObject changes the attributes of the key's current version in
// place (see UpdateObjectVersion).
func (s *Store) UpdateObject(ctx context.Context, bucket, key string, fn func(*store.Object) error) (*store.Object, error) {
	return s.UpdateObjectVersion(ctx, bucket, key, "", fn)
}

// UpdateObjectVersion changes the attributes of version versionID ("" the
// current one) in place, in one index transaction: the record is
// rewritten where it is (the current object or a noncurrent version) with
// the new attributes, its data files stay.
func (s *Store) UpdateObjectVersion(ctx context.Context, bucket, key, versionID string, fn func(*store.Object) error) (*store.Object, error) {
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
		vb := openVBucket(tx, bucket)
		if vb == nil {
			res = store.ErrNoSuchBucket
			return nil
		}
		l, err := vb.locate(key, versionID, decodeFull)
		if err == store.ErrInvalidVersionID {
			res = err
			return nil
		}
		if err != nil {
			return err
		}
		rec, err := readable(l, versionID)
		if err != nil {
			res = err
			return nil
		}
		before := rec.cost(key)
		o := rec.object(key)
		o.Meta.User = maps.Clone(o.Meta.User)
		if res = fn(o); res != nil {
			return nil
		}
		rec.meta.CopyAttrs(&o.Meta)
		b, k := vb.objs, []byte(key)
		if !l.current {
			b, k = vb.vers, l.vkey
		}
		if err := b.Put(k, rec.encode()); err != nil {
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
