// Package s3err defines the S3 error codes the gateway answers with: each
// error carries the code, the HTTP status and the message AWS uses, so every
// layer (signature checks, payload decoding, the handler) can return one and
// the handler writes it as an S3 XML error body.
package s3err

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
)

// Error is an S3 error response: Code and Status are what AWS sends for the
// same condition; Message is human-readable and never contains secrets.
type Error struct {
	Code    string
	Status  int
	Message string
	// Region, if set, is the region the request should have been signed
	// for: AWS sends it as the error's Region element with a wrong-region
	// AuthorizationHeaderMalformed, and clients (s3cmd) re-sign with it.
	Region string
	// Details are the extra elements AWS adds to some errors' bodies
	// (AWSAccessKeyId, StringToSign, ClientComputedContentSHA256, ...), in
	// order.
	Details []Detail
}

// Detail is one extra element of an error body: <Name>Value</Name>.
type Detail struct{ Name, Value string }

// With returns a copy of e with the element <name>value</name> added to its
// body.
func (e *Error) With(name, value string) *Error {
	c := *e
	c.Details = append(slices.Clip(e.Details), Detail{name, value})
	return &c
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// WithMessage returns a copy of e with a more specific message.
func (e *Error) WithMessage(format string, args ...any) *Error {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, s3err.NoSuchKey) matches copies made by WithMessage.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func def(code string, status int, msg string) *Error {
	return &Error{Code: code, Status: status, Message: msg}
}

// The S3 errors the gateway uses, with AWS's codes, statuses and messages.
var (
	AccessDenied                              = def("AccessDenied", http.StatusForbidden, "Access Denied.")
	AuthorizationHeaderMalformed              = def("AuthorizationHeaderMalformed", http.StatusBadRequest, "The authorization header is malformed.")
	AuthorizationQueryParametersError         = def("AuthorizationQueryParametersError", http.StatusBadRequest, "Error parsing the X-Amz-Credential parameter.")
	BadDigest                                 = def("BadDigest", http.StatusBadRequest, "The Content-MD5 or checksum you specified did not match what we received.")
	BucketAlreadyExists                       = def("BucketAlreadyExists", http.StatusConflict, "The requested bucket name is not available.")
	BucketAlreadyOwnedByYou                   = def("BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it.")
	BucketNotEmpty                            = def("BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty.")
	EntityTooLarge                            = def("EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size.")
	EntityTooSmall                            = def("EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size.")
	ExpiredToken                              = def("AccessDenied", http.StatusForbidden, "Request has expired.")
	IncompleteBody                            = def("IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	InvalidTag                                = def("InvalidTag", http.StatusBadRequest, "The tag provided was not a valid tag.")
	InternalError                             = def("InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again.")
	InvalidAccessKeyID                        = def("InvalidAccessKeyId", http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records.")
	InvalidArgument                           = def("InvalidArgument", http.StatusBadRequest, "Invalid Argument.")
	InvalidBucketName                         = def("InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid.")
	InvalidDigest                             = def("InvalidDigest", http.StatusBadRequest, "The Content-MD5 or checksum you specified is not valid.")
	InvalidPart                               = def("InvalidPart", http.StatusBadRequest, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
	InvalidPartOrder                          = def("InvalidPartOrder", http.StatusBadRequest, "The list of parts was not in ascending order. Parts must be ordered by part number.")
	InvalidRange                              = def("InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable.")
	InvalidRequest                            = def("InvalidRequest", http.StatusBadRequest, "Invalid Request.")
	KeyTooLong                                = def("KeyTooLongError", http.StatusBadRequest, "Your key is too long.")
	MalformedTrailer                          = def("MalformedTrailerError", http.StatusBadRequest, "The request contained trailing data that was not well-formed or did not conform to our published schema.")
	InvalidChunkSize                          = def("InvalidChunkSizeError", http.StatusBadRequest, "Only the last chunk is allowed to have a size less than 8192 bytes")
	MalformedXML                              = def("MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema.")
	MaxMessageLengthExceeded                  = def("MaxMessageLengthExceeded", http.StatusBadRequest, "Your request was too big.")
	MethodNotAllowed                          = def("MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource.")
	MissingContentLength                      = def("MissingContentLength", http.StatusLengthRequired, "You must provide the Content-Length HTTP header.")
	MissingSecurityHeader                     = def("MissingSecurityHeader", http.StatusBadRequest, "Your request is missing a required header.")
	NoSuchBucket                              = def("NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist.")
	NoSuchKey                                 = def("NoSuchKey", http.StatusNotFound, "The specified key does not exist.")
	NoSuchUpload                              = def("NoSuchUpload", http.StatusNotFound, "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.")
	NotImplemented                            = def("NotImplemented", http.StatusNotImplemented, "A header you provided implies functionality that is not implemented.")
	PreconditionFailed                        = def("PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold.")
	ConditionalRequestConflict                = def("ConditionalRequestConflict", http.StatusConflict, "A conflicting operation occurred. If using PutObject you can retry the request.")
	RequestTimeTooSkewed                      = def("RequestTimeTooSkewed", http.StatusForbidden, "The difference between the request time and the server's time is too large.")
	RequestTimeout                            = def("RequestTimeout", http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period.")
	ServiceUnavailable                        = def("ServiceUnavailable", http.StatusServiceUnavailable, "Service is unable to handle request.")
	SignatureDoesNotMatch                     = def("SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	SlowDown                                  = def("SlowDown", http.StatusServiceUnavailable, "Please reduce your request rate.")
	XAmzContentSHA256Mismatch                 = def("XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	InvalidStorageClass                       = def("InvalidStorageClass", http.StatusBadRequest, "The storage class you specified is not valid.")
	InvalidLocationConstraint                 = def("InvalidLocationConstraint", http.StatusBadRequest, "The specified location constraint is not valid.")
	IllegalLocationConstraint                 = def("IllegalLocationConstraintException", http.StatusBadRequest, "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
	MissingRequestBody                        = def("MissingRequestBodyError", http.StatusBadRequest, "Request Body is empty.")
	RequestHeaderSectionTooLarge              = def("RequestHeaderSectionTooLarge", http.StatusBadRequest, "Your request header section exceeds the maximum allowed size.")
	MetadataTooLarge                          = def("MetadataTooLarge", http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size.")
	NoSuchBucketPolicy                        = def("NoSuchBucketPolicy", http.StatusNotFound, "The bucket policy does not exist.")
	NoSuchCORSConfiguration                   = def("NoSuchCORSConfiguration", http.StatusNotFound, "The CORS configuration does not exist.")
	NoSuchLifecycleConfiguration              = def("NoSuchLifecycleConfiguration", http.StatusNotFound, "The lifecycle configuration does not exist.")
	NoSuchTagSet                              = def("NoSuchTagSet", http.StatusNotFound, "The TagSet does not exist.")
	NoSuchWebsiteConfiguration                = def("NoSuchWebsiteConfiguration", http.StatusNotFound, "The specified bucket does not have a website configuration.")
	ServerSideEncryptionConfigurationNotFound = def("ServerSideEncryptionConfigurationNotFoundError", http.StatusNotFound, "The server side encryption configuration was not found.")
	OwnershipControlsNotFound                 = def("OwnershipControlsNotFoundError", http.StatusNotFound, "The bucket ownership controls were not found.")
	ObjectLockConfigurationNotFound           = def("ObjectLockConfigurationNotFoundError", http.StatusNotFound, "Object Lock configuration does not exist for this bucket.")
	NoSuchPublicAccessBlockConfiguration      = def("NoSuchPublicAccessBlockConfiguration", http.StatusNotFound, "The public access block configuration was not found.")
	ReplicationConfigurationNotFound          = def("ReplicationConfigurationNotFoundError", http.StatusNotFound, "The replication configuration was not found.")
	UnexpectedContent                         = def("UnexpectedContent", http.StatusBadRequest, "This request does not support content.")
	InvalidObjectState                        = def("InvalidObjectState", http.StatusForbidden, "The operation is not valid for the current state of the object.")
	NotModified                               = def("NotModified", http.StatusNotModified, "Not Modified.")
	QuotaExceeded                             = def("QuotaExceeded", http.StatusForbidden, "The order's storage capacity would be exceeded.")
)

// FromBodyRead maps an error reading a request body to the S3 error the
// client gets: a body cut short is IncompleteBody, one beyond the server's
// limit EntityTooLarge, one that stopped arriving RequestTimeout. S3 errors
// pass through.
func FromBodyRead(err error) error {
	if e := As(err); e != nil {
		return e
	}
	var mbe *http.MaxBytesError
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return IncompleteBody
	case errors.As(err, &mbe):
		return EntityTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &te) && te.Timeout():
		return RequestTimeout
	}
	return IncompleteBody.WithMessage("The request body could not be read: %v.", err)
}
