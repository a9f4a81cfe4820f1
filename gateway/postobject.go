package gateway

import (
	"encoding/xml"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/lambda/storagecli/gateway/payload"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/sigv4"
	"github.com/lambda/storagecli/gateway/store"
)

// Bounds of a browser upload's form before its file.
const (
	// maxPostFieldBytes bounds the form fields (names and values)
	// preceding the file: 20 KB, as AWS.
	maxPostFieldBytes = 20 << 10
	// maxPostFields bounds how many fields precede the file.
	maxPostFields = 128
	// maxPostPreamble bounds the raw bytes read before the file's content
	// (fields, part headers, boundaries, and what the multipart reader
	// buffers ahead).
	maxPostPreamble = 64 << 10
)

// The errors of POST Object, as AWS answers them.
var (
	errMalformedPOST = &s3err.Error{Code: "MalformedPOSTRequest", Status: http.StatusBadRequest,
		Message: "The body of your POST request is not well-formed multipart/form-data."}
	errPostPreDataTooLarge = &s3err.Error{Code: "MaxPostPreDataLengthExceeded", Status: http.StatusBadRequest,
		Message: "Your POST request fields preceding the upload file were too large."}
	errPostFileCount = s3err.InvalidArgument.WithMessage("POST requires exactly one file upload per request.")
	errPostAnonymous = s3err.AccessDenied.WithMessage("Anonymous POST uploads are not allowed; the form must carry a policy signed with AWS Signature Version 4.")
)

// isPostForm selects POST Object: a POST to a bucket whose body is an HTML
// form (multipart/form-data).
func isPostForm(r *http.Request) bool {
	mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(mt), "multipart/form-data")
}

// postForm is a browser upload's form, read up to its file, authenticated
// and checked against its policy.
type postForm struct {
	fields map[string]string // lower-case names; "key" with ${filename} substituted
	file   io.Reader         // the file's content, the size bounds applied
}

// postFieldError names a missing form field as AWS does.
func postFieldError(name string) error {
	return s3err.InvalidArgument.WithMessage("Bucket POST must contain a field named '%s'.  If it is specified, please check the order of the fields.", name)
}

// readPostForm authenticates a browser upload (POST Object) by its form: it
// reads the fields preceding the file (bounded in size and count; fields
// after the file are ignored, as AWS documents), verifies the policy's
// signature and checks the form against the policy. It leaves the body
// positioned at the file's first byte in rc.post and sets rc.key. Only the
// route table calls it (routes whose perm is permPostPolicy), in place of
// the header or query authentication.
func (h *Handler) readPostForm(r *http.Request, rc *reqContext, v sigv4.Verifier) (*sigv4.Auth, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, errMalformedPOST
	}
	src := &preambleReader{r: rc.body, left: maxPostPreamble}
	fields, file, err := readPostFields(multipart.NewReader(src, params["boundary"]))
	if err != nil {
		return nil, err
	}
	src.lift()
	key, ok := fields["key"]
	if !ok {
		return nil, postFieldError("key")
	}
	auth, err := verifyPostFields(v, fields)
	if err != nil {
		return nil, err
	}
	pol, err := parsePostPolicy(fields["policy"])
	if err != nil {
		return nil, err
	}
	fields["key"] = strings.ReplaceAll(key, "${filename}", file.FileName())
	fields["bucket"] = rc.bucket
	if err := pol.check(h.opts.Now(), fields); err != nil {
		return nil, err
	}
	if fields["key"] == "" {
		return nil, s3err.InvalidArgument.WithMessage("User key must have a length greater than 0.")
	}
	rc.key = fields["key"]
	lr := &lengthRange{r: file, max: store.MaxPartSize}
	if pol.hasLen {
		lr.min, lr.max = pol.minLen, min(pol.maxLen, lr.max)
	}
	rc.post = &postForm{fields: fields, file: lr}
	return auth, nil
}

// readPostFields reads the form's fields up to its file part.
func readPostFields(mr *multipart.Reader) (map[string]string, *multipart.Part, error) {
	fields := make(map[string]string)
	size := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, nil, errPostFileCount
		}
		if err != nil {
			return nil, nil, postReadError(err)
		}
		name := strings.ToLower(part.FormName())
		switch {
		case name == "file":
			return fields, part, nil
		case name == "":
			return nil, nil, errMalformedPOST
		case len(fields) == maxPostFields:
			return nil, nil, errPostPreDataTooLarge
		}
		if _, dup := fields[name]; dup {
			return nil, nil, s3err.InvalidArgument.WithMessage("The form field %s appears more than once.", clipped(name))
		}
		val, err := io.ReadAll(io.LimitReader(part, int64(maxPostFieldBytes-size+1)))
		if err != nil {
			return nil, nil, postReadError(err)
		}
		if size += len(name) + len(val); size > maxPostFieldBytes {
			return nil, nil, errPostPreDataTooLarge
		}
		fields[name] = string(val)
	}
}

// postReadError is the answer to a form that could not be read: the
// body's own error (a timeout, a bound) or, for what the multipart reader
// could not parse, MalformedPOSTRequest.
func postReadError(err error) error {
	if e := s3err.As(err); e != nil {
		return e
	}
	return errMalformedPOST
}

// verifyPostFields authenticates the form by its SigV4 fields.
func verifyPostFields(v sigv4.Verifier, fields map[string]string) (*sigv4.Auth, error) {
	if _, ok := fields["awsaccesskeyid"]; ok {
		return nil, sigv4.ErrSignatureV2
	}
	if _, ok := fields["signature"]; ok {
		return nil, sigv4.ErrSignatureV2
	}
	_, hasPolicy := fields["policy"]
	_, hasSig := fields["x-amz-signature"]
	if !hasPolicy && !hasSig {
		return nil, errPostAnonymous
	}
	for _, name := range []string{"policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"} {
		if _, ok := fields[name]; !ok {
			return nil, postFieldError(name)
		}
	}
	return v.VerifyPost(sigv4.PostForm{Algorithm: fields["x-amz-algorithm"], Credential: fields["x-amz-credential"],
		Date: fields["x-amz-date"], Signature: fields["x-amz-signature"], Policy: fields["policy"]})
}

// preambleReader bounds what is read of the body until lift is called.
type preambleReader struct {
	r      io.Reader
	left   int64
	lifted bool
}

func (p *preambleReader) Read(b []byte) (int, error) {
	if p.lifted {
		return p.r.Read(b)
	}
	if p.left <= 0 {
		return 0, errPostPreDataTooLarge
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, err := p.r.Read(b)
	p.left -= int64(n)
	return n, err
}

func (p *preambleReader) lift() { p.lifted = true }

// lengthRange enforces the size bounds of the file as it streams: the
// policy's content-length-range and the 5 GiB of a single upload.
type lengthRange struct {
	r           io.Reader
	n, min, max int64
}

func (l *lengthRange) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	if l.n += int64(n); l.n > l.max {
		return 0, s3err.EntityTooLarge.WithMessage("Your proposed upload exceeds the maximum allowed size (%d bytes).", l.max)
	}
	if err == io.EOF && l.n < l.min {
		return n, s3err.EntityTooSmall.WithMessage("Your proposed upload is smaller than the minimum allowed size (%d bytes).", l.min)
	}
	return n, err
}

// postHeaderFields are the form fields that stand for PutObject's standard
// headers; every x-amz-* field but those of the signature does too.
var postHeaderFields = map[string]string{
	"cache-control": "Cache-Control", "content-type": "Content-Type", "content-disposition": "Content-Disposition",
	"content-encoding": "Content-Encoding", "content-language": "Content-Language", "expires": "Expires",
	"content-md5": "Content-Md5", "acl": "X-Amz-Acl",
	"x-amz-checksum-algorithm": "X-Amz-Sdk-Checksum-Algorithm",
}

// header returns the form's fields as the PutObject request headers they
// stand for, so that they are honoured or refused exactly as those. The
// tagging field is a Tagging document; it becomes x-amz-tagging.
func (f *postForm) header() (http.Header, error) {
	hdr := make(http.Header)
	if doc, ok := f.fields["tagging"]; ok {
		tags, err := parseTagging([]byte(doc), maxObjectTags, "Object")
		if err != nil {
			return nil, err
		}
		if len(tags) > 0 {
			hdr.Set("X-Amz-Tagging", encodeTags(tags))
		}
	}
	for name, v := range f.fields {
		switch {
		case postHeaderFields[name] != "":
			hdr[postHeaderFields[name]] = []string{v}
		case strings.HasPrefix(name, "x-amz-") && !postAuthFields[name]:
			hdr[textproto.CanonicalMIMEHeaderKey(name)] = []string{v}
		}
	}
	return hdr, nil
}

// postAuthFields are the signature's own fields.
var postAuthFields = map[string]bool{"x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true,
	"x-amz-signature": true, "x-amz-security-token": true}

// postResponse is the document of a 201 answer.
type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string
	Bucket   string
	Key      string
	ETag     string
}

// postObject serves POST Object: the form's file is stored as PutObject
// stores a body (streamed, verified, charged to the order), with the
// form's fields as its headers.
func (h *Handler) postObject(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	f := rc.post
	hdr, err := f.header()
	if err != nil {
		return err
	}
	if err := refuseUnsupported(hdr, "PutObject"); err != nil {
		return err
	}
	if err := h.authorizeACLHeaders(r, rc, hdr); err != nil {
		return err
	}
	meta, err := metadataFromRequest(hdr)
	if err != nil {
		return err
	}
	meta.ACL = rc.access.reqACL.objectString()
	pr, err := payload.New(f.file, payload.Options{Header: hdr, ContentLength: -1, PayloadHash: payload.UnsignedPayload,
		RequireAlgorithm: defaultChecksum(hdr), SkipMD5: store.MakesETags(h.opts.Store)})
	if err != nil {
		return err
	}
	body, release, err := h.meterBody(r.Context(), rc, pr, -1, store.ObjectCost(rc.key, 0, h.chargedMeta(&meta)), h.replacedCost(rc))
	if err != nil {
		return err
	}
	defer release()
	obj, err := h.opts.Store.PutObject(r.Context(), rc.bucket, rc.key,
		store.PutInput{Body: body, Size: -1, Sums: pr.Sums, Meta: meta, ModTimeUnused: true})
	if err != nil {
		return err
	}
	etag := quoteETag(obj.ETag)
	loc := h.objectURL(r, rc)
	w.Header().Set("ETag", etag)
	w.Header().Set("Location", loc)
	setChecksumHeaders(w.Header(), obj.Checksum)
	setVersionHeader(w.Header(), obj.VersionID)
	if to := postRedirect(f.fields, rc.bucket, rc.key, etag); to != "" {
		w.Header().Set("Location", to)
		w.WriteHeader(http.StatusSeeOther)
		return nil
	}
	switch f.fields["success_action_status"] {
	case "200":
		w.WriteHeader(http.StatusOK)
	case "201":
		writeXML(w, http.StatusCreated, postResponse{Location: loc, Bucket: rc.bucket, Key: rc.key, ETag: etag})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// postRedirect returns where success_action_redirect (or the older
// redirect) sends the browser, with the bucket, key and ETag appended to
// its query; "" when there is none or S3 could not interpret it (then the
// status answers, as AWS does).
func postRedirect(fields map[string]string, bucket, key, etag string) string {
	raw, ok := fields["success_action_redirect"]
	if !ok {
		raw = fields["redirect"]
	}
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	q := url.Values{"bucket": {bucket}, "key": {key}, "etag": {etag}}.Encode()
	if u.RawQuery != "" {
		q = u.RawQuery + "&" + q
	}
	u.RawQuery = q
	return u.String()
}

// objectURL is the URL of rc's object as the client addressed the gateway
// (the key escaped as one segment, as AWS writes it).
func (h *Handler) objectURL(r *http.Request, rc *reqContext) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	p := "/" + url.PathEscape(rc.key)
	if !rc.vhost {
		p = "/" + rc.bucket + p
	}
	return scheme + "://" + r.Host + p
}
