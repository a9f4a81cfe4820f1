package gateway

import (
	"net/http"
	"net/url"

	"github.com/lambda/storagecli/gateway/s3err"
)

// target is what a request's path names.
type target int

const (
	service target = iota // "/": the order
	bucket                // "/bucket"
	object                // "/bucket/key"
)

// perm is what an operation needs from the key that signs it and the order.
type perm int

const (
	// permRead: any key of the order, until its grace period ends.
	permRead perm = iota
	// permWrite changes the order's data: a read-write key, and an active
	// (not expired) order.
	permWrite
	// permConfig changes a bucket's configuration: as permWrite.
	permConfig
	// permPreflight: a CORS preflight, answered from the bucket's CORS
	// rules without authentication (browsers send none); it reads nothing
	// else and changes nothing.
	permPreflight
	// permPostPolicy: as permWrite, for a browser upload, which is
	// authenticated by the signed POST policy of its form instead of its
	// headers or URL.
	permPostPolicy
)

// writes reports whether p changes anything: read-only keys and expired
// orders are refused such operations.
func (p perm) writes() bool { return p != permRead && p != permPreflight }

// handlerFunc serves one S3 operation; a returned error is written as S3 XML.
type handlerFunc func(h *Handler, w http.ResponseWriter, r *http.Request, rc *reqContext) error

// route is one S3 operation: the requests it serves, what it is called
// (in logs and metrics, as AWS spells it), the permission it needs and its
// handler. A route exists only with its permission.
type route struct {
	method string
	target target
	sub    string                   // the sub-resource that selects it ("?acl"), "" for none
	when   func(*http.Request) bool // a further condition, nil for none
	op     string
	perm   perm
	fn     handlerFunc
}

// routes in order of precedence: a request is served by the first route
// that matches its method, target, sub-resource and condition. A request
// naming a sub-resource is never served by a route without one (see
// subresources).
var routes = append([]route{
	{"GET", service, "", nil, "ListBuckets", permRead, (*Handler).listBuckets},

	{"GET", bucket, "location", nil, "GetBucketLocation", permRead, (*Handler).getBucketLocation},
	{"GET", bucket, "versioning", nil, "GetBucketVersioning", permRead, (*Handler).getBucketVersioning},
	{"GET", bucket, "versions", nil, "ListObjectVersions", permRead, (*Handler).listObjectVersions},
	{"GET", bucket, "uploads", nil, "ListMultipartUploads", permRead, (*Handler).listMultipartUploads},
	{"GET", bucket, "acl", nil, "GetBucketAcl", permRead, (*Handler).getBucketACL},
	{"GET", bucket, "", listTypeV2, "ListObjectsV2", permRead, (*Handler).listObjectsV2},
	{"GET", bucket, "", nil, "ListObjects", permRead, (*Handler).listObjectsV1},
	{"HEAD", bucket, "", nil, "HeadBucket", permRead, (*Handler).headBucket},
	{"PUT", bucket, "versioning", nil, "PutBucketVersioning", permConfig, (*Handler).putBucketVersioning},
	{"PUT", bucket, "acl", nil, "PutBucketAcl", permConfig, (*Handler).putBucketACL},
	{"PUT", bucket, "", nil, "CreateBucket", permWrite, (*Handler).createBucket},
	{"DELETE", bucket, "", nil, "DeleteBucket", permWrite, (*Handler).deleteBucket},
	{"POST", bucket, "delete", nil, "DeleteObjects", permWrite, (*Handler).deleteObjects},
	{"GET", bucket, "cors", nil, "GetBucketCors", permRead, (*Handler).getBucketCors},
	{"PUT", bucket, "cors", nil, "PutBucketCors", permConfig, (*Handler).putBucketCors},
	{"DELETE", bucket, "cors", nil, "DeleteBucketCors", permConfig, (*Handler).deleteBucketCors},
	{"POST", bucket, "", nil, "PostObject", permPostPolicy, (*Handler).postObject},

	{"GET", object, "uploadId", nil, "ListParts", permRead, (*Handler).listParts},
	{"GET", object, "acl", nil, "GetObjectAcl", permRead, (*Handler).getObjectACL},
	{"GET", object, "tagging", nil, "GetObjectTagging", permRead, (*Handler).getObjectTagging},
	{"GET", object, "attributes", nil, "GetObjectAttributes", permRead, (*Handler).getObjectAttributes},
	{"GET", object, "", nil, "GetObject", permRead, (*Handler).getObject},
	{"HEAD", object, "", nil, "HeadObject", permRead, (*Handler).getObject},
	// uploadId alone still names a part upload (which then refuses the
	// missing partNumber): as a PutObject it would overwrite the object.
	{"PUT", object, "uploadId", hasCopySource, "UploadPartCopy", permWrite, (*Handler).uploadPartCopy},
	{"PUT", object, "uploadId", nil, "UploadPart", permWrite, (*Handler).uploadPart},
	{"PUT", object, "acl", nil, "PutObjectAcl", permWrite, (*Handler).putObjectACL},
	{"PUT", object, "tagging", nil, "PutObjectTagging", permWrite, (*Handler).putObjectTagging},
	{"GET", object, "retention", nil, "GetObjectRetention", permRead, (*Handler).getObjectRetention},
	{"PUT", object, "retention", nil, "PutObjectRetention", permWrite, (*Handler).putObjectRetention},
	{"GET", object, "legal-hold", nil, "GetObjectLegalHold", permRead, (*Handler).getObjectLegalHold},
	{"PUT", object, "legal-hold", nil, "PutObjectLegalHold", permWrite, (*Handler).putObjectLegalHold},
	{"PUT", object, "", hasCopySource, "CopyObject", permWrite, (*Handler).copyObject},
	{"PUT", object, "", nil, "PutObject", permWrite, (*Handler).putObject},
	{"DELETE", object, "uploadId", nil, "AbortMultipartUpload", permWrite, (*Handler).abortMultipartUpload},
	{"DELETE", object, "tagging", nil, "DeleteObjectTagging", permWrite, (*Handler).deleteObjectTagging},
	{"DELETE", object, "", nil, "DeleteObject", permWrite, (*Handler).deleteObject},
	{"POST", object, "uploads", nil, "CreateMultipartUpload", permWrite, (*Handler).createMultipartUpload},
	{"POST", object, "uploadId", nil, "CompleteMultipartUpload", permWrite, (*Handler).completeMultipartUpload},
}, bucketConfigRoutes()...)

// preflightRoute serves every OPTIONS request: a CORS preflight.
var preflightRoute = route{http.MethodOptions, bucket, "", nil, "PreflightRequest", permPreflight, (*Handler).preflight}

// subresources are the query parameters that select an operation, in the
// order a request naming several is routed by. Any other parameter
// (versionId, partNumber, list-type, X-Amz-Signature, …) is an argument.
var subresources = []string{
	"uploadId", "uploads", "delete", "location", "versioning", "versions", "acl", "tagging",
	"policy", "cors", "lifecycle", "website", "encryption", "ownershipControls", "object-lock",
	"publicAccessBlock", "replication", "logging", "notification", "accelerate", "requestPayment",
	"analytics", "metrics", "inventory", "intelligent-tiering", "policyStatus", "metadataTable",
	"attributes", "retention", "legal-hold", "restore", "select", "torrent", "session",
	"renameObject", "annotation", "abac", "metadataConfiguration", "metadataJournalTable",
	"metadataInventoryTable", "metadataAnnotationTable",
}

// route picks the route for a request; nil when no operation has its
// method on that target.
func (h *Handler) route(r *http.Request, bucketName, key string) *route {
	t := service
	switch {
	case key != "":
		t = object
	case bucketName != "":
		t = bucket
	}
	if r.Method == http.MethodOptions {
		return &preflightRoute // whatever the URL names
	}
	sub := selectedSubresource(r.URL.Query())
	for i := range routes {
		rt := &routes[i]
		if rt.method == r.Method && rt.target == t && rt.sub == sub && (rt.when == nil || rt.when(r)) {
			return rt
		}
	}
	if sub != "" && t != service {
		// A sub-resource the gateway does not implement: refused as
		// NotImplemented, once the key may do what the method implies.
		p := permConfig
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			p = permRead
		}
		return &route{method: r.Method, target: t, sub: sub, op: "NotImplemented", perm: p, fn: notImplemented}
	}
	return nil
}

// selectedSubresource returns the first of subresources that q names.
func selectedSubresource(q url.Values) string {
	for _, s := range subresources {
		if _, ok := q[s]; ok {
			return s
		}
	}
	return ""
}

func listTypeV2(r *http.Request) bool    { return r.URL.Query().Get("list-type") == "2" }
func hasCopySource(r *http.Request) bool { return r.Header.Get("x-amz-copy-source") != "" }

// notImplemented serves the operations the gateway does not implement.
func notImplemented(h *Handler, w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if rc.op == "NotImplemented" {
		return s3err.NotImplemented.WithMessage("The %s sub-resource is not supported by this gateway.", rc.route.sub)
	}
	return s3err.NotImplemented.WithMessage("%s is not supported by this gateway.", rc.op)
}
