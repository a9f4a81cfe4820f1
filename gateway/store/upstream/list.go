package upstream

import (
	"context"
	"fmt"
	"strings"

	"github.com/lambda/storagecli/gateway/store"
)

type entry struct {
	key    string
	prefix bool
	obj    store.Object
}

// lister walks a bucket's objects in key order through upstream
// ListObjectsV2 pages. The delimiter "/" is rolled up by the upstream (as
// ".."); any other delimiter is rolled up here, seeking past each common
// prefix with a new listing, so that a page costs O(entries) requests at
// worst and never a scan of a rolled-up prefix.
type lister struct {
	s       *Store
	ctx     context.Context
	base    string // P<B>/
	prefix  string // user prefix
	delim   string
	upDelim string
	after   string
	skip    string // a common prefix already returned (or containing After)
	// upstream position
	startAfter string
	lastSeek   string
	buf        []entry
	exhausted  bool
	// want is how many more entries the page being built can take
	// (one more than it shows tells whether it is truncated): an
	// upstream listing asks for no more than that, so the entry that
	// only decides truncation costs a listing of one name, not of 1000.
	// After a listing of names that are all hidden (not written by the
	// gateway), the next asks for the most.
	want int
}

// maxUpstreamKeys is the most names one upstream listing returns.
const maxUpstreamKeys = 1000

func (l *lister) fill() error {
	size := min(max(l.want, 1), maxUpstreamKeys)
	for len(l.buf) == 0 && !l.exhausted {
		res, err := l.s.listObjectsV2(l.ctx, l.base+enc(l.prefix), l.startAfter, l.upDelim, size)
		size = maxUpstreamKeys
		if err != nil {
			return l.s.mapErr(err)
		}
		// Merge contents and common prefixes in upstream (= key) order.
		ci, pi := 0, 0
		for ci < len(res.Contents) || pi < len(res.CommonPrefixes) {
			var name string
			var isPrefix bool
			if pi >= len(res.CommonPrefixes) || (ci < len(res.Contents) && res.Contents[ci].Key < res.CommonPrefixes[pi]) {
				name = res.Contents[ci].Key
			} else {
				name, isPrefix = res.CommonPrefixes[pi], true
			}
			if !strings.HasPrefix(name, l.base) {
				return fmt.Errorf("upstream: listing returned a name outside the bucket")
			}
			key, ok := dec(name[len(l.base):])
			if !ok {
				// Not written by the gateway: invisible.
				if isPrefix {
					pi++
				} else {
					ci++
				}
				continue
			}
			e := entry{key: key, prefix: isPrefix}
			if isPrefix {
				pi++
			} else {
				o := res.Contents[ci]
				e.obj = store.Object{Key: key, Size: o.Size, ETag: trimETag(o.ETag), LastModified: o.LastModified}
				ci++
			}
			l.buf = append(l.buf, e)
		}
		// Page on with StartAfter, not continuation tokens: after a common
		// prefix, seek past all of it (some upstreams would otherwise roll
		// the same prefix up again on every page).
		last := ""
		if n := len(res.Contents); n > 0 {
			last = res.Contents[n-1].Key
		}
		if n := len(res.CommonPrefixes); n > 0 && res.CommonPrefixes[n-1] > last {
			last = res.CommonPrefixes[n-1] + maxSuffix
		}
		if !res.Truncated || last == "" {
			l.exhausted = true
		} else {
			if last <= l.startAfter {
				last = l.startAfter + maxSuffix
			}
			l.startAfter = last
		}
	}
	return nil
}

// next returns the next entry to show, or ok false at the end.
func (l *lister) next() (entry, bool, error) {
	for {
		if err := l.fill(); err != nil {
			return entry{}, false, err
		}
		if len(l.buf) == 0 {
			return entry{}, false, nil
		}
		e := l.buf[0]
		l.buf = l.buf[1:]
		if e.key <= l.after || (l.skip != "" && strings.HasPrefix(e.key, l.skip)) {
			if l.skip != "" && strings.HasPrefix(e.key, l.skip) && l.upDelim == "" {
				l.seek(l.skip)
			}
			continue
		}
		if e.prefix {
			l.skip = e.key
			return e, true, nil
		}
		if cp, ok := store.CommonPrefix(e.key, l.prefix, l.delim); ok {
			l.skip = cp
			if l.upDelim == "" {
				l.seek(cp)
			}
			return entry{key: cp, prefix: true}, true, nil
		}
		return e, true, nil
	}
}

// upstreamHasMore reports whether the entries left are exactly the
// upstream's names after the last one listed (none buffered, the upstream
// listing truncated) and the upstream rolls up the delimiter itself (no
// local roll-up would skip them).
func (l *lister) upstreamHasMore() bool {
	return len(l.buf) == 0 && !l.exhausted && (l.delim == "" || l.upDelim != "")
}

// seek restarts the upstream listing after every name starting with cp.
func (l *lister) seek(cp string) {
	l.buf = nil
	l.exhausted = false
	next := l.base + enc(cp) + maxSuffix
	if next <= l.lastSeek {
		// Keys continuing with U+10FFFF...: step past one more.
		next = l.lastSeek + maxSuffix
	}
	l.startAfter, l.lastSeek = next, next
}

// ListObjects lists a page; see store.Store.
func (s *Store) ListObjects(ctx context.Context, bucket string, opts store.ListOptions) (*store.ListPage, error) {
	if err := s.checkBucket(ctx, bucket); err != nil {
		return nil, err
	}
	if noKeyUnder(opts.Prefix) {
		return &store.ListPage{}, nil
	}
	limit := opts.Limit
	if limit <= 0 || limit > store.MaxListKeys {
		limit = store.MaxListKeys
	}
	l := &lister{s: s, ctx: ctx, base: s.dataBase(bucket), prefix: opts.Prefix, delim: opts.Delimiter,
		after: opts.After}
	if opts.Delimiter == "/" {
		l.upDelim = ".."
	}
	if opts.After > "" {
		l.startAfter = l.base + enc(opts.After)
	}
	if cp, ok := store.CommonPrefix(opts.After, opts.Prefix, opts.Delimiter); ok {
		l.skip = cp
		l.startAfter = l.base + enc(cp) + maxSuffix
	}
	page := &store.ListPage{}
	n := 0
	for {
		if n == limit && l.upstreamHasMore() {
			// The page is full and the upstream said it has more names
			// after the last one: the page is truncated, without a
			// listing of one name to see one (names not written by the
			// gateway could make the next page empty; S3 clients page on
			// while a page is truncated, empty or not).
			page.Truncated = true
			break
		}
		l.want = limit + 1 - n
		e, ok, err := l.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if n == limit {
			page.Truncated = true
			break
		}
		n++
		if e.prefix {
			page.CommonPrefixes = append(page.CommonPrefixes, e.key)
		} else {
			page.Objects = append(page.Objects, e.obj)
		}
		page.Next = e.key
	}
	return page, nil
}

// noKeyUnder reports whether no key can start with prefix: keys never
// start with '/' (store.ValidKey). Such a listing is answered empty
// without asking the upstream, whose namespace may refuse the name it
// would be asked for (MinIO answers 400 XMinioInvalidResourceName for
// the ".." segment that "/" encodes to).
func noKeyUnder(prefix string) bool { return strings.HasPrefix(prefix, "/") }
