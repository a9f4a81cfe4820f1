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
	errPostNotForm   = s3err.PreconditionFailed.WithMessage("At least one of the pre-conditions you specified did not hold (Bucket POST must be of the enclosure-type multipart/form-data).")
)

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
// signature and checks the form against the policy. A form without any
// of the signature's fields (nor a policy) is anonymous, as on AWS: the
// route table's access table then decides it like an anonymous PutObject
// (a bucket granting public write). It leaves the body positioned at the
// file's first byte in rc.post and sets rc.key. Only the route table
// calls it (routes whose perm is permPostPolicy), in place of the header
// or query authentication.
func (h *Handler) readPostForm(r *http.Request, rc *reqContext, v sigv4.Verifier) (*sigv4.Auth, error) {
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "multipart/form-data") {
		return nil, errPostNotForm
	}
	_, params, err := mime.ParseMediaType(ct)
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
	pol := &postPolicy{} // an anonymous form's: no conditions
	if auth.AccessKey != "" {
		if pol, err = parsePostPolicy(fields["policy"]); err != nil {
			return nil, err
		}
	}
	if name, ok := uploadName(file); ok {
		fields["key"] = strings.ReplaceAll(key, "${filename}", name)
	}
	_, formBucket := fields["bucket"]
	fields["bucket"] = rc.bucket
	if auth.AccessKey != "" {
		if err := pol.check(h.opts.Now(), fields, !formBucket); err != nil {
			return nil, err
		}
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
	for n := 0; ; n++ {
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
		case n == maxPostFields:
			return nil, nil, errPostPreDataTooLarge
		}
		val, err := io.ReadAll(io.LimitReader(part, int64(maxPostFieldBytes-size+1)))
		if err != nil {
			return nil, nil, postReadError(err)
		}
		if size += len(name) + len(val); size > maxPostFieldBytes {
			return nil, nil, errPostPreDataTooLarge
		}
		if prev, dup := fields[name]; dup {
			// Fields of the same name are one, their values separated by
			// commas (as AWS documents for policies).
			fields[name] = prev + "," + string(val)
			continue
		}
		fields[name] = string(val)
	}
}

// uploadName returns the name of the uploaded file for ${filename}: the
// file part's filename without any directory (after the last / or \), and
// false when the part has no filename parameter (S3 then keeps
// ${filename} as written).
func uploadName(file *multipart.Part) (string, bool) {
	_, params, err := mime.ParseMediaType(file.Header.Get("Content-Disposition"))
	name, ok := params["filename"]
	if err != nil || !ok {
		return "", false
	}
	return name[strings.LastIndexAny(name, `/\`)+1:], true
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

// postSigFields are the fields of a SigV4 form signature, as AWS names
// them when one is missing, in the order it checks them.
var postSigFields = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature", "Policy"}

// verifyPostFields authenticates the form by its SigV4 fields: all of them
// or, for an anonymous form, none (AWS: "Requests without a security
// policy are considered anonymous"; a policy requires the signature).
// An anonymous form's Auth has no access key.
func verifyPostFields(v sigv4.Verifier, fields map[string]string) (*sigv4.Auth, error) {
	if _, ok := fields["awsaccesskeyid"]; ok {
		return nil, sigv4.ErrSignatureV2
	}
	if _, ok := fields["signature"]; ok {
		return nil, sigv4.ErrSignatureV2
	}
	signed := false
	for _, name := range postSigFields {
		_, ok := fields[strings.ToLower(name)]
		signed = signed || ok
	}
	if !signed {
		return anonymousPost(), nil
	}
	for _, name := range postSigFields {
		if _, ok := fields[strings.ToLower(name)]; !ok {
			return nil, postFieldError(name)
		}
	}
	return v.VerifyPost(sigv4.PostForm{Algorithm: fields["x-amz-algorithm"], Credential: fields["x-amz-credential"],
		Date: fields["x-amz-date"], Signature: fields["x-amz-signature"], Policy: fields["policy"]})
}

// anonymousPost returns the Auth of an anonymous form: no key, and the
// file is not signed.
func anonymousPost() *sigv4.Auth {
	a, _ := sigv4.Anonymous(&http.Request{Header: http.Header{}})
	return a
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
		if _, both := f.fields["x-amz-tagging"]; both {
			// One would be dropped.
			return nil, s3err.InvalidArgument.WithMessage("A form's tags are its tagging field (a Tagging document) or its x-amz-tagging field, not both.")
		}
		tags, err := parseTagging([]byte(doc), maxObjectTags, "Object")
		if err != nil {
			return nil, err
		}
		if len(tags) > 0 {
			hdr.Set("X-Amz-Tagging", encodeTags(tags))
		}
	}
	for name, v := range f.fields {
		std := postHeaderFields[name]
		if std == "" && strings.HasPrefix(name, "x-amz-") && !postAuthFields[name] {
			std = textproto.CanonicalMIMEHeaderKey(name)
		}
		switch {
		case postBodyFields[name]:
			return nil, s3err.InvalidArgument.WithMessage("The form field %s describes a request body; a POST's file is described by Content-MD5 or x-amz-checksum-* fields.", name)
		case std == "":
		case !validHeaderValue(v):
			return nil, s3err.InvalidArgument.WithMessage("The form field %s holds control characters, which a header value cannot.", name)
		default:
			hdr[std] = []string{v}
		}
	}
	return hdr, nil
}

// postBodyFields describe a signed request body (x-amz-content-sha256,
// aws-chunked), which a form's file is not: ignoring them would accept a
// SHA-256 nobody checks.
var postBodyFields = map[string]bool{"x-amz-content-sha256": true, "x-amz-decoded-content-length": true}

// validHeaderValue reports whether v could be sent as a header value (no
// control characters but tab), as a form field standing for a header
// must: stored, it is answered as one.
func validHeaderValue(v string) bool {
	return !strings.ContainsFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f })
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

// postObject serves POST Object: the form's fields become the headers of
// a PutObject of the file, served by putObject itself (the one upload
// path: refusals, metadata, checksums, capacity, the store), whose answer
// is then given the form's success action.
func (h *Handler) postObject(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	f := rc.post
	hdr, err := f.header()
	if err != nil {
		return err
	}
	if err := refuseUnsupported(hdr, "PutObject"); err != nil {
		return err
	}
	if err := refusePostEncryption(hdr); err != nil {
		return err
	}
	if err := h.checkExpectedOwner(hdr); err != nil {
		return err
	}
	if err := h.authorizeACLHeaders(r, rc, hdr); err != nil {
		return err
	}
	put := r.Clone(r.Context())
	put.Header, put.ContentLength, put.Body = hdr, -1, http.NoBody
	rc.body = &countingReader{r: io.NopCloser(f.file)}
	if err := h.putObject(heldStatus{w}, put, rc); err != nil {
		return err
	}
	etag := w.Header().Get("ETag")
	loc := h.objectURL(r, rc)
	w.Header().Set("Location", loc)
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

// heldStatus lets a handler set the answer's headers but keeps back its
// status, which the caller writes (putObject's 200 for a POST's 204, 201
// or 303). The handler must not write a body.
type heldStatus struct{ http.ResponseWriter }

func (heldStatus) WriteHeader(int) {}

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
	q := "bucket=" + url.QueryEscape(bucket) + "&key=" + url.QueryEscape(key) + "&etag=" + url.QueryEscape(etag)
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
