package gateway

import (
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/sigv4"
	"github.com/lambda/storagecli/gateway/store"
)

// The website endpoint: a bucket with a website configuration served to
// browsers, anonymously, as S3's website endpoints do (docs/website.md).
// Only GET and HEAD (and CORS preflights, from the bucket's CORS rules);
// only what anonymous readers may read (the bucket's
// policy and ACLs, decided by authorizeAnonymous, as for GetObject);
// errors as HTML pages or the bucket's error document. Website requests
// never reach the S3 API's routes.

// websiteOp names website requests in logs and metrics.
const websiteOp = "Website"

// websiteRoute is the access a website request is decided by: an
// anonymous GetObject.
var websiteRoute = route{method: http.MethodGet, target: object, op: "GetObject", perm: permRead}

// listRoute decides whether an anonymous reader may list the bucket: S3
// then answers a missing key 404, otherwise 403.
var listRoute = route{method: http.MethodGet, target: bucket, op: "ListObjects", perm: permRead}

// Website returns a handler serving bucket as a static website: every
// request it gets is a website request for that bucket (the Caddy
// module's website subdirective).
func (h *Handler) Website(bucket string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.serveWebsite(w, r, bucket) })
}

// WithWebsites puts the website endpoint in front of next: requests for
// <bucket>.<Options.WebsiteDomain> are served as bucket's website, the
// others by next. Without a WebsiteDomain it returns next.
func (h *Handler) WithWebsites(next http.Handler) http.Handler {
	if h.opts.WebsiteDomain == "" {
		return next
	}
	suffix := "." + strings.ToLower(h.opts.WebsiteDomain)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		if b, ok := strings.CutSuffix(strings.ToLower(host), suffix); ok && b != "" {
			h.serveWebsite(w, r, b)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// websiteReq is one website request.
type websiteReq struct {
	h   *Handler
	w   http.ResponseWriter
	r   *http.Request
	rc  *reqContext
	cfg *websiteConfig
	key string // the key the URL names, before the index document
}

// serveWebsite answers one website request for bucket.
func (h *Handler) serveWebsite(w http.ResponseWriter, r *http.Request, bucketName string) {
	start := time.Now()
	rc := &reqContext{id: newRequestID(), op: websiteOp, bucket: bucketName, ord: h.order.Load(),
		auth: &sigv4.Auth{PayloadHash: sigv4.UnsignedPayload}, body: &countingReader{r: http.NoBody}}
	dl := newDeadlines(w, r, h.limits)
	dl.start()
	defer dl.end()
	rw := &responseWriter{ResponseWriter: w, dl: dl}
	hdr := w.Header()
	hdr.Set("x-amz-request-id", rc.id)
	hdr.Set("x-amz-id-2", rc.id)
	hdr.Set("Server", "storagecli")
	defer func() {
		if v := recover(); v != nil {
			h.finish(r, rc, rw, rc.body, start)
			if v != http.ErrAbortHandler {
				h.opts.Logger.Error("panic serving a website request", zap.String("request_id", rc.id), zap.Any("panic", v), zap.StackSkip("stack", 2))
			}
			panic(http.ErrAbortHandler)
		}
		h.finish(r, rc, rw, rc.body, start)
	}()
	// The request's query (versionId, response-*, partNumber) is never
	// honoured: a website serves the current objects as they are.
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = ""
	wr := &websiteReq{h: h, w: rw, r: r2, rc: rc, key: strings.TrimPrefix(r.URL.Path, "/")}
	rc.key = wr.key
	if r.Method == http.MethodOptions {
		// A CORS preflight, answered from the bucket's CORS rules as on
		// the S3 API (web fonts and scripts fetched from other origins).
		if err := h.preflight(rw, r, rc); err != nil {
			wr.errorPage(err, nil)
		}
		return
	}
	h.applyCORS(rw, r, rc)
	if err := wr.serve(); err != nil {
		wr.errorPage(err, nil)
	}
}

// serve answers the request, or returns the error to answer.
func (wr *websiteReq) serve() error {
	r, rc := wr.r, wr.rc
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		wr.w.Header().Set("Allow", "GET, HEAD")
		return s3err.MethodNotAllowed
	}
	if rc.ord.BlockPublic {
		return errPublicBlocked
	}
	if !store.ValidBucketName(rc.bucket) {
		return s3err.NoSuchBucket
	}
	if !utf8.ValidString(wr.key) {
		return errInvalidURI
	}
	doc, err := wr.h.bucketConfig(r.Context(), rc.bucket, store.ConfigWebsite, s3err.NoSuchWebsiteConfiguration)
	if err != nil {
		return err
	}
	if wr.cfg, err = parseWebsite(doc); err != nil {
		return fmt.Errorf("stored website configuration of %s: %w", rc.bucket, err)
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	if ra := wr.cfg.RedirectAll; ra != nil {
		if ra.Protocol != "" {
			proto = ra.Protocol
		}
		wr.redirect(http.StatusMovedPermanently, proto+"://"+ra.HostName+"/"+escapeKeyPath(wr.key))
		return nil
	}
	if rule := wr.cfg.match(wr.key, 0); rule != nil {
		wr.redirect(rule.Redirect.target(rule.Condition, wr.key, r.Host, proto))
		return nil
	}
	objKey := wr.key
	if objKey == "" || strings.HasSuffix(objKey, "/") {
		objKey += wr.cfg.Index.Suffix
	}
	err = wr.object(objKey, 0)
	if err == nil {
		return nil
	}
	if isNoSuchKey(err) && objKey == wr.key && wr.readable(wr.key+"/"+wr.cfg.Index.Suffix) {
		// "dir" names the directory "dir/" holding an index document.
		wr.redirect(http.StatusFound, "/"+escapeKeyPath(wr.key)+"/")
		return nil
	}
	return wr.failed(err, objKey, proto)
}

// failed answers a lookup that failed with err: a routing rule for its
// status, the error document, or an HTML error page.
func (wr *websiteReq) failed(err error, objKey, proto string) error {
	e, _ := toS3Error(err)
	if isNoSuchKey(err) && !wr.listable() {
		// As S3: without the right to list, a missing key is refused as
		// a private one would be (nothing is learnt of what exists).
		e = s3err.AccessDenied
	}
	wr.rc.key = objKey
	if rule := wr.cfg.match(wr.key, e.Status); rule != nil {
		wr.redirect(rule.Redirect.target(rule.Condition, wr.key, wr.r.Host, proto))
		return nil
	}
	if wr.cfg.Error == nil || e.Status/100 != 4 || e.Status == http.StatusMethodNotAllowed {
		return e
	}
	wr.rc.err = e.Code
	if derr := wr.object(wr.cfg.Error.Key, e.Status); derr != nil {
		wr.errorPage(e, derr)
	}
	return nil
}

// object serves key (with status instead of 200 for an error document),
// if anonymous readers may read it.
func (wr *websiteReq) object(key string, status int) error {
	if !store.ValidKey(key) {
		return s3err.NoSuchKey
	}
	rc := &reqContext{id: wr.rc.id, route: &websiteRoute, op: websiteRoute.op, bucket: wr.rc.bucket, key: key,
		ord: wr.rc.ord, auth: wr.rc.auth, access: accessState{docs: wr.rc.access.docs}}
	err := wr.h.authorizeAnonymous(wr.r, rc, s3err.AccessDenied)
	wr.rc.access.docs = rc.access.docs
	if err != nil {
		if errors.Is(err, s3err.AccessDenied) && !wr.exists(key) {
			return s3err.NoSuchKey
		}
		return err
	}
	r, w := wr.r, wr.w
	if status == 0 {
		// An object with a website redirect location answers with a
		// redirect to it, as S3's website endpoints do (not its content).
		rc.access.readChecks = append(rc.access.readChecks, func(o *store.Object) error {
			if o.Meta.WebsiteRedirect != "" {
				return objectRedirect(o.Meta.WebsiteRedirect)
			}
			return nil
		})
	}
	if status != 0 {
		// An error document: the whole of it, with the error's status.
		r = r.Clone(r.Context())
		for _, k := range []string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
			r.Header.Del(k)
		}
		w = &statusWriter{ResponseWriter: w, status: status}
	}
	err = wr.h.getObject(w, r, rc)
	var loc objectRedirect
	switch {
	case errors.As(err, &loc):
		for _, k := range []string{"ETag", "Last-Modified"} {
			w.Header().Del(k)
		}
		wr.redirect(http.StatusMovedPermanently, string(loc))
		return nil
	case errors.Is(err, s3err.NotModified):
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return err
}

// objectRedirect is the website redirect location of the object a website
// request names, returned by its read check to answer with a redirect.
type objectRedirect string

func (l objectRedirect) Error() string { return "website redirect to " + string(l) }

// isNoSuchKey reports whether err answers that the key does not exist.
func isNoSuchKey(err error) bool {
	e, _ := toS3Error(err)
	return e.Code == s3err.NoSuchKey.Code
}

// exists reports whether key exists (a store failure counts as existing:
// the request is then refused, never answered 404).
func (wr *websiteReq) exists(key string) bool {
	_, err := wr.h.opts.Store.HeadObject(wr.r.Context(), wr.rc.bucket, key)
	return !errors.Is(err, store.ErrNoSuchKey)
}

// readable reports whether key exists and anonymous readers may read it.
func (wr *websiteReq) readable(key string) bool {
	if !store.ValidKey(key) || !wr.exists(key) {
		return false
	}
	rc := &reqContext{route: &websiteRoute, op: websiteRoute.op, bucket: wr.rc.bucket, key: key,
		ord: wr.rc.ord, auth: wr.rc.auth, access: accessState{docs: wr.rc.access.docs}}
	return wr.h.authorizeAnonymous(wr.r, rc, s3err.AccessDenied) == nil
}

// listable reports whether anonymous readers may list the bucket.
func (wr *websiteReq) listable() bool {
	rc := &reqContext{route: &listRoute, op: listRoute.op, bucket: wr.rc.bucket,
		ord: wr.rc.ord, auth: wr.rc.auth, access: accessState{docs: wr.rc.access.docs}}
	return wr.h.authorizeAnonymous(wr.r, rc, s3err.AccessDenied) == nil
}

// redirect answers a redirect to loc.
func (wr *websiteReq) redirect(code int, loc string) {
	wr.w.Header().Set("Location", loc)
	wr.w.Header().Set("Content-Length", "0")
	wr.w.WriteHeader(code)
}

// statusWriter sends status in place of 200.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if code == http.StatusOK {
		code = w.status
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) { return w.ResponseWriter.Write(p) }

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// errorPage answers err as S3's website endpoints do: an HTML page (for
// browsers, not XML), with what went wrong fetching the error document
// when docErr is set.
func (wr *websiteReq) errorPage(err, docErr error) {
	e, internal := toS3Error(err)
	if internal {
		wr.h.opts.Logger.Error("website request failed", zap.String("request_id", wr.rc.id),
			zap.String("bucket", wr.rc.bucket), zap.String("key", wr.key), zap.Error(err))
	}
	wr.rc.err = e.Code
	var b strings.Builder
	title := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	fmt.Fprintf(&b, "<html>\n<head><title>%s</title></head>\n<body>\n<h1>%s</h1>\n", title, title)
	wr.errorList(&b, e, wr.rc.key)
	if docErr != nil {
		de, _ := toS3Error(docErr)
		b.WriteString("<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>\n")
		wr.errorList(&b, de, wr.cfg.Error.Key)
	}
	b.WriteString("<hr/>\n</body>\n</html>\n")
	hdr := wr.w.Header()
	for _, k := range []string{"ETag", "Last-Modified", "Content-Range", "Accept-Ranges"} {
		hdr.Del(k)
	}
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Length", fmt.Sprint(b.Len()))
	hdr.Set("Cache-Control", "no-store")
	wr.w.WriteHeader(e.Status)
	if wr.r.Method != http.MethodHead {
		_, _ = wr.w.Write([]byte(b.String()))
	}
}

// errorList writes e's items.
func (wr *websiteReq) errorList(b *strings.Builder, e *s3err.Error, key string) {
	fmt.Fprintf(b, "<ul>\n<li>Code: %s</li>\n<li>Message: %s</li>\n", html.EscapeString(e.Code), html.EscapeString(e.Message))
	if key != "" && (e.Code == "NoSuchKey") {
		fmt.Fprintf(b, "<li>Key: %s</li>\n", html.EscapeString(key))
	}
	if e.Code == "NoSuchBucket" || e.Code == "NoSuchWebsiteConfiguration" {
		fmt.Fprintf(b, "<li>BucketName: %s</li>\n", html.EscapeString(wr.rc.bucket))
	}
	fmt.Fprintf(b, "<li>RequestId: %s</li>\n<li>HostId: %s</li>\n</ul>\n", wr.rc.id, wr.rc.id)
}
