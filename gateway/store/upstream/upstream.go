// Package upstream is a store.Store kept on an existing S3 cluster (MinIO,
// Ceph RGW, SeaweedFS, Garage, AWS S3) through minio-go. The gateway holds
// no state: any number of gateways may serve one order from one upstream.
//
// # Mapping
//
// One upstream bucket holds any number of orders, each under its own
// prefix (Config.Prefix, e.g. "order-7/"). Inside an order's prefix P:
//
//	P<B>/<enc(K)>                 object K of user bucket B (and the upstream
//	                              multipart upload that builds it)
//	P.buckets/<B>                 bucket marker (empty; its mtime is the
//	                              bucket's creation time)
//	P.uploads/<B>/<enc(K)>/<enc(id)>  multipart upload record (metadata,
//	                              checksum algorithm; mtime = initiation)
//	P.psums/<enc(id)>/<n>.<etag>.<sum>  checksum of an uploaded part
//	P.mp/<token>                  part list and checksum of a completed
//	                              multipart object, or the checksum of a
//	                              streamed put
//	P.staging/<random>            bodies in transit (PUTs of unknown size, copies
//	                              of multipart objects)
//
// Bucket names never start with '.', so the dot namespaces cannot collide
// with a user bucket. enc escapes '.' as ".-" and '/' as "..": an
// order-preserving, prefix-free code, so upstream byte order is the order
// of user keys, a user key never becomes an upstream "directory" (MinIO
// cannot hold both "a" and "a/b", nor "a//b"), and the delimiter "/" is
// ".." upstream. Object metadata, checksums and the multipart token travel
// in one user-metadata header, x-amz-meta-storagecli.
//
// See docs/upstream.md for configuration and limitations.
package upstream

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/gateway/store"
)

// ErrUnavailable wraps every failure to reach the upstream (refused or
// timed-out connections, 503 answers). The gateway maps it to 503
// ServiceUnavailable: it has an Unavailable method returning true.
var ErrUnavailable error = unavailable{}

type unavailable struct{}

func (unavailable) Error() string { return "upstream: unavailable" }

// Unavailable marks the error as "the storage cannot be reached now"
// for the gateway (503 ServiceUnavailable).
func (unavailable) Unavailable() bool { return true }

// Config is an order's [order.<id>.upstream] table.
type Config struct {
	// Endpoint is the upstream's URL, "https://s3.internal:9000" (http for
	// plain connections).
	Endpoint string `toml:"endpoint"`
	// Bucket is the upstream bucket; it must exist.
	Bucket string `toml:"bucket"`
	// Prefix is the order's namespace in Bucket: "" or ending in "/". The
	// prefixes of two orders sharing a bucket must not be prefixes of one
	// another.
	Prefix    string `toml:"prefix"`
	AccessKey string `toml:"access_key"`
	SecretKey string `toml:"secret_key"`
	// CAFile is a PEM file of CA certificates for the upstream's TLS.
	CAFile string `toml:"ca_file"`
	// Region for signing; "" means us-east-1.
	Region string `toml:"region"`

	// DialTimeout bounds connecting (0: 5s).
	DialTimeout time.Duration `toml:"dial_timeout"`
	// ResponseTimeout is how long a request waits for its answer before
	// the upstream's liveness is probed; a request keeps waiting while
	// probes succeed, up to MaxWait (0: 10s). See watchdog.
	ResponseTimeout time.Duration `toml:"response_timeout"`
	// MaxRetries is the number of attempts of a retryable (idempotent,
	// replayable-body) request, with exponential backoff (0: 3).
	MaxRetries int `toml:"max_retries"`
	// BufferSize is the largest PUT body buffered in memory and sent in one
	// (replayable) request; larger bodies stream straight to their key
	// (0: 8 MiB).
	BufferSize int64 `toml:"buffer_size"`
	// BucketCacheTTL is how long a seen bucket is trusted to exist without
	// asking the upstream again (0: 5s; negative: never cached).
	BucketCacheTTL time.Duration `toml:"bucket_cache_ttl"`
	// UsageCacheTTL is how long a Usage scan is reused (0: 30s; negative:
	// never), adjusted meanwhile by the writes through this Store (see
	// usageCache); writes through other gateways show after a new scan,
	// which runs in the background once the figure is older than this.
	UsageCacheTTL time.Duration `toml:"usage_cache_ttl"`
	// TransferCheck is how the gateway makes sure the upstream stored the
	// bytes it verified: "crc32c" sends each body's CRC32C for the
	// upstream to check (a trailer on streamed bodies), "md5" hashes each
	// body with MD5 and compares the upstream's ETag with it (for
	// upstreams without trailing checksums; their ETags must be MD5s),
	// "none" trusts the connection. "": none over https (TLS authenticates
	// every byte), crc32c over http. Except with md5, objects take the
	// ETags the upstream answers.
	TransferCheck string `toml:"transfer_check"`
}

// Options are settings that do not come from the order's configuration.
type Options struct {
	// Transport replaces the HTTP transport (tests); nil builds one from
	// the Config's timeouts and CA file.
	Transport http.RoundTripper
}

// Store is an order's data on an upstream S3 cluster.
type Store struct {
	cfg    Config
	core   minio.Core
	tr     http.RoundTripper // the transport, for Close
	rt     http.RoundTripper // what minio-go sends through (tr and the liveness watchdog)
	bucket string
	pfx    string

	bufSize int64
	check   string // the transfer check: checkCRC32C, checkMD5 or checkNone
	// buffered bounds the memory of the bodies being read whole (up to
	// bufSize each) before they are sent: beyond it, bodies of known size
	// stream instead, so a thousand uploads stalled mid-body do not hold
	// a thousand buffers.
	buffered byteBudget

	bmu     sync.Mutex
	buckets map[string]time.Time // bucket -> seen at

	uc      usageCache
	configs configCache
	vers    verCache

	// vmode is whether the upstream bucket is versioned, so that user
	// buckets can be (versions.go): 0 not known yet, modePlain,
	// modeVersioned.
	vmode atomic.Int32

	mpCache *lru
	gates   gates

	// life ends when the Store is closed (background work stops).
	life     context.Context
	lifeDone context.CancelFunc
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.ETagMaker = (*Store)(nil)
)

// New connects a Store; it checks that the upstream bucket is reachable.
func New(cfg Config, opts Options) (*Store, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("upstream: endpoint %q: want http(s)://host[:port]", cfg.Endpoint)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("upstream: endpoint %q: no path allowed", cfg.Endpoint)
	}
	if cfg.Bucket == "" {
		return nil, errors.New("upstream: bucket is required")
	}
	if cfg.Prefix != "" && (!strings.HasSuffix(cfg.Prefix, "/") || strings.HasPrefix(cfg.Prefix, "/") ||
		strings.Contains(cfg.Prefix, "//") || !store.ValidKey(cfg.Prefix)) {
		return nil, fmt.Errorf("upstream: prefix %q: want \"\" or a key ending in '/'", cfg.Prefix)
	}
	check, err := resolveCheck(cfg.TransferCheck, u.Scheme)
	if err != nil {
		return nil, err
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = 10 * time.Second
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = 8 << 20
	}
	if cfg.BucketCacheTTL == 0 {
		cfg.BucketCacheTTL = 5 * time.Second
	}
	if cfg.UsageCacheTTL == 0 {
		cfg.UsageCacheTTL = 30 * time.Second
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	base := opts.Transport
	if base == nil {
		t, err := transport(cfg)
		if err != nil {
			return nil, err
		}
		base = t
		if u.Scheme == "http" {
			base = newSpliceTransport(t, t.DialContext)
		}
	}
	newClient := func(tr http.RoundTripper, retries int) (*minio.Client, error) {
		return minio.New(u.Host, &minio.Options{
			Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
			Secure:       u.Scheme == "https",
			Transport:    tr,
			Region:       cfg.Region,
			BucketLookup: minio.BucketLookupPath,
			MaxRetries:   retries,
		})
	}
	prober, err := newClient(base, 1)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	tr := newWatchdog(base, cfg.ResponseTimeout, func(ctx context.Context) error {
		_, err := prober.BucketExists(ctx, cfg.Bucket)
		return err
	})
	cl, err := newClient(tr, cfg.MaxRetries)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	life, lifeDone := context.WithCancel(context.Background())
	s := &Store{
		life:     life,
		lifeDone: lifeDone,
		cfg:      cfg,
		core:     minio.Core{Client: cl},
		tr:       base,
		rt:       tr,
		bucket:   cfg.Bucket,
		pfx:      cfg.Prefix,
		bufSize:  cfg.BufferSize,
		check:    check,
		buffered: byteBudget{max: max(maxBuffered, cfg.BufferSize)},
		buckets:  map[string]time.Time{},
		mpCache:  newLRU(4096),
	}
	return s, nil
}

const (
	modePlain     = 1
	modeVersioned = 2
	modeLocked    = 3 // versioned, with object lock
	// modeUnusable: a versioned bucket the store refuses to serve
	// (errSeaweedVersioned).
	modeUnusable = -1
)

// versioned reports whether the upstream bucket is versioned. It asks
// the upstream the first time (and again after a failure to get an
// answer, which fails the caller's request anyway); an upstream that
// answers without saying (no such API, no permission) counts as plain.
func (s *Store) versioned() bool {
	if m := s.vmode.Load(); m != 0 {
		return m >= modeVersioned
	}
	ctx, cancel := context.WithTimeout(s.life, s.cfg.ResponseTimeout)
	defer cancel()
	enabled, server, err := s.bucketVersioning(ctx)
	switch {
	case err == nil && enabled && strings.HasPrefix(server, "SeaweedFS"):
		s.vmode.Store(modeUnusable)
	case err == nil && enabled && s.detectLock(ctx):
		s.vmode.Store(modeLocked)
	case err == nil && enabled:
		s.vmode.Store(modeVersioned)
	case err == nil || !isTransportErr(err) && !errors.Is(s.mapErr(err), ErrUnavailable):
		s.vmode.Store(modePlain)
	}
	return s.vmode.Load() >= modeVersioned
}

// bucketVersioning asks whether the upstream bucket is versioned, and
// which server answers.
func (s *Store) bucketVersioning(ctx context.Context) (enabled bool, server string, err error) {
	resp, err := s.signedDo(ctx, http.MethodGet, "", url.Values{"versioning": {""}}, nil)
	if err != nil {
		return false, "", err
	}
	defer resp.Body.Close()
	var v struct {
		Status string `xml:"Status"`
	}
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&v); err != nil && err != io.EOF {
		return false, "", fmt.Errorf("upstream: bucket versioning answer: %v", err)
	}
	return v.Status == "Enabled", resp.Header.Get("Server"), nil
}

// errSeaweedVersioned refuses a versioned SeaweedFS bucket: SeaweedFS
// (4.53) lists the objects of a versioned bucket out of byte order and
// leaves some out of paginated listings (docs/upstream.md).
var errSeaweedVersioned = errors.New("upstream: the upstream bucket is a versioned SeaweedFS bucket, whose listings SeaweedFS returns out of order: use an unversioned bucket")

// Close releases the idle connections to the upstream and stops a
// background usage scan. The Store holds no other resources; requests
// still running finish normally.
func (s *Store) Close() error {
	s.lifeDone()
	if t, ok := s.tr.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	return nil
}

// Check verifies that the upstream answers and the bucket exists.
func (s *Store) Check(ctx context.Context) error {
	ok, err := s.core.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.mapErr(err)
	}
	if !ok {
		return fmt.Errorf("upstream: bucket %q does not exist", s.bucket)
	}
	if s.versioned(); s.vmode.Load() == modeUnusable {
		return errSeaweedVersioned
	}
	return nil
}

// ---- errors ----

// upErr is an upstream failure with details for logs. Its message names
// no upstream bucket or key.
type upErr struct {
	op   string
	code string
	err  error
}

func (e *upErr) Error() string { return "upstream: " + e.op + ": " + e.code }
func (e *upErr) Unwrap() error { return e.err }

// mapErr turns a minio-go error into a store sentinel (wrapped), an
// ErrUnavailable, or an internal error without upstream names.
func (s *Store) mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if isTransportErr(err) {
		return fmt.Errorf("%w: %s", ErrUnavailable, scrub(err.Error()))
	}
	r := minio.ToErrorResponse(err)
	switch r.Code {
	case "NoSuchKey":
		return fmt.Errorf("upstream: %w", store.ErrNoSuchKey)
	case "NoSuchUpload":
		return fmt.Errorf("upstream: %w", store.ErrNoSuchUpload)
	case "NoSuchVersion":
		return fmt.Errorf("upstream: %w", store.ErrNoSuchVersion)
	case "PreconditionFailed":
		return fmt.Errorf("upstream: %w", store.ErrPreconditionFailed)
	case "InvalidPart":
		return fmt.Errorf("upstream: %w", store.ErrInvalidPart)
	case "InvalidPartOrder":
		return fmt.Errorf("upstream: %w", store.ErrInvalidPartOrder)
	case "EntityTooSmall":
		return fmt.Errorf("upstream: %w", store.ErrEntityTooSmall)
	case "InvalidRange":
		return fmt.Errorf("upstream: %w", store.ErrInvalidRange)
	case "KeyTooLongError", "XMinioInvalidObjectName", "InvalidObjectName", "ObjectNameTooLong":
		return fmt.Errorf("upstream: key not accepted by the upstream: %w", store.ErrInvalidKey)
	case "SlowDown", "ServiceUnavailable", "XMinioServerNotInitialized", "XMinioReadQuorum",
		"XMinioWriteQuorum", "RequestTimeout", "XMinioStorageFull", "XMinioBackendDown":
		return fmt.Errorf("%w: %s", ErrUnavailable, r.Code)
	}
	if r.StatusCode == http.StatusServiceUnavailable || r.StatusCode == http.StatusGatewayTimeout ||
		r.StatusCode == http.StatusBadGateway {
		return fmt.Errorf("%w: HTTP %d %s", ErrUnavailable, r.StatusCode, r.Code)
	}
	if r.Code != "" {
		return &upErr{op: "request failed", code: r.Code + " (" + http.StatusText(r.StatusCode) + ")", err: err}
	}
	return &upErr{op: "request failed", code: scrub(err.Error()), err: err}
}

// isTransportErr reports whether err is a failure to get an answer from
// the upstream: a timeout, a network error (net.Error covers the
// *url.Error of every failed round trip, dial and TLS failures, and
// *net.OpError), or a connection dropped while a body or an answer was in
// transit (the io and syscall errors below, which reach us unwrapped when
// a response body is read). It looks at error types and values only: an
// S3 error whose message happens to say "EOF" is an answer, not a
// transport failure.
func isTransportErr(err error) bool {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) {
		return true
	}
	for _, e := range connErrs {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// connErrs are the errors of a connection that broke.
var connErrs = []error{io.EOF, io.ErrUnexpectedEOF, net.ErrClosed, syscall.ECONNREFUSED,
	syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE, syscall.ETIMEDOUT,
	syscall.EHOSTUNREACH, syscall.ENETUNREACH}

// scrub removes URLs (which name upstream buckets and keys) from a
// transport error message.
func scrub(msg string) string {
	var out []string
	for f := range strings.FieldsSeq(msg) {
		f = strings.Trim(f, `"`)
		if strings.HasPrefix(f, "http://") || strings.HasPrefix(f, "https://") {
			if u, err := url.Parse(f); err == nil {
				f = u.Scheme + "://" + u.Host + "/…"
			}
		}
		out = append(out, f)
	}
	return strings.Join(out, " ")
}

func isCode(err error, code string) bool { return minio.ToErrorResponse(err).Code == code }

func isNotFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || (r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket" && r.Code != "NoSuchUpload")
}

// ---- small LRU for completion records ----

type lru struct {
	mu    sync.Mutex
	max   int
	items map[string]*mpRecord
	order []string
}

func newLRU(n int) *lru { return &lru{max: n, items: map[string]*mpRecord{}} }

func (l *lru) get(k string) *mpRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.items[k]
}

func (l *lru) put(k string, v *mpRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.items[k]; !ok {
		l.order = append(l.order, k)
		if len(l.order) > l.max {
			delete(l.items, l.order[0])
			l.order = l.order[1:]
		}
	}
	l.items[k] = v
}
