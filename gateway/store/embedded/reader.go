package embedded

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// source is one version of an object opened for reading: its record and
// its bytes, copied (inline), held open (one data file) or pinned (data
// files opened as the reader reaches them). It must be consumed by reader
// or released by close.
type source struct {
	s      *Store
	rec    *objRecord
	obj    *store.Object
	f      *os.File // the open data file of a single-file version
	pinned []segment
}

// openObject looks version versionID ("" the current one) of the object up
// and secures its bytes. With pinAll every data file is pinned rather than
// opened (CopyObject links them by name).
func (s *Store) openObject(bucket, key, versionID string, pinAll bool) (*source, error) {
	src := &source{s: s}
	s.barrier.RLock()
	err := s.db.View(func(tx *bbolt.Tx) error {
		vb := openVBucket(tx, bucket)
		if vb == nil {
			return store.ErrNoSuchBucket
		}
		l, err := vb.locate(key, versionID, decodeFull)
		if err != nil {
			return err
		}
		rec, err := readable(l, versionID)
		if err != nil {
			return err
		}
		src.rec = rec
		switch {
		case rec.inline:
			rec.data = bytes.Clone(rec.data) // index memory is valid only in the transaction
		case len(rec.segs) == 1 && !pinAll:
			if src.f, err = s.openFile(rec.segs[0].id); err != nil {
				return fmt.Errorf("embedded: open data of %s/%s: %w", bucket, key, err)
			}
		default:
			s.pin(rec.files())
			src.pinned = rec.segs
		}
		return nil
	})
	s.barrier.RUnlock()
	if err != nil {
		return nil, err
	}
	src.obj = src.rec.object(key)
	return src, nil
}

// close releases the version's open or pinned files.
func (src *source) close() {
	if src.f != nil {
		src.f.Close()
		src.f = nil
	}
	for _, sg := range src.pinned {
		src.s.unpin(sg.id)
	}
	src.pinned = nil
}

// reader returns a reader of length bytes from off (a valid range),
// consuming src.
func (src *source) reader(off, length int64) (io.ReadCloser, error) {
	switch {
	case src.rec.inline:
		return io.NopCloser(bytes.NewReader(src.rec.data[off : off+length])), nil
	case src.f != nil:
		f := src.f
		src.f = nil
		if off > 0 {
			if _, err := f.Seek(off, io.SeekStart); err != nil {
				f.Close()
				return nil, err
			}
		}
		return &fileReader{lr: io.LimitedReader{R: f, N: length}, f: f}, nil
	}
	// Keep pinned only the segments overlapping [off, off+length).
	r := &segReader{s: src.s, left: length}
	var pos int64
	for _, sg := range src.pinned {
		if pos+sg.size <= off || pos >= off+length || length == 0 {
			src.s.unpin(sg.id)
		} else {
			if len(r.segs) == 0 {
				r.skip = off - pos
			}
			r.segs = append(r.segs, sg)
		}
		pos += sg.size
	}
	src.pinned = nil
	return r, nil
}

// fileReader reads a range of a single data file.
type fileReader struct {
	lr io.LimitedReader // R is the *os.File, positioned at the range
	f  *os.File
}

// Read implements io.Reader.
func (r *fileReader) Read(p []byte) (int, error) { return r.lr.Read(p) }

// WriteTo hands the *io.LimitedReader over the *os.File to w's ReadFrom,
// so that copying to a socket uses sendfile.
func (r *fileReader) WriteTo(w io.Writer) (int64, error) { return copyPooled(w, &r.lr) }

// Close closes the file.
func (r *fileReader) Close() error { return r.f.Close() }

// segReader reads a range across data files, opening each when it gets
// there (they are pinned until then).
type segReader struct {
	s    *Store
	segs []segment // pinned segments not yet opened
	skip int64     // offset of the range in segs[0]
	left int64     // bytes of the range not yet returned
	cur  *os.File
	lr   io.LimitedReader // over cur
}

// next opens the next segment.
func (r *segReader) next() error {
	if len(r.segs) == 0 {
		return io.ErrUnexpectedEOF
	}
	sg := r.segs[0]
	r.segs = r.segs[1:]
	f, err := r.s.openFile(sg.id)
	r.s.unpin(sg.id)
	if err != nil {
		return fmt.Errorf("embedded: open data: %w", err)
	}
	if r.skip > 0 {
		if _, err := f.Seek(r.skip, io.SeekStart); err != nil {
			f.Close()
			return err
		}
	}
	r.cur = f
	r.lr = io.LimitedReader{R: f, N: min(sg.size-r.skip, r.left)}
	r.skip = 0
	return nil
}

// done closes the current segment, which must have been read to its end.
func (r *segReader) done() error {
	short := r.lr.N > 0
	r.cur.Close()
	r.cur = nil
	if short {
		return io.ErrUnexpectedEOF // data file shorter than its record
	}
	return nil
}

// Read implements io.Reader.
func (r *segReader) Read(p []byte) (int, error) {
	for {
		if r.cur == nil {
			if r.left == 0 {
				return 0, io.EOF
			}
			if err := r.next(); err != nil {
				return 0, err
			}
		}
		n, err := r.lr.Read(p)
		r.left -= int64(n)
		if n > 0 || (err != nil && err != io.EOF) {
			return n, err
		}
		if err := r.done(); err != nil {
			return 0, err
		}
	}
}

// WriteTo copies the rest of the range to w, segment by segment (each via
// sendfile when w is a socket).
func (r *segReader) WriteTo(w io.Writer) (total int64, err error) {
	for {
		if r.cur == nil {
			if r.left == 0 {
				return total, nil
			}
			if err := r.next(); err != nil {
				return total, err
			}
		}
		n, err := copyPooled(w, &r.lr)
		total += n
		r.left -= n
		if err != nil {
			return total, err
		}
		if err := r.done(); err != nil {
			return total, err
		}
	}
}

// Close releases the open segment and the pins of the others.
func (r *segReader) Close() error {
	if r.cur != nil {
		r.cur.Close()
		r.cur = nil
	}
	for _, sg := range r.segs {
		r.s.unpin(sg.id)
	}
	r.segs = nil
	return nil
}

// copyPooled copies through a pooled buffer unless w reads from src itself
// (then it takes no buffer: a download the client stalls holds none).
func copyPooled(w io.Writer, src io.Reader) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(w, src, *bp)
}
