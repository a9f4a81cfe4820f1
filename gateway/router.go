package gateway

import (
	"net/http"
	"net/url"

	"github.com/lambda/storagecli/gateway/s3err"
)

// unconfigured are bucket sub-resources the gateway does not support; SDKs
// probe them, so GET answers with the error S3 gives for a bucket where the
// feature is not configured, and PUT with NotImplemented.
var unconfigured = map[string]*s3err.Error{
	"policy":            s3err.NoSuchBucketPolicy,
	"cors":              s3err.NoSuchCORSConfiguration,
	"lifecycle":         s3err.NoSuchLifecycleConfiguration,
	"tagging":           s3err.NoSuchTagSet,
	"website":           s3err.NoSuchWebsiteConfiguration,
	"encryption":        s3err.ServerSideEncryptionConfigurationNotFound,
	"ownershipControls": s3err.OwnershipControlsNotFound,
	"object-lock":       s3err.ObjectLockConfigurationNotFound,
	"publicAccessBlock": s3err.NoSuchPublicAccessBlockConfiguration,
	"replication":       s3err.ReplicationConfigurationNotFound,
}

// emptyConfigs are bucket sub-resources whose unconfigured state is an
// empty document.
var emptyConfigs = map[string]string{
	"logging":        "BucketLoggingStatus",
	"notification":   "NotificationConfiguration",
	"accelerate":     "AccelerateConfiguration",
	"requestPayment": "RequestPaymentConfiguration",
}

// notImplemented are sub-resources answered with NotImplemented.
var notImplemented = []string{"versions", "analytics", "metrics", "inventory", "intelligent-tiering",
	"select", "restore", "retention", "legal-hold", "torrent", "attributes", "policyStatus", "metadataTable"}

// route picks the operation for a request.
func (h *Handler) route(r *http.Request, bucket, key string) (string, opFunc) {
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	for _, sub := range notImplemented {
		if has(sub) {
			return "NotImplemented", notImplementedOp
		}
	}
	m := r.Method
	switch {
	case bucket == "":
		if m == http.MethodGet {
			return "ListBuckets", h.listBuckets
		}
		return "", nil
	case key == "":
		return h.routeBucket(m, q, has)
	}
	switch m {
	case http.MethodGet, http.MethodHead:
		switch {
		case has("uploadId") && m == http.MethodGet:
			return "ListParts", h.listParts
		case has("acl"):
			return "GetObjectAcl", h.getObjectACL
		case has("tagging"):
			return "GetObjectTagging", h.getObjectTagging
		case m == http.MethodHead:
			return "HeadObject", h.getObject
		}
		return "GetObject", h.getObject
	case http.MethodPut:
		copySrc := r.Header.Get("x-amz-copy-source") != ""
		switch {
		// uploadId alone still names a part upload (which then refuses the
		// missing partNumber): as a PutObject it would overwrite the object.
		case has("uploadId") && copySrc:
			return "UploadPartCopy", h.uploadPartCopy
		case has("uploadId"):
			return "UploadPart", h.uploadPart
		case has("acl"), has("tagging"):
			return "NotImplemented", notImplementedOp
		case copySrc:
			return "CopyObject", h.copyObject
		}
		return "PutObject", h.putObject
	case http.MethodDelete:
		switch {
		case has("uploadId"):
			return "AbortMultipartUpload", h.abortMultipartUpload
		case has("tagging"):
			return "DeleteObjectTagging", h.deleteObjectTagging
		}
		return "DeleteObject", h.deleteObject
	case http.MethodPost:
		switch {
		case has("uploads"):
			return "CreateMultipartUpload", h.createMultipartUpload
		case has("uploadId"):
			return "CompleteMultipartUpload", h.completeMultipartUpload
		}
		return "NotImplemented", notImplementedOp
	}
	return "", nil
}

func (h *Handler) routeBucket(m string, q url.Values, has func(string) bool) (string, opFunc) {
	switch m {
	case http.MethodGet:
		switch {
		case has("location"):
			return "GetBucketLocation", h.getBucketLocation
		case has("versioning"):
			return "GetBucketVersioning", h.getBucketVersioning
		case has("uploads"):
			return "ListMultipartUploads", h.listMultipartUploads
		case has("acl"):
			return "GetBucketAcl", h.getBucketACL
		}
		for sub, e := range unconfigured {
			if has(sub) {
				return "GetBucket" + sub, h.bucketError(e)
			}
		}
		for sub, root := range emptyConfigs {
			if has(sub) {
				return "GetBucket" + sub, h.bucketEmptyConfig(root)
			}
		}
		if q.Get("list-type") == "2" {
			return "ListObjectsV2", h.listObjectsV2
		}
		return "ListObjects", h.listObjectsV1
	case http.MethodHead:
		return "HeadBucket", h.headBucket
	case http.MethodPut:
		if hasSubresource(q) {
			return "NotImplemented", notImplementedOp
		}
		return "CreateBucket", h.createBucket
	case http.MethodDelete:
		for sub := range unconfigured {
			if has(sub) {
				return "DeleteBucket" + sub, h.bucketNoContent
			}
		}
		if hasSubresource(q) {
			return "NotImplemented", notImplementedOp
		}
		return "DeleteBucket", h.deleteBucket
	case http.MethodPost:
		if has("delete") {
			return "DeleteObjects", h.deleteObjects
		}
		return "NotImplemented", notImplementedOp
	}
	return "", nil
}

func notImplementedOp(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	return s3err.NotImplemented.WithMessage("This operation is not supported by this gateway.")
}

// hasSubresource reports whether q names anything but the SDKs' x-id hint.
func hasSubresource(q url.Values) bool {
	for k := range q {
		if k != "x-id" {
			return true
		}
	}
	return false
}
