package embedded

import (
	"sync/atomic"
	"unsafe"
)

// Direct writes. A body whose declared size is at least directMinSize is
// written to its new data file with O_DIRECT, from an aligned buffer of
// directBufSize bytes, instead of through the page cache. A buffered
// write(2) copies every byte into page-cache pages it must first allocate
// (on a VM that reports free memory to its host, fault in from the host),
// and the fsync then writes them out; a direct write hands the buffer to
// the disk, and the fsync (kept: data is durable before the 200, as
// always) flushes the disk's cache and the metadata. Measured on 64 MiB
// signed-chunk PUTs at concurrency 4: server CPU 4.2-4.6 -> 3.8-4.0 ms per
// MiB (1 MiB buffers; 256 KiB ones saved about half as much; 4 MiB no
// more; fallocate of the declared size nothing measurable, so it is not
// done).
//
// A direct write returns once the disk has the bytes, so an upload has
// directBufs buffers: while up to directBufs-1 of them are written (each
// on its own goroutine, at its own offset), the body is read and hashed
// into the next. One write in flight per upload left a lone upload waiting
// for the disk (1 GiB PUT c1 and the aws cli's PUT ran slower than through
// the page cache); three keep the disk's queue as full as writeback does.
// Every write but the last is a whole buffer, so offsets and lengths stay
// aligned; the last block's tail below directAlign is written after
// O_DIRECT is turned off, through the page cache, and synced with the rest.
// Direct buffers are large, so there are at most maxDirectBufs sets of
// them (an upload holds its set while it waits for its body): an upload
// that finds none free, a body of unknown or small size, and a file system
// that refuses O_DIRECT (tmpfs; other systems than Linux) take the buffered
// path, one blockBufSize write at a time.
const (
	directAlign   = 4 << 10 // offset, length and address alignment of direct writes
	directBufSize = 1 << 20 // bytes per write
	directBufs    = 4       // buffers per upload: up to 3 writes in flight
	directMinSize = directBufSize
	maxDirectBufs = 8 // sets of buffers: 32 MiB
)

var (
	freeDirect  = make(chan *[]byte, maxDirectBufs) // sets not in use
	directBufsN atomic.Int32                        // sets made
)

// getDirectBuf returns an aligned set of directBufs buffers of
// directBufSize bytes (one slice), or nil if all maxDirectBufs are in use.
func getDirectBuf() *[]byte {
	select {
	case bp := <-freeDirect:
		return bp
	default:
	}
	if directBufsN.Add(1) > maxDirectBufs {
		directBufsN.Add(-1)
		return nil
	}
	b := alignedBuf(directBufs * directBufSize)
	return &b
}

// putDirectBuf returns a buffer from getDirectBuf (never blocks: there are
// never more buffers than room on the free list).
func putDirectBuf(bp *[]byte) { freeDirect <- bp }

// alignedBuf allocates n bytes starting at a directAlign boundary (the Go
// heap does not move objects).
func alignedBuf(n int) []byte {
	b := make([]byte, n+directAlign)
	off := 0
	if r := int(addrOf(b) % directAlign); r != 0 {
		off = directAlign - r
	}
	return b[off : off+n : off+n]
}

// addrOf is the address of b's first byte.
func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
