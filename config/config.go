// Package config is storagecli's user configuration: the user.toml file under
// the storagecli home (~/.lambda_storagecli by default), its defaults, its
// validation, and access to its settings by dotted key ("gateway.address")
// for `storagecli config [key] [value]` and for command-line flags that
// override the file.
//
// The file looks like this:
//
//	[gateway]
//	address    = "127.0.0.1:9002"
//	access_key = "accesskey"
//	secret_key = "secretkey"
//	region     = "us-east-1"
//	domain     = ""
//	no_sync    = false
//
//	[broker]
//	extra_order_id = "default"
//	db_path        = "~/.lambda_storagecli/gateway"
//
//	[order.<id>]
//	capacity = "200GiB"
//	expires  = 2027-01-01T00:00:00Z
//	grace    = "168h"
//
//	[[order.<id>.keys]]
//	access_key = "reader"
//	secret_key = "..."
//	read_only  = true
//
// Keys missing from the file keep their defaults; a key the program does not
// know is an error naming the key and its line. Secret values (fields tagged
// `secret:"true"`, such as gateway.secret_key) never appear in errors, in
// String or in Redacted.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Default values of the settings.
const (
	// DefaultAddress is gateway.address: loopback only.
	DefaultAddress = "127.0.0.1:9002"
	// DefaultAccessKey is gateway.access_key, as in the original docs.
	DefaultAccessKey = "accesskey"
	// DefaultSecretKey is gateway.secret_key, as in the original docs.
	DefaultSecretKey = "secretkey"
	// DefaultRegion is gateway.region: what SDKs sign with when no region
	// is configured.
	DefaultRegion = "us-east-1"
	// DefaultExtraOrderID is broker.extra_order_id.
	DefaultExtraOrderID = "default"
	// DefaultDBPath is broker.db_path: the gateway directory of the home.
	DefaultDBPath = "~/" + HomeDirName + "/gateway"
)

// Config is the content of user.toml.
//
// Struct tags drive everything generic in this package: `toml` is the key
// name, `doc` the comment written above it by Save, and `secret:"true"` marks
// a value that is masked by String, Redacted and the CLI.
type Config struct {
	// Gateway configures the S3 gateway server.
	Gateway Gateway `toml:"gateway" doc:"The S3 gateway: storagecli gateway run."`
	// Broker selects the order the gateway serves and where its data lives.
	Broker Broker `toml:"broker" doc:"Which order the gateway serves and where its data is kept."`
	// Orders holds per-order settings, keyed by order id ([order.<id>]).
	Orders map[string]Order `toml:"order" doc:"Per-order settings: one [order.<id>] table per order."`

	// fileOrder is broker.extra_order_id as the file (or the defaults) gave
	// it, before a flag or Caddyfile override: the order the [gateway] key
	// pair belongs to.
	fileOrder string
	// pairSet: gateway.access_key or secret_key was overridden (flag,
	// environment or Caddyfile), so the pair is the served order's own.
	pairSet bool
}

// Gateway is the [gateway] section.
type Gateway struct {
	// Address is the host:port the S3 API listens on.
	Address string `toml:"address" doc:"Address the S3 API listens on (host:port)."`
	// AccessKey is the access key clients sign requests with.
	AccessKey string `toml:"access_key" doc:"Access key clients sign requests with."`
	// SecretKey is the secret matching AccessKey.
	SecretKey Secret `toml:"secret_key" doc:"Secret key matching access_key." secret:"true"`
	// Region is the region signatures must be scoped to; empty accepts any.
	Region string `toml:"region" doc:"Region signatures must be scoped to; empty accepts signatures for any region."`
	// Domain enables virtual-hosted style requests (<bucket>.<domain>).
	Domain string `toml:"domain" doc:"Set to serve virtual-hosted style requests: <bucket>.<domain>. Empty: path style only."`
	// WebsiteDomain enables the website endpoint (<bucket>.<website_domain>).
	WebsiteDomain string `toml:"website_domain" doc:"Set to serve buckets with a website configuration as static websites at <bucket>.<website_domain> (anonymous GET and HEAD; see docs/website.md). Empty: no website endpoint."`
	// NoSync relaxes durability: writes are acknowledged before they are
	// synced to disk.
	NoSync bool `toml:"no_sync" doc:"true acknowledges writes before they are synced to disk (faster; data written just before a crash or power loss may be lost)."`
	// ReadIdleTimeout bounds how long an upload's body may stop arriving.
	ReadIdleTimeout time.Duration `toml:"read_idle_timeout" doc:"How long a request body may stop arriving before the request fails with 400 RequestTimeout (releasing the capacity it reserved). 0: 20s, as AWS; negative: no limit."`
	// WriteIdleTimeout bounds how long a response may wait for its client.
	WriteIdleTimeout time.Duration `toml:"write_idle_timeout" doc:"How long a response may wait for the client to read it before the connection is closed. 0: 60s; negative: no limit."`
	// MaxUploads caps the order's uploads in flight.
	MaxUploads int `toml:"max_uploads" doc:"Uploads (PutObject, UploadPart) the order may have in progress at once; more answer 503 SlowDown. 0: 1024; negative: no limit."`
	// MaxUploadsPerKey caps the uploads in flight to one key.
	MaxUploadsPerKey int `toml:"max_uploads_per_key" doc:"Uploads to one key (the parts of its multipart uploads included) in progress at once; more answer 503 SlowDown. 0: 64; negative: no limit."`
	// MaxHeaderBytes caps a request's header block (storagecli gateway run).
	MaxHeaderBytes Size `toml:"max_header_bytes" doc:"Largest request header block storagecli gateway run reads (larger: 431). 0: 16KiB, as Caddy. (Behind Caddy: Caddy's max_header_size.)"`
	// Console serves the order console (a web page) at ConsolePath.
	Console bool `toml:"console" doc:"Serve the order console, a web page to see and manage the order, at console_path."`
	// ConsolePath is where the console is served.
	ConsolePath string `toml:"console_path" doc:"Path of the order console: starts and ends with '/', its first segment no bucket name."`
	// SSECPlainHTTP accepts SSE-C keys over plain HTTP from loopback clients.
	SSECPlainHTTP bool `toml:"sse_c_plain_http" doc:"true: accept SSE-C (customer-provided encryption keys) over plain HTTP from loopback clients (tests, or a TLS-terminating proxy on the same host). false (default): SSE-C only over TLS, as AWS (see docs/encryption.md)."`
}

// Broker is the [broker] section.
type Broker struct {
	// ExtraOrderID is the order `gateway run` serves.
	ExtraOrderID string `toml:"extra_order_id" doc:"The order storagecli gateway run serves."`
	// DBPath is the root of the embedded store's data; each order's data is
	// in DBPath/<order id>. See ExpandPath for how it is resolved.
	DBPath string `toml:"db_path" doc:"Root of the gateway's local data; each order's data is in db_path/<order id>. ~ is the directory holding the storagecli home; relative paths are relative to the home."`
}

// Secret is a string that does not print: String, GoString and MarshalJSON
// return a mask, so a Secret formatted with %v or %s, or logged, shows no
// value. Convert it with string(s) where the value is needed.
type Secret string

// Mask is what a non-empty secret prints as.
const Mask = "********"

// String returns Mask, or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Mask
}

// GoString returns the masked value, quoted.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalJSON returns the masked value as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// Default returns the configuration used when there is no user.toml.
func Default() *Config {
	return &Config{
		Gateway: Gateway{
			Address:   DefaultAddress,
			AccessKey: DefaultAccessKey,
			SecretKey: DefaultSecretKey,
			Region:    DefaultRegion,
			// The gateway's defaults (gateway.Default*), shown in the file.
			ReadIdleTimeout:  20 * time.Second,
			WriteIdleTimeout: 60 * time.Second,
			MaxUploads:       1024,
			MaxUploadsPerKey: 64,
			MaxHeaderBytes:   16 << 10,
			Console:          true,
			ConsolePath:      "/_console/",
		},
		Broker: Broker{
			ExtraOrderID: DefaultExtraOrderID,
			DBPath:       DefaultDBPath,
		},
		fileOrder: DefaultExtraOrderID,
	}
}

// GatewayKeyServes reports whether the [gateway] key pair is a key of order
// id. It is a key of the order user.toml names in broker.extra_order_id; of
// the order a process or Caddy site serves (an overridden extra_order_id)
// only when that order has no [[order.<id>.keys]] of its own, or when the
// pair itself was given for it (flag, environment or Caddyfile). So orders
// that have their own keys are never opened by another order's pair.
func (c *Config) GatewayKeyServes(id string) bool {
	if id == c.fileOrder {
		return true
	}
	if id != c.Broker.ExtraOrderID {
		return false
	}
	return c.pairSet || len(c.Orders[id].Keys) == 0
}

// UsesDefaultCredentials reports whether the gateway keys are the well-known
// defaults (accesskey/secretkey), which anyone can guess.
func (c *Config) UsesDefaultCredentials() bool {
	return c.Gateway.AccessKey == DefaultAccessKey && c.Gateway.SecretKey == DefaultSecretKey
}

// Clone returns a copy of c that shares no map or slice with it.
func (c *Config) Clone() *Config {
	n := *c
	if c.Orders != nil {
		n.Orders = make(map[string]Order, len(c.Orders))
		for k, v := range c.Orders {
			n.Orders[k] = v.clone()
		}
	}
	return &n
}

// OrderIDs returns the configured orders: broker.extra_order_id first, then
// the ids of the [order.<id>] tables in sorted order, without duplicates.
func (c *Config) OrderIDs() []string {
	ids := []string{c.Broker.ExtraOrderID}
	rest := make([]string, 0, len(c.Orders))
	for id := range c.Orders {
		if id != c.Broker.ExtraOrderID {
			rest = append(rest, id)
		}
	}
	sort.Strings(rest)
	return append(ids, rest...)
}

// ErrNotExist is returned (wrapped) by Load when the file does not exist.
var ErrNotExist = fs.ErrNotExist

// Load reads the file at path over the defaults and validates the result.
// A missing file is an error matching errors.Is(err, ErrNotExist); callers
// that accept a missing file use Default instead. Errors name the file and,
// where the problem is in the file, the line; they never contain a secret.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes TOML text over the defaults and validates the result, like
// Load without the file.
func Parse(data []byte) (*Config, error) {
	cfg := Default()
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(cfg)
	if err != nil {
		return nil, decodeError(data, err)
	}
	if err := unknownKeys(data, md.Undecoded()); err != nil {
		return nil, err
	}
	cfg.fileOrder = cfg.Broker.ExtraOrderID
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// LineError is a problem at a line of the configuration file.
type LineError struct {
	// Line is 1-based; 0 when unknown.
	Line int
	// Key is the dotted key concerned, if known.
	Key string
	// Msg describes the problem (never with a secret value).
	Msg string
}

// Error implements error.
func (e *LineError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// decodeError turns a toml error into a LineError whose message holds no
// secret value.
func decodeError(data []byte, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		// Type errors: "toml: line N (last key "k"): message".
		if m := typeErrRe.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			msg := m[3]
			if t := incompatibleRe.FindStringSubmatch(msg); t != nil {
				msg = fmt.Sprintf("expected a %s, found a %s", tomlTypeName(t[2]), tomlTypeName(t[1]))
			}
			return &LineError{Line: line, Key: m[2], Msg: redactText(data, m[2]+": "+msg)}
		}
		return errors.New(redactText(data, strings.TrimPrefix(err.Error(), "toml: ")))
	}
	line := pe.Position.Line
	if line == 0 {
		line = pe.Line
	}
	// An error at a line's newline is reported at column N+1 of the next
	// line; point at the line that has the problem.
	lines := strings.Split(string(data), "\n")
	if line > 1 && (line > len(lines) || pe.Position.Col-1 > len(lines[line-1])) {
		line--
	}
	msg := pe.Message
	key := ""
	if pe.LastKey != "" && lineKey(data, line) == pe.LastKey {
		key = pe.LastKey
		msg = fmt.Sprintf("%s: %s", key, msg)
	}
	if line > 0 && lineHasSecret(data, line) {
		// The lexer quotes what it found, which may be (part of) the secret.
		msg = "invalid value for a secret key (value not shown); strings must be quoted"
		if k := lineKey(data, line); k != "" {
			msg = fmt.Sprintf("%s: invalid value (not shown); strings must be quoted", k)
		}
	}
	return &LineError{Line: line, Key: key, Msg: redactText(data, msg)}
}

var (
	typeErrRe      = regexp.MustCompile(`^toml: line (\d+) \(last key "(.*?)"\): (.*)$`)
	incompatibleRe = regexp.MustCompile(`^incompatible types: TOML value has type (\S+); destination has type (\S+)$`)
)

func tomlTypeName(t string) string {
	switch t {
	case "int64", "integer":
		return "integer"
	case "float64", "float":
		return "number"
	case "bool", "boolean":
		return "boolean"
	case "map[string]interface", "map[string]any", "table":
		return "table"
	case "[]interface", "[]any", "array":
		return "array"
	}
	return t
}

// unknownKeys reports the keys of the file that no setting decoded, each
// with its line, topmost keys only (an unknown table is reported once, not
// once per key in it).
func unknownKeys(data []byte, undecoded []toml.Key) error {
	if len(undecoded) == 0 {
		return nil
	}
	set := make(map[string]bool, len(undecoded))
	for _, k := range undecoded {
		set[k.String()] = true
	}
	var errs []*LineError
	for _, k := range undecoded {
		if len(k) > 1 && set[toml.Key(k[:len(k)-1]).String()] {
			continue
		}
		msg := fmt.Sprintf("unknown key %q", k.String())
		if s := suggest(k.String()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		errs = append(errs, &LineError{Line: findKeyLine(data, k), Key: k.String(), Msg: msg})
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	if len(errs) == 1 {
		return errs[0]
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// safeName is what an order id may be: usable as a directory name.
var safeName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// MaxOrderIDLength is the longest order id accepted.
const MaxOrderIDLength = 128

// ValidateOrderID checks that id can be used as a directory and file name.
func ValidateOrderID(id string) error {
	switch {
	case id == "":
		return errors.New("order id is empty")
	case len(id) > MaxOrderIDLength:
		return fmt.Errorf("order id %.20q... is longer than %d characters", id, MaxOrderIDLength)
	case id == "." || id == "..":
		return fmt.Errorf("order id %q is not allowed", id)
	case !safeName.MatchString(id):
		return fmt.Errorf("order id %q may only contain letters, digits, '.', '_' and '-'", id)
	}
	return nil
}

var (
	regionRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	domainRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)
)

// ValidateAddress checks that addr is host:port with a numeric port (host may
// be empty, meaning every interface).
func ValidateAddress(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", addr, stripAddrErr(err))
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	return nil
}

func stripAddrErr(err error) string {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Err
	}
	return err.Error()
}

// Validate checks every setting. Messages name the key, and the value unless
// it is secret.
func (c *Config) Validate() error {
	var errs []error
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	add("gateway.address", ValidateAddress(c.Gateway.Address))
	add("gateway.access_key", validateAccessKey(c.Gateway.AccessKey))
	add("gateway.secret_key", validateSecretKey(string(c.Gateway.SecretKey)))
	if r := c.Gateway.Region; r != "" && !regionRe.MatchString(r) {
		add("gateway.region", fmt.Errorf("%q is not a region name (like us-east-1)", r))
	}
	if d := c.Gateway.Domain; d != "" && !domainRe.MatchString(d) {
		add("gateway.domain", fmt.Errorf("%q is not a DNS name (no scheme, port or path)", d))
	}
	if d := c.Gateway.WebsiteDomain; d != "" && !domainRe.MatchString(d) {
		add("gateway.website_domain", fmt.Errorf("%q is not a DNS name (no scheme, port or path)", d))
	}
	if d := c.Gateway.WebsiteDomain; d != "" && strings.EqualFold(d, c.Gateway.Domain) {
		add("gateway.website_domain", errors.New("must differ from gateway.domain"))
	}
	if c.Gateway.MaxHeaderBytes < 0 {
		add("gateway.max_header_bytes", errors.New("must not be negative"))
	}
	add("broker.extra_order_id", ValidateOrderID(c.Broker.ExtraOrderID))
	if c.Broker.DBPath == "" {
		add("broker.db_path", errors.New("must not be empty"))
	}
	ids := make([]string, 0, len(c.Orders))
	for id := range c.Orders {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	seen := map[string]string{c.Gateway.AccessKey: "gateway.access_key"}
	for _, id := range ids {
		key := fmt.Sprintf("order.%s", quoteKeyPart(id))
		add(key, ValidateOrderID(id))
		validateOrder(key, c.Orders[id], seen, add)
	}
	validateUpstreamOverlap(c.Orders, add)
	return errors.Join(errs...)
}

// Save validates c and writes it to path atomically (a temporary file renamed
// over path), creating the directory. The file is readable by its owner only,
// since it holds the secret key.
func (c *Config) Save(path string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".user.toml-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(c.render(false)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Redacted returns a copy of c with every secret replaced by Mask.
func (c *Config) Redacted() *Config {
	n := c.Clone()
	rv := reflect.ValueOf(n).Elem()
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Field(i)
		switch f.Kind() {
		case reflect.Struct:
			redact(f)
		case reflect.Map:
			for _, k := range f.MapKeys() {
				cp := reflect.New(f.Type().Elem()).Elem()
				cp.Set(f.MapIndex(k))
				if cp.Kind() == reflect.Struct {
					redact(cp)
				}
				f.SetMapIndex(k, cp)
			}
		}
	}
	return n
}

// String returns the configuration as TOML with secrets masked.
func (c *Config) String() string { return string(c.render(true)) }

// TOML returns the configuration as TOML, as Save writes it; with
// redact, secrets are masked.
func (c *Config) TOML(redact bool) []byte { return c.render(redact) }
