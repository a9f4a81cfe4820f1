package console

import (
	"sync"
	"time"
)

// failures slows down guessing: each client IP may fail to sign in burst
// times; each failure then takes per to be forgiven. While an IP's
// failures are at burst, its sign-ins are refused without being tried.
// At most max IPs are tracked; when full, the one whose last failure is
// oldest is forgotten.
type failures struct {
	mu    sync.Mutex
	m     map[string]*failRecord
	burst int
	per   time.Duration
	max   int
	now   func() time.Time
}

type failRecord struct {
	n    float64 // failures not yet forgiven, as of at
	at   time.Time
	last time.Time
}

func newFailures(burst int, per time.Duration, max int, now func() time.Time) *failures {
	return &failures{m: make(map[string]*failRecord), burst: burst, per: per, max: max, now: now}
}

// decayed returns r's count at now.
func (f *failures) decayed(r *failRecord, now time.Time) float64 {
	n := r.n - float64(now.Sub(r.at))/float64(f.per)
	return max(n, 0)
}

// wait returns how long ip must wait before its next sign-in is tried
// (0: now).
func (f *failures) wait(ip string) time.Duration {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.m[ip]
	if !ok {
		return 0
	}
	n := f.decayed(r, now)
	if n == 0 {
		delete(f.m, ip)
		return 0
	}
	if excess := n - float64(f.burst-1); excess > 0 {
		return time.Duration(excess * float64(f.per))
	}
	return 0
}

// fail records a failed sign-in from ip.
func (f *failures) fail(ip string) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.m[ip]
	if !ok {
		if len(f.m) >= f.max {
			f.evict(now)
		}
		r = &failRecord{}
		f.m[ip] = r
	}
	r.n = f.decayed(r, now) + 1
	r.at, r.last = now, now
}

// forget clears ip's failures (after a successful sign-in).
func (f *failures) forget(ip string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, ip)
}

// evict makes room: forgiven records go, else the stalest one; f.mu held.
func (f *failures) evict(now time.Time) {
	var stalest string
	for ip, r := range f.m {
		if f.decayed(r, now) == 0 {
			delete(f.m, ip)
		} else if stalest == "" || r.last.Before(f.m[stalest].last) {
			stalest = ip
		}
	}
	if len(f.m) >= f.max {
		delete(f.m, stalest)
	}
}
