// Package store is the storage contract of the gateway: one order's buckets,
// objects and multipart uploads. The S3 protocol layer (package gateway)
// speaks only to this interface; the embedded store (store/embedded) and the
// upstream store implement it, and store/storetest is the conformance suite
// every implementation runs.
//
// Every method MUST be safe for concurrent use. Errors MUST be one of the
// sentinel errors below (possibly wrapped with fmt.Errorf("...: %w")) when the
// condition they name applies; any other error is treated as an internal
// failure of the store (HTTP 500 / 503 to the client).
package store

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// Sentinel errors. The gateway maps each to one S3 error code.
var (
	// ErrNoSuchBucket: the named bucket does not exist.
	ErrNoSuchBucket = errors.New("store: no such bucket")
	// ErrBucketExists: CreateBucket on a bucket that already exists.
	ErrBucketExists = errors.New("store: bucket already exists")
	// ErrBucketNotEmpty: DeleteBucket on a bucket holding objects or uploads.
	ErrBucketNotEmpty = errors.New("store: bucket not empty")
	// ErrInvalidBucketName: the name fails ValidBucketName.
	ErrInvalidBucketName = errors.New("store: invalid bucket name")
	// ErrNoSuchKey: the object does not exist.
	ErrNoSuchKey = errors.New("store: no such key")
	// ErrInvalidKey: the key fails ValidKey.
	ErrInvalidKey = errors.New("store: invalid key")
	// ErrNoSuchUpload: the multipart upload does not exist (never created,
	// completed, aborted, or created for another bucket/key).
	ErrNoSuchUpload = errors.New("store: no such upload")
	// ErrInvalidPart: CompleteMultipartUpload names a part that was not
	// uploaded, or whose ETag (or checksum) differs from the one given.
	ErrInvalidPart = errors.New("store: invalid part")
	// ErrInvalidPartOrder: CompleteMultipartUpload parts are not in strictly
	// ascending part-number order.
	ErrInvalidPartOrder = errors.New("store: invalid part order")
	// ErrEntityTooSmall: a part other than the last is below MinPartSize.
	ErrEntityTooSmall = errors.New("store: part too small")
	// ErrPreconditionFailed: a Conditions check failed at commit time.
	ErrPreconditionFailed = errors.New("store: precondition failed")
	// ErrIncompleteBody: the body ended before (or ran past) the declared Size.
	ErrIncompleteBody = errors.New("store: body size differs from declared size")
	// ErrInvalidRange: GetObject's Check returned a range outside the object.
	ErrInvalidRange = errors.New("store: invalid range")
	// ErrNotSupported: the store cannot do what was asked (the gateway
	// answers 501 NotImplemented).
	ErrNotSupported = errors.New("store: not supported by this store")
	// ErrNoSuchVersion: no version of the key has the version id given.
	ErrNoSuchVersion = errors.New("store: no such version")
	// ErrInvalidVersionID: the version id given is not one the store makes
	// (nor NullVersion).
	ErrInvalidVersionID = errors.New("store: invalid version id")
)

// Limits of the S3 API that stores enforce.
const (
	MaxKeyLength   = 1024
	MinPartSize    = 5 << 20 // every part but the last
	MaxPartNumber  = 10000
	MaxObjectSize  = 5 << 40
	MaxPartSize    = 5 << 30
	MaxListKeys    = 1000
	MaxDeleteKeys  = 1000
	MaxUserMetaLen = 2 << 10 // total bytes of x-amz-meta-* names and values
	// MaxMetaLen bounds an object's or upload's whole Metadata.Size():
	// what AWS allows in the 8 KB of a PUT's headers.
	MaxMetaLen = 8 << 10
)

// Store holds one order's data. See the package comment for the rules.
type Store interface {
	BucketConfigs

	// ListBuckets returns all buckets sorted by name.
	ListBuckets(ctx context.Context) ([]Bucket, error)
	// CreateBucket creates an empty bucket. ErrBucketExists if it exists,
	// ErrInvalidBucketName if the name is not valid.
	CreateBucket(ctx context.Context, bucket string) error
	// HeadBucket returns the bucket or ErrNoSuchBucket.
	HeadBucket(ctx context.Context, bucket string) (Bucket, error)
	// DeleteBucket removes a bucket without objects, and with it its
	// in-progress multipart uploads and their parts (as S3 does; their
	// bytes are no longer counted): ErrBucketNotEmpty if it holds any
	// object, ErrNoSuchBucket if absent.
	DeleteBucket(ctx context.Context, bucket string) error

	// PutObject stores in.Body under key, replacing any existing object
	// atomically: readers see the old object or the new one, never a mix,
	// and a failed or interrupted put leaves the old object untouched. It
	// reads in.Body to io.EOF; any other read error aborts the put and is
	// returned unchanged (wrapped is fine). It returns ErrIncompleteBody if
	// in.Size >= 0 and the body length differs, and ErrPreconditionFailed if
	// in.Cond does not hold at the moment of commit (two racing conditional
	// writers cannot both succeed). The object is durable when it returns
	// (unless the store was opened with syncing disabled). The bucket is
	// checked before Body is read (ErrNoSuchBucket without a transfer).
	PutObject(ctx context.Context, bucket, key string, in PutInput) (*Object, error)
	// HeadObject returns the object's description or ErrNoSuchKey.
	HeadObject(ctx context.Context, bucket, key string) (*Object, error)
	// GetObject opens the object. check (which may be nil) is called with
	// the exact version about to be read and returns the byte range to
	// read (length -1: to the end) or an error, which GetObject returns
	// unchanged. A range past the object's end is ErrInvalidRange. The
	// caller MUST Close the reader. The version read never changes under
	// the reader, even if the key is overwritten or deleted meanwhile.
	GetObject(ctx context.Context, bucket, key string, check CheckFunc) (*Object, io.ReadCloser, error)
	// DeleteObject removes the object. Deleting an absent key is not an
	// error (S3 semantics); an absent bucket is ErrNoSuchBucket.
	DeleteObject(ctx context.Context, bucket, key string) error
	// CopyObject copies src to dst (which may be the same key). in.Meta nil
	// keeps the source's metadata; in.SrcCheck validates the source version
	// (copy-source conditionals) and in.Cond the destination at commit. The
	// copy's ETag is that of a single-part object of its bytes (their MD5,
	// unless the store is an ETagMaker); its checksum is a full-object
	// checksum of its bytes in in.ChecksumAlgorithm, or else in the
	// source's algorithm (none if the source has none).
	CopyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, in CopyInput) (*Object, error)
	// ListObjects returns up to opts.Limit entries (objects and common
	// prefixes together) in UTF-8 byte order of key, starting strictly after
	// opts.After. With a delimiter, keys sharing Prefix+X+Delimiter are
	// rolled up into one common prefix, returned once; if opts.After is
	// itself such a common prefix (or a key inside it) the listing resumes
	// after every key of that prefix. Page.Next is the last key or prefix
	// returned; listing again with After=Next neither repeats nor skips an
	// entry. The cost of a page MUST be proportional to the page size (plus
	// a logarithmic seek), not to the bucket size.
	ListObjects(ctx context.Context, bucket string, opts ListOptions) (*ListPage, error)

	// CreateMultipartUpload starts an upload and returns its id (URL-safe,
	// unguessable).
	CreateMultipartUpload(ctx context.Context, bucket, key string, in UploadInput) (string, error)
	// UploadPart stores part number (1..MaxPartNumber) of the upload,
	// replacing an earlier part with the same number. Body rules as
	// PutObject; the upload is checked before Body is read. in.Sums carries
	// the upload's checksum algorithm when it has one.
	UploadPart(ctx context.Context, bucket, key, uploadID string, number int, in PutInput) (*Part, error)
	// CompleteMultipartUpload assembles the listed parts into the object,
	// without copying their bytes again where the store can avoid it. Parts
	// must be strictly ascending (ErrInvalidPartOrder), each uploaded with
	// the given ETag (ErrInvalidPart), each but the last at least MinPartSize
	// (ErrEntityTooSmall). The ETag is hex(md5(concat(part md5s)))+"-N".
	// Unlisted parts are discarded. in.Cond is checked at commit.
	// Repeated after it succeeded (an SDK retrying a lost answer) with the
	// same parts (numbers and ETags, checksums where given) while the
	// object it made is still the key's current version, it returns that
	// object again without checking in.Cond; otherwise a completed upload
	// is ErrNoSuchUpload.
	CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []CompletePart, in CompleteInput) (*Object, error)
	// AbortMultipartUpload discards the upload and its parts.
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
	// ListParts lists the upload's parts with number > after, ascending, at
	// most limit of them (0 means 1000). It also describes the upload, which
	// the gateway uses to look an upload up before reading a part's body.
	ListParts(ctx context.Context, bucket, key, uploadID string, after, limit int) (*PartsPage, error)
	// ListMultipartUploads lists in-progress uploads ordered by key, then by
	// initiation time, starting after (KeyMarker, UploadIDMarker).
	ListMultipartUploads(ctx context.Context, bucket string, opts UploadsOptions) (*UploadsPage, error)

	// UpdateObject changes the attributes (Metadata.ACL, Tags, LockMode,
	// LockUntil, LegalHold) of the key's current version in place: fn gets
	// a copy of the object and sets them; nothing else it changes is kept
	// (the bytes, ETag, modification time and headers stay). The read and
	// the write are atomic (fn may be called more than once); an error
	// from fn is returned unchanged and nothing is written. It returns the
	// updated object; ErrNoSuchKey if there is none. A store that cannot
	// change attributes in place returns ErrNotSupported.
	UpdateObject(ctx context.Context, bucket, key string, fn func(*Object) error) (*Object, error)
	// UpdateObjectVersion is UpdateObject of the version versionID ("" the
	// current one), current or not, with the errors of HeadObjectVersion
	// (a delete marker has no attributes to change).
	UpdateObjectVersion(ctx context.Context, bucket, key, versionID string, fn func(*Object) error) (*Object, error)
	// SetBucketVersioning sets the bucket's versioning state, Enabled or
	// Suspended (a bucket never returns to Unversioned).
	SetBucketVersioning(ctx context.Context, bucket, state string) error
	// BucketVersioning returns the bucket's versioning state: Unversioned
	// (""), Enabled or Suspended.
	BucketVersioning(ctx context.Context, bucket string) (string, error)
	// HeadObjectVersion is HeadObject of the version versionID ("" the
	// current one). A delete marker is a *DeleteMarkerError; an id no
	// version has is ErrNoSuchVersion, one the store cannot have made
	// ErrInvalidVersionID.
	HeadObjectVersion(ctx context.Context, bucket, key, versionID string) (*Object, error)
	// GetObjectVersion is GetObject of the version versionID ("" the
	// current one), with the errors of HeadObjectVersion.
	GetObjectVersion(ctx context.Context, bucket, key, versionID string, check CheckFunc) (*Object, io.ReadCloser, error)
	// DeleteObjectVersion deletes the version versionID, or with "" the key
	// as DeleteObject does (in a versioned bucket that adds a delete
	// marker), and reports what it did. Deleting the current version makes
	// the newest remaining one current. A version that does not exist is
	// not an error (S3 semantics): the result then names versionID.
	DeleteObjectVersion(ctx context.Context, bucket, key, versionID string) (DeleteResult, error)
	// DeleteObjectIf is DeleteObjectVersion with "" (the key deleted as
	// DeleteObject does) if check accepts the key's current object (nil
	// when the key has none): check runs atomically with the delete, and
	// its error is returned unchanged with nothing deleted. A store that
	// cannot delete conditionally returns ErrNotSupported.
	DeleteObjectIf(ctx context.Context, bucket, key string, check func(cur *Object) error) (DeleteResult, error)
	// ListObjectVersions returns up to opts.Limit versions and delete
	// markers (Objects with DeleteMarker set) and common prefixes, by key
	// and then newest first, starting after (KeyMarker, VersionIDMarker):
	// the rules of ListObjects, with its cost bound (a page costs work in
	// proportion to its size, however many versions a key has). An
	// unversioned bucket lists each object as its NullVersion.
	ListObjectVersions(ctx context.Context, bucket string, opts VersionsOptions) (*VersionsPage, error)

	// Usage reports the bytes charged (cost.go: data, parts of in-progress
	// uploads, and each entry's overhead, name and metadata) and the
	// objects stored. It must be cheap (no scan).
	Usage(ctx context.Context) (Usage, error)
}

// Bucket describes a bucket.
type Bucket struct {
	Name    string
	Created time.Time
}

// Metadata is what a client stores with an object and gets back.
type Metadata struct {
	ContentType        string            `json:"ct,omitempty"`
	ContentEncoding    string            `json:"ce,omitempty"`
	ContentDisposition string            `json:"cd,omitempty"`
	ContentLanguage    string            `json:"cl,omitempty"`
	CacheControl       string            `json:"cc,omitempty"`
	Expires            string            `json:"ex,omitempty"`
	StorageClass       string            `json:"sc,omitempty"`
	User               map[string]string `json:"u,omitempty"` // lower-case names without the x-amz-meta- prefix

	// Attributes: the object's settings that are not HTTP headers. They
	// travel with the metadata (copies, multipart uploads, listings) and
	// UpdateObject changes them in place.
	ACL       string `json:"acl,omitempty"` // the object's ACL in the gateway's form ("": owner only)
	Tags      string `json:"tg,omitempty"`  // tag set, URL-encoded as in x-amz-tagging
	LockMode  string `json:"lm,omitempty"`  // object lock retention: GOVERNANCE or COMPLIANCE
	LockUntil string `json:"lu,omitempty"`  // retain-until date, RFC 3339
	LegalHold string `json:"lh,omitempty"`  // "ON" while a legal hold is set
	// WebsiteRedirect is x-amz-website-redirect-location: where the
	// website endpoint redirects a request for the object.
	WebsiteRedirect string `json:"wr,omitempty"`

	// Encryption describes how the object's (or upload's) bytes are
	// encrypted at rest ("": they are not): the gateway's sse package
	// writes and reads it, a store keeps it as an attribute. UpdateObject
	// and CopyAttrs leave it unchanged.
	Encryption string `json:"en,omitempty"`
}

// Attrs returns the attribute fields of m (ACL, tags, lock, website
// redirect, encryption) in a fixed order, for stores that encode them.
func (m *Metadata) Attrs() [7]*string {
	return [7]*string{&m.ACL, &m.Tags, &m.LockMode, &m.LockUntil, &m.LegalHold, &m.WebsiteRedirect, &m.Encryption}
}

// CopyAttrs sets the attribute fields of m to those of src, but for
// Encryption.
func (m *Metadata) CopyAttrs(src *Metadata) {
	m.ACL, m.Tags, m.LockMode, m.LockUntil, m.LegalHold = src.ACL, src.Tags, src.LockMode, src.LockUntil, src.LegalHold
	m.WebsiteRedirect = src.WebsiteRedirect
}

// Checksum algorithms (as S3 names them) and types.
const (
	CRC32     = "CRC32"
	CRC32C    = "CRC32C"
	CRC64NVME = "CRC64NVME"
	SHA1      = "SHA1"
	SHA256    = "SHA256"
	SHA512    = "SHA512"
	MD5       = "MD5"
	XXHASH64  = "XXHASH64"
	XXHASH3   = "XXHASH3"
	XXHASH128 = "XXHASH128"

	FullObject = "FULL_OBJECT"
	Composite  = "COMPOSITE"
)

// Checksum is an additional S3 checksum of an object or part.
type Checksum struct {
	Algorithm string `json:"a,omitempty"` // CRC32, CRC32C, CRC64NVME, SHA1, SHA256, SHA512, MD5, XXHASH64, XXHASH3, XXHASH128; "" for none
	Type      string `json:"t,omitempty"` // FullObject or Composite
	Value     string `json:"v,omitempty"` // base64; composite values end in "-N"
}

// Object describes a stored object.
type Object struct {
	Key          string
	Size         int64
	ETag         string // unquoted: md5 hex, or hex-N for multipart (an ETagMaker's own otherwise)
	LastModified time.Time
	Meta         Metadata
	Checksum     Checksum
	// Parts is set for objects made by CompleteMultipartUpload: the size,
	// ETag and checksum of each part, in order (for GET ?partNumber=N and
	// checksum-mode answers).
	Parts []Part
	// UploadID is the multipart upload that made the object, if the store
	// knows it (a repeated CompleteMultipartUpload is answered for it).
	UploadID string
	// VersionID is the version's id: "" in a bucket whose versioning was
	// never set, NullVersion for a version written while it was not
	// Enabled, else an opaque URL-safe id the store made.
	VersionID string
	// DeleteMarker marks a delete marker (a version without data).
	DeleteMarker bool
	// IsLatest is set by ListObjectVersions on each key's current version.
	IsLatest bool
}

// VersionsUnsupported is implemented by a Store whose buckets may never
// be versioned (when VersionsUnsupported returns true,
// SetBucketVersioning is ErrNotSupported): every object is its null
// version, and CopyInput.SrcVersionID is not looked at, so the caller
// refuses any other source version id itself.
type VersionsUnsupported interface {
	VersionsUnsupported() bool
}

// SupportsVersions reports whether s keeps versions.
func SupportsVersions(s Store) bool {
	v, ok := s.(VersionsUnsupported)
	return !ok || !v.VersionsUnsupported()
}

// Bucket versioning states (as S3 spells them).
const (
	Unversioned = ""
	Enabled     = "Enabled"
	Suspended   = "Suspended"
)

// NullVersion is the version id of a version written while its bucket's
// versioning was not Enabled.
const NullVersion = "null"

// DeleteMarkerError is returned when the version read is a delete marker:
// the key's current version (it matches ErrNoSuchKey, HTTP 404) or a
// version named by id (it matches ErrMethodNotAllowed, HTTP 405).
type DeleteMarkerError struct {
	VersionID    string
	LastModified time.Time
	ByID         bool // named by id
}

// ErrMethodNotAllowed: the version named by id is a delete marker.
var ErrMethodNotAllowed = errors.New("store: the version is a delete marker")

func (e *DeleteMarkerError) Error() string {
	if e.ByID {
		return "store: the version is a delete marker"
	}
	return "store: no such key (the current version is a delete marker)"
}

// Is makes a DeleteMarkerError match ErrNoSuchKey or ErrMethodNotAllowed.
func (e *DeleteMarkerError) Is(target error) bool {
	if e.ByID {
		return target == ErrMethodNotAllowed
	}
	return target == ErrNoSuchKey
}

// DeleteResult is what DeleteObjectVersion did.
type DeleteResult struct {
	// VersionID is the version deleted, or the delete marker added ("" in
	// a bucket whose versioning was never set and no id was given).
	VersionID string
	// DeleteMarker: a delete marker was added, or the version deleted was
	// one.
	DeleteMarker bool
}

// VersionsOptions select a page of ListObjectVersions.
type VersionsOptions struct {
	Prefix          string
	Delimiter       string
	KeyMarker       string // exclusive start: a key or a common prefix
	VersionIDMarker string // with KeyMarker: resume after this version of it
	Limit           int    // 1..MaxListKeys; 0 means MaxListKeys
}

// VersionsPage is one page of ListObjectVersions.
type VersionsPage struct {
	Versions            []Object
	CommonPrefixes      []string
	Truncated           bool
	NextKeyMarker       string
	NextVersionIDMarker string // "" when the page ended with a common prefix
}

// Part describes an uploaded part.
type Part struct {
	Number       int
	Size         int64
	ETag         string // unquoted md5 hex (an ETagMaker's own otherwise)
	Checksum     string // base64 value in the upload's checksum algorithm, or ""
	LastModified time.Time
}

// Sums are the digests of a body, computed while the store read it.
type Sums struct {
	MD5      []byte   // nil when the Store is an ETagMaker and the client sent no Content-MD5
	Checksum Checksum // Algorithm "" when the client asked for none
}

// ETagMaker is implemented by a Store whose ETags come from the storage
// beneath it (an upstream S3 service computes them) rather than from the
// MD5 the gateway computes while reading a body. When MakesETags is true
// the gateway does not hash bodies with MD5 unless the client sent
// Content-MD5, and PutObject and UploadPart get Sums with MD5 nil.
type ETagMaker interface {
	MakesETags() bool
}

// MakesETags reports whether s is an ETagMaker that makes its own ETags.
func MakesETags(s Store) bool {
	m, ok := s.(ETagMaker)
	return ok && m.MakesETags()
}

// PutInput is the body and metadata of a PutObject or UploadPart.
type PutInput struct {
	// Body is read to io.EOF. A reader that verifies the client's digests
	// returns an error instead of io.EOF on mismatch; the store then aborts.
	Body io.Reader
	// Size is the exact body length, or -1 if unknown.
	Size int64
	// Sums returns the body's digests; the store calls it once, after Body
	// returned io.EOF and before the write becomes visible.
	Sums func() Sums
	Meta Metadata // ignored by UploadPart
	Cond Conditions
	// ModTimeUnused tells PutObject that the caller does not read the
	// returned Object's LastModified (an S3 PUT answer carries none): a
	// store that would need one more request to learn the time it
	// recorded may return the time of the call instead.
	ModTimeUnused bool
}

// Conditions are conditional-write checks evaluated atomically at commit.
// Each is "*" or a comma-separated list of ETags (quoted or not), as in
// the If-Match / If-None-Match headers.
type Conditions struct {
	IfMatch     string // "*": any current object; ETags: the current object's is listed (a missing key is ErrNoSuchKey)
	IfNoneMatch string // "*": the key must not exist; ETags: the current object's (if any) is not listed
}

// Check evaluates c against the key's current version (exists false when
// there is none): nil, ErrPreconditionFailed, or ErrNoSuchKey for an
// If-Match ETag list on a missing key (as S3 answers).
func (c Conditions) Check(exists bool, etag string) error {
	if c.IfMatch != "" {
		switch {
		case !exists && strings.TrimSpace(c.IfMatch) == "*":
			return ErrPreconditionFailed
		case !exists:
			return ErrNoSuchKey
		case !ETagListMatches(c.IfMatch, etag):
			return ErrPreconditionFailed
		}
	}
	if c.IfNoneMatch != "" && exists && ETagListMatches(c.IfNoneMatch, etag) {
		return ErrPreconditionFailed
	}
	return nil
}

// ETagListMatches reports whether list ("*", or ETags separated by commas,
// quoted or not, W/ tolerated) names etag (unquoted). ETags compare
// case-insensitively (they are hex).
func ETagListMatches(list, etag string) bool {
	for tok := range strings.SplitSeq(list, ",") {
		tok = strings.TrimPrefix(strings.TrimSpace(tok), "W/")
		if tok == "*" || strings.EqualFold(strings.Trim(tok, `"`), etag) {
			return true
		}
	}
	return false
}

// CheckFunc validates the object version about to be read and returns the
// byte range [off, off+length) to read; length -1 means to the end.
type CheckFunc func(o *Object) (off, length int64, err error)

// CopyInput are the options of CopyObject.
type CopyInput struct {
	Meta     *Metadata               // nil: keep the source's metadata
	SrcCheck func(src *Object) error // copy-source conditionals; may be nil
	Cond     Conditions              // destination conditions at commit
	// ChecksumAlgorithm is the copy's checksum algorithm ("": the
	// source's), computed over the copied bytes.
	ChecksumAlgorithm string
	// Attrs, if set, returns the copy's attributes (Metadata.ACL, Tags,
	// lock) from the source version being copied; only those fields of
	// its result are used. nil: the attributes of the metadata copied
	// (Meta's, or the source's).
	Attrs func(src *Object) Metadata
	// SrcVersionID names the source version ("": the current one), with
	// the errors of HeadObjectVersion.
	SrcVersionID string
}

// ListOptions select a page of ListObjects.
type ListOptions struct {
	Prefix    string
	Delimiter string // "" for none; any string, not only "/"
	After     string // exclusive start: a key or a common prefix
	Limit     int    // 1..MaxListKeys; 0 means MaxListKeys
}

// ListPage is one page of a listing.
type ListPage struct {
	Objects        []Object
	CommonPrefixes []string
	Truncated      bool
	Next           string // the last key or prefix in this page
}

// UploadInput are the options of CreateMultipartUpload.
type UploadInput struct {
	Meta              Metadata
	ChecksumAlgorithm string // "" for none
	ChecksumType      string // FullObject or Composite when an algorithm is set
}

// CompletePart names a part in CompleteMultipartUpload.
type CompletePart struct {
	Number   int
	ETag     string // unquoted
	Checksum string // base64, if the client sent one: must match the part's
}

// CompleteInput are the options of CompleteMultipartUpload.
type CompleteInput struct {
	Cond Conditions
	// Encryption, if set, is the object's Metadata.Encryption instead of
	// the upload's (the gateway's sse package records the plaintext size).
	Encryption string
}

// Upload describes an in-progress multipart upload.
type Upload struct {
	Key               string
	UploadID          string
	Initiated         time.Time
	Meta              Metadata
	ChecksumAlgorithm string
	ChecksumType      string
}

// PartsPage is a page of ListParts.
type PartsPage struct {
	Upload    Upload
	Parts     []Part
	Truncated bool
	Next      int // last part number returned
}

// UploadsOptions select a page of ListMultipartUploads.
type UploadsOptions struct {
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	Limit          int // 0 means MaxListKeys
}

// UploadsPage is a page of ListMultipartUploads.
type UploadsPage struct {
	Uploads            []Upload
	CommonPrefixes     []string
	Truncated          bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// Usage is what an order stores. Objects counts every version of every
// object (noncurrent ones too), but not delete markers.
type Usage struct {
	Bytes   int64
	Objects int64
}
