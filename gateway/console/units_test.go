package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	tests := []struct {
		name   string
		steps  func(t *testing.T, s *sessions) []*session
		alive  []bool // per created session, at the end
		length int
	}{
		{"fresh", func(t *testing.T, s *sessions) []*session { return []*session{s.create("a", "x")} }, []bool{true}, 1},
		{"idle expiry", func(t *testing.T, s *sessions) []*session {
			ss := s.create("a", "x")
			c.add(time.Hour)
			return []*session{ss}
		}, []bool{false}, 0},
		{"kept alive by use, ended by lifetime", func(t *testing.T, s *sessions) []*session {
			ss := s.create("a", "x")
			for range 14 { // 11h40m
				c.add(50 * time.Minute)
				if _, ok := s.get(ss.id); !ok {
					t.Fatal("session ended while in use")
				}
			}
			c.add(30 * time.Minute) // idle 30 min, but 12h10m since sign-in
			return []*session{ss}
		}, []bool{false}, 0},
		{"cap evicts the least recently used", func(t *testing.T, s *sessions) []*session {
			a, b, d := s.create("a", "x"), s.create("b", "x"), s.create("c", "x")
			c.add(time.Minute)
			s.get(a.id)
			s.get(d.id)
			e := s.create("e", "x") // 4th: b is the least recently used
			return []*session{a, b, d, e}
		}, []bool{true, false, true, true}, 3},
		{"cap drops expired ones first", func(t *testing.T, s *sessions) []*session {
			a := s.create("a", "x")
			c.add(59 * time.Minute)
			b, d := s.create("b", "x"), s.create("c", "x")
			c.add(2 * time.Minute) // a idle for 61 min
			e := s.create("e", "x")
			return []*session{a, b, d, e}
		}, []bool{false, true, true, true}, 3},
		{"remove", func(t *testing.T, s *sessions) []*session {
			ss := s.create("a", "x")
			s.remove(ss.id)
			return []*session{ss}
		}, []bool{false}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSessions(3, 12*time.Hour, time.Hour, c.now)
			created := tt.steps(t, s)
			for i, ss := range created {
				if _, ok := s.get(ss.id); ok != tt.alive[i] {
					t.Errorf("session %d alive = %v, want %v", i, ok, tt.alive[i])
				}
			}
			if l := s.len(); l != tt.length {
				t.Errorf("%d sessions held, want %d", l, tt.length)
			}
		})
	}
	s := newSessions(3, time.Hour, time.Hour, c.now)
	a, b := s.create("a", "x"), s.create("a", "x")
	if a.id == b.id || a.csrf == b.csrf || a.id == a.csrf || len(a.id) < 43 {
		t.Errorf("ids and tokens are not fresh random values: %q %q %q", a.id, b.id, a.csrf)
	}
	if _, ok := s.get(""); ok {
		t.Error("the empty id names a session")
	}
}

func TestFailures(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	tests := []struct {
		name  string
		fails int
		after time.Duration
		want  time.Duration
	}{
		{"none", 0, 0, 0},
		{"under the burst", 4, 0, 0},
		{"at the burst", 5, 0, 20 * time.Second},
		{"past the burst", 7, 0, 60 * time.Second},
		{"forgiven with time", 5, 20 * time.Second, 0},
		{"partly forgiven", 7, 30 * time.Second, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFailures(5, 20*time.Second, 100, c.now)
			for range tt.fails {
				f.fail("1.2.3.4")
			}
			c.add(tt.after)
			if got := f.wait("1.2.3.4").Round(time.Second); got != tt.want {
				t.Errorf("wait = %v, want %v", got, tt.want)
			}
			if got := f.wait("5.6.7.8"); got != 0 {
				t.Errorf("another IP waits %v", got)
			}
			f.forget("1.2.3.4")
			if got := f.wait("1.2.3.4"); got != 0 {
				t.Errorf("after forget: wait %v", got)
			}
		})
	}
	// The map is bounded: the stalest IP goes.
	f := newFailures(1, time.Hour, 3, c.now)
	for i := range 5 {
		f.fail(fmt.Sprint("10.0.0.", i))
		c.add(time.Second)
	}
	if len(f.m) != 3 {
		t.Errorf("%d IPs tracked, want 3", len(f.m))
	}
	if f.wait("10.0.0.4") == 0 || f.wait("10.0.0.0") != 0 {
		t.Error("the newest IP should be tracked and the stalest forgotten")
	}
}

func TestCheckPath(t *testing.T) {
	for _, tt := range []struct {
		path string
		ok   bool
	}{
		{"/_console/", true},
		{"/_admin/console/", true},
		{"/-/", true},
		{"/console/", false},     // shadows the bucket "console"
		{"/my.bucket/x/", false}, // shadows a bucket
		{"/_console", false},
		{"_console/", false},
		{"/", false},
		{"//", false},
		{"/_con sole/", false},
		{"/_con%2Fsole/", false},
	} {
		if err := CheckPath(tt.path); (err == nil) != tt.ok {
			t.Errorf("CheckPath(%q) = %v, want ok %v", tt.path, err, tt.ok)
		}
	}
}

func TestOwns(t *testing.T) {
	c := &Console{opts: Options{Path: "/_console/", Domain: "s3.example.com"}}
	for _, tt := range []struct {
		host, path string
		want       bool
	}{
		{"s3.example.com", "/_console/", true},
		{"s3.example.com", "/_console", true},
		{"s3.example.com", "/_console/api/session", true},
		{"s3.example.com:8443", "/_console/signin", true},
		{"s3.example.com", "/_consoles", false},
		{"s3.example.com", "/bucket/_console/", false},
		{"bucket.s3.example.com", "/_console/", false}, // the key "_console/" of a virtual-hosted bucket
		{"BUCKET.S3.EXAMPLE.COM:443", "/_console/", false},
		{"localhost", "/_console/", true},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://"+tt.host+tt.path, nil)
		if got := c.Owns(r); got != tt.want {
			t.Errorf("Owns(%s%s) = %v, want %v", tt.host, tt.path, got, tt.want)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tt := range []struct {
		origin, site string
		want         bool
	}{
		{"", "", true}, // not a browser
		{"http://gw.example:9002", "", true},
		{"https://gw.example:9002", "same-origin", true},
		{"http://evil.example", "", false},
		{"null", "", false},
		{"http://gw.example:9002", "cross-site", false},
		{"", "cross-site", false},
		{"", "same-site", false},
		{"http://gw.example:9003", "", false},
	} {
		r := httptest.NewRequest(http.MethodPost, "http://gw.example:9002/_console/signin", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if tt.site != "" {
			r.Header.Set("Sec-Fetch-Site", tt.site)
		}
		if got := sameOrigin(r); got != tt.want {
			t.Errorf("Origin %q Sec-Fetch-Site %q: %v, want %v", tt.origin, tt.site, got, tt.want)
		}
	}
}
