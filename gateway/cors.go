package gateway

import (
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
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

// corsCache bounds: buckets, and bytes of the documents held (the parsed
// form takes about as much again).
const (
	corsCacheSize  = 256
	corsCacheBytes = 8 << 20
)

// corsCache keeps the parsed configuration of recently used buckets, so that
// a flood of preflights parses nothing: an entry is used while the stored
// document is byte-for-byte the one it was parsed from.
type corsCache struct {
	mu      sync.Mutex
	entries map[string]corsCacheEntry
	bytes   int // sum of the entries' len(doc)
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
	c.remove(bucket)
	for k := range c.entries { // evict any, until the new entry fits
		if len(c.entries) < corsCacheSize && c.bytes+len(doc) <= corsCacheBytes {
			break
		}
		c.remove(k)
	}
	c.entries[bucket] = corsCacheEntry{doc: string(doc), cfg: cfg}
	c.bytes += len(doc)
	return cfg, nil
}

// remove drops bucket's entry, if any; c.mu is held.
func (c *corsCache) remove(bucket string) {
	if e, ok := c.entries[bucket]; ok {
		c.bytes -= len(e.doc)
		delete(c.entries, bucket)
	}
}

// putBucketCors serves PutBucketCors: the document is validated and stored
// in its canonical form. As on S3, its integrity must be vouched for by a
// Content-MD5 or an x-amz-checksum-* (the SDKs send a CRC32).
func (h *Handler) putBucketCors(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	if !hasBodyIntegrity(r.Header) {
		return errMissingContentMD5
	}
	body, err := h.readXMLBody(r, rc, maxSmallXML, true)
	if err != nil {
		return err
	}
	_, canon, err := parseCORS(body)
	if err != nil {
		return err
	}
	if len(canon) > store.MaxConfigLen { // escaping can lengthen a document
		return s3err.MaxMessageLengthExceeded
	}
	if err := h.putBucketConfig(r.Context(), rc, store.ConfigCORS, canon); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getBucketCors serves GetBucketCors.
func (h *Handler) getBucketCors(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	doc, err := h.corsDocument(r, rc)
	if errors.Is(err, store.ErrNoSuchConfig) {
		return s3err.NoSuchCORSConfiguration
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(doc)
	return nil
}

// deleteBucketCors serves DeleteBucketCors (204 also when none is set).
func (h *Handler) deleteBucketCors(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if err := h.opts.Store.DeleteBucketConfig(r.Context(), rc.bucket, store.ConfigCORS); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// errMissingContentMD5 is S3's answer to a PutBucketCors without a
// checksum of its body.
var errMissingContentMD5 = s3err.InvalidRequest.WithMessage("Missing required header for this request: Content-MD5")

// hasBodyIntegrity reports whether the request carries a Content-MD5 or an
// x-amz-checksum-* of its body (as a header, or announced as a trailer).
func hasBodyIntegrity(hdr http.Header) bool {
	if hdr.Get("Content-MD5") != "" || hdr.Get("X-Amz-Trailer") != "" {
		return true
	}
	for k := range hdr {
		if objectChecksumHeader(k) && !strings.EqualFold(k, "x-amz-sdk-checksum-algorithm") {
			return true
		}
	}
	return false
}

// corsDocument returns the bucket's stored CORS document, read from the
// store at most once per request.
func (h *Handler) corsDocument(r *http.Request, rc *reqContext) ([]byte, error) {
	if !rc.corsRead {
		rc.corsDoc, rc.corsErr = h.opts.Store.GetBucketConfig(r.Context(), rc.bucket, store.ConfigCORS)
		rc.corsRead = true
	}
	return rc.corsDoc, rc.corsErr
}

// corsConfigFor returns the bucket's parsed CORS configuration.
func (h *Handler) corsConfigFor(r *http.Request, rc *reqContext) (*corsConfig, error) {
	doc, err := h.corsDocument(r, rc)
	if err != nil {
		return nil, err
	}
	cfg, err := h.cors.get(rc.bucket, doc)
	if err != nil {
		return nil, fmt.Errorf("stored CORS configuration of bucket %s: %w", rc.bucket, err)
	}
	return cfg, nil
}

// applyCORS sets the CORS headers of an actual (not preflight) request
// with an Origin, before it is served, so that every answer to it carries
// them, errors included. The rule is matched on the origin and the method
// (Access-Control-Request-Method if the request has one, as S3); the
// request's headers are not checked. Without a matching rule, nothing is
// set.
func (h *Handler) applyCORS(w http.ResponseWriter, r *http.Request, rc *reqContext) {
	origin := r.Header.Get("Origin")
	if origin == "" || !store.ValidBucketName(rc.bucket) {
		return
	}
	cfg, err := h.corsConfigFor(r, rc)
	if err != nil {
		if !errors.Is(err, store.ErrNoSuchConfig) && !errors.Is(err, store.ErrNoSuchBucket) {
			h.opts.Logger.Warn("CORS configuration unavailable", zap.String("request_id", rc.id), zap.String("bucket", rc.bucket), zap.Error(err))
		}
		return
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if method == "" {
		method = r.Method
	}
	if m := cfg.match(origin, method, nil); m != nil {
		m.setHeaders(w.Header(), origin, nil, false)
	}
}

// The preflight errors, with S3's codes and messages.
var (
	errNoOrigin       = errCORSBadRequest.WithMessage("Insufficient information. Origin request header needed.")
	errCORSNoBucket   = &s3err.Error{Code: "AccessForbidden", Status: http.StatusForbidden, Message: "CORSResponse: Bucket not found"}
	errCORSNotEnabled = errCORSNoBucket.WithMessage("CORSResponse: CORS is not enabled for this bucket.")
	errCORSNotAllowed = errCORSNoBucket.WithMessage("CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
)

// preflight answers a CORS preflight (OPTIONS) on any URL naming a bucket,
// without authentication: the first rule allowing the Origin, the
// Access-Control-Request-Method and every Access-Control-Request-Headers
// name decides. It reads the bucket's CORS document and nothing else.
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	closeIfBodyUnasked(w, r, false)
	origin, method := r.Header.Get("Origin"), r.Header.Get("Access-Control-Request-Method")
	errMethod := method
	if errMethod == "" {
		errMethod = http.MethodOptions
	}
	if origin == "" {
		h.writePreflightError(w, r, rc, errNoOrigin, "", "")
		return nil
	}
	if ord := h.order.Load(); ord.State(h.opts.Now()) == order.Closed {
		return s3err.AccessDenied.WithMessage("%s", ord.ClosedMessage())
	}
	if !store.ValidBucketName(rc.bucket) {
		h.writePreflightError(w, r, rc, errCORSNoBucket, errMethod, "BUCKET")
		return nil
	}
	cfg, err := h.corsConfigFor(r, rc)
	switch {
	case errors.Is(err, store.ErrNoSuchBucket):
		h.writePreflightError(w, r, rc, errCORSNoBucket, errMethod, "BUCKET")
		return nil
	case errors.Is(err, store.ErrNoSuchConfig):
		h.writePreflightError(w, r, rc, errCORSNotEnabled, errMethod, "BUCKET")
		return nil
	case err != nil:
		return err
	}
	if corsMethodBit(method) == 0 {
		if method == "" {
			method = "null"
		}
		h.writePreflightError(w, r, rc, errCORSBadRequest.WithMessage("Invalid Access-Control-Request-Method: %s", method), "", "")
		return nil
	}
	headers, err := preflightHeaders(r.Header.Values("Access-Control-Request-Headers"))
	if err != nil {
		h.writePreflightError(w, r, rc, s3err.As(err), "", "")
		return nil
	}
	m := cfg.match(origin, method, headers)
	if m == nil {
		resource := "BUCKET"
		if rc.key != "" {
			resource = "OBJECT"
		}
		h.writePreflightError(w, r, rc, errCORSNotAllowed, method, resource)
		return nil
	}
	m.setHeaders(w.Header(), origin, headers, true)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// preflightErrorResponse is S3's error document for a refused preflight:
// it names the method and the kind of resource instead of the resource.
type preflightErrorResponse struct {
	XMLName      xml.Name `xml:"Error"`
	Code         string   `xml:"Code"`
	Message      string   `xml:"Message"`
	Method       string   `xml:"Method,omitempty"`
	ResourceType string   `xml:"ResourceType,omitempty"`
	RequestID    string   `xml:"RequestId"`
	HostID       string   `xml:"HostId"`
}

// writePreflightError answers a preflight with e.
func (h *Handler) writePreflightError(w http.ResponseWriter, r *http.Request, rc *reqContext, e *s3err.Error, method, resourceType string) {
	rc.err = e.Code
	writeXML(w, e.Status, preflightErrorResponse{Code: e.Code, Message: e.Message, Method: method,
		ResourceType: resourceType, RequestID: rc.id, HostID: rc.id})
}
