package console

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Bounds of the object endpoints.
const (
	defaultPageSize = 200
	maxCount        = 100000           // objects counted before a folder delete
	maxPartURLs     = 100              // presigned part URLs per call
	transferLife    = time.Hour        // lifetime of upload and part URLs
	downloadLife    = 15 * time.Minute // lifetime of a download URL
	maxShareLife    = 7 * 24 * time.Hour
)

type bucketInfo struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

func (cl *call) listBuckets() (any, error) {
	out, err := cl.s3.ListBuckets(cl.ctx, &s3.ListBucketsInput{})
	if err != nil {
		return nil, err
	}
	list := make([]bucketInfo, 0, len(out.Buckets))
	for _, b := range out.Buckets {
		list = append(list, bucketInfo{Name: aws.ToString(b.Name), Created: aws.ToTime(b.CreationDate)})
	}
	return map[string]any{"buckets": list}, nil
}

// target names a bucket, and for some endpoints a key or prefix.
type target struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key,omitempty"`
	Prefix string `json:"prefix,omitempty"`
}

func (cl *call) createBucket() (any, error) {
	var t target
	if err := cl.decode(&t); err != nil {
		return nil, err
	}
	_, err := cl.s3.CreateBucket(cl.ctx, &s3.CreateBucketInput{Bucket: aws.String(t.Bucket)})
	return struct{}{}, err
}

func (cl *call) deleteBucket() (any, error) {
	var t target
	if err := cl.decode(&t); err != nil {
		return nil, err
	}
	_, err := cl.s3.DeleteBucket(cl.ctx, &s3.DeleteBucketInput{Bucket: aws.String(t.Bucket)})
	return struct{}{}, err
}

type objectInfo struct {
	Key      string    `json:"key"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	ETag     string    `json:"etag"`
}

type listing struct {
	Folders []string     `json:"folders"`
	Objects []objectInfo `json:"objects"`
	Next    string       `json:"next,omitempty"`
}

// listObjects lists one page of a folder: ?bucket=&prefix=&token=&max=.
func (cl *call) listObjects() (any, error) {
	q := cl.r.URL.Query()
	maxKeys := min(atoi(q.Get("max"), defaultPageSize), 1000)
	in := &s3.ListObjectsV2Input{Bucket: aws.String(q.Get("bucket")), Prefix: aws.String(q.Get("prefix")),
		Delimiter: aws.String("/"), MaxKeys: aws.Int32(int32(max(maxKeys, 1)))}
	if tok := q.Get("token"); tok != "" {
		in.ContinuationToken = aws.String(tok)
	}
	out, err := cl.s3.ListObjectsV2(cl.ctx, in)
	if err != nil {
		return nil, err
	}
	l := listing{Folders: []string{}, Objects: make([]objectInfo, 0, len(out.Contents))}
	for _, p := range out.CommonPrefixes {
		l.Folders = append(l.Folders, aws.ToString(p.Prefix))
	}
	for _, o := range out.Contents {
		l.Objects = append(l.Objects, objectInfo{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size),
			Modified: aws.ToTime(o.LastModified), ETag: aws.ToString(o.ETag)})
	}
	if aws.ToBool(out.IsTruncated) {
		l.Next = aws.ToString(out.NextContinuationToken)
	}
	return l, nil
}

// headObject returns an object's details: ?bucket=&key=.
func (cl *call) headObject() (any, error) {
	q := cl.r.URL.Query()
	out, err := cl.s3.HeadObject(cl.ctx, &s3.HeadObjectInput{Bucket: aws.String(q.Get("bucket")), Key: aws.String(q.Get("key")),
		ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		return nil, err
	}
	sums := map[string]string{}
	for name, v := range map[string]*string{"CRC32": out.ChecksumCRC32, "CRC32C": out.ChecksumCRC32C,
		"CRC64NVME": out.ChecksumCRC64NVME, "SHA1": out.ChecksumSHA1, "SHA256": out.ChecksumSHA256,
		"SHA512": out.ChecksumSHA512, "MD5": out.ChecksumMD5, "XXHASH64": out.ChecksumXXHASH64,
		"XXHASH3": out.ChecksumXXHASH3, "XXHASH128": out.ChecksumXXHASH128} {
		if v != nil {
			sums[name] = *v
		}
	}
	tags := map[string]string{}
	tt, err := cl.s3.GetObjectTagging(cl.ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(q.Get("bucket")), Key: aws.String(q.Get("key"))})
	if err != nil && !notImplemented(err) {
		return nil, err
	}
	if err == nil {
		for _, t := range tt.TagSet {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	versions, err := cl.versions(q.Get("bucket"), q.Get("key"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"key": q.Get("key"), "size": aws.ToInt64(out.ContentLength), "modified": aws.ToTime(out.LastModified),
		"etag": aws.ToString(out.ETag), "contentType": aws.ToString(out.ContentType), "metadata": out.Metadata,
		"checksums": sums, "tags": tags, "versionId": aws.ToString(out.VersionId), "versions": versions}, nil
}

// notImplemented reports whether err is the gateway's 501 NotImplemented
// (an operation the store does not support).
func notImplemented(err error) bool {
	var se smithy.APIError
	return errors.As(err, &se) && se.ErrorCode() == "NotImplemented"
}

// maxVersions bounds the versions listed in an object's details.
const maxVersions = 100

type versionInfo struct {
	ID           string    `json:"id"`
	Size         int64     `json:"size"`
	Modified     time.Time `json:"modified"`
	Latest       bool      `json:"latest"`
	DeleteMarker bool      `json:"deleteMarker"`
}

// versions lists the versions of key (and its delete markers), newest
// first, up to maxVersions; none when the bucket was never versioned
// (its only version is "null").
func (cl *call) versions(bucket, key string) ([]versionInfo, error) {
	out, err := cl.s3.ListObjectVersions(cl.ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key),
		MaxKeys: aws.Int32(maxVersions)})
	if notImplemented(err) {
		return []versionInfo{}, nil
	}
	if err != nil {
		return nil, err
	}
	list := []versionInfo{}
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key {
			list = append(list, versionInfo{ID: aws.ToString(v.VersionId), Size: aws.ToInt64(v.Size),
				Modified: aws.ToTime(v.LastModified), Latest: aws.ToBool(v.IsLatest)})
		}
	}
	for _, d := range out.DeleteMarkers {
		if aws.ToString(d.Key) == key {
			list = append(list, versionInfo{ID: aws.ToString(d.VersionId), Modified: aws.ToTime(d.LastModified),
				Latest: aws.ToBool(d.IsLatest), DeleteMarker: true})
		}
	}
	if len(list) == 1 && list[0].ID == "null" {
		return []versionInfo{}, nil
	}
	slices.SortStableFunc(list, func(a, b versionInfo) int { return b.Modified.Compare(a.Modified) })
	return list, nil
}

// countPrefix counts the objects under a prefix (up to maxCount):
// ?bucket=&prefix=.
func (cl *call) countPrefix() (any, error) {
	q := cl.r.URL.Query()
	n, more := 0, false
	err := cl.eachPage(q.Get("bucket"), q.Get("prefix"), func(objs []types.Object) bool {
		n += len(objs)
		more = n >= maxCount
		return !more
	})
	return map[string]any{"count": n, "more": more}, err
}

// eachPage calls fn with each page of the objects under prefix until it
// returns false.
func (cl *call) eachPage(bucket, prefix string, fn func([]types.Object) bool) error {
	p := s3.NewListObjectsV2Paginator(cl.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		out, err := p.NextPage(cl.ctx)
		if err != nil {
			return err
		}
		if !fn(out.Contents) {
			return nil
		}
	}
	return nil
}

type deleteRequest struct {
	Bucket string   `json:"bucket"`
	Keys   []string `json:"keys"`
}

// deleteKeys deletes up to 1000 objects.
func (cl *call) deleteKeys() (any, error) {
	var d deleteRequest
	if err := cl.decode(&d); err != nil {
		return nil, err
	}
	if len(d.Keys) == 0 || len(d.Keys) > 1000 {
		return nil, badRequest("Give 1 to 1000 keys to delete.")
	}
	ids := make([]types.ObjectIdentifier, len(d.Keys))
	for i, k := range d.Keys {
		ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
	}
	if err := cl.deleteIDs(d.Bucket, ids); err != nil {
		return nil, err
	}
	return map[string]any{"deleted": len(d.Keys)}, nil
}

// deleteIDs deletes the objects with one DeleteObjects; a key it could
// not delete makes it fail with that key's error.
func (cl *call) deleteIDs(bucket string, ids []types.ObjectIdentifier) error {
	out, err := cl.s3.DeleteObjects(cl.ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket),
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
	if err != nil {
		return err
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		status := http.StatusInternalServerError
		if aws.ToString(e.Code) == "AccessDenied" {
			status = http.StatusForbidden
		}
		return &apiError{Status: status, Code: aws.ToString(e.Code),
			Message: fmt.Sprintf("%d objects could not be deleted; %s: %s", len(out.Errors), aws.ToString(e.Key), aws.ToString(e.Message))}
	}
	return nil
}

// deletePrefix deletes every object under a folder's prefix.
func (cl *call) deletePrefix() (any, error) {
	var t target
	if err := cl.decode(&t); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(t.Prefix, "/") {
		return nil, badRequest("A folder's prefix ends with '/'.")
	}
	n := 0
	var derr error
	err := cl.eachPage(t.Bucket, t.Prefix, func(objs []types.Object) bool {
		if len(objs) == 0 {
			return true
		}
		ids := make([]types.ObjectIdentifier, len(objs))
		for i, o := range objs {
			ids[i] = types.ObjectIdentifier{Key: o.Key}
		}
		if derr = cl.deleteIDs(t.Bucket, ids); derr != nil {
			return false
		}
		n += len(ids)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"deleted": n}, nil
}

// createFolder makes the empty object "<prefix>" that shows as a folder.
func (cl *call) createFolder() (any, error) {
	var t target
	if err := cl.decode(&t); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(t.Prefix, "/") || strings.Trim(t.Prefix, "/") == "" {
		return nil, badRequest("A folder's name is not empty and its prefix ends with '/'.")
	}
	_, err := cl.s3.PutObject(cl.ctx, &s3.PutObjectInput{Bucket: aws.String(t.Bucket), Key: aws.String(t.Prefix),
		Body: strings.NewReader(""), ContentLength: aws.Int64(0)})
	return struct{}{}, err
}

// presigner returns a presign client whose URLs are for the origin the
// browser reached the console on (so they are same-origin, and signed
// for the Host the browser sends).
func (cl *call) presigner() *s3.PresignClient {
	base := cl.scheme() + "://" + cl.r.Host
	return s3.NewPresignClient(cl.s3, func(o *s3.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, func(so *s3.Options) { so.BaseEndpoint = aws.String(base) })
	})
}

type uploadRequest struct {
	Bucket      string `json:"bucket"`
	Key         string `json:"key"`
	Size        int64  `json:"size"`
	ContentType string `json:"contentType,omitempty"`
}

// fits refuses an upload of size bytes the order has no room for now (the
// gateway refuses it anyway; this says so before the bytes are sent).
func (cl *call) fits(size int64) error {
	u, err := cl.c.gw.Usage(cl.ctx)
	if err != nil {
		return err
	}
	if u.Capacity > 0 && u.Bytes+u.Reserved+size > u.Capacity {
		return &apiError{Status: http.StatusForbidden, Code: "QuotaExceeded",
			Message: fmt.Sprintf("%d bytes do not fit: the order has %d of %d bytes free.", size, max(u.Capacity-u.Bytes-u.Reserved, 0), u.Capacity)}
	}
	return nil
}

func urlOf(req *v4.PresignedHTTPRequest, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return map[string]any{"url": req.URL}, nil
}

// presignPut mints the URL of a single-request upload.
func (cl *call) presignPut() (any, error) {
	var u uploadRequest
	if err := cl.decode(&u); err != nil {
		return nil, err
	}
	if err := cl.fits(u.Size); err != nil {
		return nil, err
	}
	return urlOf(cl.presigner().PresignPutObject(cl.ctx, &s3.PutObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)},
		s3.WithPresignExpires(transferLife)))
}

func (cl *call) createMultipart() (any, error) {
	var u uploadRequest
	if err := cl.decode(&u); err != nil {
		return nil, err
	}
	if err := cl.fits(u.Size); err != nil {
		return nil, err
	}
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)}
	if _, _, err := mime.ParseMediaType(u.ContentType); err == nil {
		in.ContentType = aws.String(u.ContentType)
	}
	out, err := cl.s3.CreateMultipartUpload(cl.ctx, in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"uploadId": aws.ToString(out.UploadId)}, nil
}

type partsRequest struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	UploadID string `json:"uploadId"`
	Parts    []int  `json:"parts,omitempty"`
	Done     []struct {
		Number int    `json:"partNumber"`
		ETag   string `json:"etag"`
	} `json:"done,omitempty"`
}

// presignParts mints the URLs of some of an upload's parts.
func (cl *call) presignParts() (any, error) {
	var p partsRequest
	if err := cl.decode(&p); err != nil {
		return nil, err
	}
	if len(p.Parts) == 0 || len(p.Parts) > maxPartURLs {
		return nil, badRequest("Ask for 1 to %d part URLs.", maxPartURLs)
	}
	pc := cl.presigner()
	urls := make(map[int]string, len(p.Parts))
	for _, n := range p.Parts {
		if n < 1 || n > 10000 {
			return nil, badRequest("Part numbers are 1 to 10000.")
		}
		req, err := pc.PresignUploadPart(cl.ctx, &s3.UploadPartInput{Bucket: aws.String(p.Bucket), Key: aws.String(p.Key),
			UploadId: aws.String(p.UploadID), PartNumber: aws.Int32(int32(n))}, s3.WithPresignExpires(transferLife))
		if err != nil {
			return nil, err
		}
		urls[n] = req.URL
	}
	return map[string]any{"urls": urls}, nil
}

func (cl *call) completeMultipart() (any, error) {
	var p partsRequest
	if err := cl.decode(&p); err != nil {
		return nil, err
	}
	parts := make([]types.CompletedPart, len(p.Done))
	for i, d := range p.Done {
		parts[i] = types.CompletedPart{PartNumber: aws.Int32(int32(d.Number)), ETag: aws.String(d.ETag)}
	}
	_, err := cl.s3.CompleteMultipartUpload(cl.ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(p.Bucket), Key: aws.String(p.Key),
		UploadId: aws.String(p.UploadID), MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	return struct{}{}, err
}

func (cl *call) abortMultipart() (any, error) {
	var p partsRequest
	if err := cl.decode(&p); err != nil {
		return nil, err
	}
	_, err := cl.s3.AbortMultipartUpload(cl.ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(p.Bucket), Key: aws.String(p.Key),
		UploadId: aws.String(p.UploadID)})
	return struct{}{}, err
}

type linkRequest struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// VersionID names a version other than the current one.
	VersionID string `json:"versionId,omitempty"`
	// Seconds is a share link's lifetime; 0 asks for a download URL.
	Seconds int64 `json:"seconds,omitempty"`
}

// link mints a presigned GET: a download (short-lived, saved as a file)
// or a share link whose lifetime is at most 7 days and never past the
// order's expiry.
func (cl *call) link() (any, error) {
	var l linkRequest
	if err := cl.decode(&l); err != nil {
		return nil, err
	}
	in := &s3.GetObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(l.Key)}
	if l.VersionID != "" {
		in.VersionId = aws.String(l.VersionID)
	}
	life := downloadLife
	if l.Seconds == 0 {
		name := l.Key[strings.LastIndex(l.Key, "/")+1:]
		in.ResponseContentDisposition = aws.String(mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	} else {
		if l.Seconds < 1 || l.Seconds > int64(maxShareLife/time.Second) {
			return nil, badRequest("A share link lives 1 second to 7 days.")
		}
		life = time.Duration(l.Seconds) * time.Second
	}
	// The link must be usable: check the object exists for this key.
	if _, err := cl.s3.HeadObject(cl.ctx, &s3.HeadObjectInput{Bucket: in.Bucket, Key: in.Key, VersionId: in.VersionId}); err != nil {
		return nil, err
	}
	o, now := cl.c.gw.Order(), cl.c.opts.Now()
	end := o.Expires
	if l.Seconds == 0 && !end.IsZero() {
		end = end.Add(o.Grace) // downloads work in the grace period
	}
	if !end.IsZero() {
		left := end.Sub(now).Truncate(time.Second)
		if left < time.Second {
			return nil, &apiError{Status: http.StatusForbidden, Code: "AccessDenied", Message: o.ExpiredMessage() + " Links cannot outlive it."}
		}
		life = min(life, left)
	}
	req, err := cl.presigner().PresignGetObject(cl.ctx, in, s3.WithPresignExpires(life))
	if err != nil {
		return nil, err
	}
	return map[string]any{"url": req.URL, "expires": now.Add(life).UTC()}, nil
}
