package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// KeyInfo describes one setting.
type KeyInfo struct {
	// Key is the dotted key, e.g. "gateway.address"; for per-order settings
	// the order id is "<id>", e.g. "order.<id>.capacity".
	Key string
	// Type is the value's type: "string", "bool", "int", "duration", ...
	Type string
	// Doc is the comment Save writes above the setting.
	Doc string
	// Secret marks a value that is masked when printed.
	Secret bool
}

// OrderIDPlaceholder stands for the order id in the keys of per-order
// settings returned by Keys.
const OrderIDPlaceholder = "<id>"

// Keys lists every setting, in file order.
func Keys() []KeyInfo {
	var out []KeyInfo
	t := reflect.TypeFor[Config]()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name := tomlName(sf)
		switch {
		case sf.Type.Kind() == reflect.Struct:
			out = append(out, leafKeys(name, sf.Type)...)
		case sf.Type.Kind() == reflect.Map && sf.Type.Elem().Kind() == reflect.Struct:
			out = append(out, leafKeys(name+"."+OrderIDPlaceholder, sf.Type.Elem())...)
		}
	}
	return out
}

func leafKeys(prefix string, t reflect.Type) []KeyInfo {
	var out []KeyInfo
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		if sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.Struct {
			// An array of tables ([[order.<id>.keys]]): its fields.
			out = append(out, leafKeys(prefix+"."+tomlName(sf), sf.Type.Elem())...)
			continue
		}
		if isSubTable(sf.Type) {
			// An optional table ([order.<id>.upstream]): its fields.
			out = append(out, leafKeys(prefix+"."+tomlName(sf), sf.Type.Elem())...)
			continue
		}
		out = append(out, KeyInfo{
			Key:    prefix + "." + tomlName(sf),
			Type:   typeName(sf.Type),
			Doc:    sf.Tag.Get("doc"),
			Secret: sf.Tag.Get("secret") == "true",
		})
	}
	return out
}

func tomlName(sf reflect.StructField) string {
	name, _, _ := strings.Cut(sf.Tag.Get("toml"), ",")
	if name == "" {
		name = sf.Name
	}
	return name
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	sizeType     = reflect.TypeFor[Size]()
	timeType     = reflect.TypeFor[Time]()
)

func typeName(t reflect.Type) string {
	switch t {
	case durationType:
		return "duration"
	case sizeType:
		return "size"
	case timeType:
		return "time"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "int"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "uint"
	case reflect.Float32, reflect.Float64:
		return "float"
	}
	return t.String()
}

// IsSecret reports whether key names a secret setting (whose value is
// masked when printed).
func IsSecret(key string) bool {
	info, _, err := lookupKey(key)
	return err == nil && info.Secret
}

// splitKey splits a dotted key, honouring TOML quoting ("order.\"a.b\".x").
func splitKey(key string) ([]string, error) {
	var parts []string
	var cur strings.Builder
	quoted := byte(0)
	started := false
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case quoted != 0:
			if c == quoted {
				quoted = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quoted, started = c, true
		case c == '.':
			if !started && cur.Len() == 0 {
				return nil, fmt.Errorf("invalid key %q: empty part", key)
			}
			parts = append(parts, cur.String())
			cur.Reset()
			started = false
		default:
			cur.WriteByte(c)
			started = true
		}
	}
	if quoted != 0 {
		return nil, fmt.Errorf("invalid key %q: unterminated quote", key)
	}
	if !started && cur.Len() == 0 {
		return nil, fmt.Errorf("invalid key %q: empty part", key)
	}
	return append(parts, cur.String()), nil
}

// lookupKey resolves key to its KeyInfo and path; for per-order keys the
// path's second element is the real order id.
func lookupKey(key string) (KeyInfo, []string, error) {
	parts, err := splitKey(key)
	if err != nil {
		return KeyInfo{}, nil, err
	}
	generic := parts
	if len(parts) >= 3 && parts[0] == "order" {
		generic = append([]string{"order", OrderIDPlaceholder}, parts[2:]...)
	}
	g := strings.Join(generic, ".")
	for _, k := range Keys() {
		if k.Key == g {
			return k, parts, nil
		}
	}
	return KeyInfo{}, nil, unknownKeyError(key)
}

// ErrUnknownKey is returned (wrapped) by Get and Set for a key that is not a
// setting.
var ErrUnknownKey = errors.New("unknown key")

func unknownKeyError(key string) error {
	msg := fmt.Errorf("%w %q", ErrUnknownKey, key)
	if s := suggest(key); s != "" {
		return fmt.Errorf("%w (did you mean %q?)", msg, s)
	}
	var names []string
	for _, k := range Keys() {
		names = append(names, k.Key)
	}
	return fmt.Errorf("%w; settings are: %s", msg, strings.Join(names, ", "))
}

// field returns the struct field value for path in c; for per-order keys it
// returns a settable copy of the order and a function storing it back.
func (c *Config) field(parts []string, create bool) (v reflect.Value, store func(), err error) {
	rv := reflect.ValueOf(c).Elem()
	sec := fieldByTOML(rv, parts[0])
	if !sec.IsValid() {
		return reflect.Value{}, nil, unknownKeyError(strings.Join(parts, "."))
	}
	if sec.Kind() == reflect.Map {
		id := parts[1]
		mv := sec.MapIndex(reflect.ValueOf(id))
		if !mv.IsValid() {
			if !create {
				return reflect.Value{}, nil, fmt.Errorf("no order %q in the configuration", id)
			}
			mv = reflect.Zero(sec.Type().Elem())
		}
		cp := reflect.New(sec.Type().Elem()).Elem()
		cp.Set(mv)
		f := fieldByTOML(cp, parts[2])
		if len(parts) == 4 && isSubTable(f.Type()) {
			// A setting of an optional table: work on a copy of it.
			sub := reflect.New(f.Type().Elem())
			if !f.IsNil() {
				sub.Elem().Set(f.Elem())
			} else if !create {
				return reflect.Value{}, nil, fmt.Errorf("order %q has no [%s] table", id, strings.Join(parts[:3], "."))
			}
			f.Set(sub)
			f = fieldByTOML(sub.Elem(), parts[3])
		}
		return f, func() {
			if sec.IsNil() {
				sec.Set(reflect.MakeMap(sec.Type()))
			}
			sec.SetMapIndex(reflect.ValueOf(id), cp)
		}, nil
	}
	f := fieldByTOML(sec, parts[1])
	return f, func() {}, nil
}

// isSubTable reports whether t is written as an optional sub-table: a
// pointer to a struct ([order.<id>.upstream]).
func isSubTable(t reflect.Type) bool {
	return t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct
}

func fieldByTOML(v reflect.Value, name string) reflect.Value {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).IsExported() && tomlName(t.Field(i)) == name {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

// Get returns the value of the setting named by the dotted key, formatted as
// Set accepts it. Secret values are returned in clear: callers that print
// them must check IsSecret.
func (c *Config) Get(key string) (string, error) {
	_, parts, err := lookupKey(key)
	if err != nil {
		return "", err
	}
	f, _, err := c.field(parts, false)
	if err != nil {
		return "", err
	}
	return formatValue(f), nil
}

// Set parses value for the type of the setting named by the dotted key,
// stores it and validates the whole configuration; on any error c is left
// unchanged. Setting a per-order key creates the order's table.
func (c *Config) Set(key, value string) error {
	info, parts, err := lookupKey(key)
	if err != nil {
		return err
	}
	if len(parts) >= 3 {
		if err := ValidateOrderID(parts[1]); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	old := c.Clone()
	f, store, err := c.field(parts, true)
	if err != nil {
		return err
	}
	if err := parseInto(f, value); err != nil {
		if info.Secret {
			return fmt.Errorf("%s: invalid %s value", key, info.Type)
		}
		return fmt.Errorf("%s: %w", key, err)
	}
	store()
	if key == "gateway.access_key" || key == "gateway.secret_key" {
		c.pairSet = true
	}
	if err := c.Validate(); err != nil {
		*c = *old
		return err
	}
	return nil
}

func formatValue(v reflect.Value) string {
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, _ := m.MarshalText()
		return string(b)
	}
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	}
	return fmt.Sprint(v.Interface())
}

func parseInto(v reflect.Value, s string) error {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration (like 90s, 24h)", s)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not a boolean (true or false)", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a non-negative integer", s)
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(n)
	default:
		return fmt.Errorf("settings of type %s cannot be set from the command line", v.Type())
	}
	return nil
}

// suggest returns the known key closest to key, if it is close enough to be
// a likely typo.
func suggest(key string) string {
	parts, err := splitKey(key)
	if err != nil {
		return ""
	}
	best, bestD := "", 3
	for _, k := range Keys() {
		cand := k.Key
		if len(parts) >= 3 && strings.HasPrefix(cand, "order."+OrderIDPlaceholder+".") {
			cand = "order." + quoteKeyPart(parts[1]) + "." + strings.TrimPrefix(cand, "order."+OrderIDPlaceholder+".")
		} else if strings.Contains(cand, OrderIDPlaceholder) {
			continue
		}
		d := levenshtein(toml.Key(parts).String(), cand)
		if d < bestD && d < len(cand)/2 {
			best, bestD = cand, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quoteKeyPart quotes one key part if TOML requires it.
func quoteKeyPart(s string) string {
	return toml.Key{s}.String()
}

// sortedKeys returns the keys of a string-keyed map value, sorted.
func sortedKeys(m reflect.Value) []string {
	keys := make([]string, 0, m.Len())
	for _, k := range m.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	return keys
}
