package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// Index compaction.
//
// bbolt reuses the pages a delete frees but never shrinks its file, so an
// index that once held much (objects with large metadata, small objects
// kept inline, many uploads) keeps its high-water size after they are
// deleted. That size is bounded: what the index holds is charged to the
// order (store.ObjectCost and the like), so live records never exceed
// the capacity, and the file stays within a small factor of that (copy-
// on-write pages, page slack). Open gives the rest back: when at least
// compactMinFree bytes and half of the file are free pages, it copies the
// live records into a new file (bbolt.Compact), syncs it, and renames it
// over the index. A crash before the rename leaves the old index whole
// (the partial copy is removed by the next Open); after it, the new one,
// synced before the rename, is whole.

const (
	indexFile   = "index.db"
	compactFile = "index.db.compact" // the copy being made

	// compactMinFree is the free space below which Open does not compact.
	compactMinFree = 4 << 20
	// compactTxSize is how many bytes Compact copies per transaction.
	compactTxSize = 64 << 20
)

// openIndex opens the bbolt index at path.
func openIndex(path string, noSync bool) (*bbolt.DB, error) {
	return bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: time.Second,
		// The freelist is rebuilt on open instead of written by every
		// commit, which keeps commits small as the index grows.
		NoFreelistSync: true,
		FreelistType:   bbolt.FreelistMapType,
		NoSync:         noSync,
		// Address space, not memory: only the pages in use are resident.
		// Mapping ahead spares the index its remaps while it grows, each of
		// which waits for every reader and copies the writer's nodes.
		InitialMmapSize: initialMmapSize,
	})
}

// freeBytes returns the size of the index's pages in use or free (its
// high-water mark: bbolt may have grown the file ahead of it) and the
// bytes of its free pages.
func freeBytes(db *bbolt.DB) (size, free int64, err error) {
	err = db.View(func(tx *bbolt.Tx) error {
		size = tx.Size()
		return nil
	})
	st := db.Stats()
	return size, int64(st.FreePageN+st.PendingPageN) * int64(db.Info().PageSize), err
}

// compactIfSparse compacts the index db (opened from dir) when enough of
// it is free, and returns the index to use: the compacted one, or db when
// there was nothing to gain or the compaction failed (which is logged: the
// old index is intact and stays in use). On error db is closed.
func (s *Store) compactIfSparse(db *bbolt.DB) (*bbolt.DB, error) {
	tmp := filepath.Join(s.dir, compactFile)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("embedded: cannot remove an interrupted index compaction", zap.Error(err))
		return db, nil
	}
	size, free, err := freeBytes(db)
	if err != nil || free < compactMinFree || 2*free < size {
		return db, nil
	}
	t0 := time.Now()
	if err := compactInto(db, tmp); err != nil {
		s.log.Warn("embedded: index compaction failed; keeping the index as it is", zap.Error(err))
		os.Remove(tmp)
		return db, nil
	}
	path := db.Path()
	// From the rename on, the compacted copy is the index: reopen it.
	if err := os.Rename(tmp, path); err != nil {
		s.log.Warn("embedded: index compaction failed; keeping the index as it is", zap.Error(err))
		os.Remove(tmp)
		return db, nil
	}
	db.Close()
	if err := syncDir(s.dir); err != nil {
		return nil, fmt.Errorf("embedded: compact index: %w", err)
	}
	ndb, err := openIndex(path, s.opts.NoSync)
	if err != nil {
		return nil, err
	}
	nsize, _, _ := freeBytes(ndb)
	s.log.Info("embedded: compacted the index", zap.Int64("from", size), zap.Int64("to", nsize),
		zap.Duration("took", time.Since(t0)))
	return ndb, nil
}

// compactInto copies db's records into a new index at path and syncs it.
func compactInto(db *bbolt.DB, path string) error {
	dst, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, NoSync: true,
		NoFreelistSync: true, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		return err
	}
	err = bbolt.Compact(dst, db, compactTxSize)
	if err == nil {
		err = dst.Sync()
	}
	return errors.Join(err, dst.Close())
}
