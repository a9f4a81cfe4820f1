package caddymodule

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	bolterrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/internal/orderstore"
)

// Stores are shared by every handler of every loaded config that serves the
// same data directory (or the same upstream namespace with the same
// settings). On a reload Caddy provisions the new config before it cleans up
// the old one, and the embedded store holds a file lock, so each handler
// takes a reference from storePool (keyed by the absolute data directory, or
// the upstream location's ID) instead of opening the store itself.
//
// Requests of an unloaded config may still be running (Caddy does not wait
// for them on a reload), so a store whose last reference is released closes
// only when its last request has finished; a config loaded in between takes
// the draining store back instead of opening the directory a second time.
var (
	storePool = caddy.NewUsagePool()

	// storesMu guards live and every sharedStore's mutable fields.
	storesMu sync.Mutex
	// live holds every open store by data directory, for the usage gauges
	// and for taking back a draining store.
	live = map[string]*sharedStore{}
)

// sharedStore is one open store and its use.
type sharedStore struct {
	dir string // the pool key: data directory, or upstream location ID
	// label is where the data lives, for metrics labels and log fields:
	// the directory, or the upstream's endpoint/bucket/prefix. Unlike an
	// upstream location ID it depends on no secret.
	label  string
	order  string
	noSync bool
	st     orderstore.Store
	// meter holds the space reserved by writes in flight, for every
	// handler serving this store.
	meter order.Meter
	// uploads counts the uploads in flight, for every handler serving
	// this store (its caps are the gateway's Limits).
	uploads gateway.Uploads
	// day is the order's lifecycle day (ns) as the latest config says;
	// stopLifecycle ends the store's lifecycle worker, before it closes.
	day           atomic.Int64
	stopLifecycle func()

	inflight int  // requests being served
	released bool // no loaded config holds it: close when inflight is 0
	closed   bool
}

// acquireStore returns the store at loc, opening it if no loaded config
// uses it yet. Each successful call must be matched by releaseStore.
func acquireStore(loc orderstore.Location, order string, noSync bool, lifecycleDay time.Duration) (*sharedStore, error) {
	dir := loc.ID
	if loc.Kind == orderstore.KindEmbedded {
		dir = loc.Dir
	}
	v, _, err := storePool.LoadOrNew(dir, func() (caddy.Destructor, error) {
		storesMu.Lock()
		if s, ok := live[dir]; ok && s.released && !s.closed {
			s.released = false // a draining store: take it back
			storesMu.Unlock()
			return s, nil
		}
		storesMu.Unlock()
		st, err := openStore(loc, order, noSync)
		if err != nil {
			return nil, err
		}
		s := &sharedStore{dir: dir, label: loc.String(), order: order, noSync: noSync, st: st}
		s.stopLifecycle = orderstore.StartLifecycle(st, func() time.Duration { return time.Duration(s.day.Load()) },
			caddy.Log().Named("s3gateway.lifecycle").With(zap.String("order", order)))
		storesMu.Lock()
		live[dir] = s
		storesMu.Unlock()
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	s := v.(*sharedStore)
	s.day.Store(int64(lifecycleDay))
	return s, nil
}

// openStore opens the store at loc.
func openStore(loc orderstore.Location, order string, noSync bool) (orderstore.Store, error) {
	dir := loc.String()
	st, err := orderstore.OpenLocation(order, loc, orderstore.Options{NoSync: noSync,
		Logger: caddy.Log().Named("s3gateway.store").With(zap.String("order", order))})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("s3gateway: order %s: the store in %s is in use by another process "+
			"(a `storagecli gateway run` for this order, or another Caddy: to change a running Caddy's config, use `caddy reload`)", order, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("s3gateway: order %s: open the store in %s: %w", order, dir, err)
	}
	return st, nil
}

// releaseStore gives back a reference taken by acquireStore.
func releaseStore(s *sharedStore) error {
	_, err := storePool.Delete(s.dir)
	return err
}

// Destruct implements caddy.Destructor: storePool calls it when no loaded
// config uses the store any more. The store closes now, or when its last
// request finishes.
func (s *sharedStore) Destruct() error {
	storesMu.Lock()
	s.released = true
	closeNow := s.inflight == 0 && s.markClosed()
	storesMu.Unlock()
	if closeNow {
		s.stopLifecycle()
		return s.st.Close()
	}
	return nil
}

// markClosed records that the store is closing; storesMu must be held.
func (s *sharedStore) markClosed() bool {
	if s.closed {
		return false
	}
	s.closed = true
	if live[s.dir] == s {
		delete(live, s.dir)
	}
	return true
}

// enter records a request starting; false if the store is already closed.
func (s *sharedStore) enter() bool {
	storesMu.Lock()
	defer storesMu.Unlock()
	if s.closed {
		return false
	}
	s.inflight++
	return true
}

// leave records a request finishing, closing a released store after its
// last request.
func (s *sharedStore) leave() {
	storesMu.Lock()
	s.inflight--
	closeNow := s.inflight == 0 && s.released && s.markClosed()
	storesMu.Unlock()
	if closeNow {
		s.stopLifecycle()
		if err := s.st.Close(); err != nil {
			caddy.Log().Named("s3gateway.store").Error("closing the store", zap.String("data", s.label), zap.Error(err))
		}
	}
}

// liveStores returns the open stores (for the usage gauges).
func liveStores() []*sharedStore {
	storesMu.Lock()
	defer storesMu.Unlock()
	out := make([]*sharedStore, 0, len(live))
	for _, s := range live {
		out = append(out, s)
	}
	return out
}
