package gateway

import (
	"net/http"
	"slices"

	"github.com/lambda/storagecli/gateway/s3err"
)

// Operation groups the refused headers apply to.
var (
	objectWrites = []string{"PutObject", "CopyObject", "CreateMultipartUpload"}
	partWrites   = []string{"UploadPart", "UploadPartCopy", "CompleteMultipartUpload"}
	objectReads  = []string{"GetObject", "HeadObject"}
	copies       = []string{"CopyObject", "UploadPartCopy"}
	bucketCreate = []string{"CreateBucket"}
)

// The errors AWS answers for the features refused below.
var (
	// Object lock (objectlock.go): lock headers on a bucket without it,
	// and object lock on a store without versions (upstream mode).
	errNoObjectLock = s3err.InvalidRequest.WithMessage("Bucket is missing ObjectLockConfiguration")
	errNoBucketLock = s3err.NotImplemented.WithMessage("Object Lock is not supported by this gateway in upstream mode.")
	errNoAppend     = s3err.NotImplemented.WithMessage("Appending to objects is not supported by this gateway.")
	errNoEventHold  = s3err.NotImplemented.WithMessage("Object Lock event holds are not supported by this gateway: use retention or a legal hold.")
	errNoNamespace  = s3err.NotImplemented.WithMessage("Account regional bucket namespaces are not supported by this gateway: bucket names are the order's own.")
	// errNoConditionalDelete: a delete condition the gateway does not
	// evaluate (If-Match with a versionId, as S3; upstream mode);
	// deleting unconditionally would be the worse answer.
	errNoConditionalDelete = s3err.NotImplemented.WithMessage("Conditional deletes are not supported by this gateway.")
	// errDirectoryBucketCondition answers the delete conditions S3
	// evaluates only in directory buckets (DeleteObject's
	// x-amz-if-match-last-modified-time and x-amz-if-match-size,
	// DeleteObjects' <LastModifiedTime> and <Size>): the DeleteObject API
	// reference documents each as "only supported for directory buckets",
	// and a general purpose bucket (all of the gateway's) refuses them with
	// 501 NotImplemented, "A header you provided implies functionality
	// that is not implemented".
	errDirectoryBucketCondition = s3err.NotImplemented.WithMessage("A header you provided implies functionality that is not implemented")
	// A bucket whose object ownership is BucketOwnerEnforced (S3's
	// default) has ACLs disabled: only the private ACL is accepted.
	errObjectACL = &s3err.Error{Code: "AccessControlListNotSupported", Status: http.StatusBadRequest,
		Message: "The bucket does not allow ACLs"}
	errBucketACL = &s3err.Error{Code: "InvalidBucketAclWithObjectOwnership", Status: http.StatusBadRequest,
		Message: "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"}
	errInvalidCannedACL = s3err.InvalidArgument.WithMessage("The x-amz-acl value is not a canned ACL.")
	errOwnership        = s3err.InvalidArgument.WithMessage("Invalid x-amz-object-ownership header: use BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter.")
)

// cannedACLs are S3's canned ACLs.
var cannedACLs = []string{"private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
	"bucket-owner-read", "bucket-owner-full-control", "log-delivery-write"}

// refusedHeader is a request header that asks for a guarantee or a stored
// property the gateway does not provide. The operations in ops are refused
// with err when the request carries it, unless allow accepts its value:
// accepting it and not doing what it says would be worse than failing.
type refusedHeader struct {
	name  string // canonical form
	ops   []string
	allow func(string) bool
	err   *s3err.Error
}

// refusedHeaders is the one list of such headers.
var refusedHeaders = []refusedHeader{
	{"X-Amz-Write-Offset-Bytes", []string{"PutObject"}, nil, errNoAppend},
	{"X-Amz-Object-Lock-Event-Hold", objectWrites, nil, errNoEventHold},
	{"X-Amz-Object-Lock-Event-Hold-Duration-Days", objectWrites, nil, errNoEventHold},
	{"X-Amz-Object-Lock-Event-Hold-Duration-Years", objectWrites, nil, errNoEventHold},
	{"X-Amz-Bucket-Namespace", bucketCreate, oneOf("global"), errNoNamespace},
	{"X-Amz-If-Match-Last-Modified-Time", []string{"DeleteObject"}, nil, errDirectoryBucketCondition},
	{"X-Amz-If-Match-Size", []string{"DeleteObject"}, nil, errDirectoryBucketCondition},
	{"X-Amz-Object-Ownership", bucketCreate, oneOf(ownershipSettings...), errOwnership},
}

// refuseUnsupported returns the error for the first refused header r
// carries for operation op.
func refuseUnsupported(hdr http.Header, op string) error {
	for _, rh := range refusedHeaders {
		vals, ok := hdr[rh.name]
		if !ok || !slices.Contains(rh.ops, op) {
			continue
		}
		if rh.allow != nil && len(vals) == 1 && rh.allow(vals[0]) {
			continue
		}
		return rh.err.WithMessage("%s (header %s)", rh.err.Message, rh.name)
	}
	return nil
}

// oneOf accepts exactly the values given.
func oneOf(vals ...string) func(string) bool {
	return func(v string) bool { return slices.Contains(vals, v) }
}

// checkExpectedOwner honours x-amz-expected-bucket-owner and
// x-amz-source-expected-bucket-owner: a request naming an owner other than
// the order's (the ID its ACLs and listings show) is refused, as S3
// refuses it when the bucket belongs to another account.
func (h *Handler) checkExpectedOwner(hdr http.Header) error {
	for _, name := range []string{"X-Amz-Expected-Bucket-Owner", "X-Amz-Source-Expected-Bucket-Owner"} {
		if vals, ok := hdr[name]; ok && (len(vals) != 1 || vals[0] != h.owner.ID) {
			return s3err.AccessDenied.WithMessage("The bucket is not owned by the account named in %s.", name)
		}
	}
	return nil
}
