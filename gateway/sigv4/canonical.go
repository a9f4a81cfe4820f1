package sigv4

import (
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"

	"github.com/lambda/storagecli/gateway/s3err"
)

// queryParam is one decoded query parameter, in request order.
type queryParam struct {
	name, value string
}

// rawQuery returns the query string exactly as the client sent it.
func rawQuery(r *http.Request) string {
	if ru := r.RequestURI; ru != "" && ru[0] == '/' {
		if _, q, ok := strings.Cut(ru, "?"); ok {
			return q
		}
		return ""
	}
	if r.URL == nil {
		return ""
	}
	return r.URL.RawQuery
}

// rawPath returns the path exactly as the client sent it (still escaped).
// The request line (r.RequestURI) is preferred: r.URL.Path may have been
// decoded or rewritten by a router.
func rawPath(r *http.Request) string {
	if ru := r.RequestURI; ru != "" && ru[0] == '/' {
		if i := strings.IndexByte(ru, '?'); i >= 0 {
			return ru[:i]
		}
		return ru
	}
	if r.URL == nil {
		return ""
	}
	return r.URL.EscapedPath()
}

// parseQuery splits a raw query string into decoded name/value pairs ('+' is
// a space, invalid escapes are kept literally); empty segments are skipped.
func parseQuery(raw string) []queryParam {
	if raw == "" {
		return nil
	}
	params := make([]queryParam, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		params = append(params, queryParam{unescape(k, true), unescape(v, true)})
	}
	return params
}

func hasParam(q []queryParam, name string) bool {
	for _, p := range q {
		if p.name == name {
			return true
		}
	}
	return false
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unescape percent-decodes s, keeping malformed escapes as they are; with
// plusSpace a '+' decodes to a space (query semantics).
func unescape(s string, plusSpace bool) string {
	if strings.IndexByte(s, '%') < 0 && (!plusSpace || strings.IndexByte(s, '+') < 0) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s):
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
			b = append(b, c)
		case c == '+' && plusSpace:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

const upperHex = "0123456789ABCDEF"

// appendEncoded appends s URI-encoded the SigV4 way: every byte except the
// unreserved characters (and '/' when keepSlash) becomes %XX, uppercase.
func appendEncoded(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		dst = appendEncodedByte(dst, s[i], keepSlash)
	}
	return dst
}

func appendEncodedByte(dst []byte, c byte, keepSlash bool) []byte {
	if unreserved(c) || (c == '/' && keepSlash) {
		return append(dst, c)
	}
	return append(dst, '%', upperHex[c>>4], upperHex[c&15])
}

// appendCanonicalURI appends the S3 canonical URI of the raw path: decode
// percent escapes, then encode every byte but unreserved ones and '/'. No
// path normalisation (S3 keys may contain "//" and "..").
func appendCanonicalURI(dst []byte, raw string) []byte {
	if raw == "" {
		return append(dst, '/')
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' && i+2 < len(raw) {
			hi, ok1 := unhex(raw[i+1])
			lo, ok2 := unhex(raw[i+2])
			if ok1 && ok2 {
				c = hi<<4 | lo
				i += 2
			}
		}
		dst = appendEncodedByte(dst, c, true)
	}
	return dst
}

// appendCanonicalQuery appends the sorted, encoded query without X-Amz-Signature.
func appendCanonicalQuery(dst []byte, query []queryParam) []byte {
	if len(query) == 0 {
		return dst
	}
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(query))
	var scratch []byte
	for _, p := range query {
		if p.name == "X-Amz-Signature" {
			continue
		}
		scratch = appendEncoded(scratch[:0], p.name, false)
		k := string(scratch)
		scratch = appendEncoded(scratch[:0], p.value, false)
		pairs = append(pairs, pair{k, string(scratch)})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	for i, p := range pairs {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p.k...)
		dst = append(dst, '=')
		dst = append(dst, p.v...)
	}
	return dst
}

// splitSignedHeaders returns the lowercase names in SignedHeaders, which must
// include host.
func splitSignedHeaders(q *request) ([]string, error) {
	bad := func(msg string) error {
		if q.presigned {
			return s3err.AuthorizationQueryParametersError.WithMessage("X-Amz-SignedHeaders %s", msg)
		}
		return s3err.AuthorizationHeaderMalformed.WithMessage("The authorization header is malformed; SignedHeaders %s", msg)
	}
	if q.signedHeaders == "" {
		return nil, bad("is empty.")
	}
	names := strings.Split(strings.ToLower(q.signedHeaders), ";")
	host := false
	for _, n := range names {
		if n == "" {
			return nil, bad("contains an empty header name.")
		}
		if n == "host" {
			host = true
		}
	}
	if !host {
		return nil, bad("must include host.")
	}
	return names, nil
}

// checkUnsignedAmzHeaders refuses x-amz-* headers that are not signed, as AWS
// does; x-amz-content-sha256 and x-amz-date are covered by the string to sign
// anyway. It runs before the signature is checked, so its cost is linear in
// the headers and signed names (a set, not a scan of names per header).
func checkUnsignedAmzHeaders(r *http.Request, names []string) error {
	var signed map[string]struct{}
	var unsigned []string
	for k := range r.Header {
		if len(k) < 6 || !strings.EqualFold(k[:6], "x-amz-") ||
			strings.EqualFold(k, "X-Amz-Content-Sha256") || strings.EqualFold(k, "X-Amz-Date") {
			continue
		}
		if signed == nil {
			signed = make(map[string]struct{}, len(names))
			for _, n := range names {
				signed[n] = struct{}{} // names are lower case (splitSignedHeaders)
			}
		}
		if !hasLower(signed, k) {
			unsigned = append(unsigned, strings.ToLower(k))
		}
	}
	if len(unsigned) == 0 {
		return nil
	}
	slices.Sort(unsigned)
	return s3err.AccessDenied.WithMessage("There were headers present in the request which were not signed: %s", clip(strings.Join(unsigned, ", ")))
}

// hasLower reports whether the lower-case form of name is in set, without
// allocating for ordinary names.
func hasLower(set map[string]struct{}, name string) bool {
	var buf [128]byte
	if len(name) > len(buf) {
		_, ok := set[strings.ToLower(name)]
		return ok
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	_, ok := set[string(buf[:len(name)])]
	return ok
}

// appendCanonicalRequest builds the SigV4 canonical request.
func appendCanonicalRequest(dst []byte, r *http.Request, q *request, names []string) ([]byte, error) {
	dst = append(dst, r.Method...)
	dst = append(dst, '\n')
	dst = appendCanonicalURI(dst, rawPath(r))
	dst = append(dst, '\n')
	dst = appendCanonicalQuery(dst, q.query)
	dst = append(dst, '\n')
	for _, name := range names {
		dst = append(dst, name...)
		dst = append(dst, ':')
		var ok bool
		dst, ok = appendHeaderValue(dst, r, name)
		if !ok {
			return nil, errSignature.WithMessage("The request signature we calculated does not match the signature you provided: the signed header '%s' is missing from the request (a proxy may have removed it).", clip(name))
		}
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	dst = append(dst, q.signedHeaders...)
	dst = append(dst, '\n')
	dst = append(dst, q.payloadHash...)
	return dst, nil
}

// appendHeaderValue appends the canonical value of a signed header: values
// trimmed, inner runs of spaces collapsed, several values joined with ','.
// Host comes from r.Host; Content-Length and Transfer-Encoding, which
// net/http may move out of r.Header, from their fields.
func appendHeaderValue(dst []byte, r *http.Request, name string) ([]byte, bool) {
	if name == "host" {
		h := r.Host
		if h == "" && r.URL != nil {
			h = r.URL.Host
		}
		if h == "" {
			return dst, false
		}
		return appendTrimmed(dst, h), true
	}
	vals, ok := headerValues(r.Header, name)
	if !ok || len(vals) == 0 {
		switch {
		case name == "content-length" && r.ContentLength >= 0:
			return strconv.AppendInt(dst, r.ContentLength, 10), true
		case name == "transfer-encoding" && len(r.TransferEncoding) > 0:
			vals = r.TransferEncoding
		default:
			return dst, false
		}
	}
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendTrimmed(dst, v)
	}
	return dst, true
}

// headerValues looks name up in h without allocating for ordinary names.
func headerValues(h http.Header, name string) ([]string, bool) {
	var buf [128]byte
	if len(name) > len(buf) {
		v, ok := h[textproto.CanonicalMIMEHeaderKey(name)]
		return v, ok
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case 'A' <= c && c <= 'Z':
			if !upper {
				c += 'a' - 'A'
			}
		case '0' <= c && c <= '9', c == '-':
		default:
			// Not a plain token: leave it to textproto's rules.
			v, ok := h[textproto.CanonicalMIMEHeaderKey(name)]
			return v, ok
		}
		buf[i] = c
		upper = c == '-'
	}
	v, ok := h[string(buf[:len(name)])]
	return v, ok
}

// appendTrimmed appends v without leading/trailing whitespace and with
// sequential spaces collapsed to one.
func appendTrimmed(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}
