package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// ACLs. The grantees the gateway can honour are the owner (every key of
// the order), AllUsers (anyone, anonymous included) and
// AuthenticatedUsers (any signed request: the order's keys, who already
// have every permission). An ACL is kept as its grants in a canonical
// text form, "owner:FULL_CONTROL,AllUsers:READ": for a bucket in its "acl"
// configuration document, for an object in store.Metadata.ACL (empty for
// the private ACL). ACLs are honoured only where the bucket's object
// ownership enables them (ObjectWriter, BucketOwnerPreferred); with the
// default, BucketOwnerEnforced, only the private ACL can be set.

// Grantees and permissions.
const (
	granteeOwner   = "owner"
	granteeAll     = "AllUsers"
	granteeAuth    = "AuthenticatedUsers"
	uriAllUsers    = "http://acs.amazonaws.com/groups/global/AllUsers"
	uriAuthUsers   = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	uriLogDelivery = "http://acs.amazonaws.com/groups/s3/LogDelivery"

	permFullControl = "FULL_CONTROL"
	permREAD        = "READ"
	permWRITE       = "WRITE"
	permReadACP     = "READ_ACP"
	permWriteACP    = "WRITE_ACP"
)

var aclPermissions = []string{permFullControl, permREAD, permWRITE, permReadACP, permWriteACP}

// grant is one grant of an ACL.
type grant struct{ who, perm string }

// acl is a set of grants, sorted and without repeats (see newACL).
type acl []grant

// privateACL is the owner's full control, alone.
var privateACL = acl{{granteeOwner, permFullControl}}

// cannedACLGrants are the canned ACLs the gateway honours. The
// bucket-owner-* ones grant the bucket owner, who is the object owner
// here: they are the private ACL.
var cannedACLGrants = map[string]acl{
	"private":                   privateACL,
	"bucket-owner-read":         privateACL,
	"bucket-owner-full-control": privateACL,
	"public-read":               newACL(grant{granteeOwner, permFullControl}, grant{granteeAll, permREAD}),
	"public-read-write":         newACL(grant{granteeOwner, permFullControl}, grant{granteeAll, permREAD}, grant{granteeAll, permWRITE}),
	"authenticated-read":        newACL(grant{granteeOwner, permFullControl}, grant{granteeAuth, permREAD}),
}

// errCannedUnsupported refuses the canned ACLs whose grantees the gateway
// has not.
var errCannedUnsupported = s3err.NotImplemented.WithMessage("The canned ACLs aws-exec-read and log-delivery-write are not supported by this gateway: it has no EC2 or log delivery principals.")

func newACL(gs ...grant) acl {
	a := acl(slices.Clone(gs))
	slices.SortFunc(a, func(x, y grant) int { return strings.Compare(x.who+":"+x.perm, y.who+":"+y.perm) })
	return slices.Compact(a)
}

// String is the canonical form ("" for a nil ACL).
func (a acl) String() string {
	parts := make([]string, len(a))
	for i, g := range a {
		parts[i] = g.who + ":" + g.perm
	}
	return strings.Join(parts, ",")
}

// objectString is what store.Metadata.ACL holds for a: "" for private.
func (a acl) objectString() string {
	if a.private() {
		return ""
	}
	return a.String()
}

// parseStoredACL reads the canonical form; "" is the private ACL.
func parseStoredACL(s string) acl {
	if s == "" {
		return privateACL
	}
	var a acl
	for part := range strings.SplitSeq(s, ",") {
		who, perm, _ := strings.Cut(part, ":")
		a = append(a, grant{who, perm})
	}
	return a
}

// private reports whether a grants nothing to anyone but the owner.
func (a acl) private() bool {
	for _, g := range a {
		if g.who != granteeOwner {
			return false
		}
	}
	return true
}

// public reports whether a grants anything to AllUsers or
// AuthenticatedUsers (what BlockPublicAcls refuses).
func (a acl) public() bool { return !a.private() }

// allows reports whether a grants who the permission perm.
func (a acl) allows(who, perm string) bool {
	for _, g := range a {
		if g.who == who && (g.perm == perm || g.perm == permFullControl) {
			return true
		}
	}
	return false
}

// ACL responses.
type aclGrantee struct {
	XMLNSXSI    string `xml:"xmlns:xsi,attr"`
	XSIType     string `xml:"xsi:type,attr"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
}

type aclGrant struct {
	Grantee    aclGrantee `xml:"Grantee"`
	Permission string     `xml:"Permission"`
}

type aclResponse struct {
	XMLName xml.Name   `xml:"AccessControlPolicy"`
	NS      string     `xml:"xmlns,attr"`
	Owner   owner      `xml:"Owner"`
	Grants  []aclGrant `xml:"AccessControlList>Grant"`
}

// aclXML is a as S3 answers it.
func (h *Handler) aclXML(a acl) aclResponse {
	res := aclResponse{NS: s3NS, Owner: h.owner, Grants: []aclGrant{}}
	const xsi = "http://www.w3.org/2001/XMLSchema-instance"
	for _, g := range a {
		ge := aclGrantee{XMLNSXSI: xsi, XSIType: "Group"}
		switch g.who {
		case granteeOwner:
			ge = aclGrantee{XMLNSXSI: xsi, XSIType: "CanonicalUser", ID: h.owner.ID, DisplayName: h.owner.DisplayName}
		case granteeAll:
			ge.URI = uriAllUsers
		case granteeAuth:
			ge.URI = uriAuthUsers
		}
		res.Grants = append(res.Grants, aclGrant{Grantee: ge, Permission: g.perm})
	}
	return res
}

// Errors of ACL requests, as AWS answers them.
var (
	errMalformedACL = &s3err.Error{Code: "MalformedACLError", Status: http.StatusBadRequest,
		Message: "The XML you provided was not well-formed or did not validate against our published schema."}
	errCannedAndGrants = s3err.InvalidRequest.WithMessage("Specifying both Canned ACLs and Header Grants is not allowed")
	errGrantByEmail    = &s3err.Error{Code: "UnresolvableGrantByEmailAddress", Status: http.StatusBadRequest,
		Message: "The e-mail address you provided does not match any account on record."}
)

// granteeFor resolves a grantee given by canonical ID, group URI or
// e-mail address to one the gateway honours, or the AWS error.
func (h *Handler) granteeFor(id, uri, email string) (string, error) {
	switch {
	case email != "":
		return "", errGrantByEmail
	case id != "" && uri == "":
		if id != h.owner.ID {
			return "", s3err.InvalidArgument.WithMessage("Invalid id: %q is not the owner of this order (%s).", id, h.owner.ID)
		}
		return granteeOwner, nil
	case uri == uriAllUsers && id == "":
		return granteeAll, nil
	case uri == uriAuthUsers && id == "":
		return granteeAuth, nil
	case uri == uriLogDelivery && id == "":
		return "", s3err.NotImplemented.WithMessage("Grants to the LogDelivery group are not supported by this gateway.")
	case uri != "" && id == "":
		return "", s3err.InvalidArgument.WithMessage("Invalid group uri: %q", uri)
	}
	return "", errMalformedACL
}

// grantHeaders map the x-amz-grant-* headers to their permission.
var grantHeaders = []struct{ name, perm string }{
	{"X-Amz-Grant-Full-Control", permFullControl},
	{"X-Amz-Grant-Read", permREAD},
	{"X-Amz-Grant-Write", permWRITE},
	{"X-Amz-Grant-Read-Acp", permReadACP},
	{"X-Amz-Grant-Write-Acp", permWriteACP},
}

// headerACL returns the ACL a request's x-amz-acl or x-amz-grant-*
// headers ask for, and whether it asks for one.
func (h *Handler) headerACL(hdr http.Header) (acl, bool, error) {
	canned, hasCanned := hdr["X-Amz-Acl"]
	var gs []grant
	for _, gh := range grantHeaders {
		for _, v := range hdr.Values(gh.name) {
			for item := range strings.SplitSeq(v, ",") {
				who, err := h.headerGrantee(strings.TrimSpace(item))
				if err != nil {
					return nil, true, err
				}
				gs = append(gs, grant{who, gh.perm})
			}
		}
	}
	switch {
	case hasCanned && len(gs) > 0:
		return nil, true, errCannedAndGrants
	case hasCanned:
		if len(canned) != 1 {
			return nil, true, errInvalidCannedACL
		}
		a, ok := cannedACLGrants[canned[0]]
		if !ok {
			if slices.Contains(cannedACLs, canned[0]) {
				return nil, true, errCannedUnsupported
			}
			return nil, true, errInvalidCannedACL
		}
		return a, true, nil
	case len(gs) > 0:
		return newACL(gs...), true, nil
	}
	return nil, false, nil
}

// headerGrantee parses one grantee of an x-amz-grant-* header:
// id="...", uri="..." or emailAddress="...".
func (h *Handler) headerGrantee(item string) (string, error) {
	typ, val, ok := strings.Cut(item, "=")
	val = strings.Trim(strings.TrimSpace(val), `"`)
	if !ok || val == "" {
		return "", s3err.InvalidArgument.WithMessage("Invalid grant %q: use id=\"...\", uri=\"...\" or emailAddress=\"...\".", item)
	}
	switch strings.ToLower(strings.TrimSpace(typ)) {
	case "id":
		return h.granteeFor(val, "", "")
	case "uri":
		return h.granteeFor("", val, "")
	case "emailaddress":
		return h.granteeFor("", "", val)
	}
	return "", s3err.InvalidArgument.WithMessage("Invalid grant %q: use id=\"...\", uri=\"...\" or emailAddress=\"...\".", item)
}

// aclDocument is an AccessControlPolicy as a request carries it.
type aclDocument struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   *struct{ ID string }
	Grants  []struct {
		Grantee struct {
			ID, URI, EmailAddress string
		}
		Permission string
	} `xml:"AccessControlList>Grant"`
}

// documentACL parses an AccessControlPolicy document.
func (h *Handler) documentACL(body []byte) (acl, error) {
	var doc aclDocument
	if err := xml.Unmarshal(body, &doc); err != nil || doc.Owner == nil {
		return nil, errMalformedACL
	}
	if doc.Owner.ID != h.owner.ID {
		return nil, s3err.AccessDenied.WithMessage("The ACL names an owner other than the order's (%s).", h.owner.ID)
	}
	var gs []grant
	for _, g := range doc.Grants {
		if !slices.Contains(aclPermissions, g.Permission) {
			return nil, errMalformedACL
		}
		who, err := h.granteeFor(g.Grantee.ID, g.Grantee.URI, g.Grantee.EmailAddress)
		if err != nil {
			return nil, err
		}
		gs = append(gs, grant{who, g.Permission})
	}
	return newACL(gs...), nil
}

func (h *Handler) getBucketACL(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	a, err := h.bucketACL(r, rc)
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, h.aclXML(a))
	return nil
}

func (h *Handler) getObjectACL(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	obj, err := h.opts.Store.HeadObjectVersion(r.Context(), rc.bucket, rc.key, r.URL.Query().Get("versionId"))
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, h.aclXML(parseStoredACL(obj.Meta.ACL)))
	return nil
}

// requestedACL is the ACL a PutBucketAcl or PutObjectAcl asks for: the
// headers' (checked with the request, see authorizeACL) or the body's.
func (h *Handler) requestedACL(r *http.Request, rc *reqContext) (acl, error) {
	body, err := h.readXMLBody(r, rc, maxSmallXML, true)
	if err != nil {
		return nil, err
	}
	if a := rc.access.reqACL; a != nil {
		if len(body) > 0 {
			return nil, s3err.UnexpectedContent.WithMessage("This request does not support content with a canned ACL or grant headers.")
		}
		return a, nil
	}
	a, err := h.documentACL(body)
	if err != nil {
		return nil, err
	}
	return a, h.checkACLAllowed(r, rc, a)
}

func (h *Handler) putBucketACL(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	a, err := h.requestedACL(r, rc)
	if err != nil {
		return err
	}
	if err := h.putBucketConfig(r.Context(), rc, store.ConfigACL, []byte(a.String())); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// putObjectACL replaces the object's ACL in place (store.UpdateObject).
// A store that cannot (upstream) gets a copy of the object onto itself
// with the new ACL, as long as that keeps its ETag (a single-part object)
// and it is still the version whose ACL was asked for.
func (h *Handler) putObjectACL(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	ctx := r.Context()
	vid := r.URL.Query().Get("versionId")
	obj, err := h.opts.Store.HeadObjectVersion(ctx, rc.bucket, rc.key, vid)
	if err != nil {
		return err
	}
	if vid != "" {
		if err := h.checkCurrentVersion(ctx, rc, obj); err != nil {
			return err
		}
	}
	a, err := h.requestedACL(r, rc)
	if err != nil {
		return err
	}
	s := a.objectString()
	if s == obj.Meta.ACL {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	release, err := h.reserve(ctx, rc, int64(len(s)-len(obj.Meta.ACL)), nil)
	if err != nil {
		return err
	}
	defer release()
	_, err = h.opts.Store.UpdateObject(ctx, rc.bucket, rc.key, func(o *store.Object) error {
		if err := sameVersion(o, obj); err != nil {
			return err
		}
		o.Meta.ACL = s
		return nil
	})
	if errors.Is(err, store.ErrNotSupported) && !strings.Contains(obj.ETag, "-") {
		meta := obj.Meta
		meta.ACL = s
		_, err = h.opts.Store.CopyObject(ctx, rc.bucket, rc.key, rc.bucket, rc.key, store.CopyInput{
			Meta: &meta, Cond: store.Conditions{IfMatch: obj.ETag}, ChecksumAlgorithm: obj.Checksum.Algorithm,
			SrcCheck: func(src *store.Object) error { return sameVersion(src, obj) }})
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// errVersionACL refuses changing the ACL of a version that is no longer
// the key's current one: the store changes attributes of the current
// version only.
var errVersionACL = s3err.NotImplemented.WithMessage("Changing the ACL of a noncurrent object version is not supported by this gateway.")

// checkCurrentVersion refuses obj, looked up by its version id, unless it
// is its key's current version.
func (h *Handler) checkCurrentVersion(ctx context.Context, rc *reqContext, obj *store.Object) error {
	cur, err := h.opts.Store.HeadObject(ctx, rc.bucket, rc.key)
	if errors.Is(err, store.ErrNoSuchKey) || err == nil && cur.VersionID != obj.VersionID {
		return errVersionACL
	}
	return err
}

// errSourceChanged answers a change of an object's ACL by a copy when
// the object was replaced meanwhile.
var errSourceChanged = &s3err.Error{Code: "OperationAborted", Status: http.StatusConflict,
	Message: "A conflicting conditional operation is currently in progress against this resource. Please try again."}

// sameVersion refuses a copy whose source is not the version looked up.
func sameVersion(src, want *store.Object) error {
	if src.ETag != want.ETag || !src.LastModified.Equal(want.LastModified) {
		return errSourceChanged
	}
	return nil
}
