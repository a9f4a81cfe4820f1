// Package sse encrypts objects at rest (SSE-S3 and SSE-C, docs/encryption.md).
//
// An object's bytes are stored as one or more streams (one per single PUT,
// one per part of a multipart upload), each a sequence of segments: up to
// SegmentSize bytes of plaintext sealed with AES-256-GCM under the object's
// data key, stored as nonce || ciphertext || tag. The nonce is random per
// segment; the additional data binds each segment to its part number, its
// index in the stream and whether it is the stream's last, so that
// reordered, moved, truncated or extended segments fail to open. Every
// stream has at least one segment (an empty one for no bytes), so its
// stored size is a function of its plaintext size (CipherSize) and back
// (PlainSize), and a plaintext range maps onto whole segments.
package sse

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// SegmentSize is the plaintext size of every segment but a stream's last
// (docs/encryption.md has the measurements that chose it).
const SegmentSize = 64 << 10

// Overhead is what each segment adds: its random nonce and GCM tag.
const Overhead = nonceSize + tagSize

const (
	nonceSize = 12
	tagSize   = 16
	segCipher = SegmentSize + Overhead
)

// ErrTampered reports stored bytes that fail authentication: a data file
// changed, truncated or swapped on disk. Nothing of a failing segment is
// returned.
var ErrTampered = errors.New("sse: stored object data failed authentication (modified or truncated on disk)")

// segments returns the segment count of a stream of p plaintext bytes.
func segments(p int64) int64 {
	if p == 0 {
		return 1
	}
	return (p + SegmentSize - 1) / SegmentSize
}

// CipherSize returns the stored size of a stream of p plaintext bytes.
func CipherSize(p int64) int64 { return p + Overhead*segments(p) }

// PlainSize returns the plaintext size of a stream stored in c bytes, or
// an error if no plaintext size gives c.
func PlainSize(c int64) (int64, error) {
	n := (c + segCipher - 1) / segCipher
	p := c - Overhead*n
	if n == 0 || p < 0 || CipherSize(p) != c {
		return 0, fmt.Errorf("%w: %d bytes is not the size of an encrypted stream", ErrTampered, c)
	}
	return p, nil
}

// additional returns the additional data of segment idx of the stream of
// part (0 for a single PUT).
func additional(dst *[13]byte, part int, idx int64, last bool) []byte {
	binary.BigEndian.PutUint32(dst[0:4], uint32(part))
	binary.BigEndian.PutUint64(dst[4:12], uint64(idx))
	dst[12] = 0
	if last {
		dst[12] = 1
	}
	return dst[:]
}

// encrypter is an io.Reader of the stream sealing src's bytes.
type encrypter struct {
	src   io.Reader
	aead  cipher.AEAD
	part  int
	idx   int64
	pt    []byte // SegmentSize+1: a segment and one byte of look-ahead
	carry bool   // pt[0] holds the look-ahead byte of the previous fill
	out   []byte // the sealed segment being read out
	off   int
	done  bool
	aad   [13]byte
}

// Encrypter returns a reader of the stream encrypting src with aead for
// part (0 for a single PUT). A read error of src other than io.EOF is
// returned unchanged.
func Encrypter(src io.Reader, aead cipher.AEAD, part int) io.Reader {
	return &encrypter{src: src, aead: aead, part: part,
		pt: make([]byte, SegmentSize+1), out: make([]byte, 0, segCipher)}
}

func (e *encrypter) Read(p []byte) (int, error) {
	if e.off == len(e.out) {
		if e.done {
			return 0, io.EOF
		}
		if len(p) >= segCipher {
			// seal straight into p: no copy
			sealed, err := e.seal(p[:0])
			return len(sealed), err
		}
		out, err := e.seal(e.out[:0])
		if err != nil {
			return 0, err
		}
		e.out, e.off = out, 0
	}
	n := copy(p, e.out[e.off:])
	e.off += n
	return n, nil
}

// seal reads the next segment's plaintext (and one byte beyond, to know
// whether it is the last) and appends it sealed to dst, which has room
// for a whole segment.
func (e *encrypter) seal(dst []byte) ([]byte, error) {
	n := 0
	if e.carry {
		n = 1
	}
	for n < len(e.pt) {
		m, err := e.src.Read(e.pt[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	last := n <= SegmentSize
	seg := min(n, SegmentSize)
	nonce := dst[len(dst) : len(dst)+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := e.aead.Seal(dst[:len(dst)+nonceSize], nonce, e.pt[:seg], additional(&e.aad, e.part, e.idx, last))
	e.idx, e.done = e.idx+1, last
	if e.carry = !last; e.carry {
		e.pt[0] = e.pt[SegmentSize]
	}
	return out, nil
}

// Stream is one stream of an object: the part it stores (0 for a single
// PUT) and its plaintext size.
type Stream struct {
	Part int
	Size int64
}

// Layout is an object's streams in order.
type Layout []Stream

// Size returns the object's plaintext size.
func (l Layout) Size() int64 {
	var n int64
	for _, s := range l {
		n += s.Size
	}
	return n
}

// CipherSize returns the object's stored size.
func (l Layout) CipherSize() int64 {
	var n int64
	for _, s := range l {
		n += CipherSize(s.Size)
	}
	return n
}

// position is a place in the layout: stream si, its segment seg, the
// plaintext offset in that segment, and the stored offset of the segment.
type position struct {
	si        int
	seg, skip int64
	cOff      int64
}

// locate returns the position of plaintext offset off, which must be
// inside a stream (off < Size()).
func (l Layout) locate(off int64) position {
	var pStart, cStart int64
	for i, s := range l {
		if off < pStart+s.Size {
			in := off - pStart
			seg := in / SegmentSize
			return position{si: i, seg: seg, skip: in % SegmentSize, cOff: cStart + seg*segCipher}
		}
		pStart += s.Size
		cStart += CipherSize(s.Size)
	}
	panic("sse: offset outside the layout")
}

// CipherRange returns the stored range [cOff, cOff+cLen) holding the
// plaintext range [off, off+n), which must lie within the object; n = 0
// gives an empty range.
func (l Layout) CipherRange(off, n int64) (cOff, cLen int64) {
	if n <= 0 {
		return 0, 0
	}
	first, last := l.locate(off), l.locate(off+n-1)
	end := last.cOff + Overhead + min(SegmentSize, l[last.si].Size-last.seg*SegmentSize)
	return first.cOff, end - first.cOff
}

// batchSegments is how many segments a Reader reads from the store at
// once: one read and one buffer of about 256 KiB per batch, held while
// its plaintext is written out.
const batchSegments = 4

var batchBufs = sync.Pool{New: func() any { b := make([]byte, batchSegments*segCipher); return &b }}

// Reader reads plaintext from the stored bytes of a range. It implements
// io.WriterTo: each segment's plaintext is written where it was
// decrypted, without another copy.
type Reader struct {
	src    io.Reader // the stored range CipherRange gave
	aead   cipher.AEAD
	l      Layout
	pos    position
	remain int64    // plaintext bytes not yet in segs
	bufp   *[]byte  // the batch buffer (pooled) while reading
	segs   [][]byte // decrypted plaintext of the batch not yet returned
	err    error
	aad    [13]byte
}

// Decrypter returns a reader of the plaintext range [off, off+n) of the
// object laid out as l, reading src, the stored range CipherRange(off, n)
// gives. A segment that fails authentication ends the read with
// ErrTampered before any of its bytes are returned.
func Decrypter(src io.Reader, aead cipher.AEAD, l Layout, off, n int64) *Reader {
	d := &Reader{src: src, aead: aead, l: l, remain: n}
	if n > 0 {
		d.pos = l.locate(off)
	}
	return d
}

// Prime reads and authenticates the first batch of segments now, so that
// stored bytes failing there are an error before anything is answered.
func (d *Reader) Prime() error {
	if len(d.segs) == 0 && d.err == nil && d.remain > 0 {
		d.err = d.fill()
	}
	return d.err
}

// next makes segs non-empty, or returns io.EOF or the error that ended
// the read.
func (d *Reader) next() error {
	for len(d.segs) == 0 {
		if d.err != nil {
			return d.err
		}
		if d.remain == 0 {
			d.release()
			return io.EOF
		}
		if d.err = d.fill(); d.err != nil {
			d.release()
		}
	}
	return nil
}

func (d *Reader) Read(p []byte) (int, error) {
	if err := d.next(); err != nil {
		return 0, err
	}
	n := copy(p, d.segs[0])
	if d.segs[0] = d.segs[0][n:]; len(d.segs[0]) == 0 {
		d.segs = d.segs[1:]
	}
	return n, nil
}

// WriteTo writes the rest of the plaintext to w.
func (d *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if err := d.next(); err == io.EOF {
			return total, nil
		} else if err != nil {
			return total, err
		}
		n, err := w.Write(d.segs[0])
		total += int64(n)
		if err != nil {
			return total, err
		}
		d.segs = d.segs[1:]
	}
}

func (d *Reader) release() {
	if d.bufp != nil {
		batchBufs.Put(d.bufp)
		d.bufp = nil
	}
}

// fill reads the next batch of segments of the current stream, opens
// them in place and queues their plaintext (trimmed to the range).
func (d *Reader) fill() error {
	if d.bufp == nil {
		d.bufp = batchBufs.Get().(*[]byte)
	}
	s := d.l[d.pos.si]
	segs := segments(s.Size)
	// the segments needed: to the stream's end, or to the range's
	k := segs - d.pos.seg
	if left := s.Size - d.pos.seg*SegmentSize; left >= d.pos.skip+d.remain {
		k = max(1, (d.pos.skip+d.remain+SegmentSize-1)/SegmentSize)
	}
	k = min(k, batchSegments)
	first := d.pos.seg
	size := func(seg int64) int64 { return min(SegmentSize, s.Size-seg*SegmentSize) + Overhead }
	n := (k-1)*segCipher + size(first+k-1)
	buf := (*d.bufp)[:n]
	if _, err := io.ReadFull(d.src, buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("%w: short read", ErrTampered)
		}
		return err
	}
	d.segs = d.segs[:0]
	for seg := first; seg < first+k; seg++ {
		ct := buf[:size(seg)]
		buf = buf[len(ct):]
		last := seg == segs-1
		pt, err := d.aead.Open(ct[nonceSize:nonceSize], ct[:nonceSize], ct[nonceSize:], additional(&d.aad, s.Part, seg, last))
		if err != nil {
			d.segs = d.segs[:0]
			return fmt.Errorf("%w: part %d segment %d", ErrTampered, s.Part, seg)
		}
		pt = pt[d.pos.skip:]
		d.pos.skip = 0
		if int64(len(pt)) > d.remain {
			pt = pt[:d.remain]
		}
		d.remain -= int64(len(pt))
		if len(pt) > 0 {
			d.segs = append(d.segs, pt)
		}
	}
	if d.pos.seg = first + k; d.pos.seg == segs {
		d.pos.si, d.pos.seg = d.pos.si+1, 0
	}
	return nil
}
