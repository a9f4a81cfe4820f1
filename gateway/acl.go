package gateway

import (
	"encoding/xml"
	"net/http"

	"github.com/lambda/storagecli/gateway/s3err"
)

// Buckets have S3's default object ownership, BucketOwnerEnforced: ACLs
// are disabled. The one ACL is "the owner has full control"; reading it
// works, and setting it to itself succeeds (s3cmd copies an object's ACL
// after copying it), anything else is refused (refuse.go for the headers,
// putACL for documents).

// aclFor is the only ACL the gateway has: the owner has full control.
func (h *Handler) aclFor() accessControlPolicy {
	acl := accessControlPolicy{NS: s3NS, Owner: h.owner}
	acl.Grants = append(acl.Grants, struct {
		Grantee    grantee `xml:"Grantee"`
		Permission string  `xml:"Permission"`
	}{Grantee: grantee{XMLNSXSI: "http://www.w3.org/2001/XMLSchema-instance", XSIType: "CanonicalUser",
		ID: h.owner.ID, DisplayName: h.owner.DisplayName}, Permission: "FULL_CONTROL"})
	return acl
}

func (h *Handler) getBucketACL(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	writeXML(w, http.StatusOK, h.aclFor())
	return nil
}

func (h *Handler) getObjectACL(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadObject(r.Context(), rc.bucket, rc.key); err != nil {
		return err
	}
	writeXML(w, http.StatusOK, h.aclFor())
	return nil
}

func (h *Handler) putBucketACL(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	return h.putACL(w, r, rc)
}

func (h *Handler) putObjectACL(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadObject(r.Context(), rc.bucket, rc.key); err != nil {
		return err
	}
	return h.putACL(w, r, rc)
}

// errMalformedACL answers an ACL document that is not one.
var errMalformedACL = &s3err.Error{Code: "MalformedACLError", Status: http.StatusBadRequest,
	Message: "The XML you provided was not well-formed or did not validate against our published schema."}

// aclDocument is an AccessControlPolicy as a request carries it.
type aclDocument struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   struct{ ID string }
	Grants  []struct {
		Grantee struct {
			ID, URI, EmailAddress string
		}
		Permission string
	} `xml:"AccessControlList>Grant"`
}

// putACL accepts an ACL equal to the one the resource has: a canned
// private or bucket-owner-full-control ACL (refuse.go refuses the others),
// or a document granting the owner, alone, full control.
func (h *Handler) putACL(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	canned := r.Header.Get("x-amz-acl") != ""
	body, err := h.readXMLBody(r, rc, maxSmallXML, true)
	if err != nil {
		return err
	}
	switch {
	case canned && len(body) > 0:
		return s3err.UnexpectedContent.WithMessage("This request does not support content with a canned ACL.")
	case !canned:
		var doc aclDocument
		if err := xml.Unmarshal(body, &doc); err != nil {
			return errMalformedACL
		}
		if !h.ownerOnly(doc) {
			return errObjectACL
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// ownerOnly reports whether doc grants the owner, and no one else, full
// control.
func (h *Handler) ownerOnly(doc aclDocument) bool {
	if doc.Owner.ID != "" && doc.Owner.ID != h.owner.ID || len(doc.Grants) != 1 {
		return false
	}
	g := doc.Grants[0]
	return g.Grantee.ID == h.owner.ID && g.Grantee.URI == "" && g.Grantee.EmailAddress == "" && g.Permission == "FULL_CONTROL"
}
