package gateway

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/lambda/storagecli/gateway/policy"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/sigv4"
	"github.com/lambda/storagecli/gateway/store"
)

// Access control beyond the order's keys (see docs/access.md). A signed
// request is authorized by its key (orders.go: read-only keys, expiry),
// then narrowed by the bucket policy's Deny statements. An unsigned
// (anonymous) request is served only where its route allows anonymous
// access (anonRule, in the access table below) and the bucket's policy or
// ACLs grant it, as PublicAccessBlock and the order's block_public_access
// permit; never by a handler's own decision.

// anonRule is how an anonymous request may be granted an operation.
type anonRule int

const (
	// anonNever: the operation needs a signature.
	anonNever anonRule = iota
	// anonPolicy: a bucket policy statement allowing it to "*".
	anonPolicy
	// anonObjectRead: a policy, or the object's ACL granting AllUsers READ.
	anonObjectRead
	// anonObjectReadACP: a policy, or the object's ACL granting READ_ACP.
	anonObjectReadACP
	// anonBucketRead: a policy, or the bucket's ACL granting READ.
	anonBucketRead
	// anonBucketReadACP: a policy, or the bucket's ACL granting READ_ACP.
	anonBucketReadACP
	// anonBucketWrite: a policy, or the bucket's ACL granting WRITE.
	anonBucketWrite
)

// opAccess is the access control of one operation: the IAM action a
// policy names it by and how anonymous requests may be granted it.
type opAccess struct {
	action string
	anon   anonRule
}

// accessTable gives each operation of the route table (by its name) its
// access control. An operation missing from it is named s3:<op> in
// policies and never served anonymously (TestAccessTableCoversRoutes
// keeps it complete).
var accessTable = map[string]opAccess{
	"ListBuckets":             {"s3:ListAllMyBuckets", anonNever},
	"GetBucketLocation":       {"s3:GetBucketLocation", anonPolicy},
	"GetBucketVersioning":     {"s3:GetBucketVersioning", anonPolicy},
	"ListObjectVersions":      {"s3:ListBucketVersions", anonBucketRead},
	"ListMultipartUploads":    {"s3:ListBucketMultipartUploads", anonBucketRead},
	"GetBucketAcl":            {"s3:GetBucketAcl", anonBucketReadACP},
	"ListObjectsV2":           {"s3:ListBucket", anonBucketRead},
	"ListObjects":             {"s3:ListBucket", anonBucketRead},
	"HeadBucket":              {"s3:ListBucket", anonBucketRead},
	"PutBucketVersioning":     {"s3:PutBucketVersioning", anonNever},
	"PutBucketAcl":            {"s3:PutBucketAcl", anonNever},
	"CreateBucket":            {"s3:CreateBucket", anonNever},
	"DeleteBucket":            {"s3:DeleteBucket", anonNever},
	"DeleteObjects":           {"s3:DeleteObject", anonNever},
	"ListParts":               {"s3:ListMultipartUploadParts", anonPolicy},
	"GetObjectAcl":            {"s3:GetObjectAcl", anonObjectReadACP},
	"GetObjectTagging":        {"s3:GetObjectTagging", anonPolicy},
	"GetObject":               {"s3:GetObject", anonObjectRead},
	"HeadObject":              {"s3:GetObject", anonObjectRead},
	"UploadPartCopy":          {"s3:PutObject", anonNever},
	"UploadPart":              {"s3:PutObject", anonBucketWrite},
	"PutObjectAcl":            {"s3:PutObjectAcl", anonNever},
	"PutObjectTagging":        {"s3:PutObjectTagging", anonPolicy},
	"CopyObject":              {"s3:PutObject", anonNever},
	"PutObject":               {"s3:PutObject", anonBucketWrite},
	"AbortMultipartUpload":    {"s3:AbortMultipartUpload", anonBucketWrite},
	"DeleteObjectTagging":     {"s3:DeleteObjectTagging", anonPolicy},
	"DeleteObject":            {"s3:DeleteObject", anonPolicy},
	"CreateMultipartUpload":   {"s3:PutObject", anonBucketWrite},
	"CompleteMultipartUpload": {"s3:PutObject", anonBucketWrite},
	"PostObject":              {"s3:PutObject", anonBucketWrite}, // signed by its form, or anonymous
	"GetObjectAttributes":     {"s3:GetObjectAttributes", anonPolicy},
	"GetObjectRetention":      {"s3:GetObjectRetention", anonPolicy},
	"PutObjectRetention":      {"s3:PutObjectRetention", anonNever},
	"GetObjectLegalHold":      {"s3:GetObjectLegalHold", anonPolicy},
	"PutObjectLegalHold":      {"s3:PutObjectLegalHold", anonNever},

	"GetBucketPolicy":                    {"s3:GetBucketPolicy", anonNever},
	"PutBucketPolicy":                    {"s3:PutBucketPolicy", anonNever},
	"DeleteBucketPolicy":                 {"s3:DeleteBucketPolicy", anonNever},
	"GetBucketPolicyStatus":              {"s3:GetBucketPolicyStatus", anonNever},
	"GetBucketCors":                      {"s3:GetBucketCORS", anonNever},
	"PutBucketCors":                      {"s3:PutBucketCORS", anonNever},
	"DeleteBucketCors":                   {"s3:PutBucketCORS", anonNever},
	"GetBucketLifecycleConfiguration":    {"s3:GetLifecycleConfiguration", anonNever},
	"PutBucketLifecycleConfiguration":    {"s3:PutLifecycleConfiguration", anonNever},
	"DeleteBucketLifecycle":              {"s3:PutLifecycleConfiguration", anonNever},
	"GetBucketTagging":                   {"s3:GetBucketTagging", anonNever},
	"PutBucketTagging":                   {"s3:PutBucketTagging", anonNever},
	"DeleteBucketTagging":                {"s3:PutBucketTagging", anonNever},
	"GetBucketWebsite":                   {"s3:GetBucketWebsite", anonNever},
	"PutBucketWebsite":                   {"s3:PutBucketWebsite", anonNever},
	"DeleteBucketWebsite":                {"s3:DeleteBucketWebsite", anonNever},
	"GetBucketEncryption":                {"s3:GetEncryptionConfiguration", anonNever},
	"PutBucketEncryption":                {"s3:PutEncryptionConfiguration", anonNever},
	"DeleteBucketEncryption":             {"s3:PutEncryptionConfiguration", anonNever},
	"GetBucketOwnershipControls":         {"s3:GetBucketOwnershipControls", anonNever},
	"PutBucketOwnershipControls":         {"s3:PutBucketOwnershipControls", anonNever},
	"DeleteBucketOwnershipControls":      {"s3:PutBucketOwnershipControls", anonNever},
	"GetObjectLockConfiguration":         {"s3:GetBucketObjectLockConfiguration", anonNever},
	"PutObjectLockConfiguration":         {"s3:PutBucketObjectLockConfiguration", anonNever},
	"GetPublicAccessBlock":               {"s3:GetBucketPublicAccessBlock", anonNever},
	"PutPublicAccessBlock":               {"s3:PutBucketPublicAccessBlock", anonNever},
	"DeletePublicAccessBlock":            {"s3:PutBucketPublicAccessBlock", anonNever},
	"GetBucketReplication":               {"s3:GetReplicationConfiguration", anonNever},
	"PutBucketReplication":               {"s3:PutReplicationConfiguration", anonNever},
	"DeleteBucketReplication":            {"s3:PutReplicationConfiguration", anonNever},
	"GetBucketLogging":                   {"s3:GetBucketLogging", anonNever},
	"PutBucketLogging":                   {"s3:PutBucketLogging", anonNever},
	"GetBucketNotificationConfiguration": {"s3:GetBucketNotification", anonNever},
	"PutBucketNotificationConfiguration": {"s3:PutBucketNotification", anonNever},
	"GetBucketAccelerateConfiguration":   {"s3:GetAccelerateConfiguration", anonNever},
	"PutBucketAccelerateConfiguration":   {"s3:PutAccelerateConfiguration", anonNever},
	"GetBucketRequestPayment":            {"s3:GetBucketRequestPayment", anonNever},
	"PutBucketRequestPayment":            {"s3:PutBucketRequestPayment", anonNever},
}

// accessOf returns op's access control.
func accessOf(op string) opAccess {
	if a, ok := accessTable[op]; ok {
		return a
	}
	return opAccess{action: "s3:" + op, anon: anonNever}
}

// policyAliases lets policies name operations as the gateway does
// (s3:HeadObject, s3:ListObjectsV2) besides their IAM actions.
var policyAliases = func() map[string]string {
	m := map[string]string{}
	for op, a := range accessTable {
		if alias := strings.ToLower("s3:" + op); alias != strings.ToLower(a.action) && !policy.KnownAction(alias) {
			m[alias] = strings.ToLower(a.action)
		}
	}
	return m
}()

// policyOwnOps are never denied to the order's read-write keys by a
// policy: the order cannot lock itself out of its bucket.
var policyOwnOps = map[string]bool{"GetBucketPolicy": true, "PutBucketPolicy": true, "DeleteBucketPolicy": true}

// accessState is what authorization learnt about a request, kept for its
// handler so that no document is read twice.
type accessState struct {
	docs map[string][]byte // bucket configuration documents read; nil: not set
	// reqACL is the ACL the request's x-amz-acl or x-amz-grant-* headers
	// ask for, nil if none (see authorizeACL).
	reqACL acl
	// readChecks re-check what was decided from the object's ACL or tags
	// on the version actually read.
	readChecks []func(*store.Object) error
	// keyDenied, for DeleteObjects, tells whether the policy denies
	// deleting one key.
	keyDenied func(key string) bool
}

// checkRead applies readChecks to the object about to be read.
func (a *accessState) checkRead(o *store.Object) error {
	for _, check := range a.readChecks {
		if err := check(o); err != nil {
			return err
		}
	}
	return nil
}

// denies reports whether the policy denies deleting key (DeleteObjects).
func (a *accessState) denies(key string) bool { return a.keyDenied != nil && a.keyDenied(key) }

// anonymous reports whether the request is unsigned.
func (rc *reqContext) anonymous() bool { return rc.auth != nil && rc.auth.AccessKey == "" }

// unsigned reports whether r carries no authentication at all.
func unsigned(r *http.Request) bool {
	if _, ok := r.Header["Authorization"]; ok {
		return false
	}
	q := r.URL.Query()
	for _, p := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "AWSAccessKeyId", "Signature"} {
		if _, ok := q[p]; ok {
			return false
		}
	}
	return true
}

// errAnonymousSignedPayload is S3's answer to an unsigned request whose
// x-amz-content-sha256 announces signed chunks: there is no signature to
// chain them to.
var errAnonymousSignedPayload = s3err.InvalidRequest.WithMessage("Anonymous requests don't support this x-amz-content-sha256 value. Please use UNSIGNED-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER.")

// anonymousAuth is the Auth of an unsigned request (sigv4.Anonymous);
// refusal is the answer when its body needs a signature, but for a body
// announced as signed chunks (errAnonymousSignedPayload).
func anonymousAuth(r *http.Request, refusal error) (*sigv4.Auth, error) {
	if a, ok := sigv4.Anonymous(r); ok {
		return a, nil
	}
	switch r.Header.Get("X-Amz-Content-Sha256") {
	case sigv4.StreamingSigned, sigv4.StreamingSignedTrailer:
		return nil, errAnonymousSignedPayload
	}
	return nil, refusal
}

// errPublicBlocked answers an anonymous request the order's switch refuses.
var errPublicBlocked = s3err.AccessDenied.WithMessage("Public access to this order is blocked (block_public_access).")

// authorizeAnonymous decides an unsigned request by its route's anonRule
// and the bucket's policy, ACLs, ownership and PublicAccessBlock. refusal
// is the answer for a route that never serves anonymous requests.
func (h *Handler) authorizeAnonymous(r *http.Request, rc *reqContext, refusal error) error {
	if rc.route == nil {
		return refusal
	}
	acc := accessOf(rc.op)
	switch {
	case acc.anon == anonNever:
		return refusal
	case rc.ord.BlockPublic:
		return errPublicBlocked
	case !store.ValidBucketName(rc.bucket) || !utf8.ValidString(rc.key) || rc.key != "" && !store.ValidKey(rc.key):
		return s3err.AccessDenied
	}
	if err := anonymousOverrides(r, rc); err != nil {
		return err
	}
	ctx := r.Context()
	pab, err := h.publicAccessBlock(ctx, rc)
	if err != nil {
		return anonStoreError(err)
	}
	p, err := h.bucketPolicy(ctx, rc)
	if err != nil {
		return anonStoreError(err)
	}
	d, err := h.evaluate(r, rc, p)
	if err != nil {
		return anonStoreError(err)
	}
	switch d {
	case policy.Deny:
		return s3err.AccessDenied
	case policy.Allow:
		if !pab.RestrictPublicBuckets || !p.IsPublic() {
			return nil
		}
	}
	if pab.IgnorePublicAcls || acc.anon == anonPolicy || r.URL.Query().Has("versionId") {
		return s3err.AccessDenied
	}
	own, err := h.ownership(ctx, rc)
	if err != nil {
		return anonStoreError(err)
	}
	if own == ownerEnforced {
		return s3err.AccessDenied
	}
	return h.anonymousACLGrant(ctx, rc, acc.anon)
}

// authorizeAnonymousIfMatch asks of an anonymous conditional DeleteObject
// (If-Match) that reading the object be granted too, as AWS asks for
// s3:GetObject: the answer (deleted, 412, 404) tells whether the object
// exists and whether its ETag is the one guessed, without deleting it on
// a miss.
func (h *Handler) authorizeAnonymousIfMatch(r *http.Request, rc *reqContext) error {
	if rc.op != "DeleteObject" || r.Header.Get("If-Match") == "" {
		return nil
	}
	read := *rc
	read.op, read.access = "GetObject", accessState{docs: rc.access.docs}
	return h.authorizeAnonymous(r, &read, s3err.AccessDenied)
}

// errAnonymousOverrides is AWS's answer to response-* parameters on an
// anonymous read: nobody may make a public object answer with another
// Content-Type (text/html on the gateway's origin) or disposition.
var errAnonymousOverrides = s3err.InvalidRequest.WithMessage("Request specific response headers cannot be used for anonymous GET requests.")

// anonymousOverrides refuses response header overrides on anonymous reads.
func anonymousOverrides(r *http.Request, rc *reqContext) error {
	if rc.op != "GetObject" && rc.op != "HeadObject" {
		return nil
	}
	for p := range r.URL.Query() {
		if strings.HasPrefix(strings.ToLower(p), "response-") {
			return errAnonymousOverrides
		}
	}
	return nil
}

// anonymousACLGrant checks the ACL grant to AllUsers that rule asks for.
func (h *Handler) anonymousACLGrant(ctx context.Context, rc *reqContext, rule anonRule) error {
	perm := map[anonRule]string{anonObjectRead: permREAD, anonObjectReadACP: permReadACP,
		anonBucketRead: permREAD, anonBucketReadACP: permReadACP, anonBucketWrite: permWRITE}[rule]
	if rule == anonObjectRead || rule == anonObjectReadACP {
		obj, err := h.opts.Store.HeadObject(ctx, rc.bucket, rc.key)
		if err != nil || !parseStoredACL(obj.Meta.ACL).allows(granteeAll, perm) {
			return anonStoreError(err)
		}
		rc.access.readChecks = append(rc.access.readChecks, func(o *store.Object) error {
			if !parseStoredACL(o.Meta.ACL).allows(granteeAll, perm) {
				return s3err.AccessDenied
			}
			return nil
		})
		return nil
	}
	a, err := h.loadBucketACL(ctx, rc)
	if err != nil {
		return anonStoreError(err)
	}
	if !a.allows(granteeAll, perm) {
		return s3err.AccessDenied
	}
	return nil
}

// anonStoreError is the answer to an anonymous request when looking up
// what grants it failed: AccessDenied when the bucket or object is absent
// (an anonymous client learns nothing of what the order holds), the
// store's error when it failed.
func anonStoreError(err error) error {
	if err == nil || errors.Is(err, store.ErrNoSuchBucket) || errors.Is(err, store.ErrNoSuchKey) {
		return s3err.AccessDenied
	}
	return err
}

// authorizePolicy applies the bucket policy's Deny statements to a signed
// request (its Allow statements give a key nothing it does not have),
// and to the source of a copy.
func (h *Handler) authorizePolicy(r *http.Request, rc *reqContext) error {
	// A bucket being created has no policy yet.
	if rc.route == nil || !store.ValidBucketName(rc.bucket) || policyOwnOps[rc.op] || rc.op == "CreateBucket" {
		return nil
	}
	p, err := h.bucketPolicy(r.Context(), rc)
	if errors.Is(err, store.ErrNoSuchBucket) {
		return nil // the handler answers NoSuchBucket
	}
	if err != nil {
		return err
	}
	if p != nil {
		if err := h.applyPolicy(r, rc, p); err != nil {
			return err
		}
	}
	if rc.op == "CopyObject" || rc.op == "UploadPartCopy" {
		return h.authorizeCopySource(r, rc)
	}
	return nil
}

// applyPolicy refuses rc if p denies it; for DeleteObjects it keeps the
// check of each key for the handler.
func (h *Handler) applyPolicy(r *http.Request, rc *reqContext, p *policy.Policy) error {
	d, err := h.evaluate(r, rc, p)
	if errors.Is(err, store.ErrNoSuchBucket) {
		return nil
	}
	if err != nil {
		return err
	}
	if d == policy.Deny {
		return s3err.AccessDenied
	}
	if rc.op == "DeleteObjects" {
		req := h.policyRequest(r, rc, accessOf(rc.op))
		rc.access.keyDenied = func(key string) bool {
			kr := *req
			kr.Resource = "arn:aws:s3:::" + rc.bucket + "/" + key
			return p.Evaluate(&kr) == policy.Deny
		}
	}
	return nil
}

// authorizeCopySource applies the source bucket's policy to reading the
// copy's source (s3:GetObject).
func (h *Handler) authorizeCopySource(r *http.Request, rc *reqContext) error {
	srcBucket, srcKey, _, err := copySource(r.Header)
	if err != nil || !store.ValidBucketName(srcBucket) {
		return nil // the handler refuses it
	}
	src := &reqContext{bucket: srcBucket, key: srcKey, op: "GetObject", ord: rc.ord, auth: rc.auth}
	if srcBucket == rc.bucket {
		src.access.docs = rc.access.docs
	}
	p, err := h.bucketPolicy(r.Context(), src)
	if errors.Is(err, store.ErrNoSuchBucket) || err == nil && p == nil {
		return nil
	}
	if err != nil {
		return err
	}
	if p.Evaluate(h.policyRequest(r, src, accessOf("GetObject"))) == policy.Deny {
		return s3err.AccessDenied.WithMessage("The bucket policy denies reading the copy source.")
	}
	return nil
}

// policyRequest describes rc for policy evaluation.
func (h *Handler) policyRequest(r *http.Request, rc *reqContext, acc opAccess) *policy.Request {
	res := "arn:aws:s3:::" + rc.bucket
	if rc.key != "" {
		res += "/" + rc.key
	}
	c := map[string][]string{"aws:securetransport": {strconv.FormatBool(r.TLS != nil)}}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c["aws:sourceip"] = []string{host}
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		c["aws:referer"] = []string{ref}
	}
	switch rc.op {
	case "ListObjects", "ListObjectsV2", "ListObjectVersions", "ListMultipartUploads":
		c["s3:prefix"] = []string{r.URL.Query().Get("prefix")}
	}
	actions := []string{acc.action, "s3:" + rc.op}
	if v, ok := versionActions[acc.action]; ok && rc.key != "" && r.URL.Query().Has("versionId") {
		actions = []string{v, "s3:" + rc.op + "Version"}
	}
	return &policy.Request{AccessKey: rc.auth.AccessKey, Actions: actions, Resource: res, Context: c}
}

// versionActions are the actions a request naming a versionId needs
// instead, as on AWS (s3:GetObject does not grant reading old versions).
var versionActions = map[string]string{
	"s3:GetObject": "s3:GetObjectVersion", "s3:DeleteObject": "s3:DeleteObjectVersion",
	"s3:GetObjectAcl": "s3:GetObjectVersionAcl", "s3:PutObjectAcl": "s3:PutObjectVersionAcl",
	"s3:GetObjectTagging": "s3:GetObjectVersionTagging", "s3:PutObjectTagging": "s3:PutObjectVersionTagging",
	"s3:DeleteObjectTagging": "s3:DeleteObjectVersionTagging", "s3:GetObjectAttributes": "s3:GetObjectVersionAttributes",
}

// tagConditionOps are the operations on an existing object whose policy
// evaluation sees its tags (s3:ExistingObjectTag/<tag>), as on AWS.
var tagConditionOps = map[string]bool{"GetObject": true, "HeadObject": true, "GetObjectAcl": true, "PutObjectAcl": true,
	"GetObjectTagging": true, "PutObjectTagging": true, "DeleteObjectTagging": true}

// evaluate applies p to rc. When p reads object tags, the object's are
// looked up, and the version a read serves is judged by its own.
func (h *Handler) evaluate(r *http.Request, rc *reqContext, p *policy.Policy) (policy.Decision, error) {
	req := h.policyRequest(r, rc, accessOf(rc.op))
	if !p.UsesObjectTags() || !tagConditionOps[rc.op] {
		return p.Evaluate(req), nil
	}
	obj, err := h.opts.Store.HeadObject(r.Context(), rc.bucket, rc.key)
	if errors.Is(err, store.ErrNoSuchKey) {
		return p.Evaluate(req), nil // no object, no tags
	}
	if err != nil {
		return 0, err
	}
	d := p.Evaluate(withTags(req, obj.Meta.Tags))
	rc.access.readChecks = append(rc.access.readChecks, func(o *store.Object) error {
		if o.Meta.Tags != obj.Meta.Tags && p.Evaluate(withTags(req, o.Meta.Tags)) != d {
			return s3err.AccessDenied
		}
		return nil
	})
	return d, nil
}

// withTags returns req with an object's tags (URL-encoded, as
// store.Metadata.Tags keeps them) among its condition keys.
func withTags(req *policy.Request, tags string) *policy.Request {
	out := *req
	out.Context = maps.Clone(req.Context)
	q, _ := url.ParseQuery(tags)
	for k, v := range q {
		out.Context[policy.ObjectTagKey+strings.ToLower(k)] = v
	}
	return &out
}

// bucketDoc returns rc's bucket's configuration document name (nil when
// not set), reading it at most once per request.
func (h *Handler) bucketDoc(ctx context.Context, rc *reqContext, name string) ([]byte, error) {
	if doc, ok := rc.access.docs[name]; ok {
		return doc, nil
	}
	doc, err := h.opts.Store.GetBucketConfig(ctx, rc.bucket, name)
	if errors.Is(err, store.ErrNoSuchConfig) {
		doc, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rc.access.docs == nil {
		rc.access.docs = map[string][]byte{}
	}
	rc.access.docs[name] = doc
	return doc, nil
}

// policyCache holds parsed policies by order, bucket and document, so that
// a request does not parse its bucket's policy again. It is cleared when
// full.
var policyCache = struct {
	sync.Mutex
	m map[string]*policy.Policy
}{m: map[string]*policy.Policy{}}

const policyCacheSize = 256

// policyOptions are the options policies of rc's bucket are parsed with;
// strict for a PUT, lenient with keys when evaluating a stored policy (a
// key removed since no longer matches).
func policyOptions(rc *reqContext, strict bool) policy.Options {
	isKey := func(string) bool { return true }
	if strict {
		isKey = func(ak string) bool { _, ok := rc.ord.Key(ak); return ok }
	}
	return policy.Options{Bucket: rc.bucket, OrderID: rc.ord.ID, IsKey: isKey, Aliases: policyAliases, ObjectTags: true}
}

// bucketPolicy returns rc's bucket's policy, nil when it has none. A
// stored policy that no longer parses denies everything.
func (h *Handler) bucketPolicy(ctx context.Context, rc *reqContext) (*policy.Policy, error) {
	doc, err := h.bucketDoc(ctx, rc, store.ConfigPolicy)
	if err != nil || doc == nil {
		return nil, err
	}
	key := rc.ord.ID + "\x00" + rc.bucket + "\x00" + string(doc)
	policyCache.Lock()
	p := policyCache.m[key]
	policyCache.Unlock()
	if p != nil {
		return p, nil
	}
	p, err = policy.Parse(doc, policyOptions(rc, false))
	if err != nil {
		return nil, s3err.AccessDenied.WithMessage("The bucket policy stored for %s is invalid (%v): delete or replace it.", rc.bucket, err)
	}
	policyCache.Lock()
	if len(policyCache.m) >= policyCacheSize {
		clear(policyCache.m)
	}
	policyCache.m[key] = p
	policyCache.Unlock()
	return p, nil
}
