package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Order is one [order.<id>] table: the order's capacity, expiry and the
// extra key pairs allowed on it. The [gateway] key pair always serves the
// default order (broker.extra_order_id) read-write; Keys add more pairs.
//
//	[order.o1]
//	capacity = "200GiB"               # or a plain integer of bytes; 0: unlimited
//	expires  = 2027-01-01T00:00:00Z   # RFC 3339, quoted or not; "": never
//	grace    = "168h"                 # reads still work this long after expires
//	block_public_access = true        # no anonymous access at all (default false)
//	lifecycle_day = "10s"             # shorten lifecycle rules' day (tests; default 24h)
//	encryption_key_file = "/keys/o1"  # SSE-S3 order keys (default: sse.keys in its data directory)
//
//	[[order.o1.keys]]
//	access_key = "reader"
//	secret_key = "..."
//	read_only  = true
type Order struct {
	// Capacity is the most bytes the order may hold; 0 means unlimited.
	Capacity Size `toml:"capacity" doc:"Most bytes the order may hold: an integer of bytes or a size with a unit (\"200GiB\", \"1.5TB\"). 0: unlimited."`
	// Expires is when the order turns read-only; zero means never.
	Expires Time `toml:"expires" doc:"When the order expires (RFC 3339, e.g. 2027-01-01T00:00:00Z): writes are refused from then on. Empty: never."`
	// Grace is how long after Expires reads still work.
	Grace time.Duration `toml:"grace" doc:"How long after expires reads still work (e.g. 168h); after that every request is refused. 0: reads stop at expiry too."`
	// BlockPublicAccess forbids public access to the order altogether.
	BlockPublicAccess bool `toml:"block_public_access" doc:"true: no anonymous access to the order at all, whatever bucket ACLs and policies say, and ACLs or policies granting public access are refused (an account-level PublicAccessBlock). false (default): anonymous requests are served only where an ACL or a bucket policy explicitly grants them."`
	// LifecycleDay shortens the day of bucket lifecycle rules (tests).
	LifecycleDay time.Duration `toml:"lifecycle_day" doc:"The length of a day for bucket lifecycle rules (Expiration Days, NoncurrentDays, DaysAfterInitiation), e.g. \"10s\" so that a conformance suite sees expiry happen in seconds. 0 (default): S3's day, 24h, with expiry rounded to the next midnight UTC as S3 does."`
	// EncryptionKeyFile is where the order keys of SSE-S3 live.
	EncryptionKeyFile string `toml:"encryption_key_file" doc:"The order's encryption key file (SSE-S3 order keys, one \"<id> <64 hex digits>\" a line, the last one wrapping new objects; see docs/encryption.md), created with mode 0600 if missing. Empty (default): sse.keys in the order's data directory. Not for upstream orders (objects are not encrypted in upstream mode)."`
	// Keys are extra key pairs allowed on the order.
	Keys []OrderKey `toml:"keys" doc:"Extra key pairs allowed on this order: one [[order.<id>.keys]] table each."`
	// Upstream, when set, keeps the order on an existing S3 service
	// instead of under broker.db_path (see upstream.go).
	Upstream *Upstream `toml:"upstream" doc:"Keep the order's data on an existing S3 service instead of under broker.db_path: an [order.<id>.upstream] table (see docs/upstream.md)."`
}

// OrderKey is one [[order.<id>.keys]] table.
type OrderKey struct {
	// AccessKey is the access key clients sign with.
	AccessKey string `toml:"access_key" doc:"Access key clients sign requests with."`
	// SecretKey is the secret matching AccessKey.
	SecretKey Secret `toml:"secret_key" doc:"Secret key matching access_key." secret:"true"`
	// ReadOnly refuses every write made with this key.
	ReadOnly bool `toml:"read_only" doc:"true: the key may read but not write."`
	// BypassGovernance lets the key bypass GOVERNANCE object lock retention.
	BypassGovernance bool `toml:"bypass_governance" doc:"true: the key may shorten or remove GOVERNANCE object lock retention and delete versions under it, with x-amz-bypass-governance-retention: true (see docs/objectlock.md). COMPLIANCE retention and legal holds bind every key."`
}

// clone returns a copy of o that shares no slice with it.
func (o Order) clone() Order {
	if o.Keys != nil {
		o.Keys = append([]OrderKey(nil), o.Keys...)
	}
	o.Upstream = o.Upstream.clone()
	return o
}

// Order returns the settings of order id (the zero Order if it has no
// table).
func (c *Config) Order(id string) Order { return c.Orders[id].clone() }

// Size is a number of bytes. In user.toml it is an integer or a string with
// a decimal (kB, MB, GB, TB, PB: powers of 1000) or binary (KiB, MiB, GiB,
// TiB, PiB: powers of 1024) unit.
type Size int64

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12, "p": 1e15, "pb": 1e15,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50,
}

// ParseSize parses "200GiB", "1.5TB", "100 MB" or "1024".
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("%q is not a size (like 1073741824, 200GiB or 1.5TB)", s)
	}
	if unit == "" || unit == "b" {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number of bytes", s)
		}
		return Size(n), nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size (like 200GiB or 1.5TB)", s)
	}
	v := math.Round(f * mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return Size(v), nil
}

// String formats the size in the largest binary unit dividing it exactly,
// or in bytes: "200GiB", "1500000000000".
func (s Size) String() string {
	for _, u := range []struct {
		name string
		n    int64
	}{{"PiB", 1 << 50}, {"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if s != 0 && int64(s)%u.n == 0 {
			return strconv.FormatInt(int64(s)/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalText writes String.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses with ParseSize.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// UnmarshalTOML accepts an integer or a string.
func (s *Size) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		*s = Size(x)
		return nil
	case string:
		return s.UnmarshalText([]byte(x))
	}
	return fmt.Errorf("expected an integer of bytes or a size string like \"200GiB\", found %T", v)
}

// Time is an instant, written RFC 3339; the zero Time is written "" and
// means "not set".
type Time struct{ time.Time }

// String formats t as RFC 3339, or "" when zero.
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// MarshalText writes String.
func (t Time) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses RFC 3339; "" is the zero Time.
func (t *Time) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339, string(b))
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time (like 2027-01-01T00:00:00Z)", string(b))
	}
	*t = Time{v}
	return nil
}

// UnmarshalTOML accepts a TOML date-time (with an offset) or a string.
func (t *Time) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case time.Time:
		if strings.HasSuffix(x.Location().String(), "-local") {
			return errors.New("a local date-time has no offset: add one, like 2027-01-01T00:00:00Z")
		}
		*t = Time{x}
		return nil
	case string:
		return t.UnmarshalText([]byte(x))
	}
	return fmt.Errorf("expected an RFC 3339 time like 2027-01-01T00:00:00Z, found %T", v)
}

// validateOrder checks one order's settings; seen collects access keys
// across the configuration (each may appear once).
func validateOrder(key string, o Order, seen map[string]string, add func(string, error)) {
	if o.Capacity < 0 {
		add(key+".capacity", errors.New("must not be negative"))
	}
	if o.Grace < 0 {
		add(key+".grace", errors.New("must not be negative"))
	} else if o.Grace > 0 && o.Grace < time.Second {
		// TOML integers decode as nanoseconds: grace = 168 is 168ns.
		add(key+".grace", fmt.Errorf("%v is less than a second: write a duration with its unit, e.g. \"168h\"", o.Grace))
	}
	if o.LifecycleDay < 0 || (o.LifecycleDay > 0 && o.LifecycleDay < time.Second) {
		add(key+".lifecycle_day", fmt.Errorf("%v: want 0 or a duration of at least a second, e.g. \"10s\"", o.LifecycleDay))
	}
	if o.EncryptionKeyFile != "" && o.Upstream != nil {
		add(key+".encryption_key_file", errors.New("objects are not encrypted in upstream mode: remove it or the upstream table (see docs/encryption.md)"))
	}
	validateUpstream(key+".upstream", o.Upstream, add)
	for i, k := range o.Keys {
		kk := fmt.Sprintf("%s.keys[%d]", key, i)
		add(kk+".access_key", validateAccessKey(k.AccessKey))
		add(kk+".secret_key", validateSecretKey(string(k.SecretKey)))
		if k.AccessKey == "" {
			continue
		}
		if prev, dup := seen[k.AccessKey]; dup {
			add(kk+".access_key", fmt.Errorf("%q is already used by %s", k.AccessKey, prev))
			continue
		}
		seen[k.AccessKey] = kk
	}
}

func validateAccessKey(ak string) error {
	switch {
	case ak == "":
		return errors.New("must not be empty")
	case strings.ContainsAny(ak, "/,= \t\r\n"):
		return errors.New("must not contain '/', ',', '=' or white space")
	}
	return nil
}

func validateSecretKey(sk string) error {
	switch {
	case sk == "":
		return errors.New("must not be empty")
	case strings.ContainsAny(sk, "\r\n"):
		return errors.New("must not contain a line break")
	}
	return nil
}
