package config

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Upstream is an [order.<id>.upstream] table: the order's buckets and
// objects live in one bucket of an existing S3 service instead of under
// broker.db_path.
//
//	[order.o1.upstream]
//	endpoint   = "https://s3.internal:9000"
//	bucket     = "orders"
//	prefix     = "o1/"
//	access_key = "..."
//	secret_key = "..."
//	ca_file    = ""
type Upstream struct {
	// Endpoint is the upstream's URL: http(s)://host[:port], no path.
	Endpoint string `toml:"endpoint" doc:"URL of the S3 service holding the order: https://host:port (http:// for plain connections), no path."`
	// Bucket is the upstream bucket; it must exist.
	Bucket string `toml:"bucket" doc:"Upstream bucket holding the order (it must exist; one bucket can hold many orders)."`
	// Prefix is the order's namespace in Bucket: "" or ending in '/'.
	Prefix string `toml:"prefix" doc:"The order's namespace in the bucket: \"\" (the whole bucket) or a prefix ending in '/', like \"<id>/\". Orders sharing a bucket need prefixes that are not prefixes of one another."`
	// AccessKey is the upstream credential's access key.
	AccessKey string `toml:"access_key" doc:"Access key of the upstream credentials (or STORAGECLI_UPSTREAM_ACCESS_KEY with --account env)."`
	// SecretKey is the upstream credential's secret key.
	SecretKey Secret `toml:"secret_key" doc:"Secret key of the upstream credentials (or STORAGECLI_UPSTREAM_SECRET_KEY with --account env)." secret:"true"`
	// CAFile is a PEM bundle of CA certificates for the upstream's TLS.
	CAFile string `toml:"ca_file" doc:"PEM file of CA certificates trusted for the upstream's TLS; empty: the system's. Relative paths are relative to the storagecli home."`
	// Region is the signing region; "" is us-east-1.
	Region string `toml:"region" doc:"Region requests to the upstream are signed for; empty: us-east-1."`
	// DialTimeout bounds connecting to the upstream.
	DialTimeout time.Duration `toml:"dial_timeout" doc:"How long connecting to the upstream may take; 0: 5s."`
	// ResponseTimeout bounds the wait for the upstream's response headers.
	ResponseTimeout time.Duration `toml:"response_timeout" doc:"How long a request waits for the upstream's answer before the gateway checks that the upstream is alive (it keeps waiting while it is, up to 10m; a dead upstream gives 503); 0: 10s."`
	// MaxRetries is the number of attempts of an idempotent request.
	MaxRetries int `toml:"max_retries" doc:"Attempts of an idempotent upstream request (with exponential backoff); 0: 3."`
	// BufferSize is the largest PUT body sent to the upstream in one piece
	// from memory.
	BufferSize Size `toml:"buffer_size" doc:"PUT bodies up to this size are buffered and sent in one request (retried if it fails); larger ones stream. 0: 8MiB."`
	// BucketCacheTTL is how long a seen bucket is trusted to exist.
	BucketCacheTTL time.Duration `toml:"bucket_cache_ttl" doc:"How long a gateway trusts that a bucket it has seen exists; 0: 5s, negative: always ask."`
	// UsageCacheTTL is how long a usage scan is reused.
	UsageCacheTTL time.Duration `toml:"usage_cache_ttl" doc:"How long a scan of the order's usage is reused; 0: 30s, negative: scan every time."`
	// TransferCheck is how the gateway makes sure the upstream stored the
	// bytes it verified.
	TransferCheck string `toml:"transfer_check" doc:"How the gateway makes sure the upstream stored the bytes it verified: crc32c (each body's CRC32C goes along, a trailer on streamed bodies; the upstream checks it), md5 (the gateway hashes each body with MD5 and compares the upstream's ETag: for upstreams without trailing checksums, and needs MD5 ETags), none (trust the connection). Empty: none over https, whose TLS authenticates every byte, crc32c over http. Except with md5, objects keep the ETags the upstream gives them."`
}

// Environment variables holding the upstream credentials with
// `gateway run --account env` (and for `order list` / `order usage` when
// the table has none).
const (
	EnvUpstreamAccessKey = "STORAGECLI_UPSTREAM_ACCESS_KEY"
	EnvUpstreamSecretKey = "STORAGECLI_UPSTREAM_SECRET_KEY"
)

// clone returns a copy of u (nil stays nil).
func (u *Upstream) clone() *Upstream {
	if u == nil {
		return nil
	}
	c := *u
	return &c
}

// UpstreamFromEnv sets the upstream credentials of order id from
// STORAGECLI_UPSTREAM_ACCESS_KEY / STORAGECLI_UPSTREAM_SECRET_KEY (read
// with getenv). It reports whether they were taken; an order without an
// upstream table, or neither variable set, changes nothing. One variable
// without the other is an error.
func (c *Config) UpstreamFromEnv(id string, getenv func(string) string) (bool, error) {
	o, ok := c.Orders[id]
	if !ok || o.Upstream == nil {
		return false, nil
	}
	ak, sk := getenv(EnvUpstreamAccessKey), getenv(EnvUpstreamSecretKey)
	switch {
	case ak == "" && sk == "":
		return false, nil
	case ak == "":
		return false, fmt.Errorf("%s is set but %s is not", EnvUpstreamSecretKey, EnvUpstreamAccessKey)
	case sk == "":
		return false, fmt.Errorf("%s is set but %s is not", EnvUpstreamAccessKey, EnvUpstreamSecretKey)
	}
	if err := validateSecretKey(sk); err != nil {
		return false, fmt.Errorf("%s: %w", EnvUpstreamSecretKey, err)
	}
	if err := validateAccessKey(ak); err != nil {
		return false, fmt.Errorf("%s: %w", EnvUpstreamAccessKey, err)
	}
	o = o.clone()
	o.Upstream.AccessKey, o.Upstream.SecretKey = ak, Secret(sk)
	c.Orders[id] = o
	return true, nil
}

// validateUpstream checks one [order.<id>.upstream] table (key is
// "order.<id>.upstream").
func validateUpstream(key string, u *Upstream, add func(string, error)) {
	if u == nil {
		return
	}
	add(key+".endpoint", validateEndpoint(u.Endpoint))
	add(key+".bucket", validateUpstreamBucket(u.Bucket))
	add(key+".prefix", validateUpstreamPrefix(u.Prefix))
	switch {
	case u.AccessKey == "" && u.SecretKey != "":
		add(key+".access_key", errors.New("must be set with secret_key"))
	case u.AccessKey != "" && u.SecretKey == "":
		add(key+".secret_key", errors.New("must be set with access_key"))
	case u.AccessKey != "":
		add(key+".access_key", validateAccessKey(u.AccessKey))
		add(key+".secret_key", validateSecretKey(string(u.SecretKey)))
	}
	if r := u.Region; r != "" && !regionRe.MatchString(r) {
		add(key+".region", fmt.Errorf("%q is not a region name (like us-east-1)", r))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"dial_timeout", u.DialTimeout}, {"response_timeout", u.ResponseTimeout}} {
		if d.v < 0 {
			add(key+"."+d.name, errors.New("must not be negative"))
		}
	}
	if u.MaxRetries < 0 {
		add(key+".max_retries", errors.New("must not be negative"))
	}
	if u.BufferSize < 0 || u.BufferSize > 1<<30 {
		add(key+".buffer_size", errors.New("must be from 0 to 1GiB"))
	}
	switch u.TransferCheck {
	case "", "crc32c", "md5", "none":
	default:
		add(key+".transfer_check", fmt.Errorf("%q: want crc32c, md5 or none", u.TransferCheck))
	}
}

func validateEndpoint(ep string) error {
	if ep == "" {
		return errors.New("must be set (like https://s3.internal:9000)")
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an http(s)://host[:port] URL", ep)
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("%q: no path allowed (path-style requests are made on the host)", ep)
	}
	return nil
}

func validateUpstreamBucket(b string) error {
	switch {
	case b == "":
		return errors.New("must be set")
	case len(b) < 3 || len(b) > 63 || strings.ContainsAny(b, "/ \t\r\n\\"):
		return fmt.Errorf("%q is not a bucket name", b)
	}
	return nil
}

func validateUpstreamPrefix(p string) error {
	switch {
	case p == "":
		return nil
	case !strings.HasSuffix(p, "/"):
		return fmt.Errorf("%q must end in '/'", p)
	case strings.HasPrefix(p, "/") || strings.Contains(p, "//"):
		return fmt.Errorf("%q must not start with '/' or contain \"//\"", p)
	case len(p) > 512:
		return errors.New("must be at most 512 bytes")
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(p, "/"), "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%q must not have '.' or '..' segments", p)
		}
	}
	if strings.ContainsAny(p, "\x00\r\n") {
		return fmt.Errorf("%q has a control character", p)
	}
	return nil
}

// validateUpstreamOverlap checks that no two orders share an upstream
// namespace: on the same endpoint and bucket, neither prefix may be a
// prefix of the other.
func validateUpstreamOverlap(orders map[string]Order, add func(string, error)) {
	ids := make([]string, 0, len(orders))
	for id, o := range orders {
		if o.Upstream != nil {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for i, a := range ids {
		ua := orders[a].Upstream
		for _, b := range ids[i+1:] {
			ub := orders[b].Upstream
			if !sameEndpoint(ua.Endpoint, ub.Endpoint) || ua.Bucket != ub.Bucket {
				continue
			}
			if strings.HasPrefix(ua.Prefix, ub.Prefix) || strings.HasPrefix(ub.Prefix, ua.Prefix) {
				add(fmt.Sprintf("order.%s.upstream.prefix", quoteKeyPart(b)),
					fmt.Errorf("%q overlaps the prefix %q of order %s in the same upstream bucket", ub.Prefix, ua.Prefix, a))
			}
		}
	}
}

func sameEndpoint(a, b string) bool {
	return strings.TrimSuffix(strings.ToLower(a), "/") == strings.TrimSuffix(strings.ToLower(b), "/")
}
