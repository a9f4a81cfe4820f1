package caddymodule

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/s3err"
)

// asSent returns the request to hand to the gateway: r with the request
// line the client sent. The SigV4 canonical request is built from the path
// and query the client signed, and S3 keys may contain what a cleaned path
// loses ("a//b", "%2F"), but handle_path and `uri strip_prefix` clean and
// rewrite r.URL and r.RequestURI. Caddy keeps the original under
// caddyhttp.OriginalRequestCtxKey.
//
// The result has the original RequestURI (what the signature covers) and
// the original URL; when the rewrite stripped a path prefix (the S3
// endpoint is https://host/prefix), the URL path is the original path
// without that prefix, so the bucket and key are what the client meant.
// After any other rewrite the URL is the original one. Body, headers and
// context are r's.
func asSent(r *http.Request) *http.Request {
	orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request)
	if !ok || orig.URL == nil {
		return r
	}
	if orig.RequestURI == r.RequestURI && orig.URL.Path == r.URL.Path && orig.URL.RawPath == r.URL.RawPath &&
		orig.URL.RawQuery == r.URL.RawQuery {
		return r // not rewritten
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.RequestURI = orig.RequestURI
	u := *orig.URL
	r2.URL = &u
	escaped := orig.URL.EscapedPath()
	if n := strippedPrefixLen(escaped, r.URL.Path); n > 0 {
		rest := escaped[n:]
		if !strings.HasPrefix(rest, "/") {
			rest = "/" + rest
		}
		if p, err := url.PathUnescape(rest); err == nil {
			u.Path, u.RawPath = p, rest
		}
	}
	return r2
}

// strippedPrefixLen returns the length of the prefix of the original
// escaped path that a prefix strip removed to give the current path cur,
// or 0 if there is none (nothing stripped, or not a prefix strip). Caddy
// cleans the path before stripping, so the remainder is found by comparing
// cleaned paths at each segment boundary, shortest prefix first.
func strippedPrefixLen(escaped, cur string) int {
	want := normalizePath(cur, false)
	if normalizePath(escaped, true) == want {
		return 0
	}
	for i := 1; i < len(escaped); i++ {
		if escaped[i] == '/' && normalizePath(escaped[i:], true) == want {
			return i
		}
	}
	return 0
}

// normalizePath returns p decoded (if escaped), anchored and cleaned with
// repeated slashes merged, for comparing paths.
func normalizePath(p string, escaped bool) string {
	if escaped {
		if d, err := url.PathUnescape(p); err == nil {
			p = d
		}
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return caddyhttp.CleanPath(p, true)
}

// droppedHeader describes a signed header that Caddy removed.
type droppedHeader struct {
	header string
	hint   string
	s3     *s3err.Error
}

// droppedSignedHeader reports a header the request's signature covers that
// Caddy's server removed before the handler chain: since v2.11.5 Caddy
// drops request headers whose names contain '_' or '.' (S3 user metadata
// such as x-amz-meta-build_id) unless the server lists them exactly in
// expected_underscore_headers / expected_dot_headers, and once a name is
// listed it drops the hyphenated spelling of that name. The signature
// cannot be verified without the header, and the gateway alone could only
// say that it is missing: this says why and what to do.
func droppedSignedHeader(r *http.Request) *droppedHeader {
	signed := signedHeaderNames(r)
	if signed == "" {
		return nil
	}
	srv, _ := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	for name := range strings.SplitSeq(signed, ";") {
		name = strings.ToLower(strings.TrimSpace(name))
		var hint string
		switch {
		case strings.ContainsAny(name, "_."):
			opt := "expected_underscore_headers"
			if !strings.Contains(name, "_") {
				opt = "expected_dot_headers"
			}
			hint = "Caddy drops request headers whose names contain '_' or '.' unless the server lists them by name. " +
				"Use '-' instead of '_' and '.' in metadata names, or list the header in the Caddyfile's global options: " +
				"servers { " + opt + " " + name + " }"
		default:
			entry, opt := allowlistedSpelling(srv, name)
			if entry == "" {
				continue
			}
			hint = "The server lists '" + entry + "' in " + opt + ", and Caddy then drops the hyphenated spelling of that name. " +
				"Use one spelling of the name."
		}
		if len(r.Header.Values(name)) > 0 {
			continue
		}
		return &droppedHeader{header: name, hint: hint, s3: s3err.SignatureDoesNotMatch.WithMessage(
			"The request signed the header '%s', but Caddy removed it before it reached the S3 gateway, so the signature cannot be verified. %s",
			name, hint)}
	}
	return nil
}

// allowlistedSpelling returns the expected_underscore_headers or
// expected_dot_headers entry of srv whose hyphenated spelling is name, and
// the option's name.
func allowlistedSpelling(srv *caddyhttp.Server, name string) (entry, option string) {
	if srv == nil {
		return "", ""
	}
	lists := []struct {
		opt     string
		sep     string
		entries []string
	}{
		{"expected_underscore_headers", "_", srv.ExpectedUnderscoreHeaders},
		{"expected_dot_headers", ".", srv.ExpectedDotHeaders},
	}
	for _, l := range lists {
		for _, e := range l.entries {
			base, glob := strings.CutSuffix(e, "*")
			hy := strings.ToLower(strings.ReplaceAll(base, l.sep, "-"))
			if (glob && strings.HasPrefix(name, hy)) || (!glob && name == hy) {
				return e, l.opt
			}
		}
	}
	return "", ""
}

// signedHeaderNames returns the SignedHeaders of a SigV4 request (header or
// presigned), "" if there are none.
func signedHeaderNames(r *http.Request) string {
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "AWS4-") {
		_, rest, ok := strings.Cut(a, "SignedHeaders=")
		if !ok {
			return ""
		}
		v, _, _ := strings.Cut(rest, ",")
		return strings.TrimSpace(v)
	}
	if strings.Contains(r.URL.RawQuery, "X-Amz-SignedHeaders") {
		return r.URL.Query().Get("X-Amz-SignedHeaders")
	}
	return ""
}

// errStoreClosed answers a request routed by a config that has since been
// unloaded together with its order's store: clients retry a 503.
var errStoreClosed = s3err.ServiceUnavailable.WithMessage("The server's configuration changed while this request was routed; please retry.")

// writeS3Error answers r with e for the two conditions only the Caddy
// module can detect (everything else is the gateway's), and reports the
// request to obs.
func writeS3Error(w http.ResponseWriter, r *http.Request, obs *observer, e *s3err.Error) {
	id := gateway.WriteError(w, r, e)
	obs.observe(r, gateway.RequestInfo{RequestID: id, Status: e.Status, ErrorCode: e.Code})
}
