// Package sigv4 authenticates S3 requests signed with AWS Signature Version 4
// (Authorization header or presigned query string) and decodes aws-chunked
// request bodies, verifying the chained chunk and trailer signatures.
//
// Every error it returns is an *s3err.Error carrying the code and status AWS
// uses for the same condition. Messages never contain a secret key or a
// computed signature.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
)

// Payload hash values a client may send in x-amz-content-sha256 instead of
// the hex SHA-256 of the body.
const (
	// UnsignedPayload means the body is not covered by the signature.
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	// StreamingSigned is an aws-chunked body whose chunks are each signed.
	StreamingSigned = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// StreamingSignedTrailer is an aws-chunked body with signed chunks and
	// signed trailing headers.
	StreamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	// StreamingUnsignedTrailer is an aws-chunked body with unsigned chunks
	// and unsigned trailing headers (usually a checksum).
	StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

const (
	algorithm     = "AWS4-HMAC-SHA256"
	amzDateLayout = "20060102T150405Z"
	dayLayout     = "20060102"
	terminator    = "aws4_request"
	serviceS3     = "s3"
	maxSkew       = 15 * time.Minute
	maxExpires    = 7 * 24 * 60 * 60 // seconds: one week
	emptySHA256   = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Errors specific to this package, built on the s3err codes.
var (
	errAnonymous        = s3err.AccessDenied.WithMessage("Anonymous access is not allowed; the request must be signed with AWS Signature Version 4.")
	errSigV2            = s3err.InvalidRequest.WithMessage("The authorization mechanism you have provided is not supported (Signature Version 2). Please use AWS4-HMAC-SHA256.")
	errUnsupportedAuth  = s3err.InvalidArgument.WithMessage("Unsupported Authorization Type")
	errTwoAuths         = s3err.InvalidArgument.WithMessage("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified")
	errNoDate           = s3err.AccessDenied.WithMessage("AWS authentication requires a valid Date or x-amz-date header")
	errNoContentSHA     = s3err.InvalidRequest.WithMessage("Missing required header for this request: x-amz-content-sha256")
	errBadContentSHA    = s3err.InvalidArgument.WithMessage("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
	errBadDecodedLength = s3err.InvalidArgument.WithMessage("x-amz-decoded-content-length must be a non-negative integer.")
	errExpired          = s3err.AccessDenied.WithMessage("Request has expired")
	errNotYetValid      = s3err.AccessDenied.WithMessage("Request is not valid yet")
	errQueryMissing     = s3err.AuthorizationQueryParametersError.WithMessage("Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
	errSignature        = s3err.SignatureDoesNotMatch
)

// Verifier authenticates S3 requests signed with AWS Signature Version 4.
// It is safe for concurrent use once configured.
type Verifier struct {
	// Region is the region this endpoint serves; "" accepts any region in
	// the credential scope.
	Region string
	// Lookup returns the secret key for an access key id.
	Lookup func(accessKey string) (secret string, ok bool)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Auth describes an authenticated request.
type Auth struct {
	// AccessKey is the access key id the request was signed with.
	AccessKey string
	// Presigned is true for query-string (presigned URL) authentication.
	Presigned bool
	// PayloadHash is the x-amz-content-sha256 value: a lowercase hex
	// SHA-256 of the body (to be checked by the caller), UnsignedPayload, or
	// one of the Streaming* modes. Presigned requests that carry no such
	// header or query parameter get UnsignedPayload.
	PayloadHash string

	signingKey [32]byte
	amzDate    string   // request time, ISO 8601 basic: 20130524T000000Z
	scope      string   // 20130524/us-east-1/s3/aws4_request
	seed       [32]byte // the request signature, first link of the chunk chain
	decodedLen int64    // x-amz-decoded-content-length, -1 when absent
}

// Streaming reports whether the body is aws-chunked framed (any STREAMING-*
// payload mode); such a body must be read through NewChunkedReader.
func (a *Auth) Streaming() bool {
	switch a.PayloadHash {
	case StreamingSigned, StreamingSignedTrailer, StreamingUnsignedTrailer:
		return true
	}
	return false
}

// Verify authenticates r by its Authorization header or its presigned query
// parameters. It never reads r.Body; for a streaming payload the body must
// then be decoded with NewChunkedReader, and for a hex PayloadHash the caller
// must check the body's SHA-256 against it.
func (v *Verifier) Verify(r *http.Request) (*Auth, error) {
	return v.verify(r, serviceS3, "")
}

// request holds what the client claims, parsed from header or query.
type request struct {
	presigned     bool
	accessKey     string
	credDate      string
	region        string
	service       string
	term          string
	signedHeaders string
	signature     [32]byte
	sigOK         bool // signature was 64 hex digits
	when          time.Time
	amzDate       string
	payloadHash   string
	query         []queryParam
}

// verify is Verify with the service name and, for the generic (non-S3) AWS
// test suite, a payload hash to use when x-amz-content-sha256 is absent.
func (v *Verifier) verify(r *http.Request, service, defaultPayload string) (*Auth, error) {
	query := parseQuery(rawQuery(r))
	authz := r.Header.Values("Authorization")
	presign := hasParam(query, "X-Amz-Algorithm") || hasParam(query, "X-Amz-Credential") || hasParam(query, "X-Amz-Signature")

	var req *request
	var err error
	switch {
	case len(authz) > 0 && presign:
		return nil, errTwoAuths
	case len(authz) > 1:
		return nil, s3err.AuthorizationHeaderMalformed.WithMessage("The authorization header is malformed; multiple Authorization headers were sent.")
	case len(authz) == 1:
		req, err = v.parseHeaderAuth(r, authz[0], defaultPayload)
	case presign:
		req, err = v.parseQueryAuth(r, query)
	case hasParam(query, "AWSAccessKeyId") && hasParam(query, "Signature"):
		return nil, errSigV2
	default:
		return nil, errAnonymous
	}
	if err != nil {
		return nil, err
	}
	req.query = query
	return v.check(r, req, service)
}

// malformed returns the error AWS uses for a malformed credential in the
// header (AuthorizationHeaderMalformed) or query (AuthorizationQueryParametersError).
func (q *request) malformed(format string, args ...any) *s3err.Error {
	if q.presigned {
		return s3err.AuthorizationQueryParametersError.WithMessage("Error parsing the X-Amz-Credential parameter; "+format, args...)
	}
	return s3err.AuthorizationHeaderMalformed.WithMessage("The authorization header is malformed; "+format, args...)
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// parseHeaderAuth parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=..." and the request time and payload hash headers.
func (v *Verifier) parseHeaderAuth(r *http.Request, h, defaultPayload string) (*request, error) {
	h = strings.TrimSpace(h)
	if strings.HasPrefix(h, "AWS ") {
		return nil, errSigV2
	}
	rest, ok := strings.CutPrefix(h, algorithm)
	if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
		return nil, errUnsupportedAuth
	}
	q := &request{}
	var cred, signed, sig string
	var nCred, nSigned, nSig int
	for _, f := range strings.FieldsFunc(rest, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' }) {
		k, val, _ := strings.Cut(f, "=")
		switch k {
		case "Credential":
			cred, nCred = val, nCred+1
		case "SignedHeaders":
			signed, nSigned = val, nSigned+1
		case "Signature":
			sig, nSig = val, nSig+1
		default:
			return nil, q.malformed("unexpected component %q.", clip(k))
		}
	}
	if nCred != 1 || nSigned != 1 || nSig != 1 {
		return nil, q.malformed("the authorization header requires three components: Credential, SignedHeaders, and Signature.")
	}
	if err := q.parseCredential(cred); err != nil {
		return nil, err
	}
	q.signedHeaders = signed
	q.sigOK = decodeSig(&q.signature, sig)

	if d := r.Header.Get("X-Amz-Date"); d != "" {
		t, err := time.Parse(amzDateLayout, d)
		if err != nil {
			return nil, errNoDate
		}
		q.when = t
	} else if d := r.Header.Get("Date"); d != "" {
		t, err := parseHTTPDate(d)
		if err != nil {
			return nil, errNoDate
		}
		q.when = t.UTC()
	} else {
		return nil, errNoDate
	}
	q.amzDate = q.when.Format(amzDateLayout)

	ph := r.Header.Values("X-Amz-Content-Sha256")
	switch {
	case len(ph) == 0 && defaultPayload != "":
		q.payloadHash = defaultPayload
	case len(ph) == 0:
		return nil, errNoContentSHA
	case len(ph) > 1:
		return nil, errBadContentSHA
	default:
		q.payloadHash = ph[0]
	}
	return q, nil
}

// parseQueryAuth parses the X-Amz-* parameters of a presigned URL.
func (v *Verifier) parseQueryAuth(r *http.Request, query []queryParam) (*request, error) {
	q := &request{presigned: true}
	get := func(name string) (string, bool, error) {
		var val string
		n := 0
		for _, p := range query {
			if p.name == name {
				val = p.value
				n++
			}
		}
		if n > 1 {
			return "", false, s3err.AuthorizationQueryParametersError.WithMessage("The %s parameter was given more than once.", name)
		}
		return val, n == 1, nil
	}
	var vals [6]string
	for i, name := range [...]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"} {
		val, ok, err := get(name)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errQueryMissing
		}
		vals[i] = val
	}
	alg, cred, sig, date, signed, expires := vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]
	if alg != algorithm {
		return nil, s3err.AuthorizationQueryParametersError.WithMessage("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
	}
	t, err := time.Parse(amzDateLayout, date)
	if err != nil {
		return nil, s3err.AuthorizationQueryParametersError.WithMessage("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	switch {
	case err != nil && !isDigits(expires):
		return nil, s3err.AuthorizationQueryParametersError.WithMessage("X-Amz-Expires should be a number")
	case err == nil && exp < 0:
		return nil, s3err.AuthorizationQueryParametersError.WithMessage("X-Amz-Expires must be non-negative")
	case err == nil && exp == 0:
		return nil, s3err.AuthorizationQueryParametersError.WithMessage("X-Amz-Expires must be at least 1 second")
	case err != nil || exp > maxExpires:
		return nil, s3err.AuthorizationQueryParametersError.WithMessage("X-Amz-Expires must be less than a week (in seconds) that is; 604800")
	}
	if err := q.parseCredential(cred); err != nil {
		return nil, err
	}
	q.signedHeaders = signed
	q.sigOK = decodeSig(&q.signature, sig)
	q.when = t
	q.amzDate = date

	now := v.now()
	if now.After(t.Add(time.Duration(exp) * time.Second)) {
		return nil, errExpired
	}
	if t.Sub(now) > maxSkew {
		return nil, errNotYetValid
	}

	ph := r.Header.Values("X-Amz-Content-Sha256")
	if len(ph) > 1 {
		return nil, errBadContentSHA
	}
	if len(ph) == 1 {
		q.payloadHash = ph[0]
	} else if val, ok, err := get("X-Amz-Content-Sha256"); err != nil {
		return nil, err
	} else if ok {
		q.payloadHash = val
	} else {
		q.payloadHash = UnsignedPayload
	}
	return q, nil
}

// parseCredential splits AK/yyyymmdd/region/service/aws4_request. The access
// key is everything before the last four fields.
func (q *request) parseCredential(cred string) error {
	const want = "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
	var f [4]string
	rest := cred
	for i := 3; i >= 0; i-- {
		j := strings.LastIndexByte(rest, '/')
		if j < 0 {
			return q.malformed(want)
		}
		f[i], rest = rest[j+1:], rest[:j]
	}
	if rest == "" || f[0] == "" || f[1] == "" || f[2] == "" {
		return q.malformed(want)
	}
	q.accessKey, q.credDate, q.region, q.service, q.term = rest, f[0], f[1], f[2], f[3]
	return nil
}

// check validates scope, time and headers and compares the signature.
func (v *Verifier) check(r *http.Request, q *request, service string) (*Auth, error) {
	if q.term != terminator {
		return nil, q.malformed("incorrect terminal %q. This endpoint uses \"aws4_request\".", clip(q.term))
	}
	if q.service != service {
		return nil, q.malformed("incorrect service %q. This endpoint belongs to %q.", clip(q.service), service)
	}
	if v.Region != "" && q.region != v.Region {
		e := q.malformed("the region '%s' is wrong; expecting '%s'", clip(q.region), v.Region)
		e.Region = v.Region
		return nil, e
	}
	if _, err := time.Parse(dayLayout, q.credDate); err != nil {
		return nil, q.malformed("Invalid credential date %q.", clip(q.credDate))
	}
	if day := q.when.Format(dayLayout); q.credDate != day {
		what := "X-Amz-Date"
		if !q.presigned && r.Header.Get("X-Amz-Date") == "" {
			what = "Date"
		}
		return nil, q.malformed("Invalid credential date %q. This date is not the same as %s: %q.", clip(q.credDate), what, day)
	}
	if !q.presigned {
		if d := v.now().Sub(q.when); d > maxSkew || d < -maxSkew {
			return nil, s3err.RequestTimeTooSkewed.WithMessage("The difference between the request time (%s) and the server's time is too large.", q.amzDate)
		}
	}
	payload, ok := normalizePayloadHash(q.payloadHash)
	if !ok {
		return nil, errBadContentSHA
	}
	decodedLen, err := decodedLength(r, payload)
	if err != nil {
		return nil, err
	}

	secret, ok := "", false
	if v.Lookup != nil {
		secret, ok = v.Lookup(q.accessKey)
	}
	if !ok {
		return nil, unknownKey(q.accessKey)
	}

	names, err := splitSignedHeaders(q)
	if err != nil {
		return nil, err
	}
	if err := checkUnsignedAmzHeaders(r, names); err != nil {
		return nil, err
	}

	buf := make([]byte, 0, 1024)
	buf, err = appendCanonicalRequest(buf, r, q, names)
	if err != nil {
		return nil, err
	}
	scope := q.credDate + "/" + q.region + "/" + q.service + "/" + terminator
	key := deriveKey(secret, q.credDate, q.region, q.service)

	crHash := sha256.Sum256(buf)
	sts := buf[:0]
	sts = append(sts, algorithm+"\n"...)
	sts = append(sts, q.amzDate...)
	sts = append(sts, '\n')
	sts = append(sts, scope...)
	sts = append(sts, '\n')
	sts = hex.AppendEncode(sts, crHash[:])
	mac := hmac.New(sha256.New, key[:])
	mac.Write(sts)
	var got [32]byte
	mac.Sum(got[:0])
	if !q.sigOK || !hmac.Equal(got[:], q.signature[:]) {
		return nil, signatureMismatch(q, sts)
	}

	return &Auth{
		AccessKey:   q.accessKey,
		Presigned:   q.presigned,
		PayloadHash: payload,
		signingKey:  key,
		amzDate:     q.amzDate,
		scope:       scope,
		seed:        got,
		decodedLen:  decodedLen,
	}, nil
}

// unknownKey is InvalidAccessKeyId for key, which AWS names in the body.
func unknownKey(key string) error {
	return s3err.InvalidAccessKeyID.With("AWSAccessKeyId", clip(key))
}

// signatureMismatch is SignatureDoesNotMatch with what AWS adds to help a
// client find its mistake: the access key, the string to sign and the
// signature provided, all from the request itself. AWS also echoes the
// canonical request; the gateway does not, because a server in front of it
// (a Caddy route adding a header) may have put a value in a header the
// client names but must not learn: the string to sign carries only its
// hash.
func signatureMismatch(q *request, sts []byte) error {
	e := errSignature.With("AWSAccessKeyId", clip(q.accessKey)).With("StringToSign", string(sts))
	if q.sigOK {
		e = e.With("SignatureProvided", hex.EncodeToString(q.signature[:]))
	}
	return e
}

// decodedLength is the x-amz-decoded-content-length of a streaming
// payload, -1 when absent or not streaming.
func decodedLength(r *http.Request, payload string) (int64, error) {
	if payload != StreamingSigned && payload != StreamingSignedTrailer && payload != StreamingUnsignedTrailer {
		return -1, nil
	}
	s := r.Header.Get("X-Amz-Decoded-Content-Length")
	if s == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errBadDecodedLength
	}
	return n, nil
}

// Anonymous returns the Auth of an unsigned request, for the requests the
// gateway serves without a signature (public buckets): no access key, and
// the body as x-amz-content-sha256 describes it (absent: unsigned; a
// SHA-256 for the caller to check; aws-chunked with an unsigned trailer).
// ok is false for a body that needs a signature (signed chunks) or a
// malformed value.
func Anonymous(r *http.Request) (a *Auth, ok bool) {
	payload := UnsignedPayload
	if v := r.Header.Get("X-Amz-Content-Sha256"); v != "" {
		if payload, ok = normalizePayloadHash(v); !ok || payload == StreamingSigned || payload == StreamingSignedTrailer {
			return nil, false
		}
	}
	n, err := decodedLength(r, payload)
	if err != nil {
		return nil, false
	}
	return &Auth{PayloadHash: payload, decodedLen: n}, true
}

// normalizePayloadHash accepts the special values and 64 hex digits (returned
// in lowercase).
func normalizePayloadHash(s string) (string, bool) {
	switch s {
	case UnsignedPayload, StreamingSigned, StreamingSignedTrailer, StreamingUnsignedTrailer:
		return s, true
	}
	if len(s) != 64 {
		return "", false
	}
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			upper = true
		default:
			return "", false
		}
	}
	if upper {
		s = strings.ToLower(s)
	}
	return s, true
}

// deriveKey computes the SigV4 signing key for the credential scope. Keys
// are cached: they change only with the secret, the day and the region.
func deriveKey(secret, day, region, service string) [32]byte {
	ck := keyCacheKey{secret, day, region, service}
	if k, ok := keyCache.Load(ck); ok {
		return k.([32]byte)
	}
	var k [32]byte
	h := hmac.New(sha256.New, []byte("AWS4"+secret))
	h.Write([]byte(day))
	h.Sum(k[:0])
	for _, s := range [...]string{region, service, terminator} {
		h = hmac.New(sha256.New, k[:])
		h.Write([]byte(s))
		h.Sum(k[:0])
	}
	if keyCacheLen.Add(1) > maxKeyCache {
		keyCache.Clear()
		keyCacheLen.Store(1)
	}
	keyCache.Store(ck, k)
	return k
}

type keyCacheKey struct{ secret, day, region, service string }

const maxKeyCache = 4096

var (
	keyCache    sync.Map // keyCacheKey -> [32]byte
	keyCacheLen atomic.Int64
)

// decodeSig decodes a 64-hex-digit signature into dst.
func decodeSig(dst *[32]byte, s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.Decode(dst[:], []byte(s))
	return err == nil
}

func parseHTTPDate(s string) (time.Time, error) {
	if t, err := http.ParseTime(s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC1123Z, s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clip bounds client-supplied text echoed in error messages.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
