package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// Object lock (docs/objectlock.md). A bucket has object lock when it has
// the object-lock configuration document (store.ConfigObjectLock), which
// CreateBucket with x-amz-bucket-object-lock-enabled writes (versioning
// Enabled, never Suspended) and PutObjectLockConfiguration replaces. A
// version's retention and legal hold are its attributes (store.Metadata
// LockMode, LockUntil, LegalHold); the store refuses to delete a locked
// version in the delete's own transaction (store.ErrObjectLocked).

// Bounds of a default retention period (as AWS).
const (
	maxLockDays  = 36500
	maxLockYears = 100
	maxLockXML   = 4 << 10
)

// lockTimeLayout is how retain-until dates are answered (ISO 8601, as S3).
const lockTimeLayout = "2006-01-02T15:04:05.000Z"

var (
	errNoSuchObjectLock = &s3err.Error{Code: "NoSuchObjectLockConfiguration", Status: http.StatusNotFound,
		Message: "The specified object does not have a ObjectLock configuration"}
	errLockVersioning = &s3err.Error{Code: "InvalidBucketState", Status: http.StatusConflict,
		Message: "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."}
	errLockNeedsVersioning = &s3err.Error{Code: "InvalidBucketState", Status: http.StatusConflict,
		Message: "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"}
	errLockIntegrity = s3err.InvalidRequest.WithMessage("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters")
	errLockedVersion = s3err.AccessDenied.WithMessage("Access Denied because object protected by object lock.")
	errRetainPast    = s3err.InvalidArgument.WithMessage("The retain until date must be in the future!")
	errLockMode      = s3err.InvalidArgument.WithMessage("Unknown wormMode directive.")
)

// objectLockConfiguration is the ObjectLockConfiguration document.
type objectLockConfiguration struct {
	XMLName           xml.Name  `xml:"ObjectLockConfiguration"`
	NS                string    `xml:"xmlns,attr,omitempty"`
	ObjectLockEnabled string    `xml:"ObjectLockEnabled,omitempty"`
	Rule              *lockRule `xml:"Rule,omitempty"`
}

type lockRule struct {
	DefaultRetention *defaultRetention `xml:"DefaultRetention"`
}

type defaultRetention struct {
	Mode  string `xml:"Mode"`
	Days  int    `xml:"Days,omitempty"`
	Years int    `xml:"Years,omitempty"`
}

// retentionDoc is the Retention document of Get/PutObjectRetention.
type retentionDoc struct {
	XMLName         xml.Name `xml:"Retention"`
	NS              string   `xml:"xmlns,attr,omitempty"`
	Mode            string   `xml:"Mode,omitempty"`
	RetainUntilDate string   `xml:"RetainUntilDate,omitempty"`
}

// legalHoldDoc is the LegalHold document of Get/PutObjectLegalHold.
type legalHoldDoc struct {
	XMLName xml.Name `xml:"LegalHold"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Status  string   `xml:"Status"`
}

// parseLockConfig validates an ObjectLockConfiguration document.
func parseLockConfig(body []byte) (*objectLockConfiguration, error) {
	var c objectLockConfiguration
	if err := xml.Unmarshal(body, &c); err != nil {
		return nil, s3err.MalformedXML
	}
	if c.ObjectLockEnabled != "Enabled" {
		return nil, s3err.MalformedXML.WithMessage("ObjectLockEnabled must be Enabled.")
	}
	if c.Rule == nil {
		return &c, nil
	}
	d := c.Rule.DefaultRetention
	switch {
	case d == nil:
		return nil, s3err.MalformedXML.WithMessage("A Rule needs a DefaultRetention.")
	case d.Mode != store.LockGovernance && d.Mode != store.LockCompliance:
		return nil, s3err.MalformedXML.WithMessage("DefaultRetention Mode must be GOVERNANCE or COMPLIANCE.")
	case (d.Days == 0) == (d.Years == 0):
		return nil, s3err.MalformedXML.WithMessage("DefaultRetention needs exactly one of Days and Years.")
	case d.Days < 0 || d.Years < 0:
		return nil, s3err.InvalidArgument.WithMessage("Default retention period must be a positive integer value.")
	case d.Days > maxLockDays || d.Years > maxLockYears:
		return nil, s3err.InvalidArgument.WithMessage("Default retention period too large: at most %d days or %d years.", maxLockDays, maxLockYears)
	}
	return &c, nil
}

// lockConfig returns the bucket's object lock configuration, nil if the
// bucket has no object lock.
func (h *Handler) lockConfig(ctx context.Context, bucket string) (*objectLockConfiguration, error) {
	doc, err := h.opts.Store.GetBucketConfig(ctx, bucket, store.ConfigObjectLock)
	if errors.Is(err, store.ErrNoSuchConfig) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c objectLockConfiguration
	if err := xml.Unmarshal(doc, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// requireLock returns the bucket's lock configuration, or S3's error for
// a bucket without object lock.
func (h *Handler) requireLock(ctx context.Context, bucket string) (*objectLockConfiguration, error) {
	c, err := h.lockConfig(ctx, bucket)
	if err == nil && c == nil {
		err = errNoObjectLock
	}
	return c, err
}

// storeLockConfig keeps c as the bucket's configuration (canonical XML).
func (h *Handler) storeLockConfig(ctx context.Context, rc *reqContext, c *objectLockConfiguration) error {
	c.NS = ""
	doc, err := xml.Marshal(c)
	if err != nil {
		return err
	}
	return h.putBucketConfig(ctx, rc, store.ConfigObjectLock, doc)
}

// createBucketLock applies x-amz-bucket-object-lock-enabled to a bucket
// CreateBucket just made: versioning Enabled and an empty configuration.
// On failure the new (empty) bucket is removed again.
func (h *Handler) createBucketLock(r *http.Request, rc *reqContext) error {
	if !lockEnabledHeader(r.Header) {
		return nil
	}
	ctx := r.Context()
	err := h.opts.Store.SetBucketVersioning(ctx, rc.bucket, store.Enabled)
	if err == nil {
		err = h.storeLockConfig(ctx, rc, &objectLockConfiguration{ObjectLockEnabled: "Enabled"})
	}
	if err != nil {
		_ = h.opts.Store.DeleteBucket(ctx, rc.bucket)
		if errors.Is(err, store.ErrNotSupported) {
			return errNoBucketLock
		}
	}
	return err
}

// checkLockHeader validates x-amz-bucket-object-lock-enabled.
func checkLockHeader(hdr http.Header) error {
	vals, ok := hdr["X-Amz-Bucket-Object-Lock-Enabled"]
	if !ok {
		return nil
	}
	if len(vals) != 1 || !strings.EqualFold(vals[0], "true") && !strings.EqualFold(vals[0], "false") {
		return s3err.InvalidArgument.WithMessage("x-amz-bucket-object-lock-enabled must be true or false.")
	}
	return nil
}

func lockEnabledHeader(hdr http.Header) bool {
	return strings.EqualFold(hdr.Get("X-Amz-Bucket-Object-Lock-Enabled"), "true")
}

func (h *Handler) getObjectLockConfiguration(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	c, err := h.requireLockConfig(r.Context(), rc.bucket)
	if err != nil {
		return err
	}
	c.NS = s3NS
	writeXML(w, http.StatusOK, c)
	return nil
}

// requireLockConfig is lockConfig answering S3's error for none.
func (h *Handler) requireLockConfig(ctx context.Context, bucket string) (*objectLockConfiguration, error) {
	c, err := h.lockConfig(ctx, bucket)
	if err == nil && c == nil {
		if _, err = h.opts.Store.HeadBucket(ctx, bucket); err == nil {
			err = s3err.ObjectLockConfigurationNotFound
		}
	}
	return c, err
}

// putObjectLockConfiguration sets the default retention. On a bucket
// without object lock it turns lock on, which needs versioning Enabled.
func (h *Handler) putObjectLockConfiguration(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	ctx := r.Context()
	if _, err := h.opts.Store.HeadBucket(ctx, rc.bucket); err != nil {
		return err
	}
	if err := requireIntegrity(r.Header); err != nil {
		return err
	}
	body, err := h.readXMLBody(r, rc, maxLockXML, true)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return s3err.MissingRequestBody // as S3 answers this operation
	}
	c, err := parseLockConfig(body)
	if err != nil {
		return err
	}
	old, err := h.lockConfig(ctx, rc.bucket)
	if err != nil {
		return err
	}
	if old == nil {
		if !store.SupportsVersions(h.opts.Store) {
			return errNoBucketLock
		}
		st, err := h.opts.Store.BucketVersioning(ctx, rc.bucket)
		if err != nil {
			return err
		}
		if st != store.Enabled {
			return errLockNeedsVersioning
		}
	}
	if err := h.storeLockConfig(ctx, rc, c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// checkVersioningLock refuses suspending versioning on a bucket with
// object lock.
func (h *Handler) checkVersioningLock(ctx context.Context, bucket, state string) error {
	if state == store.Enabled {
		return nil
	}
	c, err := h.lockConfig(ctx, bucket)
	if err == nil && c != nil {
		err = errLockVersioning
	}
	return err
}

// requireIntegrity applies AWS's rule: a request that sets object lock
// parameters carries Content-MD5 or an x-amz-checksum-* (header or
// trailer).
func requireIntegrity(hdr http.Header) error {
	if hdr.Get("Content-Md5") != "" {
		return nil
	}
	for k := range hdr {
		if objectChecksumHeader(k) {
			return nil
		}
	}
	for _, t := range hdr.Values("X-Amz-Trailer") {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), "x-amz-checksum-") {
			return nil
		}
	}
	return errLockIntegrity
}

// parseRetainUntil parses a retain-until date, which must be in the future.
func (h *Handler) parseRetainUntil(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, s3err.InvalidArgument.WithMessage("The retain until date must be an ISO 8601 date and time (e.g. 2030-01-01T00:00:00Z).")
	}
	if !t.After(h.opts.Now()) {
		return time.Time{}, errRetainPast
	}
	return t.UTC(), nil
}

// storedUntil is the stored form of a retain-until date.
func storedUntil(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// shownUntil is a stored retain-until date as S3 shows it.
func shownUntil(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.UTC().Format(lockTimeLayout)
}

// errAnonymousLock refuses lock headers on an anonymous write: S3 asks
// for s3:PutObjectRetention or s3:PutObjectLegalHold, which a public
// WRITE grant never gives, and a stranger's COMPLIANCE retention would
// keep the order from deleting what it wrote.
var errAnonymousLock = s3err.AccessDenied.WithMessage("Anonymous requests may not set object lock retention or a legal hold.")

// applyWriteLock sets meta's lock attributes for a new version from the
// x-amz-object-lock-* headers, or else from the bucket's default
// retention. body: the request carries the object's bytes, so a version
// it locks (by its headers or the default retention) needs an integrity
// header, as AWS requires.
func (h *Handler) applyWriteLock(r *http.Request, rc *reqContext, meta *store.Metadata, body bool) error {
	hdr := r.Header
	mode, until := hdr.Get("X-Amz-Object-Lock-Mode"), hdr.Get("X-Amz-Object-Lock-Retain-Until-Date")
	hold, hasHold := hdr["X-Amz-Object-Lock-Legal-Hold"]
	set := mode != "" || until != "" || hasHold
	ctx := r.Context()
	c, err := h.lockConfig(ctx, rc.bucket)
	switch {
	case err != nil:
		return err
	case c == nil && set:
		return errNoObjectLock
	case c == nil:
		return nil
	case set && rc.anonymous():
		return errAnonymousLock
	}
	dflt := c.Rule != nil && c.Rule.DefaultRetention != nil
	if (set || dflt) && body {
		if err := requireIntegrity(hdr); err != nil {
			return err
		}
	}
	if hasHold {
		switch v := strings.Join(hold, ","); v {
		case "ON":
			meta.LegalHold = store.LegalHoldOn
		case "OFF":
		default:
			return s3err.InvalidArgument.WithMessage("Legal Hold must be either of 'ON' or 'OFF'")
		}
	}
	switch {
	case (mode == "") != (until == ""):
		return s3err.InvalidArgument.WithMessage("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
	case mode != "":
		if mode != store.LockGovernance && mode != store.LockCompliance {
			return errLockMode
		}
		t, err := h.parseRetainUntil(until)
		if err != nil {
			return err
		}
		meta.LockMode, meta.LockUntil = mode, storedUntil(t)
	case dflt:
		d := c.Rule.DefaultRetention
		meta.LockMode = d.Mode
		meta.LockUntil = storedUntil(h.opts.Now().AddDate(d.Years, 0, d.Days))
	}
	return nil
}

// writeLockHeaders sets the x-amz-object-lock-* headers of GET and HEAD.
func writeLockHeaders(hdr http.Header, m *store.Metadata) {
	if m.LockMode != "" {
		hdr.Set("x-amz-object-lock-mode", m.LockMode)
		hdr.Set("x-amz-object-lock-retain-until-date", shownUntil(m.LockUntil))
	}
	if m.LegalHold != "" {
		hdr.Set("x-amz-object-lock-legal-hold", m.LegalHold)
	}
}

// bypassRequested reports x-amz-bypass-governance-retention: true.
func bypassRequested(hdr http.Header) bool {
	return strings.EqualFold(strings.TrimSpace(hdr.Get("X-Amz-Bypass-Governance-Retention")), "true")
}

// lockContext returns the context a delete runs with: marked to bypass
// GOVERNANCE retention when the request asks to and its key may
// (bypass_governance in [[order.<id>.keys]]). From a key that may not,
// the header grants nothing: a version under retention is still refused
// by the store (AccessDenied, as S3 answers a requester without
// s3:BypassGovernanceRetention), and an unprotected one is deleted as
// without it (clients' clean-ups send the header on every delete).
func (h *Handler) lockContext(r *http.Request, rc *reqContext) (context.Context, error) {
	ctx := r.Context()
	if !bypassRequested(r.Header) || rc.mayBypass() != nil {
		return ctx, nil
	}
	return store.WithGovernanceBypass(ctx), nil
}

// mayBypass refuses a request whose key may not bypass governance
// retention.
func (rc *reqContext) mayBypass() error {
	if !rc.anonymous() {
		if k, ok := rc.ord.Key(rc.auth.AccessKey); ok && k.BypassGovernance {
			return nil
		}
	}
	return s3err.AccessDenied.WithMessage("The access key may not bypass governance retention (bypass_governance is not set for it).")
}

// lockTarget parses versionId and checks the bucket has object lock.
func (h *Handler) lockTarget(r *http.Request, rc *reqContext) (string, error) {
	versionID, err := versionParam(r)
	if err != nil {
		return "", err
	}
	_, err = h.requireLock(r.Context(), rc.bucket)
	return versionID, err
}

func (h *Handler) getObjectRetention(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	versionID, err := h.lockTarget(r, rc)
	if err != nil {
		return err
	}
	o, err := h.opts.Store.HeadObjectVersion(r.Context(), rc.bucket, rc.key, versionID)
	if err != nil {
		return err
	}
	if o.Meta.LockMode == "" {
		return errNoSuchObjectLock
	}
	writeXML(w, http.StatusOK, retentionDoc{NS: s3NS, Mode: o.Meta.LockMode, RetainUntilDate: shownUntil(o.Meta.LockUntil)})
	return nil
}

// putObjectRetention sets or changes a version's retention. COMPLIANCE
// in force can only be extended; GOVERNANCE in force can be shortened,
// removed or changed only with a bypass the key is allowed.
func (h *Handler) putObjectRetention(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	versionID, err := h.lockTarget(r, rc)
	if err != nil {
		return err
	}
	if err := requireIntegrity(r.Header); err != nil {
		return err
	}
	bypass := bypassRequested(r.Header)
	if bypass {
		if err := rc.mayBypass(); err != nil {
			return err
		}
	}
	body, err := h.readXMLBody(r, rc, maxLockXML, true)
	if err != nil {
		return err
	}
	var doc retentionDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		return s3err.MalformedXML
	}
	var until time.Time
	switch {
	case doc.Mode == "" && doc.RetainUntilDate == "": // removes the retention
	case doc.Mode != store.LockGovernance && doc.Mode != store.LockCompliance:
		return s3err.MalformedXML.WithMessage("Retention Mode must be GOVERNANCE or COMPLIANCE, with a RetainUntilDate.")
	default:
		if until, err = h.parseRetainUntil(doc.RetainUntilDate); err != nil {
			return err
		}
	}
	now := h.opts.Now()
	release, err := h.reserve(r.Context(), rc, int64(len(doc.Mode)+len(time.RFC3339Nano)), nil)
	if err != nil {
		return err
	}
	defer release()
	_, err = h.opts.Store.UpdateObjectVersion(r.Context(), rc.bucket, rc.key, versionID, func(o *store.Object) error {
		if err := retentionChange(&o.Meta, doc.Mode, until, now, bypass); err != nil {
			return err
		}
		o.Meta.LockMode, o.Meta.LockUntil = doc.Mode, ""
		if doc.Mode != "" {
			o.Meta.LockUntil = storedUntil(until)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// retentionChange checks that a version's retention m may become mode
// until until (mode "": removed) at now.
func retentionChange(m *store.Metadata, mode string, until, now time.Time, bypass bool) error {
	old, err := time.Parse(time.RFC3339, m.LockUntil)
	if m.LockMode == "" || err == nil && !old.After(now) {
		return nil // no retention in force
	}
	extends := mode != "" && err == nil && !until.Before(old)
	switch {
	case m.LockMode == store.LockCompliance && (mode != store.LockCompliance || !extends):
		return s3err.AccessDenied.WithMessage("The object is under COMPLIANCE retention until %s: its retention can only be extended.", shownUntil(m.LockUntil))
	case m.LockMode == store.LockGovernance && (!extends || mode != store.LockGovernance) && !bypass:
		// Changing the mode, even to COMPLIANCE, overrides the
		// governance setting: S3 asks for the bypass too.
		return s3err.AccessDenied.WithMessage("The object is under GOVERNANCE retention until %s: shortening, removing or changing its mode needs x-amz-bypass-governance-retention: true.", shownUntil(m.LockUntil))
	}
	return nil
}

func (h *Handler) getObjectLegalHold(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	versionID, err := h.lockTarget(r, rc)
	if err != nil {
		return err
	}
	o, err := h.opts.Store.HeadObjectVersion(r.Context(), rc.bucket, rc.key, versionID)
	if err != nil {
		return err
	}
	status := "OFF"
	if o.Meta.LegalHold == store.LegalHoldOn {
		status = "ON"
	}
	writeXML(w, http.StatusOK, legalHoldDoc{NS: s3NS, Status: status})
	return nil
}

func (h *Handler) putObjectLegalHold(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	versionID, err := h.lockTarget(r, rc)
	if err != nil {
		return err
	}
	if err := requireIntegrity(r.Header); err != nil {
		return err
	}
	body, err := h.readXMLBody(r, rc, maxLockXML, true)
	if err != nil {
		return err
	}
	var doc legalHoldDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		return s3err.MalformedXML
	}
	hold := ""
	switch doc.Status {
	case "ON":
		hold = store.LegalHoldOn
	case "OFF":
	default:
		return s3err.MalformedXML.WithMessage("LegalHold Status must be ON or OFF.")
	}
	release, err := h.reserve(r.Context(), rc, int64(len(hold)), nil)
	if err != nil {
		return err
	}
	defer release()
	if _, err := h.opts.Store.UpdateObjectVersion(r.Context(), rc.bucket, rc.key, versionID, func(o *store.Object) error {
		o.Meta.LegalHold = hold
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
