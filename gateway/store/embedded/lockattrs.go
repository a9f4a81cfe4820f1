package embedded

import (
	"context"
	"fmt"
	"maps"
	"time"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// lockCheck is the object lock rule a delete applies inside its
// transaction (deleteVersionTx): the time of the delete and whether it
// may bypass GOVERNANCE retention.
type lockCheck struct {
	now    time.Time
	bypass bool
}

// locked reports whether rec's object lock forbids deleting it.
func (lk lockCheck) locked(rec *objRecord) bool {
	return !rec.marker && store.Locked(&rec.meta, lk.now, lk.bypass)
}

// checkLockVersioning applies store.ErrLockNeedsVersioning to bucket b
// about to have the configuration document name set ("" none) and the
// versioning state state.
func checkLockVersioning(b *bbolt.Bucket, name, state string) error {
	if state == store.Enabled {
		return nil
	}
	if name == store.ConfigObjectLock {
		return store.ErrLockNeedsVersioning
	}
	if cfg := b.Bucket(keyConfigs); name == "" && cfg != nil && cfg.Get([]byte(store.ConfigObjectLock)) != nil {
		return store.ErrLockNeedsVersioning
	}
	return nil
}

// UpdateObjectVersion is UpdateObject of version versionID ("" the
// current one), wherever the version is (current in o, noncurrent in v),
// in one index transaction.
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
	err := s.update(func(tx *bbolt.Tx) (err error) {
		out, res, err = updateVersionTx(tx, bucket, key, versionID, fn)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: update %s/%s: %w", bucket, key, err)
	}
	return out, res
}

// updateVersionTx rewrites a version's record with the attributes fn
// sets; res is the expected failure, if any.
func updateVersionTx(tx *bbolt.Tx, bucket, key, versionID string, fn func(*store.Object) error) (out *store.Object, res, err error) {
	vb := openVBucket(tx, bucket)
	if vb == nil {
		return nil, store.ErrNoSuchBucket, nil
	}
	l, err := vb.locate(key, versionID, decodeFull)
	if err == store.ErrInvalidVersionID {
		return nil, err, nil
	}
	if err != nil {
		return nil, nil, err
	}
	rec, res := readable(l, versionID)
	if res != nil {
		return nil, res, nil
	}
	before := rec.cost(key)
	o := rec.object(key)
	o.Meta.User = maps.Clone(o.Meta.User)
	if res := fn(o); res != nil {
		return nil, res, nil
	}
	rec.meta.CopyAttrs(&o.Meta)
	if l.current {
		err = vb.objs.Put([]byte(key), rec.encode())
	} else {
		err = vb.vers.Put(l.vkey, rec.encode())
	}
	if err != nil {
		return nil, nil, err
	}
	return rec.object(key), nil, addUsage(tx, rec.cost(key)-before, 0)
}
