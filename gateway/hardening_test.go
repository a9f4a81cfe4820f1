package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/store/upstream"
)

// Behaviours found by a review of the hardening change (each test failed
// before its fix).

// TestCreateOwnedBucketInFullOrder: re-creating a bucket the order
// already owns is answered before any capacity check (us-east-1: 200 OK,
// elsewhere 409 BucketAlreadyOwnedByYou). createBucket reserves
// BucketCost before it learns the bucket exists, so a full order answers
// 403 QuotaExceeded to an idempotent CreateBucket (rclone, terraform,
// `aws s3 mb`).
func TestCreateOwnedBucketInFullOrder(t *testing.T) {
	capacity := bktCost + objCost("a", 1000)
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1", Capacity: capacity})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/a", randBytes(1000, 1))
	if resp, body := e.do(testAK, testSK, "PUT", "/bkt", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("CreateBucket of an owned bucket in a full us-east-1 order: %d %s, want 200", resp.StatusCode, body)
	}
	// A write into a missing bucket is NoSuchBucket, not QuotaExceeded.
	resp, body := e.do(testAK, testSK, "PUT", "/nobkt/k", []byte("x"), nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
	resp, body = e.do(testAK, testSK, "PUT", "/bkt2", nil, nil)
	wantError(t, resp, body, http.StatusForbidden, "QuotaExceeded")
}

// TestConditionalDelete: DeleteObject with If-Match (S3 conditional
// deletes, general purpose buckets since 2025) deletes only when the
// current object's ETag is listed: a mismatch is 412 and deletes nothing
// (never an unconditional delete), a missing key 404, and the condition
// is checked in the delete's transaction. In a versioned bucket the
// matching delete adds a delete marker; with a versionId it is refused.
func TestConditionalDelete(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/k", []byte("keep me"))
	head, _ := e.do(testAK, testSK, "HEAD", "/bkt/k", nil, nil)
	etag := head.Header.Get("ETag")

	resp, body := e.do(testAK, testSK, "DELETE", "/bkt/k", nil, map[string]string{"If-Match": `"0123456789abcdef0123456789abcdef"`})
	wantError(t, resp, body, http.StatusPreconditionFailed, "PreconditionFailed")
	if resp, _ := e.do(testAK, testSK, "GET", "/bkt/k", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the object was deleted despite If-Match not matching")
	}
	resp, body = e.do(testAK, testSK, "DELETE", "/bkt/absent", nil, map[string]string{"If-Match": "*"})
	wantError(t, resp, body, http.StatusNotFound, "NoSuchKey")
	for _, ifMatch := range []string{etag, `"other", ` + etag, "*"} {
		e.ok("PUT", "/bkt/k", []byte("keep me"))
		if resp, body := e.do(testAK, testSK, "DELETE", "/bkt/k", nil, map[string]string{"If-Match": ifMatch}); resp.StatusCode != http.StatusNoContent {
			t.Errorf("DeleteObject with If-Match %s: %d %s", ifMatch, resp.StatusCode, body)
		}
		if resp, _ := e.do(testAK, testSK, "HEAD", "/bkt/k", nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("after DeleteObject with a matching If-Match %s: HEAD %d", ifMatch, resp.StatusCode)
		}
	}

	// Versioned: a matching conditional delete adds a delete marker.
	doc := []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)
	if resp, body := e.do(testAK, testSK, "PUT", "/bkt?versioning", doc, map[string]string{"Content-MD5": md5b64(doc)}); resp.StatusCode != 200 {
		t.Fatalf("PutBucketVersioning: %d %s", resp.StatusCode, body)
	}
	put, _ := e.do(testAK, testSK, "PUT", "/bkt/v", []byte("v1"), nil)
	resp, body = e.do(testAK, testSK, "DELETE", "/bkt/v?versionId="+put.Header.Get("x-amz-version-id"), nil, map[string]string{"If-Match": "*"})
	wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
	resp, body = e.do(testAK, testSK, "DELETE", "/bkt/v", nil, map[string]string{"If-Match": put.Header.Get("ETag")})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("x-amz-delete-marker") != "true" {
		t.Errorf("conditional delete in a versioned bucket: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = e.do(testAK, testSK, "DELETE", "/bkt/v", nil, map[string]string{"If-Match": "*"})
	wantError(t, resp, body, http.StatusNotFound, "NoSuchKey") // the current version is a delete marker
}

// TestPartChecksumOnUploadWithout: the SDKs send a CRC32 with every part
// by default, also to an upload created without a checksum algorithm (as
// versitygw's suite, run against AWS, does); S3 takes the part, and the
// upload completes with the parts' ETags.
func TestPartChecksumOnUploadWithout(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	id := e.createUpload("/bkt/k")
	body := []byte("hello part")
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc32.ChecksumIEEE(body))
	sum := base64.StdEncoding.EncodeToString(b[:])
	resp, rb := e.do(testAK, testSK, "PUT", "/bkt/k?partNumber=1&uploadId="+id, body, map[string]string{"x-amz-checksum-crc32": sum})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("UploadPart with a CRC32 checksum to an upload without one: %d %s", resp.StatusCode, rb)
	}
	complete := []byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>` + resp.Header.Get("ETag") + `</ETag></Part></CompleteMultipartUpload>`)
	if resp, rb := e.do(testAK, testSK, "POST", "/bkt/k?uploadId="+id, complete, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("Complete: %d %s", resp.StatusCode, rb)
	}
	if got := string(e.ok("GET", "/bkt/k", nil)); got != string(body) {
		t.Errorf("object %q", got)
	}
}

// TestPresignedHoistedHeaders: presigners hoist x-amz-*
// headers into the query string (the AWS SDK for JavaScript v2 and the Ruby
// SDK hoist all of them, SSE included; JavaScript v3 hoists x-amz-acl and
// x-amz-meta-*, and SSE with hoistableHeaders), and S3 takes several of them
// from the query. The refusal table (refuse.go) reads only request headers:
// a presigned PUT with x-amz-server-side-encryption=AES256 (or
// x-amz-acl=public-read, x-amz-tagging) in its signed query is answered 200
// and stores plaintext: the silent downgrade issue 12 section 1b forbids.
func TestPresignedHoistedHeaders(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	for _, q := range []string{"x-amz-server-side-encryption=AES256", "x-amz-acl=public-read", "x-amz-tagging=aws%3Ab%3Dc"} {
		req, _ := http.NewRequest("PUT", e.srv.URL+"/bkt/k?X-Amz-Expires=300&"+q, nil)
		u, _, err := newS3Signer().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK},
			req, "UNSIGNED-PAYLOAD", "s3", testRegion, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		put, _ := http.NewRequest("PUT", u, strings.NewReader("secret data"))
		resp, err := http.DefaultClient.Do(put)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("%s: %d %s", q, resp.StatusCode, body)
		if resp.StatusCode == http.StatusOK {
			t.Errorf("presigned PUT with %s in its query: 200 (accepted, not honoured); want it refused as the header is (%s)", q, body)
		}
	}
	// Hoisted metadata, tags and canned ACLs the gateway does are honoured.
	req, _ := http.NewRequest("PUT", e.srv.URL+"/bkt/m?X-Amz-Expires=300&x-amz-meta-colour=blue&x-amz-acl=private&x-amz-tagging=a%3Db", nil)
	u, _, err := newS3Signer().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK},
		req, "UNSIGNED-PAYLOAD", "s3", testRegion, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	put, _ := http.NewRequest("PUT", u, strings.NewReader("data"))
	resp, err := http.DefaultClient.Do(put)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned PUT with hoisted metadata: %d", resp.StatusCode)
	}
	if head, _ := e.do(testAK, testSK, "HEAD", "/bkt/m", nil, nil); head.Header.Get("x-amz-meta-colour") != "blue" || head.Header.Get("x-amz-tagging-count") != "1" {
		t.Errorf("hoisted x-amz-meta-colour or x-amz-tagging not stored: %v", head.Header)
	}
}

// TestConditionalDeleteObjects: an <ETag> in a DeleteObjects entry makes
// that entry's delete conditional, as S3's conditional deletes: a
// mismatch is the entry's PreconditionFailed error and deletes nothing, a
// missing key NoSuchKey, the other entries are deleted. A store that
// cannot delete conditionally (upstream mode) answers those entries
// NotImplemented, never deleting them unconditionally. <Size> and
// <LastModifiedTime> (directory buckets only) refuse the request.
func TestConditionalDeleteObjects(t *testing.T) { eachStore(t, testConditionalDeleteObjects) }

func testConditionalDeleteObjects(t *testing.T, open storeOpener) {
	e := newOrderEnv(t, open, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	etags := map[string]string{}
	for _, k := range []string{"match", "list", "star", "mismatch", "plain"} {
		put, _ := e.do(testAK, testSK, "PUT", "/bkt/"+k, []byte("data of "+k), nil)
		etags[k] = put.Header.Get("ETag")
	}
	doc := []byte(`<Delete>` +
		`<Object><Key>match</Key><ETag>` + etags["match"] + `</ETag></Object>` +
		`<Object><Key>list</Key><ETag>"0123456789abcdef0123456789abcdef", ` + strings.Trim(etags["list"], `"`) + `</ETag></Object>` +
		`<Object><Key>star</Key><ETag>*</ETag></Object>` +
		`<Object><Key>mismatch</Key><ETag>"0123456789abcdef0123456789abcdef"</ETag></Object>` +
		`<Object><Key>absent</Key><ETag>*</ETag></Object>` +
		`<Object><Key>plain</Key></Object>` +
		`<Object><Key>absent2</Key></Object></Delete>`)
	resp, body := e.do(testAK, testSK, "POST", "/bkt?delete", doc, map[string]string{"Content-MD5": md5b64(doc)})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DeleteObjects: %d %s", resp.StatusCode, body)
	}
	var res struct {
		Deleted []struct{ Key string }
		Error   []struct{ Key, Code string }
	}
	if err := xml.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range res.Deleted {
		got[d.Key] = "deleted"
	}
	for _, er := range res.Error {
		got[er.Key] = er.Code
	}
	want := map[string]string{"match": "deleted", "list": "deleted", "star": "deleted", "mismatch": "PreconditionFailed",
		"absent": "NoSuchKey", "plain": "deleted", "absent2": "deleted"}
	_, upstreamStore := e.st.(*upstream.Store)
	if upstreamStore {
		for _, k := range []string{"match", "list", "star", "mismatch", "absent"} {
			want[k] = "NotImplemented"
		}
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q (%s)", k, got[k], w, body)
		}
		exists := e.exists("/bkt/" + k)
		if wantExists := w != "deleted" && k != "absent"; exists != wantExists {
			t.Errorf("%s exists: %v, want %v", k, exists, wantExists)
		}
	}

	// Directory-bucket conditions refuse the whole request.
	e.ok("PUT", "/bkt/plain", []byte("again"))
	for _, cond := range []string{`<Size>5</Size>`, `<LastModifiedTime>2025-01-01T00:00:00Z</LastModifiedTime>`} {
		doc := []byte(`<Delete><Object><Key>plain</Key>` + cond + `</Object><Object><Key>mismatch</Key></Object></Delete>`)
		resp, body := e.do(testAK, testSK, "POST", "/bkt?delete", doc, map[string]string{"Content-MD5": md5b64(doc)})
		wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
		if !e.exists("/bkt/plain") || !e.exists("/bkt/mismatch") {
			t.Errorf("a refused DeleteObjects (%s) deleted something", cond)
		}
	}
	for _, hdr := range []string{"x-amz-if-match-size", "x-amz-if-match-last-modified-time"} {
		resp, body := e.do(testAK, testSK, "DELETE", "/bkt/plain", nil, map[string]string{hdr: "5"})
		wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
		wantMessage(t, body, "A header you provided implies functionality that is not implemented")
	}
	if upstreamStore {
		return
	}

	// Versioned: a matching entry adds a delete marker.
	vdoc := []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)
	if resp, body := e.do(testAK, testSK, "PUT", "/bkt?versioning", vdoc, map[string]string{"Content-MD5": md5b64(vdoc)}); resp.StatusCode != 200 {
		t.Fatalf("PutBucketVersioning: %d %s", resp.StatusCode, body)
	}
	put, _ := e.do(testAK, testSK, "PUT", "/bkt/v", []byte("v1"), nil)
	doc = []byte(`<Delete><Object><Key>v</Key><ETag>` + put.Header.Get("ETag") + `</ETag></Object>` +
		`<Object><Key>v</Key><VersionId>` + put.Header.Get("x-amz-version-id") + `</VersionId><ETag>*</ETag></Object></Delete>`)
	resp, body = e.do(testAK, testSK, "POST", "/bkt?delete", doc, map[string]string{"Content-MD5": md5b64(doc)})
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<DeleteMarker>true</DeleteMarker>") ||
		!strings.Contains(string(body), "<Code>NotImplemented</Code>") {
		t.Errorf("conditional DeleteObjects in a versioned bucket: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(testAK, testSK, "GET", "/bkt/v?versionId="+put.Header.Get("x-amz-version-id"), nil, nil); resp.StatusCode != 200 {
		t.Errorf("the version named with an ETag was deleted: %d", resp.StatusCode)
	}
}

// exists reports whether a HEAD of path finds an object.
func (e *orderEnv) exists(path string) bool {
	e.t.Helper()
	resp, body := e.do(testAK, testSK, "HEAD", path, nil, nil)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		e.t.Fatalf("HEAD %s: %d %s", path, resp.StatusCode, body)
	}
	return resp.StatusCode == http.StatusOK
}
