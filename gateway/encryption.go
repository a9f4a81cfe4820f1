package gateway

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/sse"
	"github.com/lambda/storagecli/gateway/store"
)

// Server-side encryption (docs/encryption.md): the request headers are
// checked here and handed to the sse.Store wrapping the order's store in
// the request's context; the objects' encryption is reported back in the
// response headers.

// The encryption request headers (canonical form).
const (
	hdrSSE          = "X-Amz-Server-Side-Encryption"
	hdrKMSKeyID     = "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"
	hdrKMSContext   = "X-Amz-Server-Side-Encryption-Context"
	hdrBucketKey    = "X-Amz-Server-Side-Encryption-Bucket-Key-Enabled"
	hdrCustomer     = "X-Amz-Server-Side-Encryption-Customer-"
	hdrCopyCustomer = "X-Amz-Copy-Source-Server-Side-Encryption-Customer-"
	sseAES256       = "AES256"
)

// The operations taking each group of headers.
var (
	sseS3Ops     = []string{"PutObject", "CopyObject", "CreateMultipartUpload"}
	sseCOps      = []string{"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload", "GetObject", "HeadObject", "GetObjectAttributes"}
	sseCCopyOps  = []string{"CopyObject", "UploadPartCopy"}
	sseVerifyOps = []string{"HeadObject", "GetObjectAttributes"}
	// sseWriteOps write an object or part whose encryption the request sets.
	sseWriteOps = []string{"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy"}
)

var (
	errKMS = s3err.NotImplemented.WithMessage("SSE-KMS is not supported by this gateway: use SSE-S3 (x-amz-server-side-encryption: AES256) or SSE-C (customer-provided keys).")
	// errNoSSE: encryption asked of a gateway that does not encrypt.
	errNoSSE = s3err.NotImplemented.WithMessage("Server-side encryption is not available for this order: objects are encrypted only on the gateway's own (embedded) storage, not in upstream mode (docs/encryption.md).")
	// AWS's answer to SSE-C parameters for an object not encrypted with them.
	errSSECNotApplicable = sse.ErrNotApplicable
	errSSEMethod         = s3err.InvalidArgument.WithMessage("The encryption method specified is not supported (x-amz-server-side-encryption: use AES256).")
	errSSEBoth           = s3err.InvalidArgument.WithMessage("Server Side Encryption with Customer provided key is incompatible with the encryption method specified.")
	errSSECInsecure      = s3err.InvalidRequest.WithMessage("Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.")
	errSSECAlgorithm     = &s3err.Error{Code: "InvalidEncryptionAlgorithmError", Status: http.StatusBadRequest,
		Message: "The encryption request you specified is not valid. The valid value is AES256."}
	errSSECNoKey     = s3err.InvalidArgument.WithMessage("Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.")
	errSSECNoAlg     = s3err.InvalidArgument.WithMessage("Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.")
	errSSECBadKey    = s3err.InvalidArgument.WithMessage("The secret key was invalid for the specified algorithm.")
	errSSECNoMD5     = s3err.InvalidArgument.WithMessage("Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.")
	errSSECBadMD5    = s3err.InvalidArgument.WithMessage("The calculated MD5 hash of the key did not match the hash that was provided.")
	errSSEPostObject = s3err.NotImplemented.WithMessage("Encryption fields are not supported on browser (POST) uploads: set the bucket's default encryption (PutBucketEncryption) instead.")
)

// customerKey returns the SSE-C key of the headers named prefix+Algorithm,
// Key and Key-Md5: nil if none is given.
func customerKey(hdr http.Header, prefix string) ([]byte, error) {
	alg, hasAlg := hdr[prefix+"Algorithm"]
	key, hasKey := hdr[prefix+"Key"]
	sum, hasMD5 := hdr[prefix+"Key-Md5"]
	switch {
	case !hasAlg && !hasKey && !hasMD5:
		return nil, nil
	case !hasAlg:
		return nil, errSSECNoAlg
	case len(alg) != 1 || alg[0] != sseAES256:
		return nil, errSSECAlgorithm
	case !hasKey:
		return nil, errSSECNoKey
	case !hasMD5:
		return nil, errSSECNoMD5
	}
	k, err := base64.StdEncoding.DecodeString(key[0])
	if err != nil || len(key) != 1 || len(k) != sse.KeySize {
		return nil, errSSECBadKey
	}
	want := md5.Sum(k)
	if got, err := base64.StdEncoding.DecodeString(sum[0]); err != nil || len(sum) != 1 || string(got) != string(want[:]) {
		return nil, errSSECBadMD5
	}
	return k, nil
}

// sseS3Asked parses x-amz-server-side-encryption and the SSE-KMS headers.
func sseS3Asked(hdr http.Header) (bool, error) {
	for _, h := range []string{hdrKMSKeyID, hdrKMSContext} {
		if _, ok := hdr[h]; ok {
			return false, errKMS
		}
	}
	if v, ok := hdr[hdrBucketKey]; ok && (len(v) != 1 || !strings.EqualFold(v[0], "false")) {
		return false, errKMS.WithMessage("%s (%s applies to SSE-KMS)", errKMS.Message, hdrBucketKey)
	}
	v, ok := hdr[hdrSSE]
	switch {
	case !ok:
		return false, nil
	case len(v) == 1 && v[0] == sseAES256:
		return true, nil
	case len(v) == 1 && strings.HasPrefix(v[0], "aws:kms"):
		return false, errKMS
	}
	return false, errSSEMethod
}

// encryptionRequest checks the request's encryption headers for its
// operation and returns r with the sse.Request its store calls need.
func (h *Handler) encryptionRequest(w http.ResponseWriter, r *http.Request, rc *reqContext) (*http.Request, error) {
	op := rc.op
	req := &sse.Request{Copy: op == "UploadPartCopy", Verify: slices.Contains(sseVerifyOps, op)}
	var err error
	if slices.Contains(sseS3Ops, op) {
		if req.S3, err = sseS3Asked(r.Header); err != nil {
			return r, err
		}
	}
	if slices.Contains(sseCOps, op) {
		if req.Key, err = customerKey(r.Header, hdrCustomer); err != nil {
			return r, err
		}
	}
	if slices.Contains(sseCCopyOps, op) {
		if req.SrcKey, err = customerKey(r.Header, hdrCopyCustomer); err != nil {
			return r, err
		}
	}
	if req.S3 && req.Key != nil {
		return r, errSSEBoth
	}
	if h.opts.Encryption == nil {
		switch {
		case req.S3 || (req.Key != nil && slices.Contains(sseWriteOps, op)):
			return r, errNoSSE
		case req.Key != nil || req.SrcKey != nil:
			return r, errSSECNotApplicable // no object is encrypted
		}
		return r, nil
	}
	if (req.Key != nil || req.SrcKey != nil) && !h.secure(r) {
		return r, errSSECInsecure
	}
	if !slices.Contains(sseCOps, op) && !slices.Contains(sseCCopyOps, op) {
		return r, nil
	}
	keyMD5 := r.Header.Get(hdrCustomer + "Key-Md5")
	req.Report = func(mode string) {
		switch mode {
		case sse.ModeS3:
			w.Header().Set(hdrSSE, sseAES256)
		case sse.ModeC:
			w.Header().Set(hdrCustomer+"Algorithm", sseAES256)
			w.Header().Set(hdrCustomer+"Key-Md5", keyMD5)
		}
	}
	return r.WithContext(sse.WithRequest(r.Context(), req)), nil
}

// changesEncryption reports whether a copy asks for an encryption of its
// own: a copy onto itself that does is allowed (it re-encrypts the
// object, e.g. under the newest order key).
func changesEncryption(hdr http.Header) bool {
	return hdr.Get(hdrSSE) != "" || hdr.Get(hdrCustomer+"Algorithm") != ""
}

// secure reports whether r may carry an SSE-C key: over TLS, or from a
// loopback client when Options.SSECPlainHTTP allows it.
func (h *Handler) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !h.opts.SSECPlainHTTP {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

// refusePostEncryption refuses encryption fields of a browser upload.
func refusePostEncryption(fields http.Header) error {
	for name := range fields {
		if strings.HasPrefix(name, hdrSSE) {
			return errSSEPostObject.WithMessage("%s (field %s)", errSSEPostObject.Message, name)
		}
	}
	return nil
}

// bucketEncryption is the ServerSideEncryptionConfiguration document.
type bucketEncryption struct {
	XMLName xml.Name         `xml:"ServerSideEncryptionConfiguration"`
	NS      string           `xml:"xmlns,attr,omitempty"`
	Rules   []encryptionRule `xml:"Rule"`
}

type encryptionRule struct {
	Default *struct {
		Algorithm string `xml:"SSEAlgorithm"`
		KMSKeyID  string `xml:"KMSMasterKeyID,omitempty"`
	} `xml:"ApplyServerSideEncryptionByDefault"`
	BucketKeyEnabled *bool `xml:"BucketKeyEnabled"`
}

// errBucketEncryption is the answer to a configuration the gateway does
// not take.
var errBucketEncryption = s3err.MalformedXML.WithMessage("The server side encryption configuration must have one Rule with ApplyServerSideEncryptionByDefault.")

// parseBucketEncryption validates a PutBucketEncryption document: one
// rule, SSE-S3 (AES256).
func parseBucketEncryption(body []byte) error {
	var c bucketEncryption
	if err := xml.Unmarshal(body, &c); err != nil {
		return s3err.MalformedXML
	}
	if len(c.Rules) != 1 || c.Rules[0].Default == nil {
		return errBucketEncryption
	}
	d := c.Rules[0].Default
	switch {
	case strings.HasPrefix(d.Algorithm, "aws:kms"):
		return errKMS.WithMessage("SSE-KMS is not supported by this gateway: a bucket's default encryption can be SSE-S3 (AES256); objects can also use SSE-C.")
	case d.Algorithm != sseAES256:
		return errSSEMethod.WithMessage("The SSEAlgorithm is not valid: use AES256.")
	case d.KMSKeyID != "":
		return s3err.InvalidArgument.WithMessage("KMSMasterKeyID is only allowed with SSE-KMS, which this gateway does not support.")
	case c.Rules[0].BucketKeyEnabled != nil && *c.Rules[0].BucketKeyEnabled:
		return errKMS.WithMessage("BucketKeyEnabled applies to SSE-KMS, which this gateway does not support.")
	}
	return nil
}

// bucketEncryptionDoc is the document the gateway keeps and returns.
var bucketEncryptionDoc = []byte(xml.Header + `<ServerSideEncryptionConfiguration xmlns="` + s3NS + `"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>`)

func (h *Handler) putBucketEncryption(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if h.opts.Encryption == nil {
		if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
			return err
		}
		return errNoSSE
	}
	body, err := h.readXMLBody(r, rc, store.MaxConfigLen, true)
	if err != nil {
		return err
	}
	if err := parseBucketEncryption(body); err != nil {
		return err
	}
	if err := h.putBucketConfig(r.Context(), rc, store.ConfigEncryption, bucketEncryptionDoc); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getBucketEncryption(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	doc, err := h.bucketConfig(r.Context(), rc.bucket, store.ConfigEncryption, s3err.ServerSideEncryptionConfigurationNotFound)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml")
	_, err = w.Write(doc)
	return err
}

func (h *Handler) deleteBucketEncryption(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if err := h.opts.Store.DeleteBucketConfig(r.Context(), rc.bucket, store.ConfigEncryption); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
