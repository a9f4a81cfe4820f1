package gateway

import (
	"net/http"
	"strings"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

const metaPrefix = "x-amz-meta-"

// metadataFromRequest collects the stored metadata of a PutObject, CopyObject
// (REPLACE) or CreateMultipartUpload request.
func metadataFromRequest(hdr http.Header) (store.Metadata, error) {
	m := store.Metadata{
		ContentType:        hdr.Get("Content-Type"),
		ContentEncoding:    stripAWSChunked(hdr.Values("Content-Encoding")),
		ContentDisposition: hdr.Get("Content-Disposition"),
		ContentLanguage:    hdr.Get("Content-Language"),
		CacheControl:       hdr.Get("Cache-Control"),
		Expires:            hdr.Get("Expires"),
	}
	if sc := hdr.Get("x-amz-storage-class"); sc != "" {
		switch sc {
		case "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "OUTPOSTS", "EXPRESS_ONEZONE":
			if sc != "STANDARD" {
				m.StorageClass = sc
			}
		default:
			return m, s3err.InvalidStorageClass
		}
	}
	var err error
	user := 0
	for name, vals := range hdr {
		lower := strings.ToLower(name)
		k, ok := strings.CutPrefix(lower, metaPrefix)
		if !ok {
			continue
		}
		if m.User == nil {
			m.User = make(map[string]string)
		}
		v := strings.Join(vals, ",")
		m.User[k] = v
		user += len(k) + len(v)
	}
	if user > store.MaxUserMetaLen {
		return m, s3err.MetadataTooLarge.WithMessage("Your metadata headers exceed the maximum allowed metadata size of 2 KB.")
	}
	if n := m.Size(); n > store.MaxMetaLen {
		return m, s3err.MetadataTooLarge.WithMessage("Your metadata headers exceed the maximum allowed metadata size: %d bytes of Content-Type, Content-Disposition, Content-Encoding, Content-Language, Cache-Control, Expires and user metadata, at most 8 KB.", n)
	}
	if m.WebsiteRedirect, err = websiteRedirect(hdr); err != nil {
		return m, err
	}
	m.Tags, err = tagsFromHeader(hdr)
	return m, err
}

// stripAWSChunked removes the aws-chunked token, which describes the
// transfer framing, from Content-Encoding and keeps the rest as sent,
// separators included ("aws-chunked, deflate, gzip" is "deflate, gzip").
// Several header lines are one list, joined with ", ".
func stripAWSChunked(vals []string) string {
	var out []string
	for _, v := range vals {
		var kept []string
		for tok := range strings.SplitSeq(v, ",") {
			if !strings.EqualFold(strings.TrimSpace(tok), "aws-chunked") {
				kept = append(kept, tok)
			}
		}
		if v := strings.TrimSpace(strings.Join(kept, ",")); v != "" {
			out = append(out, v)
		}
	}
	return strings.Join(out, ", ")
}

// writeMetadata sets an object's metadata headers. User metadata names go
// out in lower case, as AWS sends them (assigned directly to bypass Go's
// header canonicalisation).
func writeMetadata(hdr http.Header, m store.Metadata) {
	ct := m.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	hdr.Set("Content-Type", ct)
	set := func(k, v string) {
		if v != "" {
			hdr.Set(k, v)
		}
	}
	set("Content-Encoding", m.ContentEncoding)
	set("Content-Disposition", m.ContentDisposition)
	set("Content-Language", m.ContentLanguage)
	set("Cache-Control", m.CacheControl)
	set("Expires", m.Expires)
	set("x-amz-storage-class", m.StorageClass)
	set("x-amz-website-redirect-location", m.WebsiteRedirect)
	for k, v := range m.User {
		hdr[metaPrefix+k] = []string{v}
	}
	writeTaggingCount(hdr, &m)
	writeLockHeaders(hdr, &m)
}

// responseOverrides are the GetObject query parameters that override
// response headers.
var responseOverrides = [][2]string{
	{"response-content-type", "Content-Type"},
	{"response-content-language", "Content-Language"},
	{"response-expires", "Expires"},
	{"response-cache-control", "Cache-Control"},
	{"response-content-disposition", "Content-Disposition"},
	{"response-content-encoding", "Content-Encoding"},
}
