// Package console is the order console: a web page, served by the gateway
// on the S3 API's origin (at /_console/ by default), where an order's owner
// signs in with a key pair and sees and manages the order: usage, expiry,
// buckets, objects, uploads, downloads and share links.
//
// The console holds no authority of its own. Its JSON API turns each call
// into S3 requests signed with the session's key and served in-process by
// the gateway's handler, and it mints presigned URLs with which the
// browser uploads and downloads straight from the S3 handler: read-only
// keys, expired orders and capacity apply exactly as to any S3 client.
// The secret stays server side, in the session; the browser holds an
// opaque session id in an HttpOnly cookie.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/store"
)

// DefaultPath is where the console is served by default.
const DefaultPath = "/_console/"

// Defaults of Options.
const (
	DefaultSessionTTL  = 12 * time.Hour
	DefaultSessionIdle = time.Hour
	DefaultMaxSessions = 1000
	// DefaultFailureBurst sign-in failures are allowed per client IP; then
	// one per DefaultFailureEvery.
	DefaultFailureBurst = 5
	DefaultFailureEvery = 20 * time.Second
)

// maxTrackedIPs bounds the sign-in failure records.
const maxTrackedIPs = 10000

//go:embed assets
var assets embed.FS

// Options configure a Console.
type Options struct {
	// Gateway is the S3 handler the console's requests go through.
	Gateway *gateway.Handler
	// Path is where the console is served: it starts and ends with '/'.
	// Default: DefaultPath.
	Path string
	// Region the console signs its requests for; empty: us-east-1.
	Region string
	// Domain is the gateway's virtual-hosted style domain: requests to a
	// bucket's host (<bucket>.<Domain>) are never the console's.
	Domain string
	// Logger receives sign-ins and errors (never a secret).
	Logger *zap.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Session lifetime from sign-in and idle, and the most sessions held;
	// zero: the defaults.
	SessionTTL, SessionIdle time.Duration
	MaxSessions             int
	// FailureBurst sign-in failures are allowed per client IP, then one
	// per FailureEvery; zero: the defaults.
	FailureBurst int
	FailureEvery time.Duration
}

// Console serves the order console. Create it with New.
type Console struct {
	opts     Options
	gw       *gateway.Handler
	sessions *sessions
	failures *failures
	static   http.Handler      // the scripts and style sheets
	etags    map[string]string // their ETags, by path under Path
	signin   *template.Template
	index    []byte
}

// New returns a Console for opts.Gateway.
func New(opts Options) (*Console, error) {
	if opts.Gateway == nil {
		return nil, errors.New("console: no gateway")
	}
	if opts.Path == "" {
		opts.Path = DefaultPath
	}
	if err := CheckPath(opts.Path); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.SessionTTL = orDefault(opts.SessionTTL, DefaultSessionTTL)
	opts.SessionIdle = orDefault(opts.SessionIdle, DefaultSessionIdle)
	opts.MaxSessions = orDefault(opts.MaxSessions, DefaultMaxSessions)
	opts.FailureBurst = orDefault(opts.FailureBurst, DefaultFailureBurst)
	opts.FailureEvery = orDefault(opts.FailureEvery, DefaultFailureEvery)
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		return nil, err
	}
	signin, err := template.ParseFS(sub, "signin.html")
	if err != nil {
		return nil, err
	}
	etags := map[string]string{}
	for _, name := range []string{"app.js", "app.css"} {
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		etags["assets/"+name] = `"` + hex.EncodeToString(sum[:8]) + `"`
	}
	return &Console{
		opts:     opts,
		gw:       opts.Gateway,
		sessions: newSessions(opts.MaxSessions, opts.SessionTTL, opts.SessionIdle, opts.Now),
		failures: newFailures(opts.FailureBurst, opts.FailureEvery, maxTrackedIPs, opts.Now),
		static:   http.StripPrefix(opts.Path+"assets/", http.FileServerFS(sub)),
		etags:    etags,
		signin:   signin,
		index:    index,
	}, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// CheckPath reports whether p can be the console's path: absolute, ending
// in '/', and not shadowing S3 paths (its first segment is no valid bucket
// name, as "_console" is not).
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || len(p) < 3 {
		return fmt.Errorf("path %q must start and end with '/'", p)
	}
	first, _, _ := strings.Cut(p[1:], "/")
	if store.ValidBucketName(first) || first == "" {
		return fmt.Errorf("path %q would hide the bucket %q: start it with a segment that is no bucket name, such as /_console/", p, first)
	}
	if (&url.URL{Path: p}).EscapedPath() != p {
		return fmt.Errorf("path %q is not a plain URL path", p)
	}
	return nil
}

// Owns reports whether r is a request for the console (its path is the
// console's, on a host that is not a bucket's virtual host).
func (c *Console) Owns(r *http.Request) bool {
	p := r.URL.Path
	if p != strings.TrimSuffix(c.opts.Path, "/") && !strings.HasPrefix(p, c.opts.Path) {
		return false
	}
	if d := c.opts.Domain; d != "" {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if strings.HasSuffix(strings.ToLower(host), "."+strings.ToLower(d)) {
			return false
		}
	}
	return true
}

// Wrap returns a handler serving the console's requests with c and every
// other request with next (the S3 API).
func (c *Console) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.Owns(r) {
			c.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the console's pages, assets and API.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin") // "no-referrer" makes browsers send "Origin: null"
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	rel, ok := strings.CutPrefix(r.URL.Path, c.opts.Path)
	switch {
	case !ok:
		http.Redirect(w, r, c.opts.Path, http.StatusMovedPermanently)
	case c.etags[rel] != "":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", c.etags[rel]) // http.FileServer answers If-None-Match with 304
		c.static.ServeHTTP(w, r)
	case strings.HasPrefix(rel, "api/"):
		h.Set("Cache-Control", "no-store")
		c.serveAPI(w, r, strings.TrimPrefix(rel, "api/"))
	case rel == "signin":
		h.Set("Cache-Control", "no-store")
		c.serveSignIn(w, r)
	case rel == "":
		h.Set("Cache-Control", "no-store")
		c.serveIndex(w, r)
	default:
		http.NotFound(w, r)
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// serveIndex serves the console's page to a signed-in browser and sends
// any other to the sign-in page.
func (c *Console) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	if _, ok := c.session(r); !ok {
		http.Redirect(w, r, c.opts.Path+"signin", http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(c.index)
}

// cookieName is the session cookie's name.
const cookieName = "storagecli_console"

// session returns the live session r's cookie names whose key is still a
// key of the order with the same secret (a rotated key ends its sessions).
func (c *Console) session(r *http.Request) (session, bool) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false
	}
	ss, ok := c.sessions.get(ck.Value)
	if !ok {
		return session{}, false
	}
	k, ok := c.gw.Order().Key(ss.accessKey)
	if !ok || !equal(k.SecretKey, ss.secretKey) {
		c.sessions.remove(ss.id)
		return session{}, false
	}
	return ss, true
}

// setCookie sets (or, with an empty value, clears) the session cookie.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, value string) {
	ck := &http.Cookie{Name: cookieName, Value: value, Path: c.opts.Path, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode}
	if value == "" {
		ck.MaxAge = -1
	} else {
		ck.MaxAge = int(c.opts.SessionTTL / time.Second)
	}
	http.SetCookie(w, ck)
}

// sameOrigin reports whether a state-changing request comes from the
// console's own pages: no cross-site Sec-Fetch-Site, and an Origin (when
// the browser sends one, as browsers do on every POST) whose host is the
// request's.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// clientIP is the address sign-in failures are counted against.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
