package order

import (
	"context"
	"io"
	"sync"
)

// Meter accounts for writes in flight against a capacity. The bytes an
// order holds come from the store (usage); the Meter adds what writes in
// progress have reserved and not yet settled. Reservations are checked and
// taken under one lock, with usage read under that lock too, so two
// writers can never both be granted the last free bytes.
//
// A reservation is released only after its write has settled (committed,
// so that usage includes it, or failed): in between its bytes count twice,
// which may refuse a write that would just fit, but never lets one
// overshoot.
type Meter struct {
	mu      sync.Mutex
	pending int64
}

// UsageFunc returns the bytes the order holds now.
type UsageFunc func(ctx context.Context) (int64, error)

// Reserve reserves n bytes if usage plus reservations plus n stays within
// capacity (0: unlimited, always granted). It returns false without
// reserving when they would not fit.
func (m *Meter) Reserve(ctx context.Context, usage UsageFunc, capacity, n int64) (bool, error) {
	got, err := m.ReserveUpTo(ctx, usage, capacity, n, n)
	return got == n, err
}

// ReserveUpTo reserves as much of want as fits, but at least min; it
// returns the bytes reserved (0 when even min does not fit).
func (m *Meter) ReserveUpTo(ctx context.Context, usage UsageFunc, capacity, min, want int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if capacity <= 0 {
		m.pending += want
		return want, nil
	}
	used, err := usage(ctx)
	if err != nil {
		return 0, err
	}
	free := capacity - used - m.pending
	if free < min {
		return 0, nil
	}
	n := want
	if n > free {
		n = free
	}
	m.pending += n
	return n, nil
}

// ReserveReplacing reserves n bytes for a write that replaces an object of
// replaced(ctx) bytes: the write fits if it fits once the replaced object
// is gone. Usage is read before the replaced object's size, both under the
// lock, so a concurrent delete of that object can make the check stricter
// but never credits its bytes twice; and the whole n stays reserved, so the
// space it frees is not promised to anyone else before this write settles.
func (m *Meter) ReserveReplacing(ctx context.Context, usage, replaced UsageFunc, capacity, n int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if capacity <= 0 {
		m.pending += n
		return true, nil
	}
	used, err := usage(ctx)
	if err != nil {
		return false, err
	}
	old, err := replaced(ctx)
	if err != nil {
		return false, err
	}
	if capacity-used-m.pending+old < n {
		return false, nil
	}
	m.pending += n
	return true, nil
}

// Release gives back n reserved bytes.
func (m *Meter) Release(n int64) {
	m.mu.Lock()
	m.pending -= n
	m.mu.Unlock()
}

// Pending returns the bytes currently reserved.
func (m *Meter) Pending() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pending
}

// meterChunk is how much a metered reader reserves at a time.
const meterChunk = 1 << 20

// MeteredReader is a body of unknown length that reserves space as it is
// read. When the next bytes do not fit, Read returns the error given to
// NewReader instead of them, so the store aborts the write and nothing of
// it stays. Call Release once the write has settled.
type MeteredReader struct {
	r        io.Reader
	ctx      context.Context
	m        *Meter
	usage    UsageFunc
	capacity int64
	over     error
	read     int64
	granted  int64
}

// NewReader returns a MeteredReader over r; over is the error returned when
// the capacity is reached.
func (m *Meter) NewReader(ctx context.Context, r io.Reader, usage UsageFunc, capacity int64, over error) *MeteredReader {
	return &MeteredReader{r: r, ctx: ctx, m: m, usage: usage, capacity: capacity, over: over}
}

// Read implements io.Reader.
func (mr *MeteredReader) Read(p []byte) (int, error) {
	n, err := mr.r.Read(p)
	mr.read += int64(n)
	if mr.read > mr.granted {
		need := mr.read - mr.granted
		got, rerr := mr.m.ReserveUpTo(mr.ctx, mr.usage, mr.capacity, need, max(need, meterChunk))
		if rerr != nil {
			return 0, rerr
		}
		if got == 0 {
			return 0, mr.over
		}
		mr.granted += got
	}
	return n, err
}

// Release gives back everything the reader reserved.
func (mr *MeteredReader) Release() {
	mr.m.Release(mr.granted)
	mr.granted = 0
}
