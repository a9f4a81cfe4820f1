package gateway

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// Bounds on request XML documents.
const (
	maxSmallXML    = 64 << 10
	maxDeleteXML   = 2 << 20
	maxCompleteXML = 4 << 20
)

func (h *Handler) listBuckets(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	buckets, err := h.opts.Store.ListBuckets(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	prefix := q.Get("prefix")
	max := len(buckets)
	if v := q.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return s3err.InvalidArgument.WithMessage("max-buckets must be an integer from 1 to 10000.")
		}
		max = n
	}
	after := ""
	if _, ok := q["continuation-token"]; ok {
		a, ok := decodeToken(q.Get("continuation-token"))
		if !ok {
			return s3err.InvalidArgument.WithMessage("The continuation token provided is incorrect")
		}
		after = a
	}
	// Every bucket is in the gateway's one region; with a bucket-region
	// filter naming another, there is none to list.
	if br := q.Get("bucket-region"); br != "" && br != h.region() {
		buckets = nil
	}
	// AWS adds BucketRegion to each entry when the request has any of the
	// ListBuckets parameters.
	region := ""
	for _, p := range []string{"max-buckets", "continuation-token", "prefix", "bucket-region"} {
		if _, ok := q[p]; ok {
			region = h.region()
		}
	}
	res := listAllMyBucketsResult{NS: s3NS, Owner: h.owner, Prefix: prefix, Buckets: []bucketEntry{}}
	for _, b := range buckets {
		if !strings.HasPrefix(b.Name, prefix) || b.Name <= after {
			continue
		}
		if len(res.Buckets) == max {
			res.ContinuationToken = encodeToken(res.Buckets[len(res.Buckets)-1].Name)
			break
		}
		res.Buckets = append(res.Buckets, bucketEntry{Name: b.Name, CreationDate: timeISO(b.Created), BucketRegion: region})
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

func (h *Handler) createBucket(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if !store.ValidBucketName(rc.bucket) {
		return s3err.InvalidBucketName
	}
	if err := checkLockHeader(r.Header); err != nil {
		return err
	}
	body, err := h.readXMLBody(r, rc, maxSmallXML, true)
	if err != nil {
		return err
	}
	var tags []tag
	if len(body) > 0 {
		var cfg createBucketConfiguration
		if err := xml.Unmarshal(body, &cfg); err != nil {
			return s3err.MalformedXML
		}
		lc := cfg.LocationConstraint
		if lc != "" && h.opts.Region != "" && lc != h.opts.Region {
			return s3err.IllegalLocationConstraint.WithMessage("The %s location constraint is incompatible for the region specific endpoint this request was sent to.", lc)
		}
		if len(cfg.Unknown) > 0 {
			return s3err.NotImplemented.WithMessage("CreateBucketConfiguration element %s is not supported by this gateway (directory buckets are not).", cfg.Unknown[0].XMLName.Local)
		}
		if err := validateTags(cfg.Tags, maxBucketTags, "Bucket"); err != nil {
			return err
		}
		tags = cfg.Tags
	}
	// A bucket the order already owns costs nothing more: it is answered
	// as such even in a full order.
	_, err = h.opts.Store.HeadBucket(r.Context(), rc.bucket)
	if err == nil {
		err = store.ErrBucketExists
	} else if errors.Is(err, store.ErrNoSuchBucket) {
		var release func()
		if release, err = h.reserve(r.Context(), rc, store.BucketCost(rc.bucket), nil); err != nil {
			return err
		}
		defer release()
		err = h.opts.Store.CreateBucket(r.Context(), rc.bucket)
		if err == nil {
			err = h.initBucketAccess(r, rc)
		}
		if err == nil {
			err = h.createBucketLock(r, rc)
		}
		if err == nil && len(tags) > 0 {
			// CreateBucketConfiguration's Tags: the bucket's tag set, or
			// no bucket.
			if err = h.putBucketConfig(r.Context(), rc, store.ConfigTagging, []byte(encodeTags(tags))); err != nil {
				_ = h.opts.Store.DeleteBucket(r.Context(), rc.bucket)
			}
		}
	}
	if errors.Is(err, store.ErrBucketExists) && h.region() == "us-east-1" {
		// S3's legacy rule: in us-east-1, creating a bucket the caller
		// already owns succeeds (elsewhere: BucketAlreadyOwnedByYou).
		err = nil
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/"+rc.bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) headBucket(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	w.Header().Set("x-amz-bucket-region", h.region())
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucket(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if err := h.opts.Store.DeleteBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// region is the region reported to clients.
func (h *Handler) region() string {
	if h.opts.Region == "" {
		return "us-east-1"
	}
	return h.opts.Region
}

func (h *Handler) getBucketLocation(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	region := h.region()
	if region == "us-east-1" {
		region = "" // as AWS answers for us-east-1
	}
	writeXML(w, http.StatusOK, locationConstraint{NS: s3NS, Region: region})
	return nil
}

func (h *Handler) deleteObjects(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	// The bucket first: a request for a missing bucket is refused before
	// its (up to 2 MiB) body is transferred.
	if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	body, err := h.readXMLBody(r, rc, maxDeleteXML, true)
	if err != nil {
		return err
	}
	var req deleteRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		return s3err.MalformedXML
	}
	if len(req.Objects) == 0 || len(req.Objects) > store.MaxDeleteKeys {
		return s3err.MalformedXML.WithMessage("The Delete request must name 1 to 1000 objects.")
	}
	for _, o := range req.Objects {
		if o.LastModifiedTime != nil || o.Size != nil {
			// Directory-bucket conditions (see errDirectoryBucketCondition).
			return errDirectoryBucketCondition.WithMessage("%s (LastModifiedTime and Size apply to directory buckets only)", errDirectoryBucketCondition.Message)
		}
	}
	ctx, err := h.lockContext(r, rc)
	if err != nil {
		return err
	}
	r = r.WithContext(ctx)
	res := deleteResult{NS: s3NS}
	for _, o := range req.Objects {
		var d deletedEntry
		err := error(nil)
		if rc.access.denies(o.Key) {
			err = s3err.AccessDenied
		} else {
			d, err = h.deleteOne(r, rc, o.Key, o.VersionID, o.ETag)
		}
		if err != nil {
			e, _ := toS3Error(err)
			res.Errors = append(res.Errors, deleteErrorEntry{Key: o.Key, VersionID: o.VersionID, Code: e.Code, Message: e.Message})
			continue
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, d)
		}
	}
	writeXML(w, http.StatusOK, res)
	return nil
}
