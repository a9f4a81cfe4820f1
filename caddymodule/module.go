// Package caddymodule is the storagecli S3 gateway as a Caddy v2 HTTP handler
// module, http.handlers.s3gateway, with the Caddyfile directive s3gateway.
//
// It is a thin adapter over package gateway: it reads the order's settings
// from storagecli's user.toml (overridable in the Caddy config), opens the
// order's embedded store and shares it across config reloads, hands every
// request to the gateway as the client sent it (also under handle_path),
// and reports to Caddy's access log and metrics. The S3 protocol itself
// (routing, signatures, XML, errors) is the gateway's.
//
// Minimal Caddyfile:
//
//	s3.example.com {
//		s3gateway {
//			config /path/to/user.toml   # default: ~/.lambda_storagecli/config/user.toml
//			order  ORDER_ID             # default: [broker] extra_order_id
//		}
//	}
//
// The handler is terminal: it answers every request it gets (with an S3
// XML error if need be) and never calls the next handler.
//
// With website, a handler serves one bucket as a static website instead
// of the S3 API (docs/website.md):
//
//	www.example.com {
//		s3gateway {
//			website BUCKET
//		}
//	}
package caddymodule

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/lambda/storagecli/config"
	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/console"
	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/internal/orderstore"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler serves one storage order's S3 API. Settings come from storagecli's
// configuration file (see Config); the other fields, when set, override the
// file's values for this handler only.
type Handler struct {
	// The storagecli configuration file (user.toml) to read the order's
	// settings from. Default: ~/.lambda_storagecli/config/user.toml of the
	// user running Caddy; if that file does not exist the built-in defaults
	// are used (as `storagecli gateway run` does). A file named here must
	// exist. A relative path is relative to Caddy's working directory.
	Config string `json:"config,omitempty"`

	// The order to serve. Default: the file's [broker] extra_order_id.
	// Its data is in <data>/<order>. Letters, digits, '.', '_' and '-'.
	Order string `json:"order,omitempty"`

	// The access key clients sign requests with. Default: the file's
	// [gateway] access_key. Placeholders such as {env.S3_ACCESS_KEY} are
	// replaced when the config is loaded. Give access_key and secret_key
	// together.
	AccessKey string `json:"access_key,omitempty"`

	// The secret key matching access_key. Default: the file's [gateway]
	// secret_key. Prefer a placeholder such as {env.S3_SECRET_KEY}: a
	// literal value is visible to anyone who can read Caddy's config
	// (including the admin API's /config/ endpoint).
	SecretKey string `json:"secret_key,omitempty"`

	// The region request signatures must be scoped to. Default: the file's
	// [gateway] region (us-east-1 unless set there; empty there accepts any
	// region).
	Region string `json:"region,omitempty"`

	// The domain of virtual-hosted style requests: a request for
	// <bucket>.<domain> addresses <bucket>. Default: the file's [gateway]
	// domain (empty: path style only). The site must also answer for
	// *.<domain> (and have a certificate for it).
	Domain string `json:"domain,omitempty"`

	// Serve this bucket as a static website (docs/website.md): every
	// request this handler gets is a website request for the bucket
	// (anonymous GET and HEAD of its public objects, index and error
	// documents, redirects); the S3 API and the console are not served by
	// it. Give the site block its own host name: Caddy's automatic HTTPS
	// then serves the bucket over HTTPS.
	Website string `json:"website,omitempty"`

	// The directory holding the embedded stores' data, one subdirectory
	// per order: the order's data is in <data>/<order>. Default: the
	// file's [broker] db_path (~/.lambda_storagecli/gateway). A relative
	// path is relative to Caddy's working directory. A store is used by
	// one process at a time: a `storagecli gateway run` serving the same
	// order, or another Caddy, makes loading this config fail.
	Data string `json:"data,omitempty"`

	// Acknowledge writes before they are synced to disk: faster, but data
	// written just before a power loss may be lost. Default: the file's
	// [gateway] no_sync (false). Handlers sharing a store share the
	// setting of the first one loaded.
	NoSync *bool `json:"no_sync,omitempty"`

	// Log every S3 request (operation, bucket, key, status, bytes) in
	// Caddy's log, in addition to the access log.
	Debug bool `json:"debug,omitempty"`

	// Limits, as the file's [gateway] keys of the same names (default:
	// the file's values): read_idle_timeout and write_idle_timeout
	// ("20s"), max_uploads and max_uploads_per_key ("100"). Caddy's own
	// timeouts still apply: the shorter one wins.
	Limits map[string]string `json:"limits,omitempty"`

	// The order console, a web page where the order's owner signs in with
	// a key pair: "off", "on", or the path to serve it at (on). Default:
	// the file's [gateway] console and console_path (on, /_console/).
	Console string `json:"console,omitempty"`

	logger   *zap.Logger
	shared   *sharedStore // set once this instance holds a pool reference
	released bool         // Cleanup gave the reference back
	gw       *gateway.Handler
	con      *console.Console // nil: no console
	site     http.Handler     // nil: no website (Website, or the file's website_domain)
	obs      *observer
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.s3gateway",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision loads the order's settings, opens (or shares) its store and
// builds the gateway.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	s, err := h.resolve(caddy.NewReplacer())
	if err != nil {
		return err
	}
	if s.missing {
		h.logger.Info("no storagecli configuration file: using the defaults", zap.String("config", s.path))
	}
	if s.cfg.UsesDefaultCredentials() {
		h.logger.Warn("using the default credentials (access key \""+s.cfg.Gateway.AccessKey+
			"\"): anyone who knows them can use this S3 endpoint; set access_key and secret_key",
			zap.String("order", s.order))
	}

	shared, err := acquireStore(s.loc, s.order, s.cfg.Gateway.NoSync, s.cfg.Order(s.order).LifecycleDay)
	if err != nil {
		return err
	}
	h.shared = shared
	if shared.noSync != s.cfg.Gateway.NoSync {
		h.logger.Warn("no_sync differs from the handler that opened this store first; its setting is kept",
			zap.String("data", s.dataDir), zap.Bool("no_sync", shared.noSync))
	}

	if h.obs, err = newObserver(ctx.GetMetricsRegistry(), s.order); err != nil {
		return fmt.Errorf("s3gateway: metrics: %w", err)
	}
	ord := orderstore.Order(s.cfg, s.order)
	keys, err := orderstore.Encryption(s.cfg, s.home, s.order, s.loc)
	if err != nil {
		return fmt.Errorf("s3gateway: %w", err)
	}
	h.gw, err = gateway.New(gateway.Options{
		Encryption:    keys,
		SSECPlainHTTP: s.cfg.Gateway.SSECPlainHTTP,
		Store:         shared.st,
		Order:         ord,
		Meter:         &shared.meter,
		Uploads:       &shared.uploads,
		Limits:        orderstore.Limits(s.cfg),
		Region:        s.cfg.Gateway.Region,
		Domain:        s.cfg.Gateway.Domain,
		Logger:        h.logger,
		// The file's website_domain: <bucket>.<website_domain> hosts are
		// websites (the site block must answer for them).
		WebsiteDomain: s.cfg.Gateway.WebsiteDomain,
		Debug:         h.Debug,
		Observe:       h.obs.observe,
	})
	if err != nil {
		return fmt.Errorf("s3gateway: %w", err)
	}
	if h.con, err = h.newConsole(s.cfg); err != nil {
		return fmt.Errorf("s3gateway: %w", err)
	}
	if err := h.provisionWebsite(s.cfg); err != nil {
		return err
	}
	setOrderMetrics(ord)
	h.logger.Info("serving order", zap.String("order", s.order), zap.String("data", s.dataDir),
		zap.String("config", s.path), zap.String("region", s.cfg.Gateway.Region),
		zap.String("domain", s.cfg.Gateway.Domain), zap.Bool("no_sync", shared.noSync))
	return nil
}

// limitKeys are the limits a handler may set (the [gateway] keys).
var limitKeys = map[string]bool{"read_idle_timeout": true, "write_idle_timeout": true, "max_uploads": true, "max_uploads_per_key": true}

// limit records a limit set in the Caddyfile.
func (h *Handler) limit(name, v string) {
	if h.Limits == nil {
		h.Limits = map[string]string{}
	}
	h.Limits[name] = v
}

// settings are a handler's resolved settings.
type settings struct {
	cfg     *config.Config
	path    string // configuration file
	missing bool   // the default file does not exist: cfg is the default
	order   string
	dataDir string // absolute: <data>/<order>; for an upstream order, where it is
	loc     orderstore.Location
	home    string
}

// resolve reads the configuration file and applies the handler's fields
// over it, replacing placeholders with repl.
func (h *Handler) resolve(repl *caddy.Replacer) (*settings, error) {
	var err error
	field := func(name, v string) string {
		if err != nil || v == "" {
			return v
		}
		out, rerr := repl.ReplaceOrErr(v, true, true)
		if rerr != nil {
			err = fmt.Errorf("s3gateway: %s: %w", name, rerr)
		}
		return out
	}
	cfgPath := field("config", h.Config)
	order := field("order", h.Order)
	ak := field("access_key", h.AccessKey)
	sk := field("secret_key", h.SecretKey)
	region := field("region", h.Region)
	domain := field("domain", h.Domain)
	data := field("data", h.Data)
	if err != nil {
		return nil, err
	}
	if (ak == "") != (sk == "") {
		return nil, errors.New("s3gateway: access_key and secret_key must be given together")
	}

	home, err := filepath.Abs(config.DefaultHome())
	if err != nil {
		return nil, err
	}
	s := &settings{}
	if cfgPath == "" {
		s.path = config.ConfigPath(home)
		s.cfg, err = config.Load(s.path)
		if errors.Is(err, config.ErrNotExist) {
			s.cfg, s.missing, err = config.Default(), true, nil
		}
	} else {
		if s.path, err = expandPath(cfgPath, home); err != nil {
			return nil, err
		}
		s.cfg, err = config.Load(s.path)
	}
	if err != nil {
		return nil, fmt.Errorf("s3gateway: %w", err)
	}
	if data != "" {
		if data, err = expandPath(data, home); err != nil {
			return nil, err
		}
	}
	set := []struct{ key, val, name string }{
		{"broker.extra_order_id", order, "order"},
		{"broker.db_path", data, "data"},
		{"gateway.access_key", ak, "access_key"},
		{"gateway.secret_key", sk, "secret_key"},
		{"gateway.region", region, "region"},
		{"gateway.domain", domain, "domain"},
	}
	if h.NoSync != nil {
		set = append(set, struct{ key, val, name string }{"gateway.no_sync", strconv.FormatBool(*h.NoSync), "no_sync"})
	}
	for _, name := range slices.Sorted(maps.Keys(h.Limits)) {
		if !limitKeys[name] {
			return nil, fmt.Errorf("s3gateway: limits: unknown limit %q", name)
		}
		set = append(set, struct{ key, val, name string }{"gateway." + name, field(name, h.Limits[name]), name})
	}
	if err != nil {
		return nil, err
	}
	for _, kv := range set {
		if kv.val == "" {
			continue
		}
		if err := s.cfg.Set(kv.key, kv.val); err != nil {
			// Set names the configuration key; say which subdirective set it.
			msg := strings.TrimPrefix(err.Error(), kv.key+": ")
			return nil, fmt.Errorf("s3gateway: %s: %s", kv.name, msg)
		}
	}
	s.order, s.home = s.cfg.Broker.ExtraOrderID, home
	s.dataDir, err = filepath.Abs(s.cfg.OrderDataDir(home, s.order))
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.UpstreamFromEnv(s.order, upstreamEnv(s.cfg, s.order)); err != nil {
		return nil, fmt.Errorf("s3gateway: order %s: %w", s.order, err)
	}
	if s.loc = orderstore.Locate(s.cfg, home, s.order); s.loc.Kind == orderstore.KindUpstream {
		s.dataDir = s.loc.String()
	}
	return s, nil
}

// upstreamEnv reads the upstream credentials from the environment
// (STORAGECLI_UPSTREAM_ACCESS_KEY / _SECRET_KEY) for an upstream order
// whose table has none.
func upstreamEnv(cfg *config.Config, id string) func(string) string {
	if u := cfg.Orders[id].Upstream; u != nil && u.AccessKey == "" {
		return os.Getenv
	}
	return func(string) string { return "" }
}

// expandPath resolves a path given in the Caddy config: "~" as storagecli
// does (config.ExpandPath), anything else relative to the working
// directory.
func expandPath(p, home string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		return config.ExpandPath(p, home), nil
	}
	return filepath.Abs(p)
}

// newConsole returns the order console the settings ask for (nil: off).
func (h *Handler) newConsole(cfg *config.Config) (*console.Console, error) {
	on, path := cfg.Gateway.Console, cfg.Gateway.ConsolePath
	switch h.Console {
	case "":
	case "off":
		on = false
	case "on":
		on = true
	default:
		on, path = true, h.Console
	}
	if !on {
		return nil, nil
	}
	return console.New(console.Options{Gateway: h.gw, Path: path, Region: cfg.Gateway.Region,
		Domain: cfg.Gateway.Domain, Logger: h.logger.Named("console")})
}

// Validate checks the handler's fields that need no files.
func (h *Handler) Validate() error {
	if (h.AccessKey == "") != (h.SecretKey == "") {
		return errors.New("s3gateway: access_key and secret_key must be given together")
	}
	if h.gw == nil {
		return errors.New("s3gateway: not provisioned")
	}
	return nil
}

// Cleanup releases this instance's reference to its store. The store closes
// once no loaded config uses it and its last request has finished.
//
// Requests routed by this config may still be running, or even starting,
// after Cleanup: the handler keeps serving them from its store while the
// store is open (a request that finds it closed gets a retryable 503).
func (h *Handler) Cleanup() error {
	if h.shared == nil || h.released {
		return nil // Provision failed before acquiring anything
	}
	h.released = true
	if err := releaseStore(h.shared); err != nil {
		h.logger.Error("closing the store", zap.String("data", h.shared.label), zap.Error(err))
		return err
	}
	return nil
}

// ServeHTTP serves an S3 request, or a website request (Website). It never
// calls next: every request gets an answer, errors included (as S3 XML, or
// HTML pages for websites; never as a Caddy error).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if !h.shared.enter() {
		// The config this request was routed by has been unloaded and its
		// store closed (the new config does not serve this order): a
		// retryable answer.
		writeS3Error(w, r, h.obs, errStoreClosed)
		return nil
	}
	defer h.shared.leave()
	if h.site != nil {
		h.site.ServeHTTP(w, r)
		return nil
	}
	h.serveAPI(w, r)
	return nil
}

// provisionWebsite sets up the website this handler serves, if any: the
// Website bucket, or the file's website_domain in front of the S3 API.
func (h *Handler) provisionWebsite(cfg *config.Config) error {
	if h.Website == "" {
		if cfg.Gateway.WebsiteDomain != "" {
			h.site = h.gw.WithWebsites(http.HandlerFunc(h.serveAPI))
		}
		return nil
	}
	bucket, err := caddy.NewReplacer().ReplaceOrErr(h.Website, true, true)
	if err != nil {
		return fmt.Errorf("s3gateway: website: %w", err)
	}
	if !store.ValidBucketName(bucket) {
		return fmt.Errorf("s3gateway: website: %q is not a bucket name", bucket)
	}
	h.site = h.gw.Website(bucket)
	h.logger.Info("serving a bucket as a website", zap.String("bucket", bucket))
	return nil
}

// serveAPI serves the S3 API (and the console).
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request) {
	r = asSent(r)
	if h.con != nil && h.con.Owns(r) {
		h.con.ServeHTTP(w, r)
		return
	}
	if e := droppedSignedHeader(r); e != nil {
		h.logger.Warn("a signed header did not reach the S3 gateway", zap.String("header", e.header),
			zap.String("hint", e.hint))
		writeS3Error(w, r, h.obs, e.s3)
		return
	}
	h.gw.ServeHTTP(w, r)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
