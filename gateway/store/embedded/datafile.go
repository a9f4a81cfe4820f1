package embedded

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"go.uber.org/zap"
)

// Data files. Object and part bytes above the inline limit live in
// dir/data/xx/<32 hex digits>, named by a random 128-bit id (never by the
// key), xx being the id's first byte. A file is written once, synced, and
// then referenced by an index record; it is never modified afterwards, so
// several names (hard links made by CopyObject) may share one inode.
//
// A file is removed only after the commit that unreferenced it. Readers
// that looked the record up before that commit must still be able to open
// it: every lookup that will open files holds s.barrier for reading (the
// lookup and any open inside it), and release takes s.barrier for writing
// once before deciding, so after the barrier no reader can still be about to
// open a file it looked up in an older version. Readers that open files
// later (the segments of a multipart object, opened one by one) pin them
// inside the barrier; release defers the removal of pinned files to the last
// unpin. An open file survives its removal (POSIX unlink semantics).

// fileID names a data file.
type fileID [16]byte

func newFileID() fileID {
	var id fileID
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails (Go 1.24+)
	return id
}

func (id fileID) String() string { return hex.EncodeToString(id[:]) }

// parseFileID parses a data file name.
func parseFileID(name string) (fileID, bool) {
	var id fileID
	if len(name) != 2*len(id) {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(name)); err != nil || id.String() != name {
		return id, false
	}
	return id, true
}

const dataDir = "data"

// fanout is the number of data subdirectories (one per first id byte).
const fanout = 256

func (s *Store) filePath(id fileID) string {
	return filepath.Join(s.dir, dataDir, hex.EncodeToString(id[:1]), id.String())
}

// createFile creates the new data file id for writing.
func (s *Store) createFile(id fileID) (*os.File, error) {
	if _, err := s.data.get(id[0], s.opts.NoSync); err != nil {
		return nil, err
	}
	return openNew(s.filePath(id))
}

// openNew creates a new file for writing (a variable so that a test can
// write to /dev/full, a disk that is always full).
var openNew = func(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

// linkFile gives the data file from a new name, id.
func (s *Store) linkFile(from, id fileID) error {
	if _, err := s.data.get(id[0], s.opts.NoSync); err != nil {
		return err
	}
	return link(s.filePath(from), s.filePath(id))
}

// link is os.Link (a variable for tests).
var link = os.Link

// syncNew makes a new data file's directory entry durable (its bytes were
// synced by the writer). A no-op with NoSync.
func (s *Store) syncNew(id fileID) error {
	if s.opts.NoSync {
		return nil
	}
	d, err := s.data.get(id[0], true)
	if err != nil {
		return err
	}
	return d.Sync()
}

// removeFile deletes a data file; a missing file is not an error.
func (s *Store) removeFile(id fileID) {
	s.data.removed[id[0]].Store(true)
	if err := os.Remove(s.filePath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.leaked.Store(true) // leave the store dirty: Open will collect it
		s.log.Warn("remove data file", zap.Stringer("file", id), zap.Error(err))
	}
}

// discard deletes data files that no committed record references (a failed
// write's own files): no reader can have them open.
func (s *Store) discard(ids ...fileID) {
	for _, id := range ids {
		s.removeFile(id)
	}
}

// pinSet tracks files readers will open later, and removals waiting for
// them.
type pinSet struct {
	mu      sync.Mutex
	pins    map[fileID]int
	pending map[fileID]struct{}
}

// pin marks ids as about to be opened. Callers hold s.barrier for reading.
func (s *Store) pin(ids []fileID) {
	s.pinned.mu.Lock()
	for _, id := range ids {
		s.pinned.pins[id]++
	}
	s.pinned.mu.Unlock()
}

// unpin releases a pin, removing the file if its removal was deferred.
func (s *Store) unpin(id fileID) {
	p := &s.pinned
	p.mu.Lock()
	n := p.pins[id] - 1
	remove := false
	if n > 0 {
		p.pins[id] = n
	} else {
		delete(p.pins, id)
		if _, ok := p.pending[id]; ok {
			delete(p.pending, id)
			remove = true
		}
	}
	p.mu.Unlock()
	if remove {
		s.removeFile(id)
	}
}

// release removes data files unreferenced by a committed change, once no
// reader can still open them.
func (s *Store) release(ids []fileID) {
	if len(ids) == 0 {
		return
	}
	// Wait for lookups that may have seen the old record to open or pin.
	s.barrier.Lock()
	s.barrier.Unlock() //nolint:staticcheck // an empty critical section is the point
	now := ids[:0:0]
	p := &s.pinned
	p.mu.Lock()
	for _, id := range ids {
		if p.pins[id] > 0 {
			p.pending[id] = struct{}{}
		} else {
			now = append(now, id)
		}
	}
	p.mu.Unlock()
	s.discard(now...)
}

// openFile opens a data file for reading.
func (s *Store) openFile(id fileID) (*os.File, error) {
	return os.Open(s.filePath(id))
}

// copyBufSize is the size of the pooled buffers bodies are copied through.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// Block buffers: what new data files are written from, a block at a time.
// An upload holds its block buffer while it waits for its body, so blocks
// are small: a thousand stalled uploads hold 32 MiB, not a GiB (larger
// writes gained nothing measurable: hashing and fsync dominate). They are
// kept on a bounded free list (not a sync.Pool, which the GC empties), so
// a steady stream of uploads allocates none.
const (
	blockBufSize  = 32 << 10 // bytes per write
	maxFreeBlocks = 64       // buffers kept while idle
)

var freeBlocks = make(chan *[]byte, maxFreeBlocks)

// getBlockBuf returns a blockBufSize buffer.
func getBlockBuf() *[]byte {
	select {
	case bp := <-freeBlocks:
		return bp
	default:
	}
	b := make([]byte, blockBufSize)
	return &b
}

// putBlockBuf returns a buffer from getBlockBuf.
func putBlockBuf(bp *[]byte) {
	select {
	case freeBlocks <- bp:
	default:
	}
}
