package store

import (
	"net/netip"
	"strings"
	"unicode/utf8"
)

// ValidBucketName reports whether name follows S3's bucket naming rules:
// 3-63 characters of lowercase letters, digits, '-' and '.', starting and
// ending with a letter or digit, no "..", and not an IP address.
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' || c == '.':
			if i == 0 || i == len(name)-1 {
				return false
			}
		default:
			return false
		}
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return false
	}
	return true
}

// ValidKey reports whether key is an object key the gateway accepts: 1 to
// MaxKeyLength bytes of valid UTF-8, no NUL, not starting with '/', and no
// "." or ".." path segment, so that no store (a file tree, an upstream that
// normalises paths) can ever resolve a key outside the order's storage.
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLength || !utf8.ValidString(key) {
		return false
	}
	if strings.IndexByte(key, 0) >= 0 || key[0] == '/' {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// CheckNames validates a bucket name and an object key for a store:
// ErrInvalidBucketName or ErrInvalidKey when one cannot exist.
func CheckNames(bucket, key string) error {
	if !ValidBucketName(bucket) {
		return ErrInvalidBucketName
	}
	if !ValidKey(key) {
		return ErrInvalidKey
	}
	return nil
}

// CommonPrefix returns the common prefix key rolls up into in a listing
// with prefix and delimiter delim (S3 CommonPrefixes): key up to and
// including the first delim after prefix. ok is false when key is not
// rolled up (no delimiter, key outside prefix, or no delim after it).
func CommonPrefix(key, prefix, delim string) (cp string, ok bool) {
	if delim == "" || !strings.HasPrefix(key, prefix) {
		return "", false
	}
	i := strings.Index(key[len(prefix):], delim)
	if i < 0 {
		return "", false
	}
	return key[:len(prefix)+i+len(delim)], true
}
