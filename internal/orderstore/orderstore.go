// Package orderstore opens the store an order's data lives in: the
// embedded store under broker.db_path/<order id>, or, for an order with an
// [order.<id>.upstream] table, the upstream store on an existing S3
// service. `storagecli gateway run`, `storagecli order` and the Caddy
// module open stores only through it.
package orderstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/lambda/storagecli/config"
	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/sse"
	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/embedded"
	"github.com/lambda/storagecli/gateway/store/upstream"
)

// Order returns order id as user.toml describes it: its [order.<id>]
// capacity, expiry and grace, and its keys: the [gateway] key pair,
// read-write, where config.GatewayKeyServes says it belongs to the order,
// then the [[order.<id>.keys]] pairs.
func Order(c *config.Config, id string) *order.Order {
	oc := c.Order(id)
	o := &order.Order{ID: id, Capacity: int64(oc.Capacity), Expires: oc.Expires.Time, Grace: oc.Grace, BlockPublic: oc.BlockPublicAccess,
		LifecycleDay: oc.LifecycleDay}
	if c.GatewayKeyServes(id) {
		o.Keys = append(o.Keys, order.Key{AccessKey: c.Gateway.AccessKey, SecretKey: string(c.Gateway.SecretKey)})
	}
	for _, k := range oc.Keys {
		o.Keys = append(o.Keys, order.Key{AccessKey: k.AccessKey, SecretKey: string(k.SecretKey), ReadOnly: k.ReadOnly, BypassGovernance: k.BypassGovernance})
	}
	return o
}

// Store is an open order store.
type Store interface {
	store.Store
	// Close releases the store (the embedded store's files and lock).
	Close() error
}

// Kinds of Location.
const (
	KindEmbedded = "embedded"
	KindUpstream = "upstream"
)

// Location is where an order's data lives.
type Location struct {
	// Kind is KindEmbedded or KindUpstream.
	Kind string
	// Dir is the embedded store's directory (KindEmbedded).
	Dir string
	// Upstream is the order's upstream table (KindUpstream), with a
	// relative ca_file resolved against the home.
	Upstream *config.Upstream
	// ID identifies the storage: two handlers with the same ID may share
	// one open store. An upstream ID digests every setting, the secret key
	// included: it is a map key only, never a metrics label or log field
	// (String is).
	ID string
}

// String describes the location for logs and `order list`, without
// secrets: the directory, or endpoint/bucket/prefix.
func (l Location) String() string {
	if l.Kind == KindUpstream {
		return l.Upstream.Endpoint + "/" + l.Upstream.Bucket + "/" + l.Upstream.Prefix
	}
	return l.Dir
}

// Locate returns where order id's data lives.
func Locate(cfg *config.Config, home, id string) Location {
	o, ok := cfg.Orders[id]
	if !ok || o.Upstream == nil {
		dir := cfg.OrderDataDir(home, id)
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		return Location{Kind: KindEmbedded, Dir: dir, ID: "embedded:" + dir}
	}
	u := *o.Upstream
	if u.CAFile != "" {
		u.CAFile = config.ExpandPath(u.CAFile, home)
	}
	return Location{Kind: KindUpstream, Upstream: &u, ID: "upstream:" + u.Endpoint + "/" + u.Bucket + "/" + u.Prefix + "@" + fingerprint(&u)}
}

// fingerprint is a short digest of every setting of u (secret included),
// so that a changed table gets a store of its own.
func fingerprint(u *config.Upstream) string {
	cp := *u
	b, _ := json.Marshal(struct {
		U  config.Upstream
		SK string
	}{cp, string(cp.SecretKey)})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// Options are the settings of Open that do not come from the
// configuration.
type Options struct {
	// NoSync is the embedded store's gateway.no_sync.
	NoSync bool
	// Logger receives the store's logs; nil: none.
	Logger *zap.Logger
	// CheckTimeout bounds the upstream check made by Open (0: 10s).
	CheckTimeout time.Duration
}

// Encryption opens the order keys of the store at loc (docs/encryption.md):
// [order.<id>] encryption_key_file, or sse.keys in the embedded store's
// directory, created on first use. An upstream order has none (nil):
// objects are not encrypted in upstream mode.
func Encryption(cfg *config.Config, home, id string, loc Location) (*sse.Keyring, error) {
	if loc.Kind != KindEmbedded {
		return nil, nil
	}
	path := filepath.Join(loc.Dir, sse.KeyFileName)
	if f := cfg.Order(id).EncryptionKeyFile; f != "" {
		path = config.ExpandPath(f, home)
	}
	kr, err := sse.OpenKeyring(path)
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", id, err)
	}
	return kr, nil
}

// ErrNoCredentials is returned (wrapped) by Open for an upstream order
// whose table has no credentials.
var ErrNoCredentials = errors.New("no upstream credentials")

// Open opens the store of order id (see Locate). An embedded store's
// directory is created if needed. An upstream store is checked: a wrong
// bucket or credentials fail Open, an upstream that cannot be reached is
// only logged (requests get 503 until it answers).
func Open(cfg *config.Config, home, id string, opts Options) (Store, Location, error) {
	loc := Locate(cfg, home, id)
	st, err := OpenLocation(id, loc, opts)
	return st, loc, err
}

// OpenLocation opens the store at loc for order id.
func OpenLocation(id string, loc Location, opts Options) (Store, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if loc.Kind == KindEmbedded {
		if err := os.MkdirAll(loc.Dir, 0o700); err != nil {
			return nil, err
		}
		return embedded.Open(loc.Dir, embedded.Options{NoSync: opts.NoSync, Logger: log})
	}
	u := loc.Upstream
	if u.AccessKey == "" {
		return nil, fmt.Errorf("order %s: %w: set order.%s.upstream.access_key and secret_key, or %s and %s with --account env",
			id, ErrNoCredentials, id, config.EnvUpstreamAccessKey, config.EnvUpstreamSecretKey)
	}
	st, err := upstream.New(UpstreamConfig(u), upstream.Options{})
	if err != nil {
		return nil, fmt.Errorf("order %s: %w", id, err)
	}
	timeout := opts.CheckTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	switch err := st.Check(ctx); {
	case errors.Is(err, upstream.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded):
		log.Warn("the upstream does not answer: requests get 503 ServiceUnavailable until it does",
			zap.String("order", id), zap.String("upstream", loc.String()), zap.Error(err))
	case err != nil:
		st.Close()
		return nil, fmt.Errorf("order %s: upstream %s: %w", id, loc, err)
	}
	return st, nil
}

// UpstreamConfig converts an [order.<id>.upstream] table to the upstream
// store's configuration.
func UpstreamConfig(u *config.Upstream) upstream.Config {
	return upstream.Config{
		Endpoint:        u.Endpoint,
		Bucket:          u.Bucket,
		Prefix:          u.Prefix,
		AccessKey:       u.AccessKey,
		SecretKey:       string(u.SecretKey),
		CAFile:          u.CAFile,
		Region:          u.Region,
		DialTimeout:     u.DialTimeout,
		ResponseTimeout: u.ResponseTimeout,
		MaxRetries:      u.MaxRetries,
		BufferSize:      int64(u.BufferSize),
		BucketCacheTTL:  u.BucketCacheTTL,
		UsageCacheTTL:   u.UsageCacheTTL,
		TransferCheck:   u.TransferCheck,
	}
}

// Limits are the gateway limits of cfg's [gateway] section (0: the
// gateway's default; negative: none).
func Limits(cfg *config.Config) gateway.Limits {
	g := cfg.Gateway
	return gateway.Limits{ReadIdle: g.ReadIdleTimeout, WriteIdle: g.WriteIdleTimeout,
		Uploads: g.MaxUploads, UploadsPerKey: g.MaxUploadsPerKey}
}
