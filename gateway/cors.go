package gateway

import (
	"encoding/xml"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/lambda/storagecli/gateway/s3err"
)

// CORS: a bucket's CORSConfiguration (PutBucketCors) is validated here and
// kept by the store in the canonical XML form that GetBucketCors returns.
// Preflight OPTIONS requests are answered from its rules without
// authentication; actual requests with an Origin get the matching rule's
// headers, on success and on error alike. The work per request is bounded:
// at most maxCORSRules rules, maxPreflightHeaders requested headers, and a
// parsed configuration is cached per bucket (corsCache).

const (
	// maxCORSRules is AWS's limit on rules in one configuration.
	maxCORSRules = 100
	// maxCORSIDLen is AWS's limit on a rule's ID (characters).
	maxCORSIDLen = 255
	// maxPreflightHeaders bounds the names in one
	// Access-Control-Request-Headers (browsers send a few dozen at most).
	maxPreflightHeaders = 100
	// corsVary is the Vary of every response carrying CORS headers.
	corsVary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
)

// corsDocument is a CORSConfiguration as PutBucketCors carries it and as it
// is stored (re-encoded, with the S3 namespace).
type corsDocument struct {
	XMLName xml.Name       `xml:"CORSConfiguration"`
	NS      string         `xml:"xmlns,attr,omitempty"`
	Rules   []corsRuleXML  `xml:"CORSRule"`
	Unknown []xmlAnyMarker `xml:",any"`
}

// corsRuleXML is one CORSRule, members in the order of AWS's schema. ID and
// MaxAgeSeconds are lists only to refuse a rule that repeats them.
type corsRuleXML struct {
	AllowedHeaders []string       `xml:"AllowedHeader"`
	AllowedMethods []string       `xml:"AllowedMethod"`
	AllowedOrigins []string       `xml:"AllowedOrigin"`
	ExposeHeaders  []string       `xml:"ExposeHeader"`
	ID             []string       `xml:"ID"`
	MaxAgeSeconds  []string       `xml:"MaxAgeSeconds"`
	Unknown        []xmlAnyMarker `xml:",any"`
}

// xmlAnyMarker records an element a document must not have.
type xmlAnyMarker struct {
	XMLName xml.Name
}

// corsMethods are the methods a rule may allow, as bits of corsRule.methods.
var corsMethods = []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead}

// corsMethodBit returns m's bit, 0 if m is not a CORS method (case
// sensitive, as S3).
func corsMethodBit(m string) uint8 {
	for i, cm := range corsMethods {
		if cm == m {
			return 1 << i
		}
	}
	return 0
}

// wildcard is a pattern with at most one '*', which matches any (possibly
// empty) string; a pattern is anchored at both ends.
type wildcard struct {
	prefix, suffix string
	star           bool
}

func newWildcard(p string) wildcard {
	pre, suf, star := strings.Cut(p, "*")
	return wildcard{prefix: pre, suffix: suf, star: star}
}

func (w wildcard) match(s string) bool {
	if !w.star {
		return s == w.prefix
	}
	return len(s) >= len(w.prefix)+len(w.suffix) && strings.HasPrefix(s, w.prefix) && strings.HasSuffix(s, w.suffix)
}

// corsRule is a validated rule, ready to match requests.
type corsRule struct {
	origins      []wildcard
	methods      uint8               // bits of corsMethods
	headers      map[string]struct{} // allowed header names without '*', lower case
	headerWild   []wildcard          // allowed header patterns with '*', lower case
	allowMethods string              // Access-Control-Allow-Methods
	expose       string              // Access-Control-Expose-Headers, "" for none
	maxAge       string              // Access-Control-Max-Age, "" for none
}

// corsConfig is a bucket's validated CORS configuration.
type corsConfig struct {
	rules []corsRule
}

// corsError is an InvalidRequest naming what a configuration may not hold.
func corsError(format string, args ...any) error {
	return s3err.InvalidRequest.WithMessage(format, args...)
}

// parseCORS validates a CORSConfiguration document and returns it parsed
// and in its canonical stored form.
func parseCORS(body []byte) (*corsConfig, []byte, error) {
	var doc corsDocument
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, nil, s3err.MalformedXML
	}
	switch {
	case len(doc.Unknown) > 0:
		return nil, nil, s3err.MalformedXML.WithMessage("The XML you provided was not well-formed or did not validate against our published schema: unknown element %s.", doc.Unknown[0].XMLName.Local)
	case len(doc.Rules) == 0:
		return nil, nil, s3err.MalformedXML
	case len(doc.Rules) > maxCORSRules:
		return nil, nil, s3err.MalformedXML.WithMessage("The XML you provided was not well-formed or did not validate against our published schema: a CORS configuration has at most %d rules.", maxCORSRules)
	}
	cfg := &corsConfig{rules: make([]corsRule, 0, len(doc.Rules))}
	for i := range doc.Rules {
		rule, err := parseCORSRule(&doc.Rules[i])
		if err != nil {
			return nil, nil, err
		}
		cfg.rules = append(cfg.rules, rule)
	}
	doc.XMLName, doc.NS, doc.Unknown = xml.Name{}, s3NS, nil
	canon, err := xml.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	return cfg, canon, nil
}

// parseCORSRule validates one rule. Values are kept as sent (S3 gives them
// back unchanged), without surrounding white space.
func parseCORSRule(x *corsRuleXML) (corsRule, error) {
	trimAll(x.AllowedHeaders, x.AllowedMethods, x.AllowedOrigins, x.ExposeHeaders, x.ID, x.MaxAgeSeconds)
	var r corsRule
	switch {
	case len(x.Unknown) > 0:
		return r, s3err.MalformedXML.WithMessage("The XML you provided was not well-formed or did not validate against our published schema: unknown element %s in CORSRule.", x.Unknown[0].XMLName.Local)
	case len(x.AllowedOrigins) == 0 || len(x.AllowedMethods) == 0 || len(x.ID) > 1 || len(x.MaxAgeSeconds) > 1:
		return r, s3err.MalformedXML
	}
	for _, m := range x.AllowedMethods {
		bit := corsMethodBit(m)
		if bit == 0 {
			return r, corsError("Found unsupported HTTP method in CORS config. Unsupported method is %s", m)
		}
		r.methods |= bit
	}
	r.allowMethods = strings.Join(x.AllowedMethods, ", ")
	for _, o := range x.AllowedOrigins {
		if strings.Count(o, "*") > 1 {
			return r, corsError("AllowedOrigin %q can not have more than one wildcard.", o)
		}
		if !printableASCII(o) {
			return r, corsError("AllowedOrigin %q contains invalid character.", o)
		}
		r.origins = append(r.origins, newWildcard(o))
	}
	r.headers = make(map[string]struct{}, len(x.AllowedHeaders))
	for _, h := range x.AllowedHeaders {
		if strings.Count(h, "*") > 1 {
			return r, corsError("AllowedHeader %q can not have more than one wildcard.", h)
		}
		if !printableASCII(h) {
			return r, corsError("AllowedHeader %q contains invalid character.", h)
		}
		lower := strings.ToLower(h)
		if strings.Contains(lower, "*") {
			r.headerWild = append(r.headerWild, newWildcard(lower))
		} else {
			r.headers[lower] = struct{}{}
		}
	}
	for _, h := range x.ExposeHeaders {
		if strings.Contains(h, "*") {
			return r, corsError("ExposeHeader %q contains wildcard. We currently do not support wildcard for ExposeHeader.", h)
		}
		if !printableASCII(h) || strings.Contains(h, ",") {
			return r, corsError("ExposeHeader %q contains invalid character.", h)
		}
	}
	r.expose = strings.Join(x.ExposeHeaders, ", ")
	if len(x.ID) == 1 && len([]rune(x.ID[0])) > maxCORSIDLen {
		return r, s3err.InvalidArgument.WithMessage("The ID of a CORSRule cannot be longer than %d characters.", maxCORSIDLen)
	}
	if len(x.MaxAgeSeconds) == 1 {
		n, err := strconv.ParseInt(x.MaxAgeSeconds[0], 10, 64)
		switch {
		case err != nil || n > math.MaxInt32:
			return r, s3err.MalformedXML
		case n < 0:
			return r, corsError("MaxAgeSeconds %d is negative.", n)
		}
		r.maxAge = strconv.FormatInt(n, 10)
		x.MaxAgeSeconds[0] = r.maxAge
	}
	return r, nil
}

// trimAll trims the white space around every value of every list.
func trimAll(lists ...[]string) {
	for _, l := range lists {
		for i := range l {
			l[i] = strings.TrimSpace(l[i])
		}
	}
}

// printableASCII reports whether s has only printable ASCII characters
// (values S3 sends back in response headers).
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// corsMatch is the outcome of matching a request against a configuration.
type corsMatch struct {
	rule      *corsRule
	anyOrigin bool // the rule allowed the origin as "*"
}

// match returns the first rule allowing origin, method and every one of
// headers (lower case), nil if none does.
func (c *corsConfig) match(origin, method string, headers []string) *corsMatch {
	bit := corsMethodBit(method)
	if bit == 0 {
		return nil
	}
	for i := range c.rules {
		r := &c.rules[i]
		if r.methods&bit == 0 {
			continue
		}
		star, ok := r.matchOrigin(origin)
		if ok && r.allowsHeaders(headers) {
			return &corsMatch{rule: r, anyOrigin: star}
		}
	}
	return nil
}

// matchOrigin reports whether the rule allows origin, and whether by its
// "*" origin.
func (r *corsRule) matchOrigin(origin string) (star, ok bool) {
	for _, o := range r.origins {
		if o.match(origin) {
			return o.star && o.prefix == "" && o.suffix == "", true
		}
	}
	return false, false
}

func (r *corsRule) allowsHeaders(headers []string) bool {
	for _, h := range headers {
		if _, ok := r.headers[h]; ok {
			continue
		}
		allowed := false
		for _, w := range r.headerWild {
			if w.match(h) {
				allowed = true
				break
			}
		}
		if !allowed {
			return false
		}
	}
	return true
}

// setHeaders sets the CORS response headers of a matched request.
// preflight adds Access-Control-Allow-Headers (the requested names).
func (m *corsMatch) setHeaders(hdr http.Header, origin string, requested []string, preflight bool) {
	if m.anyOrigin {
		hdr.Set("Access-Control-Allow-Origin", "*")
	} else {
		hdr.Set("Access-Control-Allow-Origin", origin)
		hdr.Set("Access-Control-Allow-Credentials", "true")
	}
	hdr.Set("Access-Control-Allow-Methods", m.rule.allowMethods)
	if preflight && len(requested) > 0 {
		hdr.Set("Access-Control-Allow-Headers", strings.Join(requested, ", "))
	}
	if m.rule.expose != "" {
		hdr.Set("Access-Control-Expose-Headers", m.rule.expose)
	}
	if m.rule.maxAge != "" {
		hdr.Set("Access-Control-Max-Age", m.rule.maxAge)
	}
	hdr.Add("Vary", corsVary)
}

// errPreflightHeaders refuses an Access-Control-Request-Headers that is not
// a list of at most maxPreflightHeaders header names.
func errPreflightHeaders(v string) error {
	return errCORSBadRequest.WithMessage("Access-Control-Request-Headers %q contains invalid character.", v)
}

// errCORSBadRequest is S3's answer to a preflight it cannot evaluate.
var errCORSBadRequest = &s3err.Error{Code: "BadRequest", Status: http.StatusBadRequest, Message: "Bad Request."}

// preflightHeaders parses Access-Control-Request-Headers: comma-separated
// header names (empty elements ignored), lower-cased.
func preflightHeaders(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if !isToken(name) {
				return nil, errPreflightHeaders(name)
			}
			if len(out) == maxPreflightHeaders {
				return nil, errCORSBadRequest.WithMessage("Access-Control-Request-Headers names more than %d headers.", maxPreflightHeaders)
			}
			out = append(out, strings.ToLower(name))
		}
	}
	return out, nil
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return s != ""
}

// corsCacheSize bounds corsCache (buckets).
const corsCacheSize = 256

// corsCache keeps the parsed configuration of recently used buckets, so that
// a flood of preflights parses nothing: an entry is used while the stored
// document is byte-for-byte the one it was parsed from.
type corsCache struct {
	mu      sync.Mutex
	entries map[string]corsCacheEntry
}

type corsCacheEntry struct {
	doc string
	cfg *corsConfig
}

// get returns doc parsed, from the cache when it holds bucket's doc.
func (c *corsCache) get(bucket string, doc []byte) (*corsConfig, error) {
	c.mu.Lock()
	e, ok := c.entries[bucket]
	c.mu.Unlock()
	if ok && e.doc == string(doc) {
		return e.cfg, nil
	}
	cfg, _, err := parseCORS(doc)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]corsCacheEntry)
	}
	if _, ok := c.entries[bucket]; !ok && len(c.entries) >= corsCacheSize {
		for k := range c.entries { // evict one, any
			delete(c.entries, k)
			break
		}
	}
	c.entries[bucket] = corsCacheEntry{doc: string(doc), cfg: cfg}
	return cfg, nil
}
