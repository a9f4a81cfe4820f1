package gateway_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/sigv4"
)

// formField is one field of an HTML form, in the order it is sent.
type formField struct{ name, value string }

// signedPost returns the authentication fields of a POST policy signed
// with ak/sk at now, expiring at exp, with conds (JSON condition elements)
// and the exact matches of its own fields.
func signedPost(ak, sk string, now, exp time.Time, conds ...string) []formField {
	date := now.UTC().Format("20060102T150405Z")
	cred := ak + "/" + date[:8] + "/" + testRegion + "/s3/aws4_request"
	all := append(conds, `{"x-amz-algorithm": "AWS4-HMAC-SHA256"}`, fmt.Sprintf(`{"x-amz-credential": %q}`, cred), fmt.Sprintf(`{"x-amz-date": %q}`, date))
	doc := fmt.Sprintf(`{"expiration": %q, "conditions": [%s]}`, exp.UTC().Format(time.RFC3339), strings.Join(all, ", "))
	pol := base64.StdEncoding.EncodeToString([]byte(doc))
	return []formField{{"policy", pol}, {"x-amz-algorithm", "AWS4-HMAC-SHA256"}, {"x-amz-credential", cred},
		{"x-amz-date", date}, {"x-amz-signature", sigv4.PostSignature(sk, date[:8], testRegion, pol)}}
}

// formBody encodes fields, then the file (unless filename is ""), then
// after.
func formBody(t *testing.T, fields []formField, filename string, file []byte, after ...formField) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	write := func(fs []formField) {
		for _, f := range fs {
			if err := mw.WriteField(f.name, f.value); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(fields)
	if filename != "" {
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(file)
	}
	write(after)
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// noRedirect is a client that returns redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// postRaw sends body as a form POST to path (unsigned: the form signs).
func (e *orderEnv) postRaw(path, ctype string, body io.Reader) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// post sends a form with a file to path.
func (e *orderEnv) post(path string, fields []formField, filename string, file []byte, after ...formField) (*http.Response, []byte) {
	e.t.Helper()
	ct, body := formBody(e.t, fields, filename, file, after...)
	return e.postRaw(path, ct, bytes.NewReader(body))
}

// signed returns the env's signed fields (key ak) followed by extra.
func (e *orderEnv) signed(ak, sk string, conds []string, extra ...formField) []formField {
	now := *e.now.Load()
	return append(signedPost(ak, sk, now, now.Add(time.Hour), conds...), extra...)
}

func (e *orderEnv) absent(path string) {
	e.t.Helper()
	if resp, body := e.do(testAK, testSK, "HEAD", path, nil, nil); resp.StatusCode != http.StatusNotFound {
		e.t.Errorf("%s exists after a refused POST: %d %s", path, resp.StatusCode, body)
	}
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// TestPostObject stores browser uploads on both stores: the key from
// ${filename}, metadata and Content-Type from the fields, each
// success_action_status and the redirect.
func TestPostObject(t *testing.T) { eachStore(t, testPostObject) }

func testPostObject(t *testing.T, open storeOpener) {
	e := newOrderEnv(t, open, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	data := randBytes(300<<10, 7)
	conds := []string{`["starts-with", "$key", "user/"]`, `{"bucket": "bkt"}`, `["starts-with", "$Content-Type", "image/"]`,
		`["starts-with", "$x-amz-meta-color", ""]`, `["content-length-range", 1, 1048576]`}
	fields := e.signed(testAK, testSK, conds, formField{"key", "user/${filename}"}, formField{"Content-Type", "image/png"},
		formField{"x-amz-meta-color", "blue"})
	resp, body := e.post("/bkt", fields, "photo.png", data)
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("ETag"), `"`+md5hex(data)+`"`; got != want {
		t.Errorf("ETag %s, want %s", got, want)
	}
	if got, want := resp.Header.Get("Location"), e.srv.URL+"/bkt/user%2Fphoto.png"; got != want {
		t.Errorf("Location %s, want %s", got, want)
	}
	if !bytes.Equal(e.ok("GET", "/bkt/user/photo.png", nil), data) {
		t.Error("stored data differs")
	}
	head, _ := e.do(testAK, testSK, "HEAD", "/bkt/user/photo.png", nil, nil)
	if head.Header.Get("Content-Type") != "image/png" || head.Header.Get("X-Amz-Meta-Color") != "blue" {
		t.Errorf("metadata: %v", head.Header)
	}

	for _, c := range []struct {
		status string
		want   int
		xml    bool
	}{{"200", 200, false}, {"201", 201, true}, {"204", 204, false}, {"302", 204, false}, {"", 204, false}} {
		fields := e.signed(testAK, testSK, []string{`["starts-with", "$key", ""]`, fmt.Sprintf(`{"success_action_status": %q}`, c.status)},
			formField{"key", "s" + c.status}, formField{"success_action_status", c.status})
		resp, body := e.post("/bkt", fields, "f", []byte("x"))
		if resp.StatusCode != c.want || (len(body) > 0) != c.xml {
			t.Errorf("success_action_status %q: %d %s", c.status, resp.StatusCode, body)
		}
		if c.xml {
			var pr struct {
				Location, Bucket, Key, ETag string
			}
			if err := xml.Unmarshal(body, &pr); err != nil || pr.Bucket != "bkt" || pr.Key != "s201" || pr.ETag != `"`+md5hex([]byte("x"))+`"` ||
				pr.Location != e.srv.URL+"/bkt/s201" {
				t.Errorf("PostResponse %+v %v", pr, err)
			}
		}
	}

	fields = e.signed(testAK, testSK, []string{`["starts-with", "$key", ""]`, `["starts-with", "$success_action_redirect", "https://app.example/"]`},
		formField{"key", "a b"}, formField{"success_action_redirect", "https://app.example/done?x=1"})
	resp, body = e.post("/bkt", fields, "f", []byte("y"))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Host != "app.example" || loc.Path != "/done" {
		t.Fatalf("redirect: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if want := "x=1&bucket=bkt&key=a+b&etag=%22" + md5hex([]byte("y")) + "%22"; loc.RawQuery != want {
		t.Errorf("redirect query %s, want %s", loc.RawQuery, want)
	}
	// A redirect S3 cannot interpret is ignored: the status answers.
	fields = e.signed(testAK, testSK, []string{`["starts-with", "$key", ""]`, `["starts-with", "$success_action_redirect", ""]`},
		formField{"key", "r"}, formField{"success_action_redirect", "not a url"})
	if resp, body := e.post("/bkt", fields, "f", []byte("z")); resp.StatusCode != http.StatusNoContent {
		t.Errorf("uninterpretable redirect: %d %s", resp.StatusCode, body)
	}
}

// TestPostObjectRefused: every way a form can fail its signature, its
// policy or the order is refused with AWS's error, and nothing is stored.
func TestPostObjectRefused(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1", Expires: exp, Grace: time.Hour})
	e.ok("PUT", "/bkt", nil)
	anyKey := []string{`["starts-with", "$key", ""]`}
	k := formField{"key", "k"}
	without := func(fs []formField, name string) []formField {
		var out []formField
		for _, f := range fs {
			if f.name != name {
				out = append(out, f)
			}
		}
		return out
	}
	tamper := func(fs []formField, name, value string) []formField {
		out := append([]formField(nil), fs...)
		for i := range out {
			if out[i].name == name {
				out[i].value = value
			}
		}
		return out
	}
	now := time.Now()
	good := e.signed(testAK, testSK, anyKey, k)
	otherDay := signedPost(testAK, testSK, now.Add(-48*time.Hour), now.Add(time.Hour), anyKey...)
	for _, c := range []struct {
		name   string
		fields []formField
		status int
		code   string
		msg    string
	}{
		{"wrong secret", e.signed(testAK, "not the secret", anyKey, k), 403, "SignatureDoesNotMatch", ""},
		{"unknown key", e.signed("nobody", testSK, anyKey, k), 403, "InvalidAccessKeyId", ""},
		{"policy changed after signing", tamper(good, "policy", base64.StdEncoding.EncodeToString([]byte(`{"expiration": "2099-01-01T00:00:00Z", "conditions": []}`))), 403, "SignatureDoesNotMatch", ""},
		{"signature not hex", tamper(good, "x-amz-signature", "zz"), 403, "SignatureDoesNotMatch", ""},
		{"credential day not the date's", tamper(append(otherDay, k), "x-amz-date", now.UTC().Format("20060102T150405Z")), 400, "InvalidArgument", "credential date"},
		{"wrong region", tamper(good, "x-amz-credential", strings.Replace(good[2].value, testRegion, "eu-west-1", 1)), 400, "InvalidArgument", "the region 'eu-west-1' is wrong; expecting 'us-east-1'"},
		{"wrong algorithm", tamper(good, "x-amz-algorithm", "AWS4-HMAC-SHA1"), 400, "InvalidArgument", "X-Amz-Algorithm"},
		{"no credential", without(good, "x-amz-credential"), 400, "InvalidArgument", "field named 'X-Amz-Credential'"},
		{"no signature", without(good, "x-amz-signature"), 400, "InvalidArgument", "field named 'X-Amz-Signature'"},
		{"no algorithm nor credential", without(without(good, "x-amz-credential"), "x-amz-algorithm"), 400, "InvalidArgument", "field named 'X-Amz-Algorithm'"},
		{"no policy", without(good, "policy"), 400, "InvalidArgument", "field named 'Policy'"},
		{"anonymous into a private bucket", []formField{k}, 403, "AccessDenied", ""},
		{"a policy without a signature", []formField{k, good[0]}, 400, "InvalidArgument", "field named 'X-Amz-Algorithm'"},
		{"signature version 2", []formField{k, {"AWSAccessKeyId", testAK}, {"policy", "e30="}, {"signature", "x"}}, 400, "InvalidRequest", "Signature Version 2"},
		{"expired policy", append(signedPost(testAK, testSK, now, now.Add(-time.Second), anyKey...), k), 403, "AccessDenied", "Policy expired"},
		{"condition failed", e.signed(testAK, testSK, []string{`["starts-with", "$key", "user/"]`}, k), 403, "AccessDenied", `Policy Condition failed: ["starts-with", "$key", "user/"]`},
		{"field not in policy", e.signed(testAK, testSK, anyKey, k, formField{"x-amz-meta-a", "1"}), 403, "AccessDenied", "Extra input fields: x-amz-meta-a"},
		{"bucket condition", e.signed(testAK, testSK, append(anyKey, `{"bucket": "other"}`), k), 403, "AccessDenied", "$bucket"},
		{"bucket field not in policy", e.signed(testAK, testSK, anyKey, k, formField{"bucket", "bkt"}), 403, "AccessDenied", "Extra input fields: bucket"},
		{"bad policy", tamper(good, "policy", "%%%"), 403, "SignatureDoesNotMatch", ""},
		{"no key", e.signed(testAK, testSK, anyKey), 400, "InvalidArgument", "field named 'key'"},
		{"empty key", e.signed(testAK, testSK, anyKey, formField{"key", ""}), 400, "InvalidArgument", "length greater than 0"},
		{"key too long", e.signed(testAK, testSK, anyKey, formField{"key", strings.Repeat("k", 1025)}), 400, "KeyTooLongError", ""},
		{"acl public-read", e.signed(testAK, testSK, append(anyKey, `{"acl": "public-read"}`), k, formField{"acl", "public-read"}), 400, "AccessControlListNotSupported", ""},
		{"acl not canned", e.signed(testAK, testSK, append(anyKey, `{"acl": "everyone"}`), k, formField{"acl", "everyone"}), 400, "InvalidArgument", ""},
		{"tagging not a document", e.signed(testAK, testSK, append(anyKey, `["starts-with", "$tagging", ""]`), k, formField{"tagging", "a=b"}), 400, "MalformedXML", ""},
		{"tagging invalid", e.signed(testAK, testSK, append(anyKey, `["starts-with", "$tagging", ""]`), k, formField{"tagging", "<Tagging><TagSet><Tag><Key>aws:x</Key><Value>1</Value></Tag></TagSet></Tagging>"}), 400, "InvalidTag", ""},
		{"server-side encryption", e.signed(testAK, testSK, append(anyKey, `{"x-amz-server-side-encryption": "AES256"}`), k, formField{"x-amz-server-side-encryption", "AES256"}), 501, "NotImplemented", ""},
		{"storage class", e.signed(testAK, testSK, append(anyKey, `{"x-amz-storage-class": "COLD"}`), k, formField{"x-amz-storage-class", "COLD"}), 400, "InvalidStorageClass", ""},
		{"read-only key", e.signed(roAK, roSK, anyKey, k), 403, "AccessDenied", "read-only"},
		{"content-md5 mismatch", e.signed(testAK, testSK, append(anyKey, `["starts-with", "$Content-MD5", ""]`), k, formField{"Content-MD5", base64.StdEncoding.EncodeToString(make([]byte, 16))}), 400, "BadDigest", ""},
		{"checksum mismatch", e.signed(testAK, testSK, append(anyKey, `["starts-with", "$x-amz-checksum-crc32", ""]`), k, formField{"x-amz-checksum-crc32", "AAAAAA=="}), 400, "BadDigest", ""},
		{"tagging twice", e.signed(testAK, testSK, append(anyKey, `["starts-with", "$tagging", ""]`, `["starts-with", "$x-amz-tagging", ""]`), k,
			formField{"tagging", "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>"}, formField{"x-amz-tagging", "b=2"}), 400, "InvalidArgument", "tagging"},
		{"x-amz-content-sha256 field", e.signed(testAK, testSK, append(anyKey, `["starts-with", "$x-amz-content-sha256", ""]`), k, formField{"x-amz-content-sha256", strings.Repeat("0", 64)}), 400, "InvalidArgument", "x-amz-content-sha256"},
		{"x-amz-decoded-content-length field", e.signed(testAK, testSK, append(anyKey, `["starts-with", "$x-amz-decoded-content-length", ""]`), k, formField{"x-amz-decoded-content-length", "1"}), 400, "InvalidArgument", "x-amz-decoded-content-length"},
		{"newline in metadata", e.signed(testAK, testSK, append(anyKey, `["starts-with", "$x-amz-meta-a", ""]`), k, formField{"x-amz-meta-a", "x\r\nSet-Cookie: a=b"}), 400, "InvalidArgument", "x-amz-meta-a"},
		{"newline in redirect location", e.signed(testAK, testSK, append(anyKey, `["starts-with", "$x-amz-website-redirect-location", ""]`), k, formField{"x-amz-website-redirect-location", "/x\nSet-Cookie: a=b"}), 400, "InvalidArgument", "x-amz-website-redirect-location"},
		{"control character in Content-Type", e.signed(testAK, testSK, append(anyKey, `["starts-with", "$Content-Type", ""]`), k, formField{"Content-Type", "text/plain\x00"}), 400, "InvalidArgument", "content-type"},
		{"too large", e.signed(testAK, testSK, append(anyKey, `["content-length-range", 0, 3]`), k), 400, "EntityTooLarge", ""},
		{"too small", e.signed(testAK, testSK, append(anyKey, `["content-length-range", 100, 200]`), k), 400, "EntityTooSmall", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.post("/bkt", c.fields, "f.txt", []byte("data"))
			wantError(t, resp, body, c.status, c.code)
			if c.msg != "" {
				wantMessage(t, body, c.msg)
			}
			e.absent("/bkt/k")
		})
	}
	t.Run("no such bucket", func(t *testing.T) {
		resp, body := e.post("/nobkt", good, "f", []byte("data"))
		wantError(t, resp, body, 404, "NoSuchBucket")
	})
	t.Run("expired order", func(t *testing.T) {
		e.setNow(exp.Add(time.Minute))
		defer e.setNow(time.Now())
		resp, body := e.post("/bkt", e.signed(testAK, testSK, anyKey, k), "f", []byte("data"))
		wantError(t, resp, body, 403, "AccessDenied")
		wantMessage(t, body, "read-only")
		e.absent("/bkt/k")
	})
}

// TestPostObjectFields: Content-MD5 and checksum fields are verified, acl
// private is accepted, fields after the file are ignored (as AWS
// documents), x-ignore- fields need no condition.
func TestPostObjectFields(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	data := []byte("hello, form")
	sum := md5.Sum(data)
	crc := crc32.ChecksumIEEE(data)
	crcB64 := base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	fields := e.signed(testAK, testSK, []string{`{"key": "k"}`, `{"acl": "private"}`, `["starts-with", "$Content-MD5", ""]`, `["starts-with", "$x-amz-checksum-crc32", ""]`},
		formField{"key", "k"}, formField{"acl", "private"}, formField{"Content-MD5", base64.StdEncoding.EncodeToString(sum[:])},
		formField{"x-amz-checksum-crc32", crcB64}, formField{"x-ignore-note", "anything"})
	resp, body := e.post("/bkt", fields, "f", data, formField{"x-amz-meta-late", "ignored"}, formField{"key", "other"})
	if resp.StatusCode != 204 {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Amz-Checksum-Crc32"); got != crcB64 {
		t.Errorf("checksum header %q, want %q", got, crcB64)
	}
	head, _ := e.do(testAK, testSK, "HEAD", "/bkt/k", nil, map[string]string{"x-amz-checksum-mode": "ENABLED"})
	if head.Header.Get("X-Amz-Meta-Late") != "" || head.Header.Get("X-Amz-Checksum-Crc32") != crcB64 {
		t.Errorf("HEAD: %v", head.Header)
	}
	e.absent("/bkt/other")

	// ${filename}: the name after the last / or \; kept as written when
	// the file part has no filename parameter (as S3 does).
	for _, c := range []struct{ disposition, key string }{
		{`form-data; name="file"; filename="C:\\Users\\me\\photo.jpg"`, "up/photo.jpg"},
		{`form-data; name="file"; filename="dir/sub/a.txt"`, "up/a.txt"},
		{`form-data; name="file"`, "up/${filename}"},
	} {
		fields := e.signed(testAK, testSK, []string{`["starts-with", "$key", "up/"]`}, formField{"key", "up/${filename}"})
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, f := range fields {
			mw.WriteField(f.name, f.value)
		}
		pw, _ := mw.CreatePart(map[string][]string{"Content-Disposition": {c.disposition}})
		pw.Write([]byte("named"))
		mw.Close()
		if resp, body := e.postRaw("/bkt", mw.FormDataContentType(), &buf); resp.StatusCode != 204 {
			t.Errorf("%s: %d %s", c.disposition, resp.StatusCode, body)
		}
		if _, rc, err := e.st.GetObject(context.Background(), "bkt", c.key, nil); err != nil {
			t.Errorf("%s: %s not stored: %v", c.disposition, c.key, err)
		} else {
			rc.Close()
		}
	}

	// Without a checksum field the object gets CRC64NVME, as a PUT; the
	// file part's own Content-Type is not the object's (AWS takes only
	// the field).
	fields = e.signed(testAK, testSK, []string{`{"key": "plain"}`}, formField{"key", "plain"})
	resp, body = e.post("/bkt", fields, "f.png", data)
	if resp.StatusCode != 204 || resp.Header.Get("X-Amz-Checksum-Crc64nvme") == "" {
		t.Errorf("POST without a checksum: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	head, _ = e.do(testAK, testSK, "HEAD", "/bkt/plain", nil, nil)
	if ct := head.Header.Get("Content-Type"); ct != "binary/octet-stream" {
		t.Errorf("Content-Type %q from the file part", ct)
	}
	// Fields of one name are one field, the values joined by commas.
	fields = e.signed(testAK, testSK, []string{`{"key": "dup"}`, `{"x-amz-meta-tag": "Ninja,Stallman"}`},
		formField{"key", "dup"}, formField{"x-amz-meta-tag", "Ninja"}, formField{"X-Amz-Meta-Tag", "Stallman"})
	if resp, body := e.post("/bkt", fields, "f", data); resp.StatusCode != 204 {
		t.Errorf("duplicate fields: %d %s", resp.StatusCode, body)
	}
	head, _ = e.do(testAK, testSK, "HEAD", "/bkt/dup", nil, nil)
	if got := head.Header.Get("X-Amz-Meta-Tag"); got != "Ninja,Stallman" {
		t.Errorf("x-amz-meta-tag %q", got)
	}
	// x-amz-checksum-algorithm asks for a checksum the gateway computes.
	fields = e.signed(testAK, testSK, []string{`{"key": "sha"}`, `{"x-amz-checksum-algorithm": "SHA256"}`},
		formField{"key", "sha"}, formField{"x-amz-checksum-algorithm", "SHA256"})
	resp, body = e.post("/bkt", fields, "f", data)
	sha := sha256.Sum256(data)
	if want := base64.StdEncoding.EncodeToString(sha[:]); resp.StatusCode != 204 || resp.Header.Get("X-Amz-Checksum-Sha256") != want {
		t.Errorf("x-amz-checksum-algorithm SHA256: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// The tagging field is a Tagging document.
	fields = e.signed(testAK, testSK, []string{`{"key": "tagged"}`, `["starts-with", "$tagging", ""]`}, formField{"key", "tagged"},
		formField{"tagging", "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>two words</Value></Tag></TagSet></Tagging>"})
	if resp, body = e.post("/bkt", fields, "f", data); resp.StatusCode != 204 {
		t.Fatalf("POST with tagging: %d %s", resp.StatusCode, body)
	}
	if tags := string(e.ok("GET", "/bkt/tagged?tagging", nil)); !strings.Contains(tags, "<Key>b</Key><Value>two words</Value>") {
		t.Errorf("tags of a POST upload: %s", tags)
	}
}

// TestPostObjectHostile: oversize forms, a file before the policy,
// malformed and truncated bodies are refused with AWS's errors; nothing
// partial is stored.
func TestPostObjectHostile(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	anyKey := []string{`["starts-with", "$key", ""]`}
	k := formField{"key", "k"}
	var many []formField
	for i := range 200 {
		many = append(many, formField{fmt.Sprintf("x-ignore-%d", i), ""})
	}
	cases := []struct {
		name   string
		fields []formField
		status int
		code   string
	}{
		{"field over 20 KB", e.signed(testAK, testSK, anyKey, k, formField{"x-ignore-pad", strings.Repeat("a", 21<<10)}), 400, "MaxPostPreDataLengthExceeded"},
		{"too many fields", e.signed(testAK, testSK, anyKey, append(many, k)...), 400, "MaxPostPreDataLengthExceeded"},
		{"too many fields of one name", e.signed(testAK, testSK, anyKey, append(slices.Repeat([]formField{{"x-ignore-a", ""}}, 200), k)...), 400, "MaxPostPreDataLengthExceeded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.post("/bkt", c.fields, "f", []byte("data"))
			wantError(t, resp, body, c.status, c.code)
			e.absent("/bkt/k")
		})
	}
	t.Run("just under 20 KB", func(t *testing.T) {
		fields := e.signed(testAK, testSK, anyKey, k, formField{"x-ignore-pad", strings.Repeat("a", 18<<10)})
		if resp, body := e.post("/bkt", fields, "f", []byte("data")); resp.StatusCode != 204 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		e.ok("DELETE", "/bkt/k", nil)
	})
	t.Run("huge part header", func(t *testing.T) {
		body := "--B\r\nContent-Disposition: form-data; name=\"key\"\r\nX-Pad: " + strings.Repeat("a", 1<<20) + "\r\n\r\nk\r\n--B--\r\n"
		resp, b := e.postRaw("/bkt", "multipart/form-data; boundary=B", strings.NewReader(body))
		wantError(t, resp, b, 400, "MaxPostPreDataLengthExceeded")
	})
	t.Run("endless preamble", func(t *testing.T) {
		resp, b := e.postRaw("/bkt", "multipart/form-data; boundary=B", io.LimitReader(lines{}, 10<<20))
		wantError(t, resp, b, 400, "MaxPostPreDataLengthExceeded")
	})
	t.Run("file before policy", func(t *testing.T) {
		ct, body := formBody(t, nil, "f", []byte("data"), e.signed(testAK, testSK, anyKey, k)...)
		resp, b := e.postRaw("/bkt", ct, bytes.NewReader(body))
		wantError(t, resp, b, 400, "InvalidArgument")
		wantMessage(t, b, "check the order of the fields")
		e.absent("/bkt/k")
	})
	t.Run("no file", func(t *testing.T) {
		resp, b := e.post("/bkt", e.signed(testAK, testSK, anyKey, k), "", nil)
		wantError(t, resp, b, 400, "InvalidArgument")
		wantMessage(t, b, "exactly one file")
	})
	t.Run("no boundary", func(t *testing.T) {
		resp, b := e.postRaw("/bkt", "multipart/form-data", strings.NewReader("x"))
		wantError(t, resp, b, 400, "MalformedPOSTRequest")
	})
	t.Run("not a form", func(t *testing.T) {
		resp, b := e.postRaw("/bkt", "text/html", strings.NewReader("<p>"))
		wantError(t, resp, b, 412, "PreconditionFailed")
		wantMessage(t, b, "multipart/form-data")
	})
	t.Run("not multipart", func(t *testing.T) {
		resp, b := e.postRaw("/bkt", "multipart/form-data; boundary=B", strings.NewReader("garbage"))
		wantError(t, resp, b, 400, "MalformedPOSTRequest")
	})
	t.Run("truncated file", func(t *testing.T) {
		ct, body := formBody(t, e.signed(testAK, testSK, anyKey, k), "f", randBytes(100<<10, 1))
		resp, b := e.postRaw("/bkt", ct, bytes.NewReader(body[:len(body)-200]))
		wantError(t, resp, b, 400, "IncompleteBody")
		e.absent("/bkt/k")
	})
}

// lines is an endless stream of short lines.
type lines struct{}

func (lines) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = "x\r\n"[i%3]
	}
	return len(b) - len(b)%3, nil
}

// TestPostObjectCapacity: a POST into a full order is cut off and rolled
// back like a PUT of unknown length.
func TestPostObjectCapacity(t *testing.T) { eachStore(t, testPostObjectCapacity) }

func testPostObjectCapacity(t *testing.T, open storeOpener) {
	capacity := bktCost + objCost("k", 1<<20)
	e := newOrderEnv(t, open, &order.Order{ID: "o1", Capacity: capacity})
	e.ok("PUT", "/bkt", nil)
	fields := e.signed(testAK, testSK, []string{`["starts-with", "$key", ""]`}, formField{"key", "k"})
	resp, body := e.post("/bkt", fields, "f", randBytes(2<<20, 1))
	wantError(t, resp, body, 403, "QuotaExceeded")
	e.absent("/bkt/k")
	if gu, _ := e.h.Usage(context.Background()); gu.Reserved != 0 {
		t.Errorf("reservations left: %d", gu.Reserved)
	}
	if resp, body := e.post("/bkt", fields, "f", randBytes(1<<20, 2)); resp.StatusCode != 204 {
		t.Fatalf("fitting POST: %d %s", resp.StatusCode, body)
	}
}

// TestPostObjectSDKs: the forms the AWS SDK's and minio-go's presigners
// make are accepted.
func TestPostObjectSDKs(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	ctx := context.Background()
	cli := s3.New(s3.Options{Region: testRegion, BaseEndpoint: aws.String(e.srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testAK, testSK, "")})
	pp, err := s3.NewPresignClient(cli).PresignPostObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("aws")},
		func(o *s3.PresignPostOptions) { o.Conditions = []any{[]any{"content-length-range", 1, 1024}} })
	if err != nil {
		t.Fatal(err)
	}
	var fields []formField
	for k, v := range pp.Values {
		fields = append(fields, formField{k, v})
	}
	if resp, body := e.post("/bkt", fields, "f", []byte("from aws")); resp.StatusCode != 204 {
		t.Fatalf("aws-sdk-go-v2 form (%s): %d %s", pp.URL, resp.StatusCode, body)
	}

	mc, err := minio.New(strings.TrimPrefix(e.srv.URL, "http://"), &minio.Options{Creds: miniocreds.NewStaticV4(testAK, testSK, ""), Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	p := minio.NewPostPolicy()
	_ = p.SetBucket("bkt")
	_ = p.SetKey("minio")
	_ = p.SetExpires(time.Now().Add(time.Hour))
	_ = p.SetContentType("text/plain")
	_ = p.SetContentLengthRange(1, 1024)
	_ = p.SetUserMetadata("origin", "minio")
	u, form, err := mc.PresignedPostPolicy(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	fields = nil
	for k, v := range form {
		fields = append(fields, formField{k, v})
	}
	if resp, body := e.post(u.Path, fields, "f", []byte("from minio")); resp.StatusCode != 204 {
		t.Fatalf("minio-go form: %d %s", resp.StatusCode, body)
	}
	if string(e.ok("GET", "/bkt/aws", nil)) != "from aws" || string(e.ok("GET", "/bkt/minio", nil)) != "from minio" {
		t.Error("stored data differs")
	}
}

// TestPostObjectVirtualHost: a form posted to <bucket>.<domain>/ stores
// into that bucket; Location names the object on that host.
func TestPostObjectVirtualHost(t *testing.T) {
	st, _ := openEmbedded(t)
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: testRegion, Domain: "s3.test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	if err := st.CreateBucket(context.Background(), "bkt"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	fields := append(signedPost(testAK, testSK, now, now.Add(time.Hour), `{"bucket": "bkt"}`, `{"key": "a/b"}`, `{"success_action_status": "201"}`),
		formField{"key", "a/b"}, formField{"success_action_status", "201"})
	ct, body := formBody(t, fields, "f", []byte("vhost"))
	req, _ := http.NewRequest("POST", srv.URL+"/", bytes.NewReader(body))
	req.Host = "bkt.s3.test"
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || resp.Header.Get("Location") != "http://bkt.s3.test/a%2Fb" || !bytes.Contains(b, []byte("<Bucket>bkt</Bucket>")) {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
	}
	obj, rc, err := st.GetObject(context.Background(), "bkt", "a/b", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); string(got) != "vhost" || obj.Size != 5 {
		t.Errorf("stored %q", got)
	}
}

// TestPostObjectVersioned: in a versioned bucket each POST makes a new
// version and answers its id, as PutObject does.
func TestPostObjectVersioned(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt?versioning", []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`))
	var ids []string
	for _, data := range []string{"one", "two"} {
		fields := e.signed(testAK, testSK, []string{`{"key": "v"}`}, formField{"key", "v"})
		resp, body := e.post("/bkt", fields, "f", []byte(data))
		id := resp.Header.Get("X-Amz-Version-Id")
		if resp.StatusCode != 204 || id == "" {
			t.Fatalf("POST %s: %d %v %s", data, resp.StatusCode, resp.Header, body)
		}
		ids = append(ids, id)
	}
	if ids[0] == ids[1] {
		t.Fatalf("one version id for two uploads: %s", ids[0])
	}
	if got := string(e.ok("GET", "/bkt/v?versionId="+url.QueryEscape(ids[0]), nil)); got != "one" {
		t.Errorf("first version: %q", got)
	}
}

// TestPostObjectAnonymous: a form without a signature is an anonymous
// upload, served exactly where an anonymous PutObject is (a bucket whose
// ACL grants AllUsers WRITE, or whose policy allows s3:PutObject to "*"),
// and refused everywhere else.
func TestPostObjectAnonymous(t *testing.T) { eachStore(t, testPostObjectAnonymous) }

func testPostObjectAnonymous(t *testing.T, open storeOpener) {
	e := publicEnv(t, open, &order.Order{ID: "o1"})
	// "pub" is public-read-write: the upload is stored, with its fields.
	resp, body := e.post("/pub", []formField{{"key", "up/${filename}"}, {"Content-Type", "text/x-anon"}, {"x-amz-meta-who", "browser"},
		{"success_action_status", "201"}}, "a.txt", []byte("anonymous data"))
	if resp.StatusCode != 201 || !strings.Contains(string(body), "<Key>up/a.txt</Key>") {
		t.Fatalf("anonymous POST into public-read-write: %d %s", resp.StatusCode, body)
	}
	if got := string(e.ok("GET", "/pub/up/a.txt", nil)); got != "anonymous data" {
		t.Errorf("stored %q", got)
	}
	head, _ := e.do(testAK, testSK, "HEAD", "/pub/up/a.txt", nil, nil)
	if head.Header.Get("Content-Type") != "text/x-anon" || head.Header.Get("X-Amz-Meta-Who") != "browser" {
		t.Errorf("fields not applied: %v", head.Header)
	}
	e.wantAnon("GET", "/pub/up/a.txt", nil, nil, 403, "AccessDenied") // its ACL is private

	// A public-read (not -write) bucket, a public ACL asked anonymously,
	// a policy without a signature, a private bucket.
	e.want(testAK, testSK, "PUT", "/readonly", nil, map[string]string{"x-amz-object-ownership": "ObjectWriter", "x-amz-acl": "public-read"}, 200, "")
	for _, c := range []struct {
		name, path string
		fields     []formField
		status     int
		code       string
	}{
		{"public-read bucket", "/readonly", []formField{{"key", "k"}}, 403, "AccessDenied"},
		{"private bucket", "/bkt", []formField{{"key", "x"}}, 403, "AccessDenied"},
		{"missing bucket", "/nobucket", []formField{{"key", "x"}}, 403, "AccessDenied"},
		{"public ACL", "/pub", []formField{{"key", "x"}, {"acl", "public-read"}}, 403, "AccessDenied"},
		{"policy without a signature", "/pub", []formField{{"key", "x"}, {"policy", "e30="}}, 400, "InvalidArgument"},
		{"signature without a policy", "/pub", []formField{{"key", "x"}, {"x-amz-signature", "00"}}, 400, "InvalidArgument"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.post(c.path, c.fields, "f", []byte("data"))
			wantError(t, resp, body, c.status, c.code)
			if c.path != "/nobucket" {
				e.absent(c.path + "/" + c.fields[0].value)
			}
		})
	}

	// A policy granting s3:PutObject to "*" on a prefix of a private bucket.
	e.want(testAK, testSK, "PUT", "/bkt?policy", bucketPolicy("bkt", `{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::BKT/drop/*"}`), nil, 204, "")
	if resp, body := e.post("/bkt", []formField{{"key", "drop/f"}}, "f", []byte("dropped")); resp.StatusCode != 204 {
		t.Errorf("POST allowed by the policy: %d %s", resp.StatusCode, body)
	}
	resp, body = e.post("/bkt", []formField{{"key", "other/f"}}, "f", []byte("x"))
	wantError(t, resp, body, 403, "AccessDenied")
	// An explicit Deny wins over the ACL.
	e.want(testAK, testSK, "PUT", "/pub?policy", bucketPolicy("pub", `{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::BKT/no/*"}`), nil, 204, "")
	resp, body = e.post("/pub", []formField{{"key", "no/f"}}, "f", []byte("x"))
	wantError(t, resp, body, 403, "AccessDenied")
	e.absent("/pub/no/f")

	// PublicAccessBlock: IgnorePublicAcls refuses what the ACL grants,
	// RestrictPublicBuckets what the policy does.
	e.want(testAK, testSK, "PUT", "/pub?publicAccessBlock", pabXML(false, true, false, false), nil, 200, "")
	resp, body = e.post("/pub", []formField{{"key", "blocked"}}, "f", []byte("x"))
	wantError(t, resp, body, 403, "AccessDenied")
	e.absent("/pub/blocked")
	e.want(testAK, testSK, "PUT", "/bkt?publicAccessBlock", pabXML(false, false, false, true), nil, 200, "")
	resp, body = e.post("/bkt", []formField{{"key", "drop/blocked"}}, "f", []byte("x"))
	wantError(t, resp, body, 403, "AccessDenied")
	e.absent("/bkt/drop/blocked")
	e.want(testAK, testSK, "DELETE", "/pub?publicAccessBlock", nil, nil, 204, "")

	// Capacity, the order's switch and expiry apply as to PutObject.
	o := *e.h.Order()
	o.Capacity = e.used() + 2000
	if err := e.h.SetOrder(&o); err != nil {
		t.Fatal(err)
	}
	resp, body = e.post("/pub", []formField{{"key", "big"}}, "f", bytes.Repeat([]byte("x"), 4000))
	wantError(t, resp, body, 403, "QuotaExceeded")
	e.absent("/pub/big")
	o.Capacity, o.BlockPublic = 0, true
	if err := e.h.SetOrder(&o); err != nil {
		t.Fatal(err)
	}
	resp, body = e.post("/pub", []formField{{"key", "k2"}}, "f", []byte("x"))
	wantError(t, resp, body, 403, "AccessDenied")
	o.BlockPublic = false
	o.Expires, o.Grace = time.Now().Add(-time.Minute), time.Hour
	if err := e.h.SetOrder(&o); err != nil {
		t.Fatal(err)
	}
	resp, body = e.post("/pub", []formField{{"key", "k2"}}, "f", []byte("x"))
	wantError(t, resp, body, 403, "AccessDenied")
	e.absent("/pub/k2")
}
