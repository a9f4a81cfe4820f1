package upstream

import (
	"context"
	"sync"
)

// gates give the writes of a key priority over its reads within one
// Store. MinIO (distributed) serializes the requests on one object with a
// read/write lock shared by the cluster's nodes that has no writer
// preference: a write retries its lock with a growing backoff (up to 5 s
// a try) and fails every try at which a read holds it, so steady reads of
// a key can hold its writes back for minutes. A write about to commit
// announces itself on its key's gate (a put once its whole body has been
// verified, a copy, completion or delete for its request), and a read of
// the key through this Store that starts meanwhile waits until the writes
// announced before it have ended, so the upstream's lock is free for them.
// Writers never wait here (they may hold the upstream's lock: waiting for
// one another here could deadlock with it), and reads wait only for the
// writes that were there when they came, so neither side starves.
// Gateways do not share gates: many gateways reading one hot key can
// still delay its writes, which then wait (see watchdog) rather than fail.
type gates struct {
	mu sync.Mutex
	m  map[string]*gate
}

type gate struct {
	started  uint64        // writes announced
	finished uint64        // writes ended
	changed  chan struct{} // closed (and replaced) when a write ends
	refs     int
}

func (g *gates) get(name string) *gate {
	if g.m == nil {
		g.m = map[string]*gate{}
	}
	e := g.m[name]
	if e == nil {
		e = &gate{changed: make(chan struct{})}
		g.m[name] = e
	}
	e.refs++
	return e
}

func (g *gates) put(name string, e *gate) {
	if e.refs--; e.refs == 0 {
		delete(g.m, name)
	}
}

// read waits until the writes of name announced before it have ended (or
// ctx is done: the read then goes ahead and fails on its own).
func (g *gates) read(ctx context.Context, name string) {
	g.mu.Lock()
	e := g.m[name]
	if e == nil {
		g.mu.Unlock()
		return
	}
	target := e.started
	e.refs++
	for e.finished < target {
		ch := e.changed
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			g.mu.Lock()
			g.put(name, e)
			g.mu.Unlock()
			return
		}
		g.mu.Lock()
	}
	g.put(name, e)
	g.mu.Unlock()
}

// write announces a write of name and returns the function ending it
// (safe to call more than once).
func (g *gates) write(name string) func() {
	g.mu.Lock()
	e := g.get(name)
	e.started++
	g.mu.Unlock()
	return sync.OnceFunc(func() {
		g.mu.Lock()
		e.finished++
		close(e.changed)
		e.changed = make(chan struct{})
		g.put(name, e)
		g.mu.Unlock()
	})
}
