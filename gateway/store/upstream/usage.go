package upstream

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/gateway/store"
)

// Usage accounting.
//
// S3 offers no counter that many stateless gateways could keep exact
// without a scan, so Usage scans the order (objects, and parts of
// in-progress uploads) and reuses the result for UsageCacheTTL. Between
// scans the cached figure is not thrown away on this Store's writes but
// adjusted by their effects, so that a gateway enforcing a capacity scans
// once per TTL rather than once per write:
//
//   - a committed put, copy, part, completion, upload or bucket adds what
//     it is charged (store.ObjectCost and the like, cost.go; and one
//     object, parts excepted). Object metadata is not charged: a scan
//     learns objects from listings, which carry none (the Store is a
//     store.MetadataUncharged);
//   - bytes are subtracted only when the Store knows for certain that they
//     are gone: the parts listed by a completion (which turns them into the
//     object) or an abort, and the object (or part) a delete, put, copy,
//     completion or part upload replaced, which the Store stats before the
//     write while the cache is live; the writes of one key (or part)
//     through this Store are then serialized from that stat to their end;
//   - when that stat fails, or the cache is not live when the write starts,
//     nothing is credited.
//
// So, within one Store, the cached figure is never below what the order
// really holds (it may be above until the next scan: a write that would
// fit may then be refused, never one admitted that overshoots). A scan
// that overlaps writes counts every write committed since it started on
// top of what it found (a write it saw counts twice until the next scan).
// Writes through other gateways show only after a scan: the first Usage
// after UsageCacheTTL starts one in the background and keeps answering the
// figure it has until the scan ends (Usage never waits for a scan, except
// the very first).
type usageCache struct {
	mu     sync.Mutex
	cur    *store.Usage // adjusted figure of the latest scan; nil: none yet
	at     time.Time    // when the scan of cur started
	added  int64        // bytes added by this Store's writes, ever
	addedN int64        // objects likewise
	// refreshing: a background scan is running (at most one).
	refreshing bool
	keyMu      sync.Mutex
	keyLock    map[string]*keyLock
}

// keyLock serializes the stat and the commit of writes of one key.
type keyLock struct {
	mu   sync.RWMutex
	refs int
}

// effect is what a committed write did to the order's usage, as far as
// the Store knows it.
type effect struct {
	added int64 // bytes stored
	freed int64 // bytes known to be gone
	objs  int64 // objects added (negative: removed)
	// noCredit: the write did not replace what was there before it (a
	// retried completion that had already happened).
	noCredit bool
}

// Usage returns the order's usage: the cached figure while it is younger
// than UsageCacheTTL; once it is older, still that figure (adjusted by
// this Store's writes) while one scan refreshes it in the background, so
// that callers holding a lock across Usage (the order's meter, which every
// write of the order takes) never wait for a scan of the whole order. Only
// the first call (no figure yet), or every call with caching off, scans
// before answering. See usageCache.
func (s *Store) Usage(ctx context.Context) (store.Usage, error) {
	c := &s.uc
	c.mu.Lock()
	if c.cur != nil && s.cfg.UsageCacheTTL > 0 {
		u := *c.cur
		if !s.liveLocked() && !c.refreshing {
			c.refreshing = true
			go s.refreshUsage()
		}
		c.mu.Unlock()
		return u, nil
	}
	c.mu.Unlock()
	return s.scanAndCache(ctx)
}

// usageRefreshTimeout bounds a background scan.
const usageRefreshTimeout = 5 * time.Minute

// refreshUsage is the background scan started by Usage. A failed scan
// leaves the figure as it is; the next Usage starts another.
func (s *Store) refreshUsage() {
	ctx, cancel := context.WithTimeout(s.life, usageRefreshTimeout)
	defer cancel()
	_, _ = s.scanAndCache(ctx) // a failed scan leaves the figure; the next Usage retries
	c := &s.uc
	c.mu.Lock()
	c.refreshing = false
	c.mu.Unlock()
}

// scanAndCache scans the order and caches the figure (counting this
// Store's writes committed since the scan started).
func (s *Store) scanAndCache(ctx context.Context) (store.Usage, error) {
	c := &s.uc
	c.mu.Lock()
	added, addedN := c.added, c.addedN
	c.mu.Unlock()

	start := time.Now()
	u, err := s.scanUsage(ctx)
	if err != nil {
		return store.Usage{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	u.Bytes += c.added - added
	u.Objects += c.addedN - addedN
	if s.cfg.UsageCacheTTL > 0 && (c.cur == nil || !start.Before(c.at)) {
		cp := u
		c.cur, c.at = &cp, start
	}
	return u, nil
}

// liveLocked reports whether a cached figure is in use (c.mu held).
func (s *Store) liveLocked() bool {
	return s.uc.cur != nil && s.cfg.UsageCacheTTL > 0 && time.Since(s.uc.at) < s.cfg.UsageCacheTTL
}

func (s *Store) usageLive() bool {
	s.uc.mu.Lock()
	defer s.uc.mu.Unlock()
	return s.liveLocked()
}

// account applies a committed write's effect.
func (s *Store) account(e effect) {
	c := &s.uc
	c.mu.Lock()
	defer c.mu.Unlock()
	c.added += e.added
	if e.objs > 0 {
		c.addedN += e.objs
	}
	if c.cur == nil {
		return
	}
	c.cur.Bytes = max(c.cur.Bytes+e.added-e.freed, 0)
	c.cur.Objects = max(c.cur.Objects+e.objs, 0)
}

// lockKey serializes, within this Store, the writes of upstream name that
// learn what they replace.
func (s *Store) lockKey(name string) func() { return s.lockName(name, false) }

// lockName locks name, shared or exclusive, and returns the unlock.
func (s *Store) lockName(name string, shared bool) func() {
	c := &s.uc
	c.keyMu.Lock()
	if c.keyLock == nil {
		c.keyLock = map[string]*keyLock{}
	}
	l := c.keyLock[name]
	if l == nil {
		l = &keyLock{}
		c.keyLock[name] = l
	}
	l.refs++
	c.keyMu.Unlock()
	if shared {
		l.mu.RLock()
	} else {
		l.mu.Lock()
	}
	return func() {
		if shared {
			l.mu.RUnlock()
		} else {
			l.mu.Unlock()
		}
		c.keyMu.Lock()
		if l.refs--; l.refs == 0 {
			delete(c.keyLock, name)
		}
		c.keyMu.Unlock()
	}
}

// UnchargedObjectMetadata marks the Store as a store.MetadataUncharged.
func (s *Store) UnchargedObjectMetadata() {}

// replacing runs write, which replaces (or, for a delete, removes) the
// object key at upstream name, and accounts for its effect, to which it
// adds the charge of key's entry for each object added. While a cached
// figure is live, the object replaced is stat'ed first, with this Store's
// other such writes of name held back until write has returned, and what
// it cost is credited (and one object). write returns a zero effect when
// it changed nothing; it may return an effect with its error when the
// upstream kept something anyway.
//
// On a versioned upstream nothing is replaced: the write adds a version,
// and what settle removes after it is credited there.
func (s *Store) replacing(ctx context.Context, name, key string, write func() (effect, error)) error {
	entry := store.ObjectCost(key, 0, nil)
	if s.versioned() {
		e, err := write()
		if e.objs > 0 {
			e.added += e.objs * entry
		}
		if err != nil && e == (effect{}) {
			return err
		}
		s.account(e)
		return err
	}
	return s.replacingWith(ctx, name, func() (int64, bool, error) {
		info, err := s.core.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
		switch {
		case err == nil:
			return entry + info.Size, true, nil
		case isNotFound(err):
			return 0, false, nil
		}
		return 0, false, err
	}, func() (effect, error) {
		e, err := write()
		if e.objs > 0 {
			e.added += e.objs * entry
		}
		return e, err
	})
}

// replacingWith is replacing with old returning what the write replaces
// (what it costs, whether it is an object) and lock naming what it
// serializes on; write's effect is taken as it is.
func (s *Store) replacingWith(ctx context.Context, lock string, old func() (int64, bool, error), write func() (effect, error)) error {
	var size int64
	var had, known bool
	if s.usageLive() {
		unlock := s.lockKey(lock)
		defer unlock()
		var err error
		size, had, err = old()
		known = err == nil
	}
	e, err := write()
	if err != nil && e == (effect{}) {
		return err
	}
	if known && !e.noCredit {
		e.freed += size
		if had {
			e.objs--
		}
	}
	s.account(e)
	return err
}

// partsCost returns what the parts of the upstream upload id of name cost
// (store.PartCost); found is false when the upload does not exist.
func (s *Store) partsCost(ctx context.Context, name, id string) (n int64, found bool, err error) {
	marker := 0
	for {
		res, err := s.core.ListObjectParts(ctx, s.bucket, name, id, marker, 1000)
		if err != nil {
			if isCode(err, "NoSuchUpload") {
				return n, false, nil
			}
			return n, false, s.mapErr(err)
		}
		for _, part := range res.ObjectParts {
			n += store.PartCost(part.Size)
		}
		if !res.IsTruncated || len(res.ObjectParts) == 0 {
			return n, true, nil
		}
		marker = res.NextPartNumberMarker
	}
}

func (s *Store) scanUsage(ctx context.Context) (store.Usage, error) {
	var u store.Usage
	buckets, err := s.ListBuckets(ctx)
	if err != nil {
		return u, err
	}
	for _, b := range buckets {
		cfgs, err := s.configsCost(ctx, b.Name)
		if err != nil {
			return u, err
		}
		u.Bytes += store.BucketCost(b.Name) + cfgs
		if s.versioned() {
			err = s.scanVersions(ctx, b.Name, &u)
		} else {
			err = s.listAll(ctx, s.dataBase(b.Name), "", func(o minio.ObjectInfo) bool {
				if key, ok := dec(o.Key[len(s.dataBase(b.Name)):]); ok {
					u.Objects++
					u.Bytes += store.ObjectCost(key, o.Size, nil)
				}
				return true
			})
		}
		if err != nil {
			return u, err
		}
		base := s.uploadsBase(b.Name)
		type up struct{ key, id string }
		var ups []up
		err = s.listAll(ctx, base, "", func(o minio.ObjectInfo) bool {
			rest := o.Key[len(base):]
			for i := 0; i < len(rest); i++ {
				if rest[i] == '/' {
					k, ok1 := dec(rest[:i])
					id, ok2 := dec(rest[i+1:])
					if ok1 && ok2 {
						ups = append(ups, up{k, id})
					}
					break
				}
			}
			return true
		})
		if err != nil {
			return u, err
		}
		for _, p := range ups {
			rec, err := s.getUpload(ctx, b.Name, p.key, p.id)
			if errors.Is(err, store.ErrNoSuchUpload) {
				continue // completed or aborted meanwhile
			}
			if err != nil {
				return u, err
			}
			n, _, err := s.partsCost(ctx, s.dataName(b.Name, p.key), p.id)
			if err != nil {
				return u, err
			}
			u.Bytes += store.UploadCost(p.key, &rec.Meta) + n
		}
	}
	return u, nil
}

// scanVersions adds what every version and delete marker of bucket costs
// to u.
func (s *Store) scanVersions(ctx context.Context, bucket string, u *store.Usage) error {
	base := s.dataBase(bucket)
	km, vm := "", ""
	for {
		page, err := s.listVersions(ctx, base, km, vm, 1000)
		if err != nil {
			return err
		}
		for _, v := range page.Versions {
			km, vm = v.Name, v.VersionID
			key, ok := dec(strings.TrimPrefix(v.Name, base))
			if !ok || !strings.HasPrefix(v.Name, base) {
				continue
			}
			e := versionEffect(key, v, 1)
			u.Bytes += e.added
			u.Objects += e.objs
		}
		if !page.Truncated {
			return nil
		}
	}
}
