package embedded

import (
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// Group commit. Every change to the index goes through update, which hands
// the change to a single committer goroutine. The committer takes every
// change queued so far, applies them in order in one bbolt transaction and
// commits it (one fsync pair for the whole group), then answers each
// caller. Changes that arrive while a commit is being synced wait for the
// next one, so the group size adapts to the load with no added delay: a
// lone writer commits at once (unlike bbolt's DB.Batch, which waits
// MaxBatchDelay for company), and N concurrent writers share a commit.
//
// A change function must only touch the transaction and its own result
// variables, and must reset those on entry: it runs again if a change
// grouped with it fails. Expected outcomes (a failed precondition, a
// missing bucket) are results, not errors: a change function returns an
// error only for internal failures, which roll back the group and retry it
// without the failing change.

// maxGroup bounds the changes in one transaction.
const maxGroup = 256

type change struct {
	fn   func(*bbolt.Tx) error
	done chan error
}

// update applies fn in a (grouped) write transaction and returns once it is
// committed (durable unless NoSync).
func (s *Store) update(fn func(*bbolt.Tx) error) error {
	c := &change{fn: fn, done: make(chan error, 1)}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return errClosed
	}
	s.changes <- c
	s.closeMu.RUnlock()
	return <-c.done
}

// committer runs until the changes channel is closed. Between groups it
// keeps the index's mapped pages out of the resident set (see resident.go).
func (s *Store) committer() {
	defer close(s.committerDone)
	group := make([]*change, 0, maxGroup)
	trim := time.NewTicker(trimInterval)
	defer trim.Stop()
	for {
		var c *change
		select {
		case next, ok := <-s.changes:
			if !ok {
				return
			}
			c = next
		case <-trim.C:
			s.trimIndex()
			continue
		}
		group = append(group[:0], c)
	drain:
		for len(group) < maxGroup {
			select {
			case c, ok := <-s.changes:
				if !ok {
					break drain
				}
				group = append(group, c)
			default:
				break drain
			}
		}
		s.commitGroup(group)
		clear(group)
	}
}

func (s *Store) commitGroup(group []*change) {
	for len(group) > 0 {
		tx, err := s.db.Begin(true)
		if err != nil {
			for _, c := range group {
				c.done <- err
			}
			return
		}
		failed, ferr := -1, error(nil)
		for i, c := range group {
			if err := runChange(c.fn, tx); err != nil {
				failed, ferr = i, err
				break
			}
		}
		if failed >= 0 {
			_ = tx.Rollback()
			group[failed].done <- ferr
			group = append(group[:failed:failed], group[failed+1:]...)
			continue
		}
		err = tx.Commit()
		for _, c := range group {
			c.done <- err
		}
		return
	}
}

// runChange runs fn, turning a panic into an error so that one bad change
// cannot take the committer (and the store) down.
func runChange(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("embedded: panic in index change: %v", r)
		}
	}()
	return fn(tx)
}
