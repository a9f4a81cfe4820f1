package policy

import (
	"encoding/json"
	"net/netip"
	"strings"
)

// condition is one operator applied to one key: it holds when any value
// matches (for a negated operator: when none does).
type condition struct {
	op     string // lower-cased operator
	key    string // lower-cased key
	values []string
	nets   []netip.Prefix // for the IP operators
}

// operators lists the supported operators (lower-cased) and the keys
// (lower-cased; a trailing "/" is a prefix) each applies to.
var operators = map[string][]string{
	"stringequals":              stringKeys,
	"stringnotequals":           stringKeys,
	"stringequalsignorecase":    stringKeys,
	"stringnotequalsignorecase": stringKeys,
	"stringlike":                stringKeys,
	"stringnotlike":             stringKeys,
	"ipaddress":                 {"aws:sourceip"},
	"notipaddress":              {"aws:sourceip"},
	"bool":                      {"aws:securetransport"},
	"null":                      {"aws:sourceip", "aws:securetransport", "aws:referer", "s3:prefix", "s3:existingobjecttag/"},
}

var stringKeys = []string{"aws:referer", "s3:prefix", "s3:existingobjecttag/"}

// parseConditions reads a Condition block: {operator: {key: value(s)}}.
func parseConditions(raw json.RawMessage, o Options) ([]condition, error) {
	block, err := object(raw, "Condition")
	if err != nil {
		return nil, err
	}
	var out []condition
	for opName, body := range block {
		op := strings.ToLower(opName)
		keys, ok := operators[op]
		if !ok {
			return nil, errorf("Unsupported condition operator %q (the gateway supports StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike, StringNotLike, IpAddress, NotIpAddress, Bool and Null, without IfExists or set qualifiers).", opName)
		}
		m, err := object(body, "Condition "+opName)
		if err != nil {
			return nil, err
		}
		for keyName, vals := range m {
			c, err := parseCondition(op, opName, keys, keyName, vals, o)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func parseCondition(op, opName string, keys []string, keyName string, raw json.RawMessage, o Options) (condition, error) {
	c := condition{op: op, key: strings.ToLower(keyName)}
	if !keyAllowed(keys, c.key) {
		return c, errorf("Unsupported condition key %q with %s (the gateway supports aws:SourceIp, aws:SecureTransport, aws:Referer, s3:prefix and s3:ExistingObjectTag/<tag>).", keyName, opName)
	}
	if strings.HasPrefix(c.key, "s3:existingobjecttag/") && !o.ObjectTags {
		return c, errorf("Condition key %q cannot be evaluated: this gateway does not store object tags.", keyName)
	}
	vals, err := scalarList(raw, keyName)
	if err != nil {
		return c, err
	}
	for _, v := range vals {
		if strings.Contains(v, "${") {
			return c, errorf("Policy variables (%q) are not supported.", v)
		}
	}
	c.values = vals
	switch op {
	case "ipaddress", "notipaddress":
		for _, v := range vals {
			p, err := parseNet(v)
			if err != nil {
				return c, errorf("Invalid IP address or range %q for aws:SourceIp.", v)
			}
			c.nets = append(c.nets, p)
		}
	case "bool", "null":
		for _, v := range vals {
			if v != "true" && v != "false" {
				return c, errorf("Condition %s on %s takes \"true\" or \"false\", not %q.", opName, keyName, v)
			}
		}
	}
	return c, nil
}

func keyAllowed(keys []string, key string) bool {
	for _, k := range keys {
		if k == key || strings.HasSuffix(k, "/") && strings.HasPrefix(key, k) && len(key) > len(k) {
			return true
		}
	}
	return false
}

// scalarList decodes a string, boolean or number, or an array of them, as
// strings.
func scalarList(raw json.RawMessage, what string) ([]string, error) {
	l, err := listOf(raw, what)
	if err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, errorf("Condition %s has no value.", what)
	}
	out := make([]string, len(l))
	for i, v := range l {
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return nil, errorf("Condition %s: invalid value.", what)
		}
		switch t := x.(type) {
		case string:
			out[i] = t
		case bool, float64:
			out[i] = strings.TrimSpace(string(v))
		default:
			return nil, errorf("Condition %s: values must be strings.", what)
		}
	}
	return out, nil
}

// parseNet parses an address or a CIDR range.
func parseNet(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// holds evaluates c against a request's condition keys.
func (c *condition) holds(ctx map[string][]string) bool {
	vals, present := ctx[c.key]
	switch c.op {
	case "null":
		return (c.values[0] == "true") == !present
	case "stringnotequals", "stringnotequalsignorecase", "stringnotlike", "notipaddress":
		return !present || !c.anyMatch(vals)
	}
	return present && c.anyMatch(vals)
}

// anyMatch reports whether a request value matches a policy value under
// c's operator (negation aside).
func (c *condition) anyMatch(vals []string) bool {
	for _, v := range vals {
		for i, want := range c.values {
			if c.match(v, want, i) {
				return true
			}
		}
	}
	return false
}

func (c *condition) match(v, want string, i int) bool {
	switch c.op {
	case "stringequals", "stringnotequals":
		return v == want
	case "stringequalsignorecase", "stringnotequalsignorecase", "bool":
		return strings.EqualFold(v, want)
	case "stringlike", "stringnotlike":
		return wildcard(want, v)
	case "ipaddress", "notipaddress":
		a, err := netip.ParseAddr(v)
		return err == nil && c.nets[i].Contains(a.Unmap())
	}
	return false
}

// narrow reports whether every range of an aws:SourceIp condition is
// fixed: at least /8 for IPv4 and /32 for IPv6.
func (c *condition) narrow() bool {
	for _, n := range c.nets {
		if n.Addr().Is4() && n.Bits() < 8 || !n.Addr().Is4() && n.Bits() < 32 {
			return false
		}
	}
	return true
}
