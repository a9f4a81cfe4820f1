package sigv4

import (
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
)

// The worked example of AWS's "Browser-Based Upload using HTTP POST (Using
// AWS Signature Version 4)".
const (
	postExampleAK     = "AKIAIOSFODNN7EXAMPLE"
	postExampleSK     = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	postExampleCred   = postExampleAK + "/20151229/us-east-1/s3/aws4_request"
	postExampleDate   = "20151229T000000Z"
	postExampleSig    = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
	postExamplePolicy = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
)

func postExample() PostForm {
	return PostForm{Algorithm: algorithm, Credential: postExampleCred, Date: postExampleDate, Signature: postExampleSig, Policy: postExamplePolicy}
}

func postVerifier(region string) *Verifier {
	return &Verifier{Region: region, Lookup: func(ak string) (string, bool) { return postExampleSK, ak == postExampleAK }}
}

// TestVerifyPostAWSExample: AWS's example form verifies, and PostSignature
// computes its signature.
func TestVerifyPostAWSExample(t *testing.T) {
	a, err := postVerifier("us-east-1").VerifyPost(postExample())
	if err != nil {
		t.Fatal(err)
	}
	if a.AccessKey != postExampleAK || a.PayloadHash != UnsignedPayload || a.Presigned || a.Streaming() {
		t.Errorf("Auth %+v", a)
	}
	if got := PostSignature(postExampleSK, "20151229", "us-east-1", postExamplePolicy); got != postExampleSig {
		t.Errorf("PostSignature = %s", got)
	}
}

// TestVerifyPostRefused pins the error of each way a form's signature
// fields can be wrong.
func TestVerifyPostRefused(t *testing.T) {
	for _, c := range []struct {
		name   string
		region string
		edit   func(*PostForm)
		code   string
	}{
		{"signature of another policy", "", func(f *PostForm) { f.Policy = "e30=" }, "SignatureDoesNotMatch"},
		{"signature changed", "", func(f *PostForm) { f.Signature = "0" + f.Signature[1:] }, "SignatureDoesNotMatch"},
		{"signature not hex", "", func(f *PostForm) { f.Signature = "xyz" }, "SignatureDoesNotMatch"},
		{"signature upper-case", "", func(f *PostForm) { f.Signature = "8AFDBF4008C03F22C2CD3CDB72E4AFBB1F6A588F3255AC628749A66D7F09699E" }, ""},
		{"unknown key", "", func(f *PostForm) { f.Credential = "OTHER/20151229/us-east-1/s3/aws4_request" }, "InvalidAccessKeyId"},
		{"wrong region", "eu-west-1", func(*PostForm) {}, "InvalidArgument"},
		{"any region", "", func(*PostForm) {}, ""},
		{"wrong service", "", func(f *PostForm) { f.Credential = postExampleAK + "/20151229/us-east-1/iam/aws4_request" }, "InvalidArgument"},
		{"wrong terminator", "", func(f *PostForm) { f.Credential = postExampleAK + "/20151229/us-east-1/s3/aws5_request" }, "InvalidArgument"},
		{"malformed credential", "", func(f *PostForm) { f.Credential = postExampleAK }, "InvalidArgument"},
		{"credential day not the date's", "", func(f *PostForm) { f.Date = "20151230T000000Z" }, "InvalidArgument"},
		{"bad date", "", func(f *PostForm) { f.Date = "2015-12-29" }, "InvalidArgument"},
		{"other algorithm", "", func(f *PostForm) { f.Algorithm = "AWS4-ECDSA-P256-SHA256" }, "InvalidArgument"},
		{"empty access key", "", func(f *PostForm) { f.Credential = "/20151229/us-east-1/s3/aws4_request" }, "InvalidArgument"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := postExample()
			c.edit(&f)
			_, err := postVerifier(c.region).VerifyPost(f)
			got := ""
			if e := s3err.As(err); e != nil {
				got = e.Code
			} else if err != nil {
				t.Fatalf("not an S3 error: %v", err)
			}
			if got != c.code {
				t.Errorf("got %v, want %q", err, c.code)
			}
			if e := s3err.As(err); e != nil && strings.HasPrefix(e.Message, "Error parsing") {
				t.Errorf("message with the presigned URL's prefix: %q", e.Message)
			}
			if c.region != "" && (s3err.As(err) == nil || s3err.As(err).Region != c.region) {
				t.Errorf("no Region element: %v", err)
			}
		})
	}
	if _, err := (&Verifier{Now: time.Now}).VerifyPost(postExample()); s3err.As(err) == nil || s3err.As(err).Code != "InvalidAccessKeyId" {
		t.Errorf("no Lookup: %v", err)
	}
}
