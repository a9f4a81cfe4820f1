package caddymodule

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/rewrite"
)

// caddyRequest returns a request for target as Caddy's server prepares it
// (with the original request in its context), rewritten by rw if not nil.
func caddyRequest(t *testing.T, target string, rw *rewrite.Rewrite) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	repl := caddy.NewReplacer()
	r = caddyhttp.PrepareRequest(r, repl, httptest.NewRecorder(), nil)
	if rw != nil {
		rw.Rewrite(r, repl)
	}
	return r
}

// TestAsSent checks what the gateway gets after Caddy rewrote the request:
// the request line the client sent (signatures) and, after a prefix strip,
// the original path without the prefix (keys).
func TestAsSent(t *testing.T) {
	tests := []struct {
		name     string
		target   string
		rewrite  *rewrite.Rewrite
		wantPath string // r.URL.Path the gateway sees
		wantRaw  string // r.URL.EscapedPath()
	}{
		{"not rewritten", "/bkt/a//b?x-id=1", nil, "/bkt/a//b", "/bkt/a//b"},
		{"handle_path /s3/*", "/s3/bkt/a//b?uploads", &rewrite.Rewrite{StripPathPrefix: "/s3"}, "/bkt/a//b", "/bkt/a//b"},
		{"escaped slash in the key", "/s3/bkt/a%2Fb", &rewrite.Rewrite{StripPathPrefix: "/s3"}, "/bkt/a/b", "/bkt/a%2Fb"},
		{"escaped percent", "/s3/bkt/p%25q%20r", &rewrite.Rewrite{StripPathPrefix: "/s3"}, "/bkt/p%q r", "/bkt/p%25q%20r"},
		{"prefix repeated in the key", "/s3/s3/s3", &rewrite.Rewrite{StripPathPrefix: "/s3"}, "/s3/s3", "/s3/s3"},
		{"nested prefix", "/api/s3/bkt/k", &rewrite.Rewrite{StripPathPrefix: "/api/s3"}, "/bkt/k", "/bkt/k"},
		{"case-insensitive prefix", "/S3/bkt/k", &rewrite.Rewrite{StripPathPrefix: "/s3"}, "/bkt/k", "/bkt/k"},
		{"handle_path /* strips nothing but cleans", "/bkt/a//b", &rewrite.Rewrite{StripPathPrefix: "/"}, "/bkt/a//b", "/bkt/a//b"},
		{"other rewrite: the original", "/bkt/key", &rewrite.Rewrite{URI: "/elsewhere{path}"}, "/bkt/key", "/bkt/key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := caddyRequest(t, tt.target, tt.rewrite)
			before := *r.URL
			got := asSent(r)
			if got.RequestURI != tt.target {
				t.Errorf("RequestURI = %q, want the client's %q", got.RequestURI, tt.target)
			}
			if got.URL.Path != tt.wantPath || got.URL.EscapedPath() != tt.wantRaw {
				t.Errorf("URL path = %q (%q), want %q (%q)", got.URL.Path, got.URL.EscapedPath(), tt.wantPath, tt.wantRaw)
			}
			if q := strings.SplitN(tt.target, "?", 2); len(q) == 2 && got.URL.RawQuery != q[1] {
				t.Errorf("query = %q, want %q", got.URL.RawQuery, q[1])
			}
			if got.Context() != r.Context() || got.Body != r.Body {
				t.Error("the context or body is not the request's")
			}
			if *r.URL != before {
				t.Error("the request Caddy holds was modified")
			}
		})
	}
	// Outside Caddy (no original request), the request is used as it is.
	r := httptest.NewRequest(http.MethodGet, "/bkt/k", nil)
	if asSent(r) != r {
		t.Error("a request without Caddy's context was copied")
	}
}

// signedRequest returns a request whose SigV4 Authorization header signs
// names, carrying the headers in present.
func signedRequest(names string, present map[string]string, srv *caddyhttp.Server) *http.Request {
	r := httptest.NewRequest(http.MethodPut, "/bkt/key", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=ak/20260101/us-east-1/s3/aws4_request, SignedHeaders="+names+", Signature=abc")
	for k, v := range present {
		r.Header.Set(k, v)
	}
	if srv != nil {
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.ServerCtxKey, srv))
	}
	return r
}

// TestDroppedSignedHeader checks the error for signed headers Caddy drops.
func TestDroppedSignedHeader(t *testing.T) {
	base := "host;x-amz-content-sha256;x-amz-date"
	allowU := &caddyhttp.Server{ExpectedUnderscoreHeaders: []string{"x-amz-meta-build_id", "X-Amz-Meta-Job_*"}}
	allowD := &caddyhttp.Server{ExpectedDotHeaders: []string{"x-amz-meta-a.b"}}
	tests := []struct {
		name    string
		r       *http.Request
		want    []string // message parts; nil: no error
		wantHdr string
	}{
		{"nothing dropped", signedRequest(base, nil, nil), nil, ""},
		{"underscore kept (allowed)", signedRequest(base+";x-amz-meta-build_id", map[string]string{"x-amz-meta-build_id": "1"}, allowU), nil, ""},
		{"underscore dropped", signedRequest(base+";x-amz-meta-build_id", nil, nil),
			[]string{"signed the header 'x-amz-meta-build_id'", "Caddy removed it", "servers { expected_underscore_headers x-amz-meta-build_id }", "Use '-'"}, "x-amz-meta-build_id"},
		{"dot dropped", signedRequest(base+";x-amz-meta-a.b", nil, nil),
			[]string{"'x-amz-meta-a.b'", "expected_dot_headers x-amz-meta-a.b"}, "x-amz-meta-a.b"},
		{"hyphenated spelling of an allowed name", signedRequest(base+";x-amz-meta-build-id", nil, allowU),
			[]string{"'x-amz-meta-build-id'", "lists 'x-amz-meta-build_id' in expected_underscore_headers"}, "x-amz-meta-build-id"},
		{"hyphenated spelling of an allowed glob", signedRequest(base+";x-amz-meta-job-name", nil, allowU),
			[]string{"'x-amz-meta-job-name'", "'X-Amz-Meta-Job_*'"}, "x-amz-meta-job-name"},
		{"hyphenated spelling of an allowed dot name", signedRequest(base+";x-amz-meta-a-b", nil, allowD),
			[]string{"expected_dot_headers"}, "x-amz-meta-a-b"},
		{"hyphenated name present", signedRequest(base+";x-amz-meta-build-id", map[string]string{"x-amz-meta-build-id": "1"}, allowU), nil, ""},
		{"missing ordinary header: the gateway answers", signedRequest(base+";x-amz-meta-other", nil, allowU), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := droppedSignedHeader(tt.r)
			if tt.want == nil {
				if d != nil {
					t.Fatalf("unexpected error %v", d.s3)
				}
				return
			}
			if d == nil {
				t.Fatal("no error")
			}
			if d.header != tt.wantHdr || d.s3.Code != "SignatureDoesNotMatch" || d.s3.Status != http.StatusForbidden {
				t.Errorf("header %q, %s %d", d.header, d.s3.Code, d.s3.Status)
			}
			for _, w := range tt.want {
				if !strings.Contains(d.s3.Message, w) {
					t.Errorf("message %q lacks %q", d.s3.Message, w)
				}
			}
		})
	}

	// Presigned: the signed headers are in the query.
	r := httptest.NewRequest(http.MethodPut, "/bkt/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host%3Bx-amz-meta-build_id&X-Amz-Signature=abc", nil)
	if d := droppedSignedHeader(r); d == nil || d.header != "x-amz-meta-build_id" {
		t.Errorf("presigned request: %+v", d)
	}
}

// TestWriteS3Error checks the XML of the module's own errors.
func TestWriteS3Error(t *testing.T) {
	initMetrics()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPut, "/bkt/key", nil)
	writeS3Error(w, r, &observer{order: "o"}, errStoreClosed)
	body := w.Body.String()
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Content-Type") != "application/xml" ||
		w.Header().Get("Retry-After") != "1" || w.Header().Get("x-amz-request-id") == "" ||
		!strings.Contains(body, "<Code>ServiceUnavailable</Code>") || !strings.Contains(body, "<Resource>/bkt/key</Resource>") {
		t.Errorf("%d %v\n%s", w.Code, w.Header(), body)
	}
	w = httptest.NewRecorder()
	writeS3Error(w, httptest.NewRequest(http.MethodHead, "/bkt/key", nil), &observer{order: "o"}, errStoreClosed)
	if w.Body.Len() != 0 {
		t.Errorf("HEAD answer with a body: %q", w.Body.String())
	}
}
