package store

import (
	"context"
	"errors"
)

// ErrNoSuchConfig: the bucket has no configuration document of that name.
var ErrNoSuchConfig = errors.New("store: no such bucket configuration")

// MaxConfigLen bounds one bucket configuration document (bytes).
const MaxConfigLen = 256 << 10

// Names of the bucket configuration documents. The gateway owns their
// format; a store keeps the bytes with the bucket.
const (
	ConfigCORS              = "cors"
	ConfigPolicy            = "policy"
	ConfigLifecycle         = "lifecycle"
	ConfigWebsite           = "website"
	ConfigTagging           = "tagging"
	ConfigOwnership         = "ownership"
	ConfigPublicAccessBlock = "public-access-block"
	ConfigACL               = "acl"
	ConfigObjectLock        = "object-lock"
	ConfigEncryption        = "encryption"
)

// ConfigNames lists every configuration document name, in a fixed order.
var ConfigNames = []string{
	ConfigCORS, ConfigPolicy, ConfigLifecycle, ConfigWebsite, ConfigTagging,
	ConfigOwnership, ConfigPublicAccessBlock, ConfigACL, ConfigObjectLock,
	ConfigEncryption,
}

// ValidConfigName reports whether name is one of ConfigNames.
func ValidConfigName(name string) bool {
	for _, n := range ConfigNames {
		if n == name {
			return true
		}
	}
	return false
}

// BucketConfigs keeps a bucket's configuration documents (CORS, policy,
// lifecycle, …): opaque bytes under a name of ConfigNames, deleted with
// the bucket. A document is charged ConfigCost while it is set; it does
// not make a bucket non-empty.
type BucketConfigs interface {
	// GetBucketConfig returns the bucket's document name: ErrNoSuchConfig
	// if none is set, ErrNoSuchBucket if the bucket is absent.
	GetBucketConfig(ctx context.Context, bucket, name string) ([]byte, error)
	// PutBucketConfig sets (replaces) the document, at most MaxConfigLen
	// bytes (longer is an error, not a truncation).
	PutBucketConfig(ctx context.Context, bucket, name string, doc []byte) error
	// DeleteBucketConfig removes the document; an absent one is not an
	// error, an absent bucket is ErrNoSuchBucket.
	DeleteBucketConfig(ctx context.Context, bucket, name string) error
}

// ErrConfigTooLarge: a document longer than MaxConfigLen.
var ErrConfigTooLarge = errors.New("store: bucket configuration too large")

// CheckConfig validates a document's name and size for PutBucketConfig.
func CheckConfig(name string, doc []byte) error {
	if !ValidConfigName(name) {
		return errors.New("store: unknown bucket configuration " + name)
	}
	if len(doc) > MaxConfigLen {
		return ErrConfigTooLarge
	}
	return nil
}
