package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"go.uber.org/zap"
)

// maxFormBytes bounds a sign-in form.
const maxFormBytes = 8 << 10

// signinPage is what the sign-in template shows.
type signinPage struct {
	Action    string
	AccessKey string
	Error     string
}

// serveSignIn shows the sign-in form (GET) and signs in (POST: the form's
// access_key and secret_key).
func (c *Console) serveSignIn(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		c.renderSignIn(w, http.StatusOK, signinPage{})
	case http.MethodPost:
		c.signIn(w, r)
	default:
		methodNotAllowed(w, "GET, HEAD, POST")
	}
}

func (c *Console) renderSignIn(w http.ResponseWriter, status int, p signinPage) {
	p.Action = c.opts.Path + "signin"
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.signin.Execute(w, p); err != nil {
		c.opts.Logger.Warn("console: rendering the sign-in page", zap.Error(err))
	}
}

// Sign-in refusals shown to people.
const (
	msgWrongKeys  = "The access key or the secret key is wrong."
	msgTooMany    = "Too many failed sign-ins from your address: try again in %s."
	msgCrossSite  = "This sign-in did not come from the console's own page."
	msgBadForm    = "Enter an access key and a secret key."
	msgSignInFail = "Signing in failed: "
)

// signIn checks the key pair with a ListBuckets the gateway authorizes,
// then starts a session under a fresh id.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		c.renderSignIn(w, http.StatusForbidden, signinPage{Error: msgCrossSite})
		return
	}
	ip := clientIP(r)
	if d := c.failures.wait(ip); d > 0 {
		secs := int((d + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		c.renderSignIn(w, http.StatusTooManyRequests, signinPage{Error: fmt.Sprintf(msgTooMany, (time.Duration(secs) * time.Second).String())})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.renderSignIn(w, http.StatusBadRequest, signinPage{Error: msgBadForm})
		return
	}
	ak, sk := r.PostForm.Get("access_key"), r.PostForm.Get("secret_key")
	if ak == "" || sk == "" {
		c.renderSignIn(w, http.StatusBadRequest, signinPage{AccessKey: ak, Error: msgBadForm})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	_, err := newClient(c.gw, c.opts.Region, ak, sk).ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "InvalidAccessKeyId" || ae.ErrorCode() == "SignatureDoesNotMatch") {
			c.failures.fail(ip)
			c.opts.Logger.Info("console: sign-in refused", zap.String("access_key", ak), zap.String("client", ip))
			c.renderSignIn(w, http.StatusUnauthorized, signinPage{AccessKey: ak, Error: msgWrongKeys})
			return
		}
		msg := err.Error()
		if ae != nil {
			msg = ae.ErrorMessage()
		}
		c.renderSignIn(w, http.StatusForbidden, signinPage{AccessKey: ak, Error: msgSignInFail + msg})
		return
	}
	c.failures.forget(ip)
	if old, err := r.Cookie(cookieName); err == nil {
		c.sessions.remove(old.Value)
	}
	ss := c.sessions.create(ak, sk)
	c.opts.Logger.Info("console: signed in", zap.String("access_key", ak), zap.String("client", ip))
	c.setCookie(w, r, ss.id)
	http.Redirect(w, r, c.opts.Path, http.StatusSeeOther)
}
