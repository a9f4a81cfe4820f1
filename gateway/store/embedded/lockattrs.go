package embedded

import (
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
