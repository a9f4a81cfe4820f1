// Package embedded is the gateway's default store: one order's buckets,
// objects and uploads in a local directory, with nothing to install.
//
// Metadata lives in an ordered bbolt index (dir/index.db); object bytes live
// inline in the index (small objects) or in immutable data files named by
// random ids (dir/data/xx/<id>). A write streams the body into a new file,
// syncs it, and then commits the record that references it, so a crash at
// any moment loses no acknowledged write and never exposes a partial
// object; files left unreferenced by a crash are collected by Open.
// Concurrent writes share index commits (group commit, see commit.go).
package embedded

import (
	"errors"
	"sync"
	"sync/atomic"

	"go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway/store"
)

// DefaultInlineLimit is the inline limit used when Options.InlineLimit is 0.
const DefaultInlineLimit = 64 << 10

// Options configure Open.
type Options struct {
	// NoSync skips fsync before acknowledging writes: faster, but recent
	// writes are lost on power loss (not on a process crash).
	NoSync bool
	// Logger receives warnings and cleanup reports; nil means no logs.
	Logger *zap.Logger
	// InlineLimit is the largest object (in bytes) stored inside the index
	// instead of a data file; 0 means DefaultInlineLimit, -1 never inline.
	InlineLimit int
}

// Store is an embedded store.Store rooted at one directory. Create it with
// Open; it is safe for concurrent use.
type Store struct {
	dir         string
	opts        Options
	log         *zap.Logger
	inlineLimit int // -1: never
	db          *bbolt.DB
	data        dataDirs

	changes       chan *change
	committerDone chan struct{}
	closeMu       sync.RWMutex
	closed        bool
	active        atomic.Int64 // operations in flight (may own unreferenced files)
	leaked        atomic.Bool  // a data file could not be removed

	barrier sync.RWMutex // see datafile.go
	pinned  pinSet

	listSteps atomic.Int64 // cursor steps taken by listings (for tests)

	// residentLimit is residentFileLimit (tests raise it to keep the
	// index's pages mapped while they look at them).
	residentLimit atomic.Int64
}

var _ store.Store = (*Store)(nil)

// errClosed is returned by operations on a closed store.
var errClosed = errors.New("embedded: store closed")

// begin registers an operation; it fails once Close has started.
func (s *Store) begin() error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return errClosed
	}
	s.active.Add(1)
	return nil
}

// end unregisters an operation started with begin.
func (s *Store) end() { s.active.Add(-1) }

// view runs fn in a read transaction.
func (s *Store) view(fn func(*bbolt.Tx) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	return s.db.View(fn)
}

// Close stops the store. Operations still running fail. If nothing was in
// flight, it marks the index clean so the next Open can skip the leftover
// scan.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.changes)
	s.closeMu.Unlock()
	<-s.committerDone

	var errs []error
	s.pinned.mu.Lock()
	pending := len(s.pinned.pending)
	s.pinned.mu.Unlock()
	if s.active.Load() == 0 && pending == 0 && !s.leaked.Load() {
		errs = append(errs, s.markClean())
	}
	errs = append(errs, s.data.close(), s.db.Close())
	return errors.Join(errs...)
}

// markClean records a clean shutdown, after making every file removal
// durable (so no unreferenced file can reappear after a power loss), and
// with NoSync everything written.
func (s *Store) markClean() error {
	sync := s.data.syncRemoved
	if s.opts.NoSync {
		sync = func() error { return syncFS(s.data.root) }
	}
	if err := sync(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bktMeta).Put(keyState, stateClean)
	})
	if err != nil {
		return err
	}
	return s.db.Sync()
}
