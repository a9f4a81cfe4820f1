package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"slices"

	"github.com/lambda/storagecli/gateway/policy"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// The access configurations of a bucket: policy, PublicAccessBlock,
// ownership controls and ACL, each a bucket configuration document.

// Object ownership settings.
const (
	ownerEnforced     = "BucketOwnerEnforced"
	ownerPreferred    = "BucketOwnerPreferred"
	ownerObjectWriter = "ObjectWriter"
)

var ownershipSettings = []string{ownerEnforced, ownerPreferred, ownerObjectWriter}

// Errors of the access configurations, as AWS answers them.
var (
	errMalformedPolicy = &s3err.Error{Code: "MalformedPolicy", Status: http.StatusBadRequest, Message: "Policies must be valid JSON."}
	errPublicPolicy    = s3err.AccessDenied.WithMessage("The bucket policy grants public access, which BlockPublicPolicy (or the order's block_public_access) forbids.")
	errPublicACL       = s3err.AccessDenied.WithMessage("The ACL grants public access, which BlockPublicAcls (or the order's block_public_access) forbids.")
)

// accessConfigRoutes are the routes of the access configurations.
func accessConfigRoutes() []route {
	return []route{
		{"GET", bucket, "policy", nil, "GetBucketPolicy", permRead, (*Handler).getBucketPolicy},
		{"PUT", bucket, "policy", nil, "PutBucketPolicy", permConfig, (*Handler).putBucketPolicy},
		{"DELETE", bucket, "policy", nil, "DeleteBucketPolicy", permConfig, deleteBucketDoc(store.ConfigPolicy)},
		{"GET", bucket, "policyStatus", nil, "GetBucketPolicyStatus", permRead, (*Handler).getBucketPolicyStatus},
		{"GET", bucket, "publicAccessBlock", nil, "GetPublicAccessBlock", permRead, (*Handler).getPublicAccessBlock},
		{"PUT", bucket, "publicAccessBlock", nil, "PutPublicAccessBlock", permConfig, (*Handler).putPublicAccessBlock},
		{"DELETE", bucket, "publicAccessBlock", nil, "DeletePublicAccessBlock", permConfig, deleteBucketDoc(store.ConfigPublicAccessBlock)},
		{"GET", bucket, "ownershipControls", nil, "GetBucketOwnershipControls", permRead, (*Handler).getOwnershipControls},
		{"PUT", bucket, "ownershipControls", nil, "PutBucketOwnershipControls", permConfig, (*Handler).putOwnershipControls},
		{"DELETE", bucket, "ownershipControls", nil, "DeleteBucketOwnershipControls", permConfig, (*Handler).deleteOwnershipControls},
	}
}

// existingBucketDoc is bucketDoc for a handler: ErrNoSuchBucket when the
// bucket is absent (a document read for authorization may have found
// none because of that).
func (h *Handler) existingBucketDoc(ctx context.Context, rc *reqContext, name string) ([]byte, error) {
	doc, err := h.bucketDoc(ctx, rc, name)
	if err == nil && doc == nil {
		_, err = h.opts.Store.HeadBucket(ctx, rc.bucket)
	}
	return doc, err
}

// deleteBucketDoc answers deleting a configuration document: 204.
func deleteBucketDoc(name string) handlerFunc {
	return func(h *Handler, w http.ResponseWriter, r *http.Request, rc *reqContext) error {
		if err := h.opts.Store.DeleteBucketConfig(r.Context(), rc.bucket, name); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (h *Handler) getBucketPolicy(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	doc, err := h.existingBucketDoc(r.Context(), rc, store.ConfigPolicy)
	if err != nil {
		return err
	}
	if doc == nil {
		return s3err.NoSuchBucketPolicy
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(doc)
	return err
}

func (h *Handler) putBucketPolicy(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	doc, err := h.readXMLBody(r, rc, policy.MaxSize, true)
	if err != nil {
		if e := s3err.As(err); e != nil && e.Code == s3err.MaxMessageLengthExceeded.Code {
			return errMalformedPolicy.WithMessage("Policies must be at most %d bytes.", policy.MaxSize)
		}
		return err
	}
	p, err := policy.Parse(doc, policyOptions(rc, true))
	if err != nil {
		return errMalformedPolicy.WithMessage("%v", err)
	}
	if p.IsPublic() {
		pab, err := h.publicAccessBlock(r.Context(), rc)
		if err != nil {
			return err
		}
		if pab.BlockPublicPolicy {
			return errPublicPolicy
		}
	}
	if err := h.putBucketConfig(r.Context(), rc, store.ConfigPolicy, doc); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type policyStatus struct {
	XMLName  xml.Name `xml:"PolicyStatus"`
	NS       string   `xml:"xmlns,attr"`
	IsPublic bool     `xml:"IsPublic"`
}

// getBucketPolicyStatus answers whether the policy is public (as AWS, no
// policy is NoSuchBucketPolicy).
func (h *Handler) getBucketPolicyStatus(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	doc, err := h.existingBucketDoc(r.Context(), rc, store.ConfigPolicy)
	if err != nil {
		return err
	}
	if doc == nil {
		return s3err.NoSuchBucketPolicy
	}
	p, err := h.bucketPolicy(r.Context(), rc)
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, policyStatus{NS: s3NS, IsPublic: p.IsPublic()})
	return nil
}

// publicAccessBlockConfig is a PublicAccessBlockConfiguration document.
type publicAccessBlockConfig struct {
	XMLName               xml.Name   `xml:"PublicAccessBlockConfiguration"`
	NS                    string     `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       bool       `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool       `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool       `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool       `xml:"RestrictPublicBuckets"`
	Unknown               []xml.Name `xml:",any"`
}

// publicAccessBlock returns the settings in force for rc's bucket: its
// own, all of them when the order blocks public access.
func (h *Handler) publicAccessBlock(ctx context.Context, rc *reqContext) (publicAccessBlockConfig, error) {
	var c publicAccessBlockConfig
	if rc.ord.BlockPublic {
		return publicAccessBlockConfig{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}, nil
	}
	doc, err := h.bucketDoc(ctx, rc, store.ConfigPublicAccessBlock)
	if err != nil || doc == nil {
		return c, err
	}
	if err := xml.Unmarshal(doc, &c); err != nil {
		// Not written by putPublicAccessBlock: block everything.
		return publicAccessBlockConfig{BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}, nil
	}
	return c, nil
}

func (h *Handler) getPublicAccessBlock(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	doc, err := h.existingBucketDoc(r.Context(), rc, store.ConfigPublicAccessBlock)
	if err != nil {
		return err
	}
	if doc == nil {
		return s3err.NoSuchPublicAccessBlockConfiguration
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(append([]byte(xml.Header), doc...))
	return err
}

func (h *Handler) putPublicAccessBlock(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	body, err := h.readXMLBody(r, rc, maxSmallXML, true)
	if err != nil {
		return err
	}
	var c publicAccessBlockConfig
	if err := xml.Unmarshal(body, &c); err != nil || len(c.Unknown) > 0 {
		return s3err.MalformedXML
	}
	c.NS, c.Unknown = s3NS, nil
	doc, err := xml.Marshal(c)
	if err != nil {
		return err
	}
	if err := h.putBucketConfig(r.Context(), rc, store.ConfigPublicAccessBlock, doc); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// ownershipControls is an OwnershipControls document.
type ownershipControls struct {
	XMLName xml.Name `xml:"OwnershipControls"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Rules   []struct {
		ObjectOwnership string     `xml:"ObjectOwnership"`
		Unknown         []xml.Name `xml:",any"`
	} `xml:"Rule"`
	Unknown []xml.Name `xml:",any"`
}

// ownershipNone is the stored setting of a bucket whose ownership controls
// were deleted: as on AWS, it then has none, and ACLs apply as with
// ObjectWriter.
const ownershipNone = "none"

// ownership returns rc's bucket's object ownership: the stored setting
// (ownershipNone after a delete), BucketOwnerEnforced (what S3 sets on a
// new bucket: ACLs disabled) when none is stored.
func (h *Handler) ownership(ctx context.Context, rc *reqContext) (string, error) {
	doc, err := h.bucketDoc(ctx, rc, store.ConfigOwnership)
	if err != nil {
		return "", err
	}
	if s := string(doc); slices.Contains(ownershipSettings, s) || s == ownershipNone {
		return s, nil
	}
	return ownerEnforced, nil
}

// deleteOwnershipControls removes the bucket's ownership controls: ACLs
// apply again, as on AWS.
func (h *Handler) deleteOwnershipControls(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if err := h.putBucketConfig(r.Context(), rc, store.ConfigOwnership, []byte(ownershipNone)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) getOwnershipControls(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	own, err := h.ownership(r.Context(), rc)
	if err != nil {
		return err
	}
	if own == ownershipNone {
		return s3err.OwnershipControlsNotFound
	}
	c := ownershipControls{NS: s3NS}
	c.Rules = append(c.Rules, struct {
		ObjectOwnership string     `xml:"ObjectOwnership"`
		Unknown         []xml.Name `xml:",any"`
	}{ObjectOwnership: own})
	writeXML(w, http.StatusOK, c)
	return nil
}

func (h *Handler) putOwnershipControls(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	body, err := h.readXMLBody(r, rc, maxSmallXML, true)
	if err != nil {
		return err
	}
	var c ownershipControls
	if err := xml.Unmarshal(body, &c); err != nil || len(c.Unknown) > 0 || len(c.Rules) != 1 ||
		len(c.Rules[0].Unknown) > 0 || !slices.Contains(ownershipSettings, c.Rules[0].ObjectOwnership) {
		return s3err.MalformedXML
	}
	own := c.Rules[0].ObjectOwnership
	if own == ownerEnforced {
		// As on AWS: ACLs cannot be disabled while the bucket's grants
		// anyone else.
		a, err := h.loadBucketACL(r.Context(), rc)
		if err != nil {
			return err
		}
		if !a.private() {
			return errBucketACL
		}
	}
	if err := h.putBucketConfig(r.Context(), rc, store.ConfigOwnership, []byte(own)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// loadBucketACL returns rc's bucket's ACL (private when none is set).
func (h *Handler) loadBucketACL(ctx context.Context, rc *reqContext) (acl, error) {
	doc, err := h.bucketDoc(ctx, rc, store.ConfigACL)
	if err != nil {
		return nil, err
	}
	return parseStoredACL(string(doc)), nil
}

// bucketACL is loadBucketACL for a handler (NoSuchBucket when absent).
func (h *Handler) bucketACL(r *http.Request, rc *reqContext) (acl, error) {
	doc, err := h.existingBucketDoc(r.Context(), rc, store.ConfigACL)
	if err != nil {
		return nil, err
	}
	return parseStoredACL(string(doc)), nil
}

// aclOps are the operations that take ACL headers.
var aclOps = []string{"PutObject", "CopyObject", "CreateMultipartUpload", "PutObjectAcl", "PutBucketAcl", "CreateBucket"}

// authorizeACL checks the ACL a request's headers ask for (x-amz-acl,
// x-amz-grant-*) before its handler runs, and keeps it for the handler.
func (h *Handler) authorizeACL(r *http.Request, rc *reqContext) error {
	if !slices.Contains(aclOps, rc.op) {
		return nil
	}
	return h.authorizeACLHeaders(r, rc, r.Header)
}

// authorizeACLHeaders is authorizeACL for the headers hdr (a browser
// upload's form fields).
func (h *Handler) authorizeACLHeaders(r *http.Request, rc *reqContext, hdr http.Header) error {
	a, ok, err := h.headerACL(hdr)
	if err != nil || !ok {
		return err
	}
	if rc.anonymous() && !a.private() {
		return s3err.AccessDenied.WithMessage("Anonymous requests may not set ACLs.")
	}
	if err := h.checkACLAllowed(r, rc, a); err != nil {
		return err
	}
	rc.access.reqACL = a
	return nil
}

// checkACLAllowed refuses setting a on rc's target where the bucket's
// ownership disables ACLs or a PublicAccessBlock forbids public ones.
func (h *Handler) checkACLAllowed(r *http.Request, rc *reqContext, a acl) error {
	if a.private() {
		return nil
	}
	ctx := r.Context()
	if rc.op == "CreateBucket" {
		own := r.Header.Get("X-Amz-Object-Ownership")
		if own == "" || own == ownerEnforced {
			return errBucketACL
		}
		if rc.ord.BlockPublic {
			return errPublicACL
		}
		return nil
	}
	own, err := h.ownership(ctx, rc)
	if errors.Is(err, store.ErrNoSuchBucket) {
		return nil // the handler answers NoSuchBucket
	}
	if err != nil {
		return err
	}
	if own == ownerEnforced {
		return errObjectACL
	}
	pab, err := h.publicAccessBlock(ctx, rc)
	if err != nil {
		return err
	}
	if pab.BlockPublicAcls {
		return errPublicACL
	}
	return nil
}

// initBucketAccess stores a new bucket's ownership and ACL as its
// CreateBucket request asks; on failure the bucket is removed again.
func (h *Handler) initBucketAccess(r *http.Request, rc *reqContext) error {
	var err error
	if own := r.Header.Get("X-Amz-Object-Ownership"); own != "" && own != ownerEnforced {
		err = h.putBucketConfig(r.Context(), rc, store.ConfigOwnership, []byte(own))
	}
	if a := rc.access.reqACL; err == nil && !a.private() {
		err = h.putBucketConfig(r.Context(), rc, store.ConfigACL, []byte(a.String()))
	}
	if err != nil {
		_ = h.opts.Store.DeleteBucket(context.WithoutCancel(r.Context()), rc.bucket)
	}
	return err
}
