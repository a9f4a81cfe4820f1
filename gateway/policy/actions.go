package policy

import "strings"

// Kinds of resource an action applies to.
const (
	kindBucket = iota + 1
	kindObject
	kindService
)

// actions are the S3 IAM actions a policy may name, lower-cased, with the
// kind of resource each applies to. A policy naming any other action (no
// wildcard) is refused as AWS refuses it.
var actions = map[string]int{}

func init() {
	for _, a := range []string{
		"AbortMultipartUpload", "DeleteObject", "DeleteObjectTagging", "DeleteObjectVersion",
		"DeleteObjectVersionTagging", "GetObject", "GetObjectAcl", "GetObjectAttributes",
		"GetObjectLegalHold", "GetObjectRetention", "GetObjectTagging", "GetObjectVersion",
		"GetObjectVersionAcl", "GetObjectVersionAttributes", "GetObjectVersionTagging",
		"ListMultipartUploadParts", "PutObject", "PutObjectAcl", "PutObjectLegalHold",
		"PutObjectRetention", "PutObjectTagging", "PutObjectVersionAcl", "PutObjectVersionTagging",
		"RestoreObject", "BypassGovernanceRetention",
	} {
		actions[strings.ToLower("s3:"+a)] = kindObject
	}
	for _, a := range []string{
		"CreateBucket", "DeleteBucket", "DeleteBucketPolicy", "DeleteBucketWebsite",
		"GetAccelerateConfiguration", "GetBucketAcl", "GetBucketCORS", "GetBucketLocation",
		"GetBucketLogging", "GetBucketNotification", "GetBucketObjectLockConfiguration",
		"GetBucketOwnershipControls", "GetBucketPolicy", "GetBucketPolicyStatus",
		"GetBucketPublicAccessBlock", "GetBucketRequestPayment", "GetBucketTagging",
		"GetBucketVersioning", "GetBucketWebsite", "GetEncryptionConfiguration",
		"GetLifecycleConfiguration", "GetReplicationConfiguration", "ListBucket",
		"ListBucketMultipartUploads", "ListBucketVersions", "PutAccelerateConfiguration",
		"PutBucketAcl", "PutBucketCORS", "PutBucketLogging", "PutBucketNotification",
		"PutBucketObjectLockConfiguration", "PutBucketOwnershipControls", "PutBucketPolicy",
		"PutBucketPublicAccessBlock", "PutBucketRequestPayment", "PutBucketTagging",
		"PutBucketVersioning", "PutBucketWebsite", "PutEncryptionConfiguration",
		"PutLifecycleConfiguration", "PutReplicationConfiguration",
	} {
		actions[strings.ToLower("s3:"+a)] = kindBucket
	}
	for _, a := range []string{"ListAllMyBuckets"} {
		actions[strings.ToLower("s3:"+a)] = kindService
	}
}

// KnownAction reports whether name (e.g. "s3:GetObject") is an S3 action a
// policy may name.
func KnownAction(name string) bool {
	_, ok := actions[strings.ToLower(name)]
	return ok
}
