// Package gateway is the S3 protocol layer: an http.Handler that routes S3
// requests (path style and virtual-hosted style), authenticates them with
// AWS Signature V4, and serves one order's data from a store.Store. It has no
// Caddy dependency: cmd/storagecli and the Caddy module serve the same code.
package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/sigv4"
	"github.com/lambda/storagecli/gateway/sse"
	"github.com/lambda/storagecli/gateway/store"
)

// Options configure a Handler.
type Options struct {
	// Store holds the order's data.
	Store store.Store
	// Order is the order served: its keys, capacity and expiry. Requests
	// signed with a key not in it are refused; anonymous requests are
	// refused unless a bucket's ACL or policy grants them (docs/access.md). SetOrder replaces it while serving.
	Order *order.Order
	// Credentials, when Order is nil, maps access keys to secret keys of an
	// unnamed order without limits, every key read-write.
	Credentials map[string]string
	// Meter accounts for the space reserved by writes in flight. Handlers
	// serving the same store (one per site, or old and new across a Caddy
	// reload) must share one; nil gives the Handler its own.
	Meter *order.Meter
	// Region is the region signatures must be scoped to; empty accepts any.
	Region string
	// Domain enables virtual-hosted style requests: <bucket>.<Domain>.
	Domain string
	// WebsiteDomain enables the website endpoint: anonymous GET and HEAD
	// requests for <bucket>.<WebsiteDomain> are served as bucket's static
	// website by the handler WithWebsites returns (docs/website.md).
	WebsiteDomain string
	// Logger receives errors and, with Debug, one line per request.
	Logger *zap.Logger
	// Debug logs every request.
	Debug bool
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Observe, if set, is called after every request with what was done
	// (for access logs and metrics in the embedding server).
	Observe func(r *http.Request, info RequestInfo)
	// Limits bound the time and concurrency a request may take.
	Limits Limits
	// Uploads counts the order's uploads in flight, for Limits. Handlers
	// serving the same order must share one; nil gives the Handler its own.
	Uploads *Uploads
	// Encryption, if set, are the order keys: objects are encrypted at
	// rest when a request or its bucket's default asks (SSE-S3, SSE-C;
	// docs/encryption.md). Store must then be an embedded store. nil
	// refuses encryption (upstream mode).
	Encryption *sse.Keyring
	// SSECPlainHTTP accepts SSE-C keys over plain HTTP from loopback
	// clients (tests, or a TLS-terminating proxy on the same host); AWS
	// takes them only over TLS.
	SSECPlainHTTP bool
}

// RequestInfo describes a served request.
type RequestInfo struct {
	RequestID string
	Operation string // e.g. "PutObject"; "" if the request was not routed
	AccessKey string // "" if not authenticated
	Status    int
	ErrorCode string // S3 error code, "" on success
	BytesIn   int64
	BytesOut  int64
	Duration  time.Duration
}

// Handler serves the S3 API. Create it with New.
type Handler struct {
	opts     Options
	verifier sigv4.Verifier
	owner    owner
	order    atomic.Pointer[order.Order]
	meter    *order.Meter
	limits   Limits
	uploads  *Uploads
	cors     corsCache
	// lifecycles are the buckets' parsed lifecycle rules (x-amz-expiration).
	lifecycles lifecycleCache
}

// New returns a Handler serving opts.Store.
func New(opts Options) (*Handler, error) {
	if opts.Store == nil {
		return nil, errors.New("gateway: no store")
	}
	ord := opts.Order
	if ord == nil {
		if len(opts.Credentials) == 0 {
			return nil, errors.New("gateway: no credentials: anonymous access is not supported")
		}
		ord = &order.Order{}
		for ak, sk := range opts.Credentials {
			if ak == "" || sk == "" {
				return nil, errors.New("gateway: empty access or secret key")
			}
			ord.Keys = append(ord.Keys, order.Key{AccessKey: ak, SecretKey: sk})
		}
	}
	if err := ord.Validate(); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Encryption != nil {
		st, err := sse.Wrap(opts.Store, opts.Encryption)
		if err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		opts.Store = st
	}
	h := &Handler{opts: opts, meter: opts.Meter, limits: opts.Limits.withDefaults(), uploads: opts.Uploads}
	if h.meter == nil {
		h.meter = new(order.Meter)
	}
	if h.uploads == nil {
		h.uploads = new(Uploads)
	}
	h.order.Store(ord)
	h.verifier = sigv4.Verifier{Region: opts.Region, Now: opts.Now}
	// The owner shown in listings: stable per credential set, not secret:
	// the order's first key (for FromConfig, the [gateway] pair), or the
	// smallest of Credentials.
	first := ord.Keys[0].AccessKey
	if opts.Order == nil {
		for _, k := range ord.Keys {
			first = min(first, k.AccessKey)
		}
	}
	sum := sha256.Sum256([]byte("owner:" + first))
	h.owner = owner{ID: hex.EncodeToString(sum[:]), DisplayName: first}
	return h, nil
}

// reqContext is the per-request state shared by the operation handlers.
type reqContext struct {
	id     string
	route  *route // nil when no operation has the request's method there
	op     string // route.op, "" when there is no route
	bucket string
	key    string
	vhost  bool // the bucket came from the Host header
	auth   *sigv4.Auth
	ord    *order.Order // the order as it was when the request arrived
	err    string
	body   *countingReader // the request body; read it only through here
	// The bucket's CORS document, read at most once (corsDocument).
	corsDoc  []byte
	corsErr  error
	corsRead bool
	post     *postForm   // a browser upload's form (permPostPolicy routes)
	access   accessState // what authorization learnt (access.go)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.ContentLength == 0 && r.ProtoMajor == 1 && expectsContinue(r) {
		// net/http never sends 100 Continue for an empty body, and botocore
		// (every aws cli upload) then misreads the next response on the
		// connection. An empty body has nothing to protect: ask for it.
		w.WriteHeader(http.StatusContinue)
	}
	rc := &reqContext{id: newRequestID()}
	dl := newDeadlines(w, r, h.limits)
	dl.start()
	defer dl.end()
	rw := &responseWriter{ResponseWriter: w, dl: dl}
	hdr := w.Header()
	hdr.Set("x-amz-request-id", rc.id)
	hdr.Set("x-amz-id-2", rc.id)
	hdr.Set("Server", "storagecli")
	// The body is counted through rc.body. r.Body itself must stay as the
	// server made it: net/http recognises its own 100-continue reader there
	// and would otherwise ask for (and drain) the body of a rejected request.
	body := &countingReader{r: r.Body, dl: dl}
	if body.r == nil {
		body.r = http.NoBody
	}
	rc.body = body
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				h.finish(r, rc, rw, body, start)
				panic(v)
			}
			h.opts.Logger.Error("panic serving request", zap.String("request_id", rc.id), zap.String("op", rc.op), zap.Any("panic", v), zap.StackSkip("stack", 2))
			if !rw.wroteHeader {
				h.writeError(rw, r, rc, s3err.InternalError)
			} else {
				h.finish(r, rc, rw, body, start)
				panic(http.ErrAbortHandler)
			}
		}
		h.finish(r, rc, rw, body, start)
	}()
	h.serve(rw, r, rc)
}

func (h *Handler) finish(r *http.Request, rc *reqContext, rw *responseWriter, body *countingReader, start time.Time) {
	info := RequestInfo{RequestID: rc.id, Operation: rc.op, Status: rw.status, ErrorCode: rc.err,
		BytesIn: body.n, BytesOut: rw.n, Duration: time.Since(start)}
	if info.Status == 0 {
		info.Status = http.StatusOK
	}
	if rc.auth != nil {
		info.AccessKey = rc.auth.AccessKey
	}
	if h.opts.Debug {
		h.opts.Logger.Info("request", zap.String("request_id", rc.id), zap.String("op", rc.op),
			zap.String("method", r.Method), zap.String("bucket", rc.bucket), zap.String("key", rc.key),
			zap.Int("status", info.Status), zap.String("error", rc.err), zap.String("access_key", info.AccessKey),
			zap.Int64("bytes_in", info.BytesIn), zap.Int64("bytes_out", info.BytesOut), zap.Duration("duration", info.Duration))
	}
	if h.opts.Observe != nil {
		h.opts.Observe(r, info)
	}
}

// serve authenticates and routes one request.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rc *reqContext) {
	bucket, key, vhost := h.bucketAndKey(r)
	rc.bucket, rc.key, rc.vhost = bucket, key, vhost
	rc.route = h.route(r, bucket, key)
	if rc.route != nil {
		rc.op = rc.route.op
	}
	if rc.route != nil && rc.route.perm == permPreflight {
		if err := rc.route.fn(h, w, r, rc); err != nil {
			h.writeError(w, r, rc, err)
		}
		return
	}
	h.applyCORS(w, r, rc)
	// One snapshot of the order per request: a key rotation (SetOrder)
	// applies to requests arriving after it; those in flight finish.
	rc.ord = h.order.Load()
	v := h.verifier
	v.Lookup = func(ak string) (string, bool) { k, ok := rc.ord.Key(ak); return k.SecretKey, ok }
	var auth *sigv4.Auth
	var err error
	if rc.route != nil && rc.route.perm == permPostPolicy {
		// A browser upload is signed by its form's policy, not its headers.
		auth, err = h.readPostForm(r, rc, v)
	} else {
		auth, err = v.Verify(r)
	}
	refusal := err
	if err != nil && unsigned(r) && (rc.route == nil || rc.route.perm != permPostPolicy) {
		// Anonymous: authorize decides by the route and the bucket.
		auth, err = anonymousAuth(r, err)
	}
	if err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	rc.auth = auth
	if auth.Presigned && hoistQueryHeaders(r) {
		// What the URL asks for is what the request asks for.
		rc.route = h.route(r, bucket, key)
		rc.op = ""
		if rc.route != nil {
			rc.op = rc.route.op
		}
	}
	if err := h.authorize(r, rc, refusal); err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	if rc.route == nil {
		h.writeError(w, r, rc, s3err.MethodNotAllowed)
		return
	}
	if err := checkNames(rc); err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	if err := refuseUnsupported(r.Header, rc.op); err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	if r, err = h.encryptionRequest(w, r, rc); err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	if err := h.checkExpectedOwner(r.Header); err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	if err := h.authorizeACL(r, rc); err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	release, err := h.admit(rc)
	if err != nil {
		h.writeError(w, r, rc, err)
		return
	}
	defer release()
	if err := rc.route.fn(h, w, r, rc); err != nil {
		h.writeError(w, r, rc, err)
	}
}

// presignAuthParams are the query parameters of a presigned URL's own
// authentication (lower case).
var presignAuthParams = map[string]bool{"x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true,
	"x-amz-expires": true, "x-amz-signedheaders": true, "x-amz-signature": true, "x-amz-security-token": true}

// hoistQueryHeaders makes the x-amz-* parameters of a presigned URL
// (presigners hoist headers such as x-amz-acl, x-amz-meta-* or
// x-amz-server-side-encryption into the signed query) request headers, so
// that they are honoured or refused like the headers they stand for. A
// header the request also carries wins. It reports whether it added any.
func hoistQueryHeaders(r *http.Request) bool {
	added := false
	for k, vals := range r.URL.Query() {
		lower := strings.ToLower(k)
		if !strings.HasPrefix(lower, "x-amz-") || presignAuthParams[lower] {
			continue
		}
		name := http.CanonicalHeaderKey(lower)
		if _, ok := r.Header[name]; !ok {
			r.Header[name] = vals
			added = true
		}
	}
	return added
}

// errInvalidURI answers a path that is not valid UTF-8, as S3 does.
var errInvalidURI = &s3err.Error{Code: "InvalidURI", Status: http.StatusBadRequest, Message: "Couldn't parse the specified URI."}

// checkNames refuses a request whose bucket name or key cannot exist.
func checkNames(rc *reqContext) error {
	switch {
	case !utf8.ValidString(rc.bucket) || !utf8.ValidString(rc.key):
		return errInvalidURI
	case rc.op == "CreateBucket":
		return nil // it reports InvalidBucketName itself
	case (rc.bucket != "" || rc.key != "") && !store.ValidBucketName(rc.bucket):
		// A bad name cannot exist ("//key": an empty one).
		return s3err.NoSuchBucket
	case rc.key == "" || store.ValidKey(rc.key):
		return nil
	case len(rc.key) > store.MaxKeyLength:
		return s3err.KeyTooLong
	}
	return invalidKey
}

// bucketAndKey extracts the bucket and key from the Host (virtual-hosted
// style, when a domain is configured) or the path (path style).
func (h *Handler) bucketAndKey(r *http.Request) (bucket, key string, vhost bool) {
	path := r.URL.Path
	if h.opts.Domain != "" {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		host = strings.ToLower(host)
		if b, ok := strings.CutSuffix(host, "."+strings.ToLower(h.opts.Domain)); ok && b != "" {
			return b, strings.TrimPrefix(path, "/"), true
		}
	}
	path = strings.TrimPrefix(path, "/")
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key, false
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
