package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
)

// PostForm is what a browser-based upload (POST Object with an HTML form)
// carries for its authentication: the form fields of AWS Signature
// Version 4 for POST and the base64 policy document they sign.
type PostForm struct {
	Algorithm  string // x-amz-algorithm
	Credential string // x-amz-credential: AK/yyyymmdd/region/s3/aws4_request
	Date       string // x-amz-date: yyyymmddThhmmssZ
	Signature  string // x-amz-signature: hex HMAC-SHA256 of Policy
	Policy     string // policy: the base64 policy document, as sent
}

// ErrSignatureV2 is the answer to a request signed with Signature
// Version 2 (for forms: AWSAccessKeyId and signature fields).
var ErrSignatureV2 = errSigV2

// VerifyPost authenticates a POST form: the signature is the HMAC-SHA256 of
// the base64 policy under the signing key of the credential's scope. The
// scope is checked as for a presigned URL (terminator, service, region, its
// day equal to x-amz-date's); the request's age is not: the policy's
// expiration bounds it, and the caller checks it once the policy is
// decoded. The returned Auth has an unsigned payload: the policy's
// conditions, not a payload hash, constrain the body.
func (v *Verifier) VerifyPost(f PostForm) (*Auth, error) {
	q := &request{presigned: true}
	if f.Algorithm != algorithm {
		return nil, s3err.InvalidArgument.WithMessage("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\".")
	}
	t, err := time.Parse(amzDateLayout, f.Date)
	if err != nil {
		return nil, s3err.InvalidArgument.WithMessage("X-Amz-Date must be formatted via ISO8601 Long format.")
	}
	if err := q.parseCredential(f.Credential); err != nil {
		return nil, postCredentialError(s3err.As(err))
	}
	var e *s3err.Error
	switch {
	case q.term != terminator:
		e = q.malformed("incorrect terminal %q. This endpoint uses \"aws4_request\".", clip(q.term))
	case q.service != serviceS3:
		e = q.malformed("incorrect service %q. This endpoint belongs to %q.", clip(q.service), serviceS3)
	case v.Region != "" && q.region != v.Region:
		e = q.malformed("the region '%s' is wrong; expecting '%s'", clip(q.region), v.Region)
		e.Region = v.Region
	case q.credDate != t.Format(dayLayout):
		e = q.malformed("Invalid credential date %q. This date is not the same as X-Amz-Date: %q.", clip(q.credDate), t.Format(dayLayout))
	}
	if e != nil {
		return nil, postCredentialError(e)
	}
	secret, ok := "", false
	if v.Lookup != nil {
		secret, ok = v.Lookup(q.accessKey)
	}
	if !ok {
		return nil, unknownKey(q.accessKey)
	}
	key := deriveKey(secret, q.credDate, q.region, q.service)
	got := postMAC(key, f.Policy)
	var want [32]byte
	if !decodeSig(&want, f.Signature) || !hmac.Equal(got[:], want[:]) {
		return nil, errSignature
	}
	return &Auth{
		AccessKey:   q.accessKey,
		PayloadHash: UnsignedPayload,
		signingKey:  key,
		amzDate:     f.Date,
		scope:       q.credDate + "/" + q.region + "/" + q.service + "/" + terminator,
		seed:        got,
		decodedLen:  -1,
	}, nil
}

// postCredentialError is AWS's answer to a form's credential it cannot
// use: InvalidArgument with the message a presigned URL gets, without its
// "Error parsing the X-Amz-Credential parameter; " prefix.
func postCredentialError(e *s3err.Error) error {
	out := s3err.InvalidArgument.WithMessage("%s", strings.TrimPrefix(e.Message, "Error parsing the X-Amz-Credential parameter; "))
	out.Region = e.Region
	return out
}

// PostSignature returns the x-amz-signature of a POST policy (base64, as
// sent in the form) for a client holding secret: what browser-upload
// presigners compute. The gateway only verifies; tests and tools sign.
func PostSignature(secret, day, region, policy string) string {
	sig := postMAC(deriveKey(secret, day, region, serviceS3), policy)
	return hex.EncodeToString(sig[:])
}

// postMAC is the signature of a POST policy under a signing key.
func postMAC(key [32]byte, policy string) [32]byte {
	var sig [32]byte
	mac := hmac.New(sha256.New, key[:])
	mac.Write([]byte(policy))
	mac.Sum(sig[:0])
	return sig
}
