package gateway

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// Static website hosting: the WebsiteConfiguration document of
// Put/Get/DeleteBucketWebsite (validated as S3 does), and the routing
// rules it holds. The website endpoint itself is websiteserve.go.

// maxRoutingRules is S3's limit of routing rules per configuration.
const maxRoutingRules = 50

// websiteConfig is the WebsiteConfiguration document; it is stored as
// validated and re-encoded (store.ConfigWebsite).
type websiteConfig struct {
	XMLName     xml.Name       `xml:"WebsiteConfiguration"`
	NS          string         `xml:"xmlns,attr,omitempty"`
	RedirectAll *redirectAll   `xml:"RedirectAllRequestsTo,omitempty"`
	Index       *indexDocument `xml:"IndexDocument,omitempty"`
	Error       *errorDocument `xml:"ErrorDocument,omitempty"`
	Rules       *routingRules  `xml:"RoutingRules,omitempty"`
	Unknown     []unknownXML   `xml:",any"`
}

// unknownXML collects elements a document should not have (refused).
type unknownXML struct {
	XMLName xml.Name
}

// redirectAll sends every request of the website to another host.
type redirectAll struct {
	HostName string       `xml:"HostName"`
	Protocol string       `xml:"Protocol,omitempty"`
	Unknown  []unknownXML `xml:",any"`
}

// indexDocument is appended to requests for a "directory" (key ending in /).
type indexDocument struct {
	Suffix  string       `xml:"Suffix"`
	Unknown []unknownXML `xml:",any"`
}

// errorDocument is served with 4xx errors.
type errorDocument struct {
	Key     string       `xml:"Key"`
	Unknown []unknownXML `xml:",any"`
}

type routingRules struct {
	Rules   []routingRule `xml:"RoutingRule"`
	Unknown []unknownXML  `xml:",any"`
}

// routingRule redirects requests that meet its Condition (all requests
// when it has none).
type routingRule struct {
	Condition *ruleCondition `xml:"Condition,omitempty"`
	Redirect  *ruleRedirect  `xml:"Redirect"`
	Unknown   []unknownXML   `xml:",any"`
}

type ruleCondition struct {
	KeyPrefixEquals *string      `xml:"KeyPrefixEquals,omitempty"`
	ErrorCode       string       `xml:"HttpErrorCodeReturnedEquals,omitempty"`
	Unknown         []unknownXML `xml:",any"`
}

type ruleRedirect struct {
	Protocol             string       `xml:"Protocol,omitempty"`
	HostName             string       `xml:"HostName,omitempty"`
	ReplaceKeyPrefixWith *string      `xml:"ReplaceKeyPrefixWith,omitempty"`
	ReplaceKeyWith       *string      `xml:"ReplaceKeyWith,omitempty"`
	HTTPRedirectCode     string       `xml:"HttpRedirectCode,omitempty"`
	Unknown              []unknownXML `xml:",any"`
}

// errInvalidProtocol answers a Protocol other than http or https.
var errInvalidProtocol = s3err.InvalidRequest.WithMessage("Invalid protocol, protocol can be http or https. If not defined the protocol will be selected automatically.")

// parseWebsite parses and validates a WebsiteConfiguration as S3 does.
func parseWebsite(doc []byte) (*websiteConfig, error) {
	var c websiteConfig
	if err := xml.Unmarshal(doc, &c); err != nil || c.hasUnknown() {
		return nil, s3err.MalformedXML
	}
	if c.RedirectAll != nil {
		if c.Index != nil || c.Error != nil || c.Rules != nil {
			return nil, s3err.InvalidArgument.WithMessage("RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.")
		}
		if c.RedirectAll.HostName == "" {
			return nil, s3err.MalformedXML
		}
		if !validProtocol(c.RedirectAll.Protocol) {
			return nil, errInvalidProtocol
		}
		return &c, nil
	}
	switch {
	case c.Index == nil:
		return nil, s3err.InvalidArgument.WithMessage("A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty")
	case c.Index.Suffix == "" || strings.Contains(c.Index.Suffix, "/"):
		return nil, s3err.InvalidArgument.WithMessage("The IndexDocument Suffix is not well formed")
	case c.Error != nil && (c.Error.Key == "" || !store.ValidKey(c.Error.Key)):
		return nil, s3err.InvalidArgument.WithMessage("The ErrorDocument Key is not well formed")
	}
	if c.Rules != nil {
		if err := validateRoutingRules(c.Rules.Rules); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// validateRoutingRules applies S3's rules to a RoutingRules list.
func validateRoutingRules(rules []routingRule) error {
	switch {
	case len(rules) == 0:
		return s3err.MalformedXML
	case len(rules) > maxRoutingRules:
		return s3err.InvalidRequest.WithMessage("%d routing rules provided, the number of routing rules in a website configuration is limited to %d.", len(rules), maxRoutingRules)
	}
	for _, r := range rules {
		if r.Redirect == nil {
			return s3err.MalformedXML
		}
		if c := r.Condition; c != nil {
			if c.KeyPrefixEquals == nil && c.ErrorCode == "" {
				return s3err.InvalidRequest.WithMessage("Condition cannot be empty. To redirect all requests without a condition, the condition element shouldn't be present.")
			}
			if c.ErrorCode != "" {
				code, err := strconv.Atoi(c.ErrorCode)
				if err != nil {
					return s3err.MalformedXML
				}
				if !validErrorCode(code) {
					return s3err.InvalidRequest.WithMessage("The provided HTTP error code (%d) is not valid. Valid codes are 4XX or 5XX.", code)
				}
			}
		}
		d := r.Redirect
		if d.Protocol == "" && d.HostName == "" && d.ReplaceKeyPrefixWith == nil && d.ReplaceKeyWith == nil && d.HTTPRedirectCode == "" {
			return s3err.MalformedXML // a Redirect must say something
		}
		if d.ReplaceKeyPrefixWith != nil && d.ReplaceKeyWith != nil {
			return s3err.InvalidRequest.WithMessage("You can only define ReplaceKeyPrefix or ReplaceKey but not both.")
		}
		if !validProtocol(d.Protocol) {
			return errInvalidProtocol
		}
		if d.HTTPRedirectCode != "" {
			code, err := strconv.Atoi(d.HTTPRedirectCode)
			if err != nil {
				return s3err.MalformedXML
			}
			if !validRedirectCode(code) {
				return s3err.InvalidRequest.WithMessage("The provided HTTP redirect code (%d) is not valid. Valid codes are 3XX except 300.", code)
			}
		}
	}
	return nil
}

// validErrorCode reports whether S3 accepts code as a routing rule's
// HttpErrorCodeReturnedEquals: despite its message ("4XX or 5XX"), only
// the codes HTTP/1.1 (RFC 2616) defines, 400-417 and 500-505 (found with
// the versitygw suite, whose expectations are S3's).
func validErrorCode(code int) bool {
	return code >= 400 && code <= 417 || code >= 500 && code <= 505
}

// validRedirectCode reports whether S3 accepts code as a HttpRedirectCode:
// the defined 3XX redirects but 300 and the unused 306.
func validRedirectCode(code int) bool {
	switch code {
	case 301, 302, 303, 304, 305, 307, 308:
		return true
	}
	return false
}

// hasUnknown reports whether c holds an element S3 does not define.
func (c *websiteConfig) hasUnknown() bool {
	n := len(c.Unknown)
	if c.RedirectAll != nil {
		n += len(c.RedirectAll.Unknown)
	}
	if c.Index != nil {
		n += len(c.Index.Unknown)
	}
	if c.Error != nil {
		n += len(c.Error.Unknown)
	}
	if c.Rules != nil {
		n += len(c.Rules.Unknown)
		for _, r := range c.Rules.Rules {
			n += len(r.Unknown)
			if r.Condition != nil {
				n += len(r.Condition.Unknown)
			}
			if r.Redirect != nil {
				n += len(r.Redirect.Unknown)
			}
		}
	}
	return n > 0
}

func validProtocol(p string) bool { return p == "" || p == "http" || p == "https" }

// match returns the first rule meeting the request for key: before the
// object is looked up (status 0) the rules without an error condition,
// after a failed lookup (status the error's) those whose error code is
// status; nil when none does.
func (c *websiteConfig) match(key string, status int) *routingRule {
	if c.Rules == nil {
		return nil
	}
	for i := range c.Rules.Rules {
		r := &c.Rules.Rules[i]
		cond := r.Condition
		if cond == nil {
			if status == 0 {
				return r
			}
			continue
		}
		if cond.KeyPrefixEquals != nil && !strings.HasPrefix(key, *cond.KeyPrefixEquals) {
			continue
		}
		if cond.ErrorCode == "" && status == 0 || cond.ErrorCode != "" && cond.ErrorCode == strconv.Itoa(status) {
			return r
		}
	}
	return nil
}

// target returns the redirect's status and location for a request for key
// (host and proto are the request's, used where the rule names none).
func (d *ruleRedirect) target(cond *ruleCondition, key, host, proto string) (int, string) {
	switch {
	case d.ReplaceKeyWith != nil:
		key = *d.ReplaceKeyWith
	case d.ReplaceKeyPrefixWith != nil:
		prefix := ""
		if cond != nil && cond.KeyPrefixEquals != nil {
			prefix = *cond.KeyPrefixEquals
		}
		key = *d.ReplaceKeyPrefixWith + strings.TrimPrefix(key, prefix)
	}
	if d.HostName != "" {
		host = d.HostName
	}
	if d.Protocol != "" {
		proto = d.Protocol
	}
	code := http.StatusMovedPermanently
	if d.HTTPRedirectCode != "" {
		code, _ = strconv.Atoi(d.HTTPRedirectCode) // validated
	}
	return code, proto + "://" + host + "/" + escapeKeyPath(key)
}

// escapeKeyPath escapes key as a URL path, keeping its slashes.
func escapeKeyPath(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func (h *Handler) getBucketWebsite(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	doc, err := h.bucketConfig(r.Context(), rc.bucket, store.ConfigWebsite, s3err.NoSuchWebsiteConfiguration)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(doc)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(doc)
	return nil
}

func (h *Handler) putBucketWebsite(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	body, err := h.readXMLBody(r, rc, maxSmallXML, true)
	if err != nil {
		return err
	}
	c, err := parseWebsite(body)
	if err != nil {
		return err
	}
	c.NS = s3NS
	doc, err := xml.Marshal(c)
	if err != nil {
		return err
	}
	if err := h.putBucketConfig(r.Context(), rc, store.ConfigWebsite, doc); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucketWebsite(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if err := h.opts.Store.DeleteBucketConfig(r.Context(), rc.bucket, store.ConfigWebsite); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// maxWebsiteRedirect bounds x-amz-website-redirect-location: 2 KB, as S3.
const maxWebsiteRedirect = 2 << 10

// errInvalidRedirect is S3's answer to an x-amz-website-redirect-location
// it cannot store.
var errInvalidRedirect = &s3err.Error{Code: "InvalidRedirectLocation", Status: http.StatusBadRequest,
	Message: "The website redirect location must have a prefix of 'http://' or 'https://' or '/'."}

// websiteRedirect returns a write's x-amz-website-redirect-location
// (stored with the object, answered on GET and HEAD, and followed by the
// website endpoint), validated as S3 does: a key of the bucket ("/...")
// or an http(s) URL, at most 2 KB. "" when the request sets none.
func websiteRedirect(hdr http.Header) (string, error) {
	loc := hdr.Get("X-Amz-Website-Redirect-Location")
	switch {
	case loc == "":
		return "", nil
	case len(loc) > maxWebsiteRedirect:
		return "", errInvalidRedirect.WithMessage("The length of the website redirect location cannot exceed %d characters.", maxWebsiteRedirect)
	case !strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "http://") && !strings.HasPrefix(loc, "https://"):
		return "", errInvalidRedirect
	}
	return loc, nil
}
