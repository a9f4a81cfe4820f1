package gateway

import (
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestParsePostPolicy pins which policy documents are accepted and the
// error of each refused one.
func TestParsePostPolicy(t *testing.T) {
	const exp = `"expiration": "2030-01-01T00:00:00.000Z"`
	for _, c := range []struct {
		name, doc string
		msg       string // "" accepted, else a part of the InvalidPolicyDocument message
	}{
		{"minimal", `{` + exp + `, "conditions": []}`, ""},
		{"all forms", `{` + exp + `, "conditions": [{"bucket": "b"}, ["eq", "$key", "k"], ["starts-with", "$Content-Type", "image/"],
			["starts-with", "$key", ""], ["content-length-range", 1, 10], ["content-length-range", "0", "5"], ["EQ", "$acl", "private"],
			["StArTs-WiTh", "$KeY", "foo"]]}`, ""},
		{"field without $ (a condition that never holds)", `{` + exp + `, "conditions": [["eq", "key", "x"]]}`, ""},
		{"expiration without millis", `{"expiration": "2030-01-01T00:00:00Z", "conditions": []}`, ""},
		{"not base64", "", "Invalid Base64"},
		{"not json", `{`, "Invalid JSON"},
		{"trailing data", `{` + exp + `, "conditions": []} x`, "Invalid JSON"},
		{"no expiration", `{"conditions": []}`, "missing expiration"},
		{"bad expiration", `{"expiration": "tomorrow", "conditions": []}`, "Invalid 'expiration'"},
		{"no conditions", `{` + exp + `}`, "missing conditions"},
		{"condition neither list nor object", `{` + exp + `, "conditions": ["key"]}`, "must be a List or Object"},
		{"conditions not a list", `{` + exp + `, "conditions": {"key": "k"}}`, "must be a List"},
		{"conditions null", `{` + exp + `, "conditions": null}`, "must be a List"},
		{"member in upper case", `{"EXPIRATION": "2030-01-01T00:00:00Z", "conditions": []}`, "Unexpected: 'expiration'"},
		{"unknown member", `{` + exp + `, "conditions": [], "Statement": []}`, "Unexpected: 'statement'"},
		{"expiration with an offset", `{"expiration": "2030-01-01T02:00:00+02:00", "conditions": []}`, "Invalid 'expiration'"},
		{"expiration not a string", `{"expiration": 5, "conditions": []}`, "Invalid 'expiration'"},
		{"empty list", `{` + exp + `, "conditions": [[]]}`, "missing operation identifier"},
		{"two elements", `{` + exp + `, "conditions": [["eq", "$key"]]}`, "Invalid eq: wrong number of arguments."},
		{"four elements", `{` + exp + `, "conditions": [["starts-with", "$key", "a", "b"]]}`, "Invalid starts-with: wrong number of arguments."},
		{"unknown op", `{` + exp + `, "conditions": [["ends-with", "$key", "x"]]}`, "unknown operation 'ends-with'"},
		{"number value", `{` + exp + `, "conditions": [["eq", "$key", 5]]}`, "Invalid JSON"},
		{"object number value", `{` + exp + `, "conditions": [{"key": 5}]}`, "value must be a string"},
		{"empty object", `{` + exp + `, "conditions": [{}]}`, "exactly one property"},
		{"object of two", `{` + exp + `, "conditions": [{"bucket": "b", "key": "k"}]}`, "exactly one property"},
		{"starts-with on bucket", `{` + exp + `, "conditions": [["starts-with", "$bucket", "b"]]}`, "only exact"},
		{"starts-with on credential", `{` + exp + `, "conditions": [["starts-with", "$x-amz-credential", ""]]}`, "only exact"},
		{"range reversed", `{` + exp + `, "conditions": [["content-length-range", 10, 1]]}`, "content-length-range"},
		{"range negative", `{` + exp + `, "conditions": [["content-length-range", -1, 1]]}`, "content-length-range"},
		{"range fraction", `{` + exp + `, "conditions": [["content-length-range", 0, 1.5]]}`, "content-length-range"},
		{"range of words", `{` + exp + `, "conditions": [["content-length-range", "test", "10"]]}`, "content-length-range"},
		{"range of two", `{` + exp + `, "conditions": [["content-length-range", 0]]}`, "wrong number of arguments"},
	} {
		t.Run(c.name, func(t *testing.T) {
			enc := b64(c.doc)
			if c.name == "not base64" {
				enc = "%%%"
			}
			_, err := parsePostPolicy(enc)
			if c.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e := s3err.As(err)
			if e == nil || e.Code != "InvalidPolicyDocument" || e.Status != 400 || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("got %v, want InvalidPolicyDocument containing %q", err, c.msg)
			}
		})
	}
}

// TestPostPolicyCheck pins how each condition type, the expiration and the
// coverage rule judge a form.
func TestPostPolicyCheck(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	base := map[string]string{"key": "user/a.txt", "bucket": "bkt", "policy": "p", "x-amz-signature": "s", "file": ""}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name   string
		conds  string
		fields map[string]string
		exp    string
		msg    string // "" allowed, else a part of the AccessDenied message
	}{
		{"eq", `["eq", "$key", "user/a.txt"]`, base, "", ""},
		{"eq fails", `["eq", "$key", "user/b.txt"]`, base, "", `Policy Condition failed: ["eq", "$key", "user/b.txt"]`},
		{"eq is case-sensitive", `["eq", "$key", "USER/a.txt"]`, base, "", "Condition failed"},
		{"field name case-insensitive", `["eq", "$KEY", "user/a.txt"]`, base, "", ""},
		{"exact-match object", `{"key": "user/a.txt"}`, base, "", ""},
		{"exact-match object fails", `{"key": "x"}`, base, "", `["eq", "$key", "x"]`},
		{"starts-with", `["starts-with", "$key", "user/"]`, base, "", ""},
		{"starts-with fails", `["starts-with", "$key", "admin/"]`, base, "", `["starts-with", "$key", "admin/"]`},
		{"starts-with empty prefix", `["starts-with", "$key", ""]`, base, "", ""},
		{"starts-with empty prefix on a missing field", `["starts-with", "$key", ""], ["starts-with", "$Content-Type", ""]`, base, "", `["starts-with", "$Content-Type", ""]`},
		{"eq on a missing field", `["starts-with", "$key", ""], ["eq", "$acl", "private"]`, base, "", `["eq", "$acl", "private"]`},
		{"eq empty on a missing field", `["starts-with", "$key", ""], ["eq", "$acl", ""]`, base, "", `["eq", "$acl", ""]`},
		{"eq empty on an empty field", `["starts-with", "$key", ""], ["eq", "$acl", ""]`, with("acl", ""), "", ""},
		{"field without $", `["starts-with", "$key", ""], ["eq", "key", "user/a.txt"]`, base, "", `["eq", "key", "user/a.txt"]`},
		{"message keeps the policy's spelling", `["starts-with", "$key", ""], ["eq", "$X-Amz-Meta-A", "2"]`, with("x-amz-meta-a", "1"), "", `["eq", "$X-Amz-Meta-A", "2"]`},
		{"content-type list", `["starts-with", "$key", ""], ["starts-with", "$Content-Type", "image/"]`, with("content-type", "image/jpg,image/png, image/gif"), "", ""},
		{"content-type list with another type", `["starts-with", "$key", ""], ["starts-with", "$Content-Type", "image/"]`, with("content-type", "image/jpg,text/plain"), "", "Condition failed"},
		{"other fields are not lists", `["starts-with", "$key", ""], ["starts-with", "$x-amz-meta-a", "a"]`, with("x-amz-meta-a", "ab,cd"), "", ""},
		{"bucket", `{"bucket": "bkt"}, ["starts-with", "$key", ""]`, base, "", ""},
		{"bucket fails", `{"bucket": "other"}, ["starts-with", "$key", ""]`, base, "", `["eq", "$bucket", "other"]`},
		{"key not covered", `{"bucket": "bkt"}`, base, "", "Extra input fields: key"},
		{"extra fields listed", `["starts-with", "$key", ""]`, with("x-amz-meta-b", "1", "content-type", "t"), "", "Extra input fields: content-type, x-amz-meta-b"},
		{"x-ignore- exempt", `["starts-with", "$key", ""]`, with("x-ignore-anything", "1"), "", ""},
		{"range alone covers nothing", `["content-length-range", 0, 10]`, base, "", "Extra input fields: key"},
		{"expired", `["starts-with", "$key", ""]`, base, "2029-12-31T23:59:59.000Z", "Policy expired."},
		{"expires now", `["starts-with", "$key", ""]`, base, "2030-01-01T00:00:00.000Z", "Policy expired."},
	} {
		t.Run(c.name, func(t *testing.T) {
			exp := c.exp
			if exp == "" {
				exp = "2030-01-01T00:00:01.000Z"
			}
			p, err := parsePostPolicy(b64(`{"expiration": "` + exp + `", "conditions": [` + c.conds + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			err = p.check(now, c.fields, true)
			if c.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e := s3err.As(err)
			if e == nil || e.Code != "AccessDenied" || !strings.HasPrefix(e.Message, "Invalid according to Policy: ") || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("got %v, want AccessDenied containing %q", err, c.msg)
			}
		})
	}
}

// TestPostPolicyFormBucket: the bucket needs no condition when it comes
// from the URL only; a bucket field the form sends is an input field like
// any other.
func TestPostPolicyFormBucket(t *testing.T) {
	p, err := parsePostPolicy(b64(`{"expiration": "2030-01-01T00:00:00Z", "conditions": [["starts-with", "$key", ""]]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	fields := map[string]string{"key": "k", "bucket": "bkt"}
	if err := p.check(now, fields, true); err != nil {
		t.Errorf("the URL's bucket: %v", err)
	}
	if err := p.check(now, fields, false); err == nil || !strings.Contains(err.Error(), "Extra input fields: bucket") {
		t.Errorf("a bucket field without a condition: %v, want Extra input fields: bucket", err)
	}
	p, err = parsePostPolicy(b64(`{"expiration": "2030-01-01T00:00:00Z", "conditions": [["starts-with", "$key", ""], {"bucket": "bkt"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.check(now, fields, false); err != nil {
		t.Errorf("a bucket field with its condition: %v", err)
	}
}

// TestPostPolicyLengthRange pins the content-length-range bounds: both
// inclusive.
func TestPostPolicyLengthRange(t *testing.T) {
	p, err := parsePostPolicy(b64(`{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 2, 4]]}`))
	if err != nil || !p.hasLen || p.minLen != 2 || p.maxLen != 4 {
		t.Fatalf("%+v %v", p, err)
	}
	p2, err := parsePostPolicy(b64(`{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 0, 4], ["content-length-range", 2, 10]]}`))
	if err != nil || p2.minLen != 2 || p2.maxLen != 4 {
		t.Fatalf("two ranges do not intersect: %+v %v", p2, err)
	}
	for n, code := range map[int]string{0: "EntityTooSmall", 1: "EntityTooSmall", 2: "", 4: "", 5: "EntityTooLarge", 100000: "EntityTooLarge"} {
		lr := &lengthRange{r: strings.NewReader(strings.Repeat("x", n)), min: p.minLen, max: p.maxLen}
		_, err := io.ReadAll(lr)
		if got := codeOf(err); got != code {
			t.Errorf("%d bytes: %v, want %q", n, err, code)
		}
	}
}

func codeOf(err error) string {
	if e := s3err.As(err); e != nil {
		return e.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// The worked example of AWS's "Browser-Based Upload using HTTP POST (Using
// AWS Signature Version 4)": its policy, form and signature.
const (
	awsExamplePolicy = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9"
)

// TestPostPolicyAWSExample: the example form of AWS's documentation
// satisfies its policy until the policy's expiration, and only as sent.
func TestPostPolicyAWSExample(t *testing.T) {
	p, err := parsePostPolicy(awsExamplePolicy)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{
		"bucket": "sigv4examplebucket", "key": "user/user1/MyPhoto.jpg", "acl": "public-read",
		"success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
		"content-type":            "image/jpeg", "x-amz-meta-uuid": "14365123651274", "x-amz-server-side-encryption": "AES256",
		"x-amz-meta-tag": "", "x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
		"x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-date": "20151229T000000Z", "policy": awsExamplePolicy,
		"x-amz-signature": "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e", "file": "",
	}
	if err := p.check(time.Date(2015, 12, 29, 12, 0, 0, 0, time.UTC), fields, true); err != nil {
		t.Fatalf("the example form is refused: %v", err)
	}
	if err := p.check(time.Date(2015, 12, 30, 12, 0, 0, 0, time.UTC), fields, true); codeOf(err) != "AccessDenied" {
		t.Errorf("after its expiration: %v", err)
	}
	fields["content-type"] = "text/html"
	if err := p.check(time.Date(2015, 12, 29, 12, 0, 0, 0, time.UTC), fields, true); codeOf(err) != "AccessDenied" {
		t.Errorf("another Content-Type: %v", err)
	}
}

// FuzzPostPolicy: any policy document is parsed and checked without a
// panic, and every refusal is an S3 error.
func FuzzPostPolicy(f *testing.F) {
	f.Add(`{"expiration": "2030-01-01T00:00:00Z", "conditions": [{"bucket": "b"}, ["starts-with", "$key", ""], ["content-length-range", 0, 10]]}`, "k")
	f.Add(`{"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq"], [], {}, [1, 2, 3], null, "x"]}`, "")
	f.Add(`{"conditions": [["starts-with", "$Content-Type", "image/"]], "expiration": null}`, "image/a,text/b")
	f.Fuzz(func(t *testing.T, doc, value string) {
		p, err := parsePostPolicy(b64(doc))
		if err != nil {
			if s3err.As(err) == nil {
				t.Fatalf("not an S3 error: %v", err)
			}
			return
		}
		err = p.check(time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC), map[string]string{"key": value, "content-type": value, "bucket": "b"}, true)
		if err != nil && s3err.As(err) == nil {
			t.Fatalf("not an S3 error: %v", err)
		}
	})
}
