package gateway

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// encodingType returns the function that encodes names in a listing
// response: identity, or URL encoding for encoding-type=url.
func encodingType(q url.Values) (func(string) string, error) {
	switch q.Get("encoding-type") {
	case "":
		return func(s string) string { return s }, nil
	case "url":
		return s3URLEncode, nil
	}
	return nil, s3err.InvalidArgument.WithMessage("Invalid Encoding Method specified in Request")
}

// s3URLEncode encodes a key as S3 does for encoding-type=url: every byte
// but unreserved characters and '/' (AWS leaves '/' as is: "a b/c" comes
// back as "a+b/c"), spaces as %20 rather than AWS's '+' so that both unquote
// and unquote_plus decoders read it back.
func s3URLEncode(s string) string {
	s = strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
	return strings.ReplaceAll(s, "%2F", "/")
}

// encodeToken makes an opaque V2 continuation token for a resume point.
func encodeToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + after))
}

// decodeToken reverses encodeToken; ok is false for a token we did not make.
func decodeToken(tok string) (after string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(b), "v1:")
}

// storageClass is the storage class listings show for m.
func storageClass(m store.Metadata) string {
	if m.StorageClass == "" {
		return "STANDARD"
	}
	return m.StorageClass
}

// listing are the parameters common to both ListObjects versions.
type listing struct {
	prefix, delimiter string
	maxKeys           int
	encType           string
	enc               func(string) string
}

func parseListing(q url.Values) (listing, error) {
	enc, err := encodingType(q)
	if err != nil {
		return listing{}, err
	}
	maxKeys, err := intParam(q.Get("max-keys"), store.MaxListKeys, store.MaxListKeys, "max-keys")
	if err != nil {
		return listing{}, err
	}
	return listing{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), maxKeys: maxKeys, encType: q.Get("encoding-type"), enc: enc}, nil
}

// page lists one page and fills the common fields of the response.
func (h *Handler) page(r *http.Request, bucket string, l listing, after string, withOwner bool, res *listBucketResult) (*store.ListPage, error) {
	res.NS, res.Name, res.Prefix, res.Delimiter, res.MaxKeys = s3NS, bucket, l.enc(l.prefix), l.enc(l.delimiter), l.maxKeys
	res.EncodingType = l.encType
	if l.maxKeys == 0 {
		if _, err := h.opts.Store.HeadBucket(r.Context(), bucket); err != nil {
			return nil, err
		}
		return &store.ListPage{}, nil
	}
	page, err := h.opts.Store.ListObjects(r.Context(), bucket, store.ListOptions{Prefix: l.prefix,
		Delimiter: l.delimiter, After: after, Limit: l.maxKeys})
	if err != nil {
		return nil, err
	}
	res.IsTruncated = page.Truncated
	for _, o := range page.Objects {
		e := objectEntry{Key: l.enc(o.Key), LastModified: timeISO(o.LastModified), ETag: quoteETag(o.ETag),
			Size: o.Size, StorageClass: storageClass(o.Meta), ChecksumAlgorithm: o.Checksum.Algorithm, ChecksumType: o.Checksum.Type}
		if withOwner {
			ow := h.owner
			e.Owner = &ow
		}
		res.Contents = append(res.Contents, e)
	}
	for _, p := range page.CommonPrefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: l.enc(p)})
	}
	return page, nil
}

func (h *Handler) listObjectsV1(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	q := r.URL.Query()
	l, err := parseListing(q)
	if err != nil {
		return err
	}
	marker := q.Get("marker")
	var res listBucketResult
	encMarker := l.enc(marker)
	res.Marker = &encMarker
	page, err := h.page(r, rc.bucket, l, marker, true, &res)
	if err != nil {
		return err
	}
	if page.Truncated && l.delimiter != "" {
		res.NextMarker = l.enc(page.Next)
	}
	writeListXML(w, &res)
	return nil
}

func (h *Handler) listObjectsV2(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	q := r.URL.Query()
	l, err := parseListing(q)
	if err != nil {
		return err
	}
	var res listBucketResult
	after := q.Get("start-after")
	res.StartAfter = l.enc(after)
	if _, ok := q["continuation-token"]; ok {
		// An empty token (continuation-token=) is a listing from the
		// start, as on S3; it is echoed like any other.
		tok := q.Get("continuation-token")
		res.ContinuationToken = &tok
		if tok != "" {
			a, ok := decodeToken(tok)
			if !ok {
				return s3err.InvalidArgument.WithMessage("The continuation token provided is incorrect")
			}
			after = max(after, a)
		}
	}
	page, err := h.page(r, rc.bucket, l, after, q.Get("fetch-owner") == "true", &res)
	if err != nil {
		return err
	}
	n := len(page.Objects) + len(page.CommonPrefixes)
	res.KeyCount = &n
	if page.Truncated {
		res.NextContinuationToken = encodeToken(page.Next)
	}
	writeListXML(w, &res)
	return nil
}
