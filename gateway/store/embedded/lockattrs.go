package embedded

import (
	"time"

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
