package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// session is a signed-in browser. The secret stays here, server side: the
// browser holds only the random session id (in an HttpOnly cookie) and
// the CSRF token.
type session struct {
	id        string
	csrf      string
	accessKey string
	secretKey string
	created   time.Time
	lastSeen  time.Time
}

// sessions is a bounded set of sessions: at most max, each living at most
// ttl from sign-in and idle from its last use.
type sessions struct {
	mu   sync.Mutex
	m    map[string]*session
	max  int
	ttl  time.Duration
	idle time.Duration
	now  func() time.Time
}

func newSessions(max int, ttl, idle time.Duration, now func() time.Time) *sessions {
	return &sessions{m: make(map[string]*session), max: max, ttl: ttl, idle: idle, now: now}
}

// randomToken returns 32 random bytes, base64url encoded.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for the key pair under a fresh id (never one the
// browser brought: no session fixation). When the set is full, expired
// sessions go first, then the least recently used one.
func (s *sessions) create(accessKey, secretKey string) *session {
	now := s.now()
	ss := &session{id: randomToken(), csrf: randomToken(), accessKey: accessKey, secretKey: secretKey,
		created: now, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		s.sweep(now)
	}
	if len(s.m) >= s.max {
		var oldest *session
		for _, o := range s.m {
			if oldest == nil || o.lastSeen.Before(oldest.lastSeen) {
				oldest = o
			}
		}
		delete(s.m, oldest.id)
	}
	s.m[ss.id] = ss
	return ss
}

// expired reports whether ss is past its lifetime at now.
func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.created) >= s.ttl || now.Sub(ss.lastSeen) >= s.idle
}

// sweep drops the expired sessions; s.mu is held.
func (s *sessions) sweep(now time.Time) {
	for id, ss := range s.m {
		if s.expired(ss, now) {
			delete(s.m, id)
		}
	}
}

// get returns a copy of the live session with the id, marking it used.
func (s *sessions) get(id string) (session, bool) {
	if id == "" {
		return session{}, false
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[id]
	if !ok {
		return session{}, false
	}
	if s.expired(ss, now) {
		delete(s.m, id)
		return session{}, false
	}
	ss.lastSeen = now
	return *ss, true
}

// remove ends the session with the id.
func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// len returns the number of sessions held.
func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// equal compares two secrets in constant time.
func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
