package embedded

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/lambda/storagecli/gateway/store"
)

// received is a body read into the store but not yet referenced by the
// index: inline bytes, or a new synced data file.
type received struct {
	size   int64
	md5    [16]byte
	sum    store.Checksum
	inline bool
	data   []byte // inline bytes
	file   fileID // data file, if !inline
}

// receive reads in.Body to EOF into memory (if it fits the inline limit and
// inline is allowed) or a new data file, enforcing in.Size, and calls
// in.Sums once after EOF. On error nothing is left behind. No index
// transaction is held while reading.
func (s *Store) receive(ctx context.Context, in store.PutInput, allowInline bool) (*received, error) {
	body := in.Body
	if body == nil {
		body = eofReader{}
	}
	var own hash.Hash
	if in.Sums == nil {
		own = md5.New()
		body = io.TeeReader(body, own)
	}
	limit := int64(-1)
	if allowInline {
		limit = int64(s.inlineLimit)
	}
	r := &received{}
	var head []byte
	if limit >= 0 && (in.Size < 0 || in.Size <= limit) {
		want := limit + 1
		if in.Size >= 0 {
			want = in.Size + 1
		}
		bp := headBufs(int(want))
		buf := (*bp)[:want]
		n, eof, err := fill(body, buf)
		if err != nil {
			headPool.Put(bp)
			return nil, err
		}
		switch {
		case eof && in.Size >= 0 && int64(n) != in.Size:
			headPool.Put(bp)
			return nil, fmt.Errorf("embedded: body has %d bytes, declared %d: %w", n, in.Size, store.ErrIncompleteBody)
		case eof:
			r.inline, r.size, r.data = true, int64(n), bytes.Clone(buf[:n])
			headPool.Put(bp)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return r, s.finishSums(r, in, own)
		case in.Size >= 0:
			headPool.Put(bp)
			return nil, fmt.Errorf("embedded: body longer than declared %d bytes: %w", in.Size, store.ErrIncompleteBody)
		}
		head = buf[:n]
		defer headPool.Put(bp)
	}
	if err := s.receiveFile(r, body, head, in.Size); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		s.discard(r.file)
		return nil, err
	}
	if err := s.finishSums(r, in, own); err != nil {
		s.discard(r.file)
		return nil, err
	}
	return r, nil
}

// receiveFile streams head and then body into a new data file and syncs it.
func (s *Store) receiveFile(r *received, body io.Reader, head []byte, size int64) (err error) {
	id := newFileID()
	f, err := s.createFile(id)
	if err != nil {
		return fmt.Errorf("embedded: create data file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			s.discard(id)
		}
	}()
	src := body
	if size >= 0 {
		// One byte more than expected tells a long body from an exact one.
		src = io.LimitReader(body, size-int64(len(head))+1)
	}
	n, err := writeData(f, head, src, size)
	if err != nil {
		return err // the body's error, unchanged (or a write error)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("embedded: body has %d bytes or more, declared %d: %w", n, size, store.ErrIncompleteBody)
	}
	if !s.opts.NoSync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("embedded: sync data file: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("embedded: close data file: %w", err)
	}
	if err := s.syncNew(id); err != nil {
		return fmt.Errorf("embedded: sync data dir: %w", err)
	}
	r.size, r.file = n, id
	return nil
}

// writeData writes head and then src, read to EOF, to f and returns the
// bytes written. size is the declared length (-1 unknown): a large one is
// written with direct writes (direct.go) when a direct buffer is free and
// the file system takes them. An error reading src is returned unchanged.
// It is the one write loop of new data files: a transformation of the
// bytes (such as encryption) belongs in src.
func writeData(f *os.File, head []byte, src io.Reader, size int64) (int64, error) {
	if size >= directMinSize && len(head) == 0 {
		if bp := getDirectBuf(); bp != nil {
			defer putDirectBuf(bp)
			if setDirect(f, true) == nil {
				return writeDirect(f, *bp, src)
			}
		}
	}
	bp := getBlockBuf()
	defer putBlockBuf(bp)
	if len(head) > 0 {
		if _, err := f.Write(head); err != nil {
			return 0, fmt.Errorf("embedded: write data file: %w", err)
		}
	}
	n, err := writeBlocks(f, *bp, src)
	return int64(len(head)) + n, err
}

// writeBlocks copies src to f through buf, one write per full buffer.
func writeBlocks(f *os.File, buf []byte, src io.Reader) (int64, error) {
	var total int64
	for {
		n, eof, err := fill(src, buf)
		if err != nil {
			return total, err
		}
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return total, fmt.Errorf("embedded: write data file: %w", err)
			}
			total += int64(n)
		}
		if eof {
			return total, nil
		}
	}
}

// writeDirect copies src to f, which has O_DIRECT on, through the
// directBufs aligned buffers of set (direct.go): each full buffer is
// written (pwrite at its offset) on its own goroutine while src is read
// into the next, so up to directBufs-1 writes are in flight, a buffer being
// reused only once its write is done. At the end of src the last buffer is
// written directly up to its last whole directAlign bytes, and its tail with
// O_DIRECT off. A direct write the file system refuses (EINVAL) is done
// again through the page cache, and so is the rest.
func writeDirect(f *os.File, set []byte, src io.Reader) (int64, error) {
	var (
		total   int64 // bytes written
		off     int64 // where the next buffer goes
		pending [directBufs]chan error
		at      [directBufs]int64
		size    [directBufs]int
	)
	buf := func(i int) []byte { return set[i*directBufSize : (i+1)*directBufSize] }
	// wait waits for buffer i's write, if one is in flight.
	wait := func(i int) error {
		if pending[i] == nil {
			return nil
		}
		err := <-pending[i]
		pending[i] = nil
		if errors.Is(err, syscall.EINVAL) {
			if err = setDirect(f, false); err == nil {
				_, err = f.WriteAt(buf(i)[:size[i]], at[i])
			}
		}
		if err != nil {
			return fmt.Errorf("embedded: write data file: %w", err)
		}
		total += int64(size[i])
		return nil
	}
	waitAll := func() (first error) {
		for i := range pending {
			if err := wait(i); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	for i := 0; ; i = (i + 1) % directBufs {
		if err := wait(i); err != nil {
			waitAll()
			return total, err
		}
		b := buf(i)
		n, eof, err := fill(src, b)
		if err != nil {
			waitAll()
			return total, err
		}
		if !eof {
			pending[i], at[i], size[i] = make(chan error, 1), off, n
			go func(b []byte, off int64, done chan<- error) {
				_, err := f.WriteAt(b, off)
				done <- err
			}(b, off, pending[i])
			off += int64(n)
			continue
		}
		if err := waitAll(); err != nil {
			return total, err
		}
		w := n &^ (directAlign - 1)
		if w > 0 {
			pending[i], at[i], size[i] = make(chan error, 1), off, w
			_, err := f.WriteAt(b[:w], off)
			pending[i] <- err
			if err := wait(i); err != nil {
				return total, err
			}
			off += int64(w)
		}
		if w < n {
			if err := setDirect(f, false); err != nil {
				return total, fmt.Errorf("embedded: write data file: %w", err)
			}
			if _, err := f.WriteAt(b[w:n], off); err != nil {
				return total, fmt.Errorf("embedded: write data file: %w", err)
			}
			total += int64(n - w)
		}
		return total, nil
	}
}

// finishSums calls in.Sums (once, after EOF) or uses the store's own MD5.
func (s *Store) finishSums(r *received, in store.PutInput, own hash.Hash) error {
	var sums store.Sums
	if own != nil {
		sums.MD5 = own.Sum(nil)
	} else {
		sums = in.Sums()
	}
	if len(sums.MD5) != len(r.md5) {
		return errors.New("embedded: body digests have no MD5")
	}
	copy(r.md5[:], sums.MD5)
	r.sum = sums.Checksum
	if r.sum.Algorithm == "" {
		r.sum = store.Checksum{}
	} else if r.sum.Type == "" {
		r.sum.Type = store.FullObject
	}
	return nil
}

// fill reads into buf until it is full or the body ends. eof reports
// that the body ended (with n < len(buf) then).
func fill(r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

// Head buffers hold bodies that may fit the inline limit. A body of known
// size gets a buffer of its size, not of the limit: a stalled small upload
// holds no more than it declared.
var headPool sync.Pool

func headBufs(size int) *[]byte {
	if bp, ok := headPool.Get().(*[]byte); ok && cap(*bp) >= size {
		return bp
	}
	b := make([]byte, size)
	return &b
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// readerOnly hides a body's WriteTo so the copy goes through the pooled
// buffer and the data file's plain Write.
type readerOnly struct{ io.Reader }
