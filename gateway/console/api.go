package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway/order"
)

// maxAPIBody bounds a JSON API request (a delete of 1000 keys of 1 KiB).
const maxAPIBody = 2 << 20

// apiTimeout bounds one API call (a folder delete lists and deletes many).
const apiTimeout = 5 * time.Minute

// call is one API request being served.
type call struct {
	c   *Console
	w   http.ResponseWriter
	r   *http.Request
	ss  session
	s3  *s3.Client
	ctx context.Context
}

// endpoint is a JSON API endpoint: its method and function.
type endpoint struct {
	method string
	fn     func(*call) (any, error)
}

// api lists the JSON API's endpoints (under <path>api/).
var api = map[string]endpoint{
	"session":            {http.MethodGet, (*call).getSession},
	"signout":            {http.MethodPost, (*call).signOut},
	"order":              {http.MethodGet, (*call).getOrder},
	"buckets":            {http.MethodGet, (*call).listBuckets},
	"bucket/create":      {http.MethodPost, (*call).createBucket},
	"bucket/delete":      {http.MethodPost, (*call).deleteBucket},
	"objects":            {http.MethodGet, (*call).listObjects},
	"object":             {http.MethodGet, (*call).headObject},
	"count":              {http.MethodGet, (*call).countPrefix},
	"delete":             {http.MethodPost, (*call).deleteKeys},
	"delete-prefix":      {http.MethodPost, (*call).deletePrefix},
	"folder":             {http.MethodPost, (*call).createFolder},
	"upload":             {http.MethodPost, (*call).presignPut},
	"multipart/create":   {http.MethodPost, (*call).createMultipart},
	"multipart/urls":     {http.MethodPost, (*call).presignParts},
	"multipart/complete": {http.MethodPost, (*call).completeMultipart},
	"multipart/abort":    {http.MethodPost, (*call).abortMultipart},
	"link":               {http.MethodPost, (*call).link},
}

// apiError is an API refusal: an HTTP status and an S3-style code and
// message, sent as JSON.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func badRequest(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "InvalidRequest", Message: fmt.Sprintf(format, args...)}
}

var (
	errNoSession = &apiError{Status: http.StatusUnauthorized, Code: "NotSignedIn", Message: "Sign in to use the console."}
	errCSRF      = &apiError{Status: http.StatusForbidden, Code: "InvalidCSRFToken", Message: "The request did not come from the console's page: reload it."}
	errNotFound  = &apiError{Status: http.StatusNotFound, Code: "NoSuchEndpoint", Message: "No such console API endpoint."}
)

// serveAPI authenticates an API request (session; for a POST also the
// CSRF token and the origin) and runs its endpoint.
func (c *Console) serveAPI(w http.ResponseWriter, r *http.Request, name string) {
	ep, ok := api[name]
	if !ok {
		writeJSON(w, errNotFound.Status, errNotFound)
		return
	}
	if r.Method != ep.method {
		w.Header().Set("Allow", ep.method)
		writeJSON(w, http.StatusMethodNotAllowed, &apiError{Code: "MethodNotAllowed", Message: "Use " + ep.method + "."})
		return
	}
	ss, ok := c.session(r)
	if !ok {
		writeJSON(w, errNoSession.Status, errNoSession)
		return
	}
	if ep.method != http.MethodGet && (!sameOrigin(r) || !equal(r.Header.Get("X-CSRF-Token"), ss.csrf)) {
		writeJSON(w, errCSRF.Status, errCSRF)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	cl := &call{c: c, w: w, r: r, ss: ss, ctx: ctx, s3: newClient(c.gw, c.opts.Region, ss.accessKey, ss.secretKey)}
	out, err := ep.fn(cl)
	if err != nil {
		ae := toAPIError(err)
		if ae.Status >= 500 {
			c.opts.Logger.Warn("console: API call failed", zap.String("endpoint", name), zap.String("access_key", ss.accessKey), zap.Error(err))
		}
		writeJSON(w, ae.Status, ae)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// toAPIError turns an error (the gateway's S3 error as the SDK read it,
// or the console's own) into an apiError.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	out := &apiError{Status: http.StatusInternalServerError, Code: "InternalError", Message: err.Error()}
	var se smithy.APIError
	if errors.As(err, &se) {
		out.Code, out.Message = se.ErrorCode(), se.ErrorMessage()
	}
	var hs interface{ HTTPStatusCode() int }
	if errors.As(err, &hs) && hs.HTTPStatusCode() >= 400 {
		out.Status = hs.HTTPStatusCode()
	}
	if out.Message == "" {
		out.Message = http.StatusText(out.Status)
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads the JSON body of a POST into v.
func (cl *call) decode(v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(cl.w, cl.r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("The request body is not the JSON expected: %v", err)
	}
	return nil
}

// scheme is the scheme the browser reached the console with.
func (cl *call) scheme() string {
	if cl.r.TLS != nil {
		return "https"
	}
	return "http"
}

// sessionInfo is what the page learns about its session.
type sessionInfo struct {
	AccessKey string `json:"accessKey"`
	ReadOnly  bool   `json:"readOnly"`
	CSRF      string `json:"csrf"`
	Region    string `json:"region"`
	Endpoint  string `json:"endpoint"`
	Path      string `json:"path"`
}

func (cl *call) getSession() (any, error) {
	o := cl.c.gw.Order()
	k, _ := o.Key(cl.ss.accessKey)
	return sessionInfo{AccessKey: cl.ss.accessKey, ReadOnly: k.ReadOnly || o.State(cl.c.opts.Now()) != order.Active,
		CSRF: cl.ss.csrf, Region: cl.c.opts.Region, Endpoint: cl.scheme() + "://" + cl.r.Host, Path: cl.c.opts.Path}, nil
}

func (cl *call) signOut() (any, error) {
	cl.c.sessions.remove(cl.ss.id)
	cl.c.setCookie(cl.w, cl.r, "")
	cl.c.opts.Logger.Info("console: signed out", zap.String("access_key", cl.ss.accessKey))
	return struct{}{}, nil
}

// orderInfo is the order at a glance.
type orderInfo struct {
	ID        string     `json:"id"`
	State     string     `json:"state"`
	Capacity  int64      `json:"capacity"` // 0: unlimited
	Used      int64      `json:"used"`
	Reserved  int64      `json:"reserved"`
	Objects   int64      `json:"objects"`
	Expires   *time.Time `json:"expires,omitempty"`
	GraceEnds *time.Time `json:"graceEnds,omitempty"`
	Now       time.Time  `json:"now"`
	KeyRO     bool       `json:"keyReadOnly"`
}

func (cl *call) getOrder() (any, error) {
	// Whatever the gateway refuses this key (a closed order), the console
	// refuses too: a HeadBucket-free ListBuckets checks it.
	if _, err := cl.s3.ListBuckets(cl.ctx, &s3.ListBucketsInput{}); err != nil {
		return nil, err
	}
	u, err := cl.c.gw.Usage(cl.ctx)
	if err != nil {
		return nil, err
	}
	o := cl.c.gw.Order()
	now := cl.c.opts.Now()
	k, _ := o.Key(cl.ss.accessKey)
	info := orderInfo{ID: o.ID, State: o.State(now).String(), Capacity: u.Capacity, Used: u.Bytes, Reserved: u.Reserved,
		Objects: u.Objects, Now: now.UTC(), KeyRO: k.ReadOnly}
	if !o.Expires.IsZero() {
		e, g := o.Expires.UTC(), o.Expires.Add(o.Grace).UTC()
		info.Expires, info.GraceEnds = &e, &g
	}
	return info, nil
}
