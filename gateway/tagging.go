package gateway

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// Tag limits of S3.
const (
	maxObjectTags  = 10
	maxBucketTags  = 50
	maxTagKeyLen   = 128 // Unicode characters
	maxTagValueLen = 256
)

// tag is one key and value of a tag set.
type tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// taggingDoc is the Tagging document of the tagging operations.
type taggingDoc struct {
	XMLName xml.Name `xml:"Tagging"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Tags    []tag    `xml:"TagSet>Tag"`
}

// validateTags applies S3's rules to a tag set of an object (max 10) or a
// bucket (max 50).
func validateTags(tags []tag, max int, what string) error {
	if len(tags) > max {
		return s3err.InvalidTag.WithMessage("%s tags cannot be greater than %d", what, max)
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		switch {
		case t.Key == "":
			return s3err.InvalidTag.WithMessage("The TagKey you have provided is invalid")
		case utf8.RuneCountInString(t.Key) > maxTagKeyLen:
			return s3err.InvalidTag.WithMessage("The TagKey you have provided is too long, max %d", maxTagKeyLen)
		case utf8.RuneCountInString(t.Value) > maxTagValueLen:
			return s3err.InvalidTag.WithMessage("The TagValue you have provided is too long, max %d", maxTagValueLen)
		case !validTagText(t.Key):
			return s3err.InvalidTag.WithMessage("The TagKey you have provided is invalid")
		case !validTagText(t.Value):
			return s3err.InvalidTag.WithMessage("The TagValue you have provided is invalid")
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return s3err.InvalidTag.WithMessage("Your TagKey cannot be prefixed with aws:")
		case seen[t.Key]:
			return s3err.InvalidTag.WithMessage("Cannot provide multiple Tags with the same key")
		}
		seen[t.Key] = true
	}
	return nil
}

// validTagText reports whether s holds only what S3 allows in tags:
// letters, digits, spaces and + - = . _ : / @ (valid UTF-8).
func validTagText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsSpace(r) && !strings.ContainsRune("+-=._:/@", r) {
			return false
		}
	}
	return true
}

// encodeTags is the stored form of a tag set: x-amz-tagging's URL query
// encoding, in the order given ("" for no tags).
func encodeTags(tags []tag) string {
	var b strings.Builder
	for i, t := range tags {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(t.Key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(t.Value))
	}
	return b.String()
}

// errTaggingEncoding is S3's answer to an x-amz-tagging header that is not
// a query string of distinct, named tags.
var errTaggingEncoding = s3err.InvalidArgument.WithMessage("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")

// decodeTags parses a URL-encoded tag set (stored, or x-amz-tagging) as a
// query string: empty parameters ("a=1&&b=2") are skipped, a nameless one
// ("=v"), a bad escape or a repeated name is InvalidArgument.
func decodeTags(s string) ([]tag, error) {
	var tags []tag
	seen := make(map[string]bool)
	for pair := range strings.SplitSeq(s, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || key == "" || seen[key] {
			return nil, errTaggingEncoding
		}
		seen[key] = true
		tags = append(tags, tag{key, val})
	}
	return tags, nil
}

// tagsFromHeader returns the stored form of the x-amz-tagging header of a
// write ("" when absent), validated as an object's tag set.
func tagsFromHeader(hdr http.Header) (string, error) {
	v := hdr.Get("x-amz-tagging")
	if v == "" {
		return "", nil
	}
	tags, err := decodeTags(v)
	if err != nil {
		return "", err
	}
	if err := validateTags(tags, maxObjectTags, "Object"); err != nil {
		return "", err
	}
	return encodeTags(tags), nil
}

// copyTags returns the tags of a copy: the source's (x-amz-tagging-directive
// COPY, the default) or the request's (REPLACE).
func copyTags(hdr http.Header) (func(src *store.Object) string, error) {
	switch d := hdr.Get("x-amz-tagging-directive"); d {
	case "", "COPY":
		return func(src *store.Object) string { return src.Meta.Tags }, nil
	case "REPLACE":
		tags, err := tagsFromHeader(hdr)
		if err != nil {
			return nil, err
		}
		return func(*store.Object) string { return tags }, nil
	default:
		return nil, s3err.InvalidArgument.WithMessage("Unknown tagging directive.")
	}
}

// writeTaggingCount sets x-amz-tagging-count for an object with tags.
func writeTaggingCount(hdr http.Header, m *store.Metadata) {
	if m.Tags != "" {
		hdr.Set("x-amz-tagging-count", strconv.Itoa(strings.Count(m.Tags, "&")+1))
	}
}

// readTagging reads and validates a Tagging request document.
func (h *Handler) readTagging(r *http.Request, rc *reqContext, max int, what string) ([]tag, error) {
	body, err := h.readXMLBody(r, rc, maxSmallXML, true)
	if err != nil {
		return nil, err
	}
	return parseTagging(body, max, what)
}

// parseTagging parses and validates a Tagging document (a request body, or
// a browser upload's tagging field).
func parseTagging(body []byte, max int, what string) ([]tag, error) {
	var doc taggingDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, s3err.MalformedXML
	}
	if err := validateTags(doc.Tags, max, what); err != nil {
		return nil, err
	}
	return doc.Tags, nil
}

// writeTagging answers a tag set in its stored form.
func writeTagging(w http.ResponseWriter, stored string) error {
	tags, err := decodeTags(stored)
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, taggingDoc{NS: s3NS, Tags: tags})
	return nil
}

func (h *Handler) getObjectTagging(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	versionID, err := versionParam(r)
	if err != nil {
		return err
	}
	obj, err := h.opts.Store.HeadObjectVersion(r.Context(), rc.bucket, rc.key, versionID)
	if err != nil {
		return err
	}
	setVersionHeader(w.Header(), obj.VersionID)
	return writeTagging(w, obj.Meta.Tags)
}

func (h *Handler) putObjectTagging(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	tags, err := h.readTagging(r, rc, maxObjectTags, "Object")
	if err != nil {
		return err
	}
	return h.setObjectTags(w, r, rc, encodeTags(tags), http.StatusOK)
}

func (h *Handler) deleteObjectTagging(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	return h.setObjectTags(w, r, rc, "", http.StatusNoContent)
}

// setObjectTags replaces the tags of the key's current version (or of
// the version versionId names), charging what they add to the order.
func (h *Handler) setObjectTags(w http.ResponseWriter, r *http.Request, rc *reqContext, tags string, status int) error {
	versionID, err := versionParam(r)
	if err != nil {
		return err
	}
	release, err := h.reserve(r.Context(), rc, int64(len(tags)), nil)
	if err != nil {
		return err
	}
	defer release()
	obj, err := h.opts.Store.UpdateObjectVersion(r.Context(), rc.bucket, rc.key, versionID, func(o *store.Object) error {
		o.Meta.Tags = tags
		return nil
	})
	if err != nil {
		return err
	}
	setVersionHeader(w.Header(), obj.VersionID)
	w.WriteHeader(status)
	return nil
}

func (h *Handler) getBucketTagging(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	doc, err := h.bucketConfig(r.Context(), rc.bucket, store.ConfigTagging, s3err.NoSuchTagSet)
	if err != nil {
		return err
	}
	return writeTagging(w, string(doc))
}

func (h *Handler) putBucketTagging(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	tags, err := h.readTagging(r, rc, maxBucketTags, "Bucket")
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		return h.deleteBucketTagging(w, r, rc)
	}
	if err := h.putBucketConfig(r.Context(), rc, store.ConfigTagging, []byte(encodeTags(tags))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) deleteBucketTagging(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if err := h.opts.Store.DeleteBucketConfig(r.Context(), rc.bucket, store.ConfigTagging); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
