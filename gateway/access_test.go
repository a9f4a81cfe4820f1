package gateway_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/store"
)

// anon sends an unsigned request.
func (e *orderEnv) anon(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// want sends a signed request and checks its status (and error code).
func (e *orderEnv) want(ak, sk, method, path string, body []byte, hdr map[string]string, status int, code string) []byte {
	e.t.Helper()
	resp, b := e.do(ak, sk, method, path, body, hdr)
	if code != "" {
		wantError(e.t, resp, b, status, code)
	} else if resp.StatusCode != status {
		e.t.Errorf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, status)
	}
	return b
}

func (e *orderEnv) wantAnon(method, path string, body []byte, hdr map[string]string, status int, code string) []byte {
	e.t.Helper()
	resp, b := e.anon(method, path, body, hdr)
	if code != "" {
		wantError(e.t, resp, b, status, code)
	} else if resp.StatusCode != status {
		e.t.Errorf("anonymous %s %s: %d %s, want %d", method, path, resp.StatusCode, b, status)
	}
	return b
}

const ownershipXML = `<OwnershipControls xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ObjectOwnership>%s</ObjectOwnership></Rule></OwnershipControls>`

func pabXML(acls, ignore, policy, restrict bool) []byte {
	return fmt.Appendf(nil, `<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><BlockPublicAcls>%v</BlockPublicAcls><IgnorePublicAcls>%v</IgnorePublicAcls><BlockPublicPolicy>%v</BlockPublicPolicy><RestrictPublicBuckets>%v</RestrictPublicBuckets></PublicAccessBlockConfiguration>`, acls, ignore, policy, restrict)
}

func bucketPolicy(bucket, statements string) []byte {
	return []byte(strings.ReplaceAll(`{"Version":"2012-10-17","Statement":[`+statements+`]}`, "BKT", bucket))
}

// publicEnv is an order with bucket "bkt" holding object "k" (private),
// bucket "pub" (ObjectWriter, public-read-write) holding "pub/r"
// (public-read) and "pub/p" (private).
func publicEnv(t *testing.T, open storeOpener, o *order.Order) *orderEnv {
	e := newOrderEnv(t, open, o)
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/k", []byte("data"))
	e.want(testAK, testSK, "PUT", "/pub", nil, map[string]string{"x-amz-object-ownership": "ObjectWriter", "x-amz-acl": "public-read-write"}, 200, "")
	e.want(testAK, testSK, "PUT", "/pub/r", []byte("public"), map[string]string{"x-amz-acl": "public-read"}, 200, "")
	e.ok("PUT", "/pub/p", []byte("private"))
	return e
}

// anonymousOK are the operations an anonymous client may reach in
// publicEnv's "pub" bucket (its requests in gateway.Routes name "bkt" and
// "k"; they are rewritten to "pub" and "r").
var anonymousOK = map[string]bool{
	"GetObject": true, "HeadObject": true, "ListObjects": true, "ListObjectsV2": true, "ListObjectVersions": true,
	"ListMultipartUploads": true, "HeadBucket": true, "PutObject": true, "UploadPart": true,
	"CreateMultipartUpload": true, "CompleteMultipartUpload": true, "AbortMultipartUpload": true, "PostObject": true,
}

// TestAnonymousEveryRoute sends an unsigned request to every route of the
// table: against private buckets and objects every one is refused with
// AccessDenied and changes nothing; against a public-read-write bucket and
// a public-read object, exactly the operations the ACLs grant get past
// authorization; with the order's block_public_access none does.
func TestAnonymousEveryRoute(t *testing.T) {
	eachStore(t, testAnonymousEveryRoute)
}

func testAnonymousEveryRoute(t *testing.T, open storeOpener) {
	for _, blocked := range []bool{false, true} {
		t.Run(fmt.Sprintf("block_public_access=%v", blocked), func(t *testing.T) {
			e := publicEnv(t, open, &order.Order{ID: "o1"})
			if blocked {
				o := *e.h.Order()
				o.BlockPublic = true
				if err := e.h.SetOrder(&o); err != nil {
					t.Fatal(err)
				}
			}
			for _, rt := range gateway.Routes() {
				hdr := map[string]string{}
				for k := range rt.Header {
					hdr[k] = rt.Header.Get(k)
				}
				send := func(path string) (*http.Response, []byte) {
					if rt.Form {
						// A browser upload: a form without a signature.
						return e.post(path, []formField{{"key", "k"}}, "f.txt", []byte("data"))
					}
					return e.anon(rt.Method, path, nil, hdr)
				}
				resp, body := send(rt.Path)
				if resp.StatusCode != 403 || rt.Method != "HEAD" && !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
					t.Errorf("private: %s (%s %s): %d %s", rt.Op, rt.Method, rt.Path, resp.StatusCode, body)
				}
				path := strings.Replace(strings.Replace(rt.Path, "/bkt/k", "/pub/r", 1), "/bkt", "/pub", 1)
				if strings.Contains(path, "uploadId") {
					path = strings.Replace(path, "uploadId", "uploadId=none&partNumber=1", 1)
				}
				resp, body = send(path)
				denied := resp.StatusCode == 403
				if denied == (anonymousOK[rt.Op] && !blocked) {
					t.Errorf("public: %s (%s %s): %d %s", rt.Op, rt.Method, path, resp.StatusCode, body)
				}
			}
			if got := string(e.ok("GET", "/bkt/k", nil)); got != "data" {
				t.Errorf("private object changed: %q", got)
			}
			if got := string(e.ok("GET", "/pub/p", nil)); got != "private" {
				t.Errorf("private object changed: %q", got)
			}
			list := string(e.ok("GET", "/", nil))
			if !strings.Contains(list, "<Name>bkt</Name>") || !strings.Contains(list, "<Name>pub</Name>") || strings.Count(list, "<Name>") != 2 {
				t.Errorf("buckets changed: %s", list)
			}
		})
	}
}

// TestAnonymousACLAccess: what public ACLs grant, and no more.
func TestAnonymousACLAccess(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeOpener) {
		e := publicEnv(t, open, &order.Order{ID: "o1"})
		if got := string(e.wantAnon("GET", "/pub/r", nil, nil, 200, "")); got != "public" {
			t.Errorf("public object: %q", got)
		}
		e.wantAnon("HEAD", "/pub/r", nil, nil, 200, "")
		e.wantAnon("GET", "/pub/r?response-content-type=text/html", nil, nil, 400, "InvalidRequest")
		e.wantAnon("GET", "/pub/r?Response-Content-Disposition=inline", nil, nil, 400, "InvalidRequest")
		e.want(testAK, testSK, "GET", "/pub/r?response-content-type=text/plain", nil, nil, 200, "")
		e.wantAnon("GET", "/pub/p", nil, nil, 403, "AccessDenied")
		e.wantAnon("GET", "/pub/missing", nil, nil, 403, "AccessDenied")
		e.wantAnon("GET", "/nobucket/r", nil, nil, 403, "AccessDenied")
		e.wantAnon("GET", "/pub/r?versionId=abc", nil, nil, 403, "AccessDenied")
		list := string(e.wantAnon("GET", "/pub?list-type=2", nil, nil, 200, ""))
		if !strings.Contains(list, "<Key>p</Key>") || !strings.Contains(list, "<Key>r</Key>") {
			t.Errorf("anonymous list: %s", list)
		}
		// Anonymous writes into the public-read-write bucket, not with a
		// public ACL, not over an expired order, and within capacity.
		e.wantAnon("PUT", "/pub/up", []byte("upload"), nil, 200, "")
		if got := string(e.ok("GET", "/pub/up", nil)); got != "upload" {
			t.Errorf("anonymous upload: %q", got)
		}
		e.wantAnon("GET", "/pub/up", nil, nil, 403, "AccessDenied") // private: its writer is anonymous
		e.wantAnon("PUT", "/pub/up2", []byte("x"), map[string]string{"x-amz-acl": "public-read"}, 403, "AccessDenied")
		e.wantAnon("PUT", "/pub/up3", []byte("x"), map[string]string{"x-amz-acl": "private"}, 200, "")
		// Signed chunks without a signature: S3's InvalidRequest (also into
		// a private bucket), nothing stored.
		for _, path := range []string{"/pub/up4", "/bkt/up4"} {
			for _, payload := range []string{"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"} {
				body := e.wantAnon("PUT", path, []byte("x"), map[string]string{"X-Amz-Content-Sha256": payload}, 400, "InvalidRequest")
				wantMessage(t, body, "Anonymous requests don't support this x-amz-content-sha256 value.")
			}
		}
		if resp, _ := e.do(testAK, testSK, "HEAD", "/pub/up4", nil, nil); resp.StatusCode != 404 {
			t.Errorf("an anonymous signed-chunks PUT stored the object: HEAD %d", resp.StatusCode)
		}
		// An aws-chunked body with an unsigned trailer, its checksum verified.
		chunked := "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"
		e.wantAnon("PUT", "/pub/chunked", []byte(chunked), map[string]string{"Content-Encoding": "aws-chunked",
			"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "X-Amz-Trailer": "x-amz-checksum-crc32", "X-Amz-Decoded-Content-Length": "5"}, 200, "")
		if got := string(e.ok("GET", "/pub/chunked", nil)); got != "hello" {
			t.Errorf("anonymous aws-chunked upload: %q", got)
		}
		bad := strings.Replace(chunked, "NhCmhg==", "AAAAAA==", 1)
		e.wantAnon("PUT", "/pub/chunked2", []byte(bad), map[string]string{"Content-Encoding": "aws-chunked",
			"X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "X-Amz-Trailer": "x-amz-checksum-crc32", "X-Amz-Decoded-Content-Length": "5"}, 400, "BadDigest")
		e.wantAnon("PUT", "/pub/sha", []byte("abc"), map[string]string{"X-Amz-Content-Sha256": strings.Repeat("0", 64)}, 400, "XAmzContentSHA256Mismatch")
		e.wantAnon("PUT", "/bkt/up", []byte("x"), nil, 403, "AccessDenied")
		e.wantAnon("DELETE", "/pub/r", nil, nil, 403, "AccessDenied")
		// The object's ACL is read on the version served: made private,
		// it is no longer served.
		e.want(testAK, testSK, "PUT", "/pub/r?acl", nil, map[string]string{"x-amz-acl": "private"}, 200, "")
		e.wantAnon("GET", "/pub/r", nil, nil, 403, "AccessDenied")
		if got := string(e.ok("GET", "/pub/r", nil)); got != "public" {
			t.Errorf("PutObjectAcl changed the data: %q", got)
		}
		// Expired: anonymous reads go on, writes stop.
		e.want(testAK, testSK, "PUT", "/pub/r?acl", nil, map[string]string{"x-amz-acl": "public-read"}, 200, "")
		o := *e.h.Order()
		o.Expires, o.Grace = time.Now().Add(-time.Minute), time.Hour
		if err := e.h.SetOrder(&o); err != nil {
			t.Fatal(err)
		}
		e.wantAnon("GET", "/pub/r", nil, nil, 200, "")
		e.wantAnon("PUT", "/pub/late", []byte("x"), nil, 403, "AccessDenied")
	})
}

func TestAnonymousCapacity(t *testing.T) {
	e := publicEnv(t, openEmbedded, &order.Order{ID: "o1"})
	o := *e.h.Order()
	o.Capacity = e.used() + 2000
	if err := e.h.SetOrder(&o); err != nil {
		t.Fatal(err)
	}
	e.wantAnon("PUT", "/pub/big", bytes.Repeat([]byte("x"), 4000), nil, 403, "QuotaExceeded")
}

// TestObjectACLs: canned ACLs, grant headers and ACL documents on objects.
func TestObjectACLs(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeOpener) {
		e := publicEnv(t, open, &order.Order{ID: "o1"})
		acl := string(e.ok("GET", "/pub/r?acl", nil))
		if !strings.Contains(acl, "<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission>") ||
			!strings.Contains(acl, "<Permission>FULL_CONTROL</Permission>") {
			t.Errorf("GetObjectAcl: %s", acl)
		}
		allUsers := `uri="http://acs.amazonaws.com/groups/global/AllUsers"`
		for _, tt := range []struct {
			name   string
			hdr    map[string]string
			status int
			code   string
			anon   int // the anonymous GET's status afterwards
		}{
			{"grant-read AllUsers", map[string]string{"x-amz-grant-read": allUsers}, 200, "", 200},
			{"grant-full-control AllUsers", map[string]string{"x-amz-grant-full-control": allUsers}, 200, "", 200},
			{"grant-read AuthenticatedUsers", map[string]string{"x-amz-grant-read": `uri="http://acs.amazonaws.com/groups/global/AuthenticatedUsers"`}, 200, "", 403},
			{"authenticated-read", map[string]string{"x-amz-acl": "authenticated-read"}, 200, "", 403},
			{"bucket-owner-full-control", map[string]string{"x-amz-acl": "bucket-owner-full-control"}, 200, "", 403},
			{"canned and grants", map[string]string{"x-amz-acl": "public-read", "x-amz-grant-read": allUsers}, 400, "InvalidRequest", 0},
			{"unknown canned", map[string]string{"x-amz-acl": "world-readable"}, 400, "InvalidArgument", 0},
			{"log-delivery-write", map[string]string{"x-amz-acl": "log-delivery-write"}, 501, "NotImplemented", 0},
			{"grant to another id", map[string]string{"x-amz-grant-read": `id="0123456789abcdef"`}, 400, "InvalidArgument", 0},
			{"grant by e-mail", map[string]string{"x-amz-grant-read": `emailAddress="a@example.com"`}, 400, "UnresolvableGrantByEmailAddress", 0},
			{"grant to LogDelivery", map[string]string{"x-amz-grant-write": `uri="http://acs.amazonaws.com/groups/s3/LogDelivery"`}, 501, "NotImplemented", 0},
			{"grant to an unknown group", map[string]string{"x-amz-grant-read": `uri="http://example.com/group"`}, 400, "InvalidArgument", 0},
			{"malformed grant", map[string]string{"x-amz-grant-read": `AllUsers`}, 400, "InvalidArgument", 0},
		} {
			t.Run(tt.name, func(t *testing.T) {
				e.t = t
				e.want(testAK, testSK, "PUT", "/pub/g", []byte("g"), tt.hdr, tt.status, tt.code)
				if tt.anon != 0 {
					e.wantAnon("GET", "/pub/g", nil, nil, tt.anon, "")
				}
			})
		}
		e.t = t
		// An ACL document.
		var ownerID struct{ Owner struct{ ID string } }
		doc := e.ok("GET", "/pub/p?acl", nil)
		if err := xml.Unmarshal(doc, &ownerID); err != nil {
			t.Fatal(err)
		}
		readACP := bytes.Replace(doc, []byte("</AccessControlList>"), []byte(`<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ_ACP</Permission></Grant></AccessControlList>`), 1)
		e.want(testAK, testSK, "PUT", "/pub/p?acl", readACP, nil, 200, "")
		e.wantAnon("GET", "/pub/p?acl", nil, nil, 200, "")
		e.wantAnon("GET", "/pub/p", nil, nil, 403, "AccessDenied")
		bad := bytes.Replace(doc, []byte("FULL_CONTROL"), []byte("EVERYTHING"), 1)
		e.want(testAK, testSK, "PUT", "/pub/p?acl", bad, nil, 400, "MalformedACLError")
		other := bytes.Replace(doc, []byte(ownerID.Owner.ID), []byte("someoneelse"), 1)
		e.want(testAK, testSK, "PUT", "/pub/p?acl", other, nil, 403, "AccessDenied")
		e.want(testAK, testSK, "PUT", "/pub/p?acl", readACP, map[string]string{"x-amz-acl": "private"}, 400, "UnexpectedContent")
		e.want(testAK, testSK, "PUT", "/pub/p?acl", []byte("<AccessControlPolicy"), nil, 400, "MalformedACLError")
		e.want(testAK, testSK, "PUT", "/pub/missing?acl", nil, map[string]string{"x-amz-acl": "private"}, 404, "NoSuchKey")
		e.want(roAK, roSK, "PUT", "/pub/p?acl", nil, map[string]string{"x-amz-acl": "private"}, 403, "AccessDenied")
		// Copies get the ACL their request asks for, not their source's.
		e.want(testAK, testSK, "PUT", "/pub/c1", nil, map[string]string{"x-amz-copy-source": "/pub/r"}, 200, "")
		e.wantAnon("GET", "/pub/c1", nil, nil, 403, "AccessDenied")
		e.want(testAK, testSK, "PUT", "/pub/c2", nil, map[string]string{"x-amz-copy-source": "/pub/p", "x-amz-acl": "public-read"}, 200, "")
		e.wantAnon("GET", "/pub/c2", nil, nil, 200, "")
		e.want(testAK, testSK, "PUT", "/pub/c3", nil, map[string]string{"x-amz-copy-source": "/pub/p", "x-amz-acl": "public-read",
			"x-amz-metadata-directive": "REPLACE", "Content-Type": "text/x-test"}, 200, "")
		if resp, _ := e.anon("HEAD", "/pub/c3", nil, nil); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/x-test" {
			t.Errorf("copy with REPLACE: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		// Multipart uploads carry their ACL to the object.
		var created struct{ UploadId string }
		if err := xml.Unmarshal(e.want(testAK, testSK, "POST", "/pub/mp?uploads", nil, map[string]string{"x-amz-acl": "public-read"}, 200, ""), &created); err != nil {
			t.Fatal(err)
		}
		up := created.UploadId
		resp, _ := e.do(testAK, testSK, "PUT", "/pub/mp?partNumber=1&uploadId="+up, []byte("multi"), nil)
		complete := fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>`, resp.Header.Get("ETag"))
		e.want(testAK, testSK, "POST", "/pub/mp?uploadId="+up, []byte(complete), nil, 200, "")
		if got := string(e.wantAnon("GET", "/pub/mp", nil, nil, 200, "")); got != "multi" {
			t.Errorf("multipart public object: %q", got)
		}
		// In place, in both stores (the ETag stays).
		head, _ := e.do(testAK, testSK, "HEAD", "/pub/mp", nil, nil)
		e.want(testAK, testSK, "PUT", "/pub/mp?acl", nil, map[string]string{"x-amz-acl": "private"}, 200, "")
		e.wantAnon("GET", "/pub/mp", nil, nil, 403, "AccessDenied")
		if after, _ := e.do(testAK, testSK, "HEAD", "/pub/mp", nil, nil); after.Header.Get("ETag") != head.Header.Get("ETag") {
			t.Errorf("PutObjectAcl changed the ETag: %s -> %s", head.Header.Get("ETag"), after.Header.Get("ETag"))
		}
	})
}

// TestACLCharged: an object's ACL is charged with its metadata.
func TestACLCharged(t *testing.T) {
	e := publicEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/pub/a", []byte("x"))
	before := e.used()
	e.want(testAK, testSK, "PUT", "/pub/a", []byte("x"), map[string]string{"x-amz-acl": "public-read"}, 200, "")
	if got, want := e.used()-before, int64(len("AllUsers:READ,owner:FULL_CONTROL")); got != want {
		t.Errorf("a public-read ACL is charged %d bytes, want %d", got, want)
	}
}

// TestOwnershipControls: BucketOwnerEnforced (the default) disables ACLs;
// ObjectWriter and BucketOwnerPreferred enable them.
func TestOwnershipControls(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeOpener) {
		e := newOrderEnv(t, open, &order.Order{ID: "o1"})
		e.ok("PUT", "/bkt", nil)
		if got := string(e.ok("GET", "/bkt?ownershipControls", nil)); !strings.Contains(got, "<ObjectOwnership>BucketOwnerEnforced</ObjectOwnership>") {
			t.Errorf("default ownership: %s", got)
		}
		e.want(testAK, testSK, "PUT", "/bkt/k", []byte("x"), map[string]string{"x-amz-acl": "public-read"}, 400, "AccessControlListNotSupported")
		e.want(testAK, testSK, "PUT", "/bkt?acl", nil, map[string]string{"x-amz-acl": "public-read"}, 400, "AccessControlListNotSupported")
		e.want(testAK, testSK, "PUT", "/bkt/k", []byte("x"), map[string]string{"x-amz-acl": "private"}, 200, "")
		for _, bad := range []string{"", "<OwnershipControls/>", fmt.Sprintf(ownershipXML, "Nobody"),
			`<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>`,
			`<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership><Extra/></Rule></OwnershipControls>`} {
			e.want(testAK, testSK, "PUT", "/bkt?ownershipControls", []byte(bad), nil, 400, "MalformedXML")
		}
		e.want(testAK, testSK, "PUT", "/nobucket?ownershipControls", fmt.Appendf(nil, ownershipXML, "ObjectWriter"), nil, 404, "NoSuchBucket")
		e.want(roAK, roSK, "PUT", "/bkt?ownershipControls", fmt.Appendf(nil, ownershipXML, "ObjectWriter"), nil, 403, "AccessDenied")
		for _, own := range []string{"ObjectWriter", "BucketOwnerPreferred"} {
			e.want(testAK, testSK, "PUT", "/bkt?ownershipControls", fmt.Appendf(nil, ownershipXML, own), nil, 200, "")
			if got := string(e.ok("GET", "/bkt?ownershipControls", nil)); !strings.Contains(got, "<ObjectOwnership>"+own+"</ObjectOwnership>") {
				t.Errorf("ownership %s: %s", own, got)
			}
			e.want(testAK, testSK, "PUT", "/bkt/k", []byte("x"), map[string]string{"x-amz-acl": "public-read"}, 200, "")
			e.wantAnon("GET", "/bkt/k", nil, nil, 200, "")
		}
		// Enforcing ownership ignores object ACLs; it is refused while the
		// bucket's own ACL grants others.
		e.want(testAK, testSK, "PUT", "/bkt?acl", nil, map[string]string{"x-amz-acl": "public-read"}, 200, "")
		e.want(testAK, testSK, "PUT", "/bkt?ownershipControls", fmt.Appendf(nil, ownershipXML, "BucketOwnerEnforced"), nil, 400, "InvalidBucketAclWithObjectOwnership")
		e.want(testAK, testSK, "PUT", "/bkt?acl", nil, map[string]string{"x-amz-acl": "private"}, 200, "")
		e.want(testAK, testSK, "PUT", "/bkt?ownershipControls", fmt.Appendf(nil, ownershipXML, "BucketOwnerEnforced"), nil, 200, "")
		e.wantAnon("GET", "/bkt/k", nil, nil, 403, "AccessDenied")
		// Deleted, as on AWS: none (404), and ACLs apply again.
		e.want(testAK, testSK, "DELETE", "/bkt?ownershipControls", nil, nil, 204, "")
		e.want(testAK, testSK, "GET", "/bkt?ownershipControls", nil, nil, 404, "OwnershipControlsNotFoundError")
		e.wantAnon("GET", "/bkt/k", nil, nil, 200, "")
		e.want(testAK, testSK, "DELETE", "/nobucket?ownershipControls", nil, nil, 404, "NoSuchBucket")
		e.want(testAK, testSK, "GET", "/nobucket?ownershipControls", nil, nil, 404, "NoSuchBucket")
	})
}

// TestCreateBucketACL: canned ACLs on CreateBucket need ACLs enabled by
// x-amz-object-ownership.
func TestCreateBucketACL(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.want(testAK, testSK, "PUT", "/bk1", nil, map[string]string{"x-amz-acl": "public-read"}, 400, "InvalidBucketAclWithObjectOwnership")
	e.want(testAK, testSK, "PUT", "/bk1", nil, map[string]string{"x-amz-acl": "public-read", "x-amz-object-ownership": "BucketOwnerEnforced"}, 400, "InvalidBucketAclWithObjectOwnership")
	e.want(testAK, testSK, "PUT", "/bk1", nil, map[string]string{"x-amz-object-ownership": "Everyone"}, 400, "InvalidArgument")
	e.want(testAK, testSK, "HEAD", "/bk1", nil, nil, 404, "")
	e.want(testAK, testSK, "PUT", "/bk1", nil, map[string]string{"x-amz-acl": "private"}, 200, "")
	e.want(testAK, testSK, "PUT", "/bk2", nil, map[string]string{"x-amz-acl": "public-read", "x-amz-object-ownership": "BucketOwnerPreferred"}, 200, "")
	if acl := string(e.ok("GET", "/bk2?acl", nil)); !strings.Contains(acl, "AllUsers</URI></Grantee><Permission>READ</Permission>") {
		t.Errorf("GetBucketAcl: %s", acl)
	}
	e.wantAnon("GET", "/bk2", nil, nil, 200, "")
	e.wantAnon("GET", "/bk1", nil, nil, 403, "AccessDenied")
	e.wantAnon("PUT", "/bk2/k", []byte("x"), nil, 403, "AccessDenied") // READ, not WRITE
	e.want(testAK, testSK, "PUT", "/bk2?acl", nil, map[string]string{"x-amz-acl": "private"}, 200, "")
	e.wantAnon("GET", "/bk2", nil, nil, 403, "AccessDenied")
	e.want(testAK, testSK, "PUT", "/nobucket?acl", nil, map[string]string{"x-amz-acl": "private"}, 404, "NoSuchBucket")
	e.want(testAK, testSK, "GET", "/nobucket?acl", nil, nil, 404, "NoSuchBucket")
}

const publicPrefixPolicy = `{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::BKT/public/*"]}`

// TestBucketPolicy: Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus,
// and a public prefix served to anonymous clients.
func TestBucketPolicy(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeOpener) {
		e := newOrderEnv(t, open, &order.Order{ID: "o1"})
		e.ok("PUT", "/bkt", nil)
		e.ok("PUT", "/bkt/public/a", []byte("a"))
		e.ok("PUT", "/bkt/private/b", []byte("b"))
		e.want(testAK, testSK, "GET", "/bkt?policy", nil, nil, 404, "NoSuchBucketPolicy")
		e.want(testAK, testSK, "GET", "/bkt?policyStatus", nil, nil, 404, "NoSuchBucketPolicy")
		e.wantAnon("GET", "/bkt/public/a", nil, nil, 403, "AccessDenied")
		doc := bucketPolicy("bkt", publicPrefixPolicy)
		e.want(testAK, testSK, "PUT", "/bkt?policy", doc, nil, 204, "")
		if got := e.ok("GET", "/bkt?policy", nil); !bytes.Equal(got, doc) {
			t.Errorf("GetBucketPolicy = %s, want %s", got, doc)
		}
		if got := string(e.ok("GET", "/bkt?policyStatus", nil)); !strings.Contains(got, "<IsPublic>true</IsPublic>") {
			t.Errorf("GetBucketPolicyStatus: %s", got)
		}
		if got := string(e.wantAnon("GET", "/bkt/public/a", nil, nil, 200, "")); got != "a" {
			t.Errorf("public object: %q", got)
		}
		e.wantAnon("HEAD", "/bkt/public/a", nil, nil, 200, "")
		e.wantAnon("GET", "/bkt/public/missing", nil, nil, 404, "NoSuchKey")
		// Old versions need s3:GetObjectVersion, as on AWS.
		e.wantAnon("GET", "/bkt/public/a?versionId=null", nil, nil, 403, "AccessDenied")
		e.wantAnon("GET", "/bkt/private/b", nil, nil, 403, "AccessDenied")
		e.wantAnon("GET", "/bkt", nil, nil, 403, "AccessDenied")
		e.wantAnon("PUT", "/bkt/public/new", []byte("x"), nil, 403, "AccessDenied")
		e.wantAnon("GET", "/bkt?policy", nil, nil, 403, "AccessDenied")
		e.want(testAK, testSK, "PUT", "/bkt?policy", bucketPolicy("bkt", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObjectVersion","Resource":"arn:aws:s3:::BKT/public/*"}`), nil, 204, "")
		e.wantAnon("GET", "/bkt/public/a?versionId=null", nil, nil, 200, "")
		e.wantAnon("GET", "/bkt/public/a", nil, nil, 403, "AccessDenied")
		// A policy only for one IP range is not public.
		narrow := bucketPolicy("bkt", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/*","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}`)
		e.want(testAK, testSK, "PUT", "/bkt?policy", narrow, nil, 204, "")
		if got := string(e.ok("GET", "/bkt?policyStatus", nil)); !strings.Contains(got, "<IsPublic>false</IsPublic>") {
			t.Errorf("GetBucketPolicyStatus: %s", got)
		}
		e.wantAnon("GET", "/bkt/public/a", nil, nil, 403, "AccessDenied") // the test client is 127.0.0.1
		e.want(testAK, testSK, "DELETE", "/bkt?policy", nil, nil, 204, "")
		e.want(testAK, testSK, "DELETE", "/bkt?policy", nil, nil, 204, "")
		e.want(testAK, testSK, "GET", "/bkt?policy", nil, nil, 404, "NoSuchBucketPolicy")
		e.want(testAK, testSK, "PUT", "/nobucket?policy", bucketPolicy("nobucket", publicPrefixPolicy), nil, 404, "NoSuchBucket")
		e.want(testAK, testSK, "GET", "/nobucket?policy", nil, nil, 404, "NoSuchBucket")
		e.want(testAK, testSK, "DELETE", "/nobucket?policy", nil, nil, 404, "NoSuchBucket")
		e.want(roAK, roSK, "PUT", "/bkt?policy", doc, nil, 403, "AccessDenied")
	})
}

// TestMalformedPolicy: anything outside the supported subset is refused
// when the policy is put, naming what is not supported.
func TestMalformedPolicy(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	for _, tt := range []struct{ doc, want string }{
		{`not json`, "JSON"},
		{string(bucketPolicy("bkt", `{"Effect":"Allow","NotPrincipal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*"}`)), "NotPrincipal"},
		{string(bucketPolicy("bkt", `{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*"}`)), "Service"},
		{string(bucketPolicy("bkt", `{"Effect":"Allow","Principal":{"AWS":"nosuchkey"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*"}`)), "nosuchkey"},
		{string(bucketPolicy("bkt", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}`)), "invalid resource"},
		{string(bucketPolicy("bkt", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}`)), "DateLessThan"},
		{string(bucketPolicy("bkt", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*","Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}`)), "aws:SourceVpc"},
		{`{"Statement":"` + strings.Repeat("x", 21<<10) + `"}`, "at most"},
	} {
		body := e.want(testAK, testSK, "PUT", "/bkt?policy", []byte(tt.doc), nil, 400, "MalformedPolicy")
		if !strings.Contains(string(body), tt.want) {
			t.Errorf("MalformedPolicy for %.60s… does not name %q: %s", tt.doc, tt.want, body)
		}
	}
	e.want(testAK, testSK, "GET", "/bkt?policy", nil, nil, 404, "NoSuchBucketPolicy")
	// The order's keys, by ARN or bare, and the order itself are
	// principals.
	for _, p := range []string{`"arn:aws:iam::o1:user/` + roAK + `"`, `"` + roAK + `"`, `"arn:aws:iam::o1:root"`} {
		doc := bucketPolicy("bkt", `{"Effect":"Deny","Principal":{"AWS":`+p+`},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/*"}`)
		e.want(testAK, testSK, "PUT", "/bkt?policy", doc, nil, 204, "")
	}
}

// TestPolicyNarrowsKeys: Deny statements narrow what keys may do (also
// through multi-object deletes and copies); Allow statements never widen a
// read-only key or an expired order; the policy operations stay with the
// order.
func TestPolicyNarrowsKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeOpener) {
		e := newOrderEnv(t, open, &order.Order{ID: "o1"})
		e.ok("PUT", "/bkt", nil)
		e.ok("PUT", "/bkt/locked/a", []byte("a"))
		e.ok("PUT", "/bkt/secret/s", []byte("s"))
		e.ok("PUT", "/bkt/open", []byte("o"))
		doc := bucketPolicy("bkt", `{"Effect":"Deny","Principal":{"AWS":"`+testAK+`"},"Action":["s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::BKT/locked/*"},
			{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/secret/*"},
			{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::o1:user/`+roAK+`"},"Action":"s3:*","Resource":["arn:aws:s3:::BKT","arn:aws:s3:::BKT/*"]}`)
		e.want(testAK, testSK, "PUT", "/bkt?policy", doc, nil, 204, "")
		e.want(testAK, testSK, "PUT", "/bkt/locked/b", []byte("b"), nil, 403, "AccessDenied")
		e.want(testAK, testSK, "DELETE", "/bkt/locked/a", nil, nil, 403, "AccessDenied")
		e.want(testAK, testSK, "PUT", "/bkt/other", []byte("b"), nil, 200, "")
		e.want(testAK, testSK, "GET", "/bkt/secret/s", nil, nil, 403, "AccessDenied")
		e.want(testAK, testSK, "PUT", "/bkt/copy", nil, map[string]string{"x-amz-copy-source": "/bkt/secret/s"}, 403, "AccessDenied")
		e.want(testAK, testSK, "PUT", "/bkt/copy", nil, map[string]string{"x-amz-copy-source": "/bkt/open"}, 200, "")
		del := `<Delete><Object><Key>locked/a</Key></Object><Object><Key>open</Key></Object></Delete>`
		body := string(e.want(testAK, testSK, "POST", "/bkt?delete", []byte(del), map[string]string{"Content-MD5": md5b64([]byte(del))}, 200, ""))
		if !strings.Contains(body, "<Key>locked/a</Key><Code>AccessDenied</Code>") || !strings.Contains(body, "<Deleted><Key>open</Key>") {
			t.Errorf("DeleteObjects: %s", body)
		}
		e.ok("GET", "/bkt/locked/a", nil)
		// A read-only key granted everything still may not write.
		e.want(roAK, roSK, "PUT", "/bkt/ro", []byte("x"), nil, 403, "AccessDenied")
		e.want(roAK, roSK, "DELETE", "/bkt/other", nil, nil, 403, "AccessDenied")
		e.want(roAK, roSK, "GET", "/bkt/other", nil, nil, 200, "")
		// Nor an expired order.
		o := *e.h.Order()
		o.Expires, o.Grace = time.Now().Add(-time.Minute), time.Hour
		if err := e.h.SetOrder(&o); err != nil {
			t.Fatal(err)
		}
		e.want(testAK, testSK, "PUT", "/bkt/late", []byte("x"), nil, 403, "AccessDenied")
		o.Expires = time.Time{}
		if err := e.h.SetOrder(&o); err != nil {
			t.Fatal(err)
		}
		// Denying everything to everyone leaves the policy operations.
		all := bucketPolicy("bkt", `{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::BKT","arn:aws:s3:::BKT/*"]}`)
		e.want(testAK, testSK, "PUT", "/bkt?policy", all, nil, 204, "")
		e.want(testAK, testSK, "GET", "/bkt?list-type=2", nil, nil, 403, "AccessDenied")
		e.want(testAK, testSK, "GET", "/bkt?policy", nil, nil, 200, "")
		e.want(testAK, testSK, "DELETE", "/bkt?policy", nil, nil, 204, "")
		e.want(testAK, testSK, "GET", "/bkt?list-type=2", nil, nil, 200, "")
	})
}

// TestPublicAccessBlock: each of the four settings, and the API.
func TestPublicAccessBlock(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeOpener) {
		e := publicEnv(t, open, &order.Order{ID: "o1"})
		e.want(testAK, testSK, "GET", "/pub?publicAccessBlock", nil, nil, 404, "NoSuchPublicAccessBlockConfiguration")
		for _, bad := range []string{"", "<PublicAccessBlockConfiguration><BlockPublicAcls>maybe</BlockPublicAcls></PublicAccessBlockConfiguration>",
			"<PublicAccessBlockConfiguration><BlockEverything>true</BlockEverything></PublicAccessBlockConfiguration>", "<Other/>"} {
			e.want(testAK, testSK, "PUT", "/pub?publicAccessBlock", []byte(bad), nil, 400, "MalformedXML")
		}
		e.want(testAK, testSK, "PUT", "/nobucket?publicAccessBlock", pabXML(true, true, true, true), nil, 404, "NoSuchBucket")
		e.want(roAK, roSK, "PUT", "/pub?publicAccessBlock", pabXML(true, true, true, true), nil, 403, "AccessDenied")

		// BlockPublicAcls: public ACLs are refused, existing ones still apply.
		e.want(testAK, testSK, "PUT", "/pub?publicAccessBlock", pabXML(true, false, false, false), nil, 200, "")
		if got := string(e.ok("GET", "/pub?publicAccessBlock", nil)); !strings.Contains(got, "<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls>") {
			t.Errorf("GetPublicAccessBlock: %s", got)
		}
		e.want(testAK, testSK, "PUT", "/pub/n", []byte("x"), map[string]string{"x-amz-acl": "public-read"}, 403, "AccessDenied")
		e.want(testAK, testSK, "PUT", "/pub/p?acl", nil, map[string]string{"x-amz-acl": "public-read"}, 403, "AccessDenied")
		e.want(testAK, testSK, "PUT", "/pub?acl", nil, map[string]string{"x-amz-acl": "public-read"}, 403, "AccessDenied")
		e.want(testAK, testSK, "PUT", "/pub/n", []byte("x"), map[string]string{"x-amz-acl": "private"}, 200, "")
		e.wantAnon("GET", "/pub/r", nil, nil, 200, "")
		// IgnorePublicAcls: they no longer grant anything.
		e.want(testAK, testSK, "PUT", "/pub?publicAccessBlock", pabXML(false, true, false, false), nil, 200, "")
		e.wantAnon("GET", "/pub/r", nil, nil, 403, "AccessDenied")
		e.wantAnon("PUT", "/pub/anon", []byte("x"), nil, 403, "AccessDenied")
		// BlockPublicPolicy: public policies are refused, others not.
		e.want(testAK, testSK, "PUT", "/pub?publicAccessBlock", pabXML(false, true, true, false), nil, 200, "")
		e.want(testAK, testSK, "PUT", "/pub?policy", bucketPolicy("pub", publicPrefixPolicy), nil, 403, "AccessDenied")
		e.want(testAK, testSK, "PUT", "/pub?policy", bucketPolicy("pub", `{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::pub/*"}`), nil, 204, "")
		// RestrictPublicBuckets: a public policy grants anonymous nothing.
		e.want(testAK, testSK, "PUT", "/pub?publicAccessBlock", pabXML(false, true, false, true), nil, 200, "")
		e.want(testAK, testSK, "PUT", "/pub?policy", bucketPolicy("pub", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), nil, 204, "")
		e.wantAnon("GET", "/pub/p", nil, nil, 403, "AccessDenied")
		e.want(testAK, testSK, "DELETE", "/pub?publicAccessBlock", nil, nil, 204, "")
		e.want(testAK, testSK, "GET", "/pub?publicAccessBlock", nil, nil, 404, "NoSuchPublicAccessBlockConfiguration")
		e.wantAnon("GET", "/pub/p", nil, nil, 200, "")
		e.wantAnon("GET", "/pub/r", nil, nil, 200, "")
	})
}

// TestOrderBlocksPublicAccess: block_public_access refuses public ACLs and
// policies, and serves no anonymous request whatever is stored.
func TestOrderBlocksPublicAccess(t *testing.T) {
	e := publicEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.want(testAK, testSK, "PUT", "/pub?policy", bucketPolicy("pub", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), nil, 204, "")
	e.wantAnon("GET", "/pub/p", nil, nil, 200, "")
	o := *e.h.Order()
	o.BlockPublic = true
	if err := e.h.SetOrder(&o); err != nil {
		t.Fatal(err)
	}
	e.wantAnon("GET", "/pub/p", nil, nil, 403, "AccessDenied")
	e.wantAnon("GET", "/pub/r", nil, nil, 403, "AccessDenied")
	e.want(testAK, testSK, "PUT", "/pub/n", []byte("x"), map[string]string{"x-amz-acl": "public-read"}, 403, "AccessDenied")
	e.want(testAK, testSK, "PUT", "/pub?policy", bucketPolicy("pub", publicPrefixPolicy), nil, 403, "AccessDenied")
	e.want(testAK, testSK, "PUT", "/bk3", nil, map[string]string{"x-amz-acl": "public-read", "x-amz-object-ownership": "ObjectWriter"}, 403, "AccessDenied")
	e.want(testAK, testSK, "GET", "/pub/p", nil, nil, 200, "")
}

// sdkClient is an AWS SDK client of e: signed with ak/sk, or anonymous
// when ak is "".
func (e *orderEnv) sdkClient(ak, sk string) *s3.Client {
	o := s3.Options{Region: testRegion, BaseEndpoint: aws.String(e.srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")}
	if ak == "" {
		o.Credentials = aws.AnonymousCredentials{}
	}
	return s3.New(o)
}

// TestAccessSDK drives every access operation with the AWS SDK, signed
// and anonymous, on both stores.
func TestAccessSDK(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeOpener) {
		e := newOrderEnv(t, open, &order.Order{ID: "o1"})
		ctx := context.Background()
		cli, anon := e.sdkClient(testAK, testSK), e.sdkClient("", "")
		b := aws.String("media")
		if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b, ACL: types.BucketCannedACLPublicReadWrite,
			ObjectOwnership: types.ObjectOwnershipObjectWriter}); err != nil {
			t.Fatal(err)
		}
		own, err := cli.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b})
		if err != nil || len(own.OwnershipControls.Rules) != 1 || own.OwnershipControls.Rules[0].ObjectOwnership != types.ObjectOwnershipObjectWriter {
			t.Fatalf("GetBucketOwnershipControls: %+v %v", own, err)
		}
		bacl, err := cli.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: b})
		if err != nil || len(bacl.Grants) != 3 || bacl.Owner == nil || aws.ToString(bacl.Owner.ID) == "" {
			t.Fatalf("GetBucketAcl: %+v %v", bacl, err)
		}
		// Anonymous upload (the SDK streams it with an unsigned trailer)
		// and listing.
		if _, err := anon.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("anon.txt"), Body: strings.NewReader("from anyone")}); err != nil {
			t.Fatalf("anonymous PutObject: %v", err)
		}
		if l, err := anon.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b}); err != nil || len(l.Contents) != 1 {
			t.Fatalf("anonymous ListObjectsV2: %+v %v", l, err)
		}
		if _, err := anon.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("anon.txt")}); err == nil {
			t.Error("anonymous GetObject of a private object succeeded")
		}
		// Object ACLs: canned, then a document.
		if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("cat.jpg"), Body: strings.NewReader("meow"), ACL: types.ObjectCannedACLPublicRead}); err != nil {
			t.Fatal(err)
		}
		got, err := anon.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("cat.jpg")})
		if err != nil {
			t.Fatalf("anonymous GetObject: %v", err)
		}
		data, _ := io.ReadAll(got.Body)
		got.Body.Close()
		if string(data) != "meow" {
			t.Errorf("anonymous GetObject: %q", data)
		}
		oacl, err := cli.GetObjectAcl(ctx, &s3.GetObjectAclInput{Bucket: b, Key: aws.String("anon.txt")})
		if err != nil || len(oacl.Grants) != 1 {
			t.Fatalf("GetObjectAcl: %+v %v", oacl, err)
		}
		oacl.Grants = append(oacl.Grants, types.Grant{Grantee: &types.Grantee{Type: types.TypeGroup, URI: aws.String("http://acs.amazonaws.com/groups/global/AllUsers")}, Permission: types.PermissionRead})
		if _, err := cli.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: b, Key: aws.String("anon.txt"),
			AccessControlPolicy: &types.AccessControlPolicy{Owner: oacl.Owner, Grants: oacl.Grants}}); err != nil {
			t.Fatalf("PutObjectAcl: %v", err)
		}
		if _, err := anon.HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("anon.txt")}); err != nil {
			t.Errorf("anonymous HeadObject after PutObjectAcl: %v", err)
		}
		// Policy.
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::media/cat.jpg"}]}`
		if _, err := cli.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(doc)}); err != nil {
			t.Fatalf("PutBucketPolicy: %v", err)
		}
		if p, err := cli.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}); err != nil || aws.ToString(p.Policy) != doc {
			t.Fatalf("GetBucketPolicy: %+v %v", p, err)
		}
		if st, err := cli.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: b}); err != nil || aws.ToBool(st.PolicyStatus.IsPublic) {
			t.Fatalf("GetBucketPolicyStatus: %+v %v", st, err)
		}
		if _, err := anon.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("cat.jpg")}); err == nil {
			t.Error("a Deny statement did not apply")
		}
		if _, err := cli.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::media/*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}]}`)}); err == nil || !strings.Contains(err.Error(), "MalformedPolicy") {
			t.Errorf("unsupported condition: %v", err)
		}
		if _, err := cli.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b}); err != nil {
			t.Fatal(err)
		}
		// PublicAccessBlock.
		if _, err := cli.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true)}}); err != nil {
			t.Fatalf("PutPublicAccessBlock: %v", err)
		}
		pab, err := cli.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
		if err != nil || !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicAcls) || !aws.ToBool(pab.PublicAccessBlockConfiguration.IgnorePublicAcls) ||
			aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) {
			t.Fatalf("GetPublicAccessBlock: %+v %v", pab, err)
		}
		if _, err := anon.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("cat.jpg")}); err == nil {
			t.Error("IgnorePublicAcls did not apply")
		}
		if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("x"), Body: strings.NewReader("x"), ACL: types.ObjectCannedACLPublicRead}); err == nil {
			t.Error("BlockPublicAcls did not apply")
		}
		if _, err := cli.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: b}); err != nil {
			t.Fatal(err)
		}
		// Ownership controls back to enforced (the bucket ACL first).
		if _, err := cli.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: types.BucketCannedACLPrivate}); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: b, OwnershipControls: &types.OwnershipControls{
			Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}}}}); err != nil {
			t.Fatalf("PutBucketOwnershipControls: %v", err)
		}
		if _, err := anon.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("cat.jpg")}); err == nil {
			t.Error("BucketOwnerEnforced did not disable the object's ACL")
		}
		if _, err := cli.DeleteBucketOwnershipControls(ctx, &s3.DeleteBucketOwnershipControlsInput{Bucket: b}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPolicyObjectTags: s3:ExistingObjectTag conditions read the tags of
// the object (set here through the store: the gateway has no tagging
// operations yet).
func TestPolicyObjectTags(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/tagged", []byte("t"))
	e.ok("PUT", "/bkt/plain", []byte("p"))
	e.ok("PUT", "/bkt/secret", []byte("s"))
	setTags := func(key, tags string) {
		if _, err := e.st.UpdateObject(context.Background(), "bkt", key, func(o *store.Object) error { o.Meta.Tags = tags; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	setTags("tagged", "public=yes&team=a")
	setTags("secret", "class=secret")
	doc := bucketPolicy("bkt", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/public":"yes"}}},
		{"Effect":"Deny","Principal":"*","Action":["s3:GetObject","s3:GetObjectAcl"],"Resource":"arn:aws:s3:::BKT/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/class":"secret"}}}`)
	e.want(testAK, testSK, "PUT", "/bkt?policy", doc, nil, 204, "")
	e.wantAnon("GET", "/bkt/tagged", nil, nil, 200, "")
	e.wantAnon("HEAD", "/bkt/tagged", nil, nil, 200, "")
	e.wantAnon("GET", "/bkt/plain", nil, nil, 403, "AccessDenied")
	e.wantAnon("GET", "/bkt/secret", nil, nil, 403, "AccessDenied")
	e.want(testAK, testSK, "GET", "/bkt/secret", nil, nil, 403, "AccessDenied")
	e.want(testAK, testSK, "GET", "/bkt/secret?acl", nil, nil, 403, "AccessDenied")
	e.want(testAK, testSK, "GET", "/bkt/plain", nil, nil, 200, "")
	setTags("tagged", "public=no")
	e.wantAnon("GET", "/bkt/tagged", nil, nil, 403, "AccessDenied")
}

// TestPostObjectACL: a browser upload's acl field is an object ACL like
// x-amz-acl, with the same checks.
func TestPostObjectACL(t *testing.T) {
	e := publicEnv(t, openEmbedded, &order.Order{ID: "o1"})
	conds := []string{`["starts-with", "$key", ""]`, `{"acl": "public-read"}`}
	resp, body := e.post("/pub", e.signed(testAK, testSK, conds, formField{"key", "form.txt"}, formField{"acl", "public-read"}), "f.txt", []byte("form"))
	if resp.StatusCode != 204 {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	if got := string(e.wantAnon("GET", "/pub/form.txt", nil, nil, 200, "")); got != "form" {
		t.Errorf("public POST upload: %q", got)
	}
	e.want(testAK, testSK, "PUT", "/pub?publicAccessBlock", pabXML(true, false, false, false), nil, 200, "")
	resp, body = e.post("/pub", e.signed(testAK, testSK, conds, formField{"key", "form2.txt"}, formField{"acl", "public-read"}), "f.txt", []byte("form"))
	wantError(t, resp, body, 403, "AccessDenied")
	e.want(testAK, testSK, "HEAD", "/pub/form2.txt", nil, nil, 404, "")
}

// TestPolicyDeniesPostObject: a Deny on uploads applies to browser uploads
// by the key their form names.
func TestPolicyDeniesPostObject(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	e.want(testAK, testSK, "PUT", "/bkt?policy", bucketPolicy("bkt", `{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::BKT/locked/*"}`), nil, 204, "")
	conds := []string{`["starts-with", "$key", ""]`}
	resp, body := e.post("/bkt", e.signed(testAK, testSK, conds, formField{"key", "locked/x"}), "f.txt", []byte("x"))
	wantError(t, resp, body, 403, "AccessDenied")
	e.want(testAK, testSK, "HEAD", "/bkt/locked/x", nil, nil, 404, "")
	if resp, body := e.post("/bkt", e.signed(testAK, testSK, conds, formField{"key", "open/x"}), "f.txt", []byte("x")); resp.StatusCode != 204 {
		t.Errorf("POST outside the denied prefix: %d %s", resp.StatusCode, body)
	}
}

// TestMinioClientPolicy: the policies mc writes (`mc anonymous set
// download|upload|public|none`, through minio-go's SetBucketPolicy) are
// accepted and do what they say.
func TestMinioClientPolicy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("mcb")
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("mcb"), Key: aws.String("a.txt"), Body: strings.NewReader("a")}); err != nil {
		t.Fatal(err)
	}
	anonGet := func(path string) int {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	download := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":["arn:aws:s3:::mcb"]},{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::mcb/*"]}]}`
	if err := e.minio.SetBucketPolicy(ctx, "mcb", download); err != nil {
		t.Fatalf("SetBucketPolicy: %v", err)
	}
	if got, err := e.minio.GetBucketPolicy(ctx, "mcb"); err != nil || got != download {
		t.Fatalf("GetBucketPolicy: %q %v", got, err)
	}
	if code := anonGet("/mcb/a.txt"); code != 200 {
		t.Errorf("anonymous GET: %d", code)
	}
	if code := anonGet("/mcb?list-type=2"); code != 200 {
		t.Errorf("anonymous list: %d", code)
	}
	if code := anonGet("/mcb?location"); code != 200 {
		t.Errorf("anonymous GetBucketLocation: %d", code)
	}
	upload := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucketMultipartUploads"],"Resource":["arn:aws:s3:::mcb"]},{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:AbortMultipartUpload","s3:DeleteObject","s3:ListMultipartUploadParts","s3:PutObject"],"Resource":["arn:aws:s3:::mcb/*"]}]}`
	if err := e.minio.SetBucketPolicy(ctx, "mcb", upload); err != nil {
		t.Fatalf("SetBucketPolicy upload: %v", err)
	}
	req, _ := http.NewRequest("PUT", e.srv.URL+"/mcb/up.txt", strings.NewReader("up"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("anonymous PUT under the upload policy: %d", resp.StatusCode)
	}
	if code := anonGet("/mcb/a.txt"); code != 403 {
		t.Errorf("anonymous GET under the upload policy: %d", code)
	}
	if err := e.minio.SetBucketPolicy(ctx, "mcb", ""); err != nil {
		t.Fatalf("SetBucketPolicy none: %v", err)
	}
	if code := anonGet("/mcb?list-type=2"); code != 403 {
		t.Errorf("anonymous list after the policy was removed: %d", code)
	}
}

// TestVersionACLs: GetObjectAcl reads the version named; PutObjectAcl
// changes the current version's ACL, and refuses a noncurrent one.
func TestVersionACLs(t *testing.T) {
	e := publicEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.want(testAK, testSK, "PUT", "/pub?versioning", []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`), nil, 200, "")
	r1, _ := e.do(testAK, testSK, "PUT", "/pub/v", []byte("one"), nil)
	r2, _ := e.do(testAK, testSK, "PUT", "/pub/v", []byte("two"), map[string]string{"x-amz-acl": "public-read"})
	v1, v2 := r1.Header.Get("x-amz-version-id"), r2.Header.Get("x-amz-version-id")
	if v1 == "" || v2 == "" || v1 == v2 {
		t.Fatalf("version ids %q %q", v1, v2)
	}
	if acl := string(e.ok("GET", "/pub/v?acl&versionId="+v1, nil)); strings.Contains(acl, "AllUsers") {
		t.Errorf("version 1 ACL: %s", acl)
	}
	if acl := string(e.ok("GET", "/pub/v?acl&versionId="+v2, nil)); !strings.Contains(acl, "AllUsers") {
		t.Errorf("version 2 ACL: %s", acl)
	}
	e.want(testAK, testSK, "PUT", "/pub/v?acl&versionId="+v1, nil, map[string]string{"x-amz-acl": "public-read"}, 501, "NotImplemented")
	e.want(testAK, testSK, "PUT", "/pub/v?acl&versionId="+v2, nil, map[string]string{"x-amz-acl": "private"}, 200, "")
	e.wantAnon("GET", "/pub/v", nil, nil, 403, "AccessDenied")
	e.want(testAK, testSK, "GET", "/pub/v?acl&versionId=nosuchversion", nil, nil, 400, "InvalidArgument")
}

// TestAnonymousObjectLock: an anonymous writer (a public-read-write bucket
// with object lock) may not put retention or a legal hold on what it
// writes, by headers, by a form or on a multipart upload: the order could
// then not delete it (COMPLIANCE) until the date the stranger chose. On
// AWS those headers need s3:PutObjectRetention / s3:PutObjectLegalHold,
// which an ACL's WRITE never grants. The bucket's default retention still
// applies, as the owner chose it.
func TestAnonymousObjectLock(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.want(testAK, testSK, "PUT", "/lockpub", nil, map[string]string{"x-amz-bucket-object-lock-enabled": "true",
		"x-amz-object-ownership": "ObjectWriter", "x-amz-acl": "public-read-write"}, 200, "")
	data := []byte("locked by a stranger")
	until := time.Now().Add(100 * 24 * time.Hour).UTC().Format(time.RFC3339)
	retention := map[string]string{"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": until}
	hold := map[string]string{"x-amz-object-lock-legal-hold": "ON"}
	for _, c := range []struct {
		name string
		lock map[string]string
	}{{"retention", retention}, {"legal hold", hold}} {
		// e's helpers fail the parent test: no subtests.
		{
			hdr := map[string]string{"Content-MD5": md5b64(data)}
			var fields []formField
			for k, v := range c.lock {
				hdr[k] = v
				fields = append(fields, formField{k, v})
			}
			e.wantAnon("PUT", "/lockpub/put", data, hdr, 403, "AccessDenied")
			e.absent("/lockpub/put")
			resp, body := e.post("/lockpub", append([]formField{{"key", "post"}, {"Content-MD5", md5b64(data)}}, fields...), "f", data)
			if resp.StatusCode != 403 || !strings.Contains(string(body), "<Code>AccessDenied</Code>") {
				t.Errorf("%s: anonymous POST: %d %s", c.name, resp.StatusCode, body)
			}
			e.absent("/lockpub/post")
			e.wantAnon("POST", "/lockpub/mpu?uploads", nil, c.lock, 403, "AccessDenied")
		}
	}
	// Without lock headers the anonymous write is served.
	e.wantAnon("PUT", "/lockpub/plain", data, map[string]string{"Content-MD5": md5b64(data)}, 200, "")
}

// TestAnonymousConditionalDelete: a conditional delete tells whether the
// object exists and whether its ETag (its MD5) is the one guessed, without
// deleting it on a miss; AWS asks for s3:GetObject too. A policy that
// lets anyone delete, not read, must not make it an anonymous oracle.
func TestAnonymousConditionalDelete(t *testing.T) {
	e := publicEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.want(testAK, testSK, "PUT", "/bkt?policy", bucketPolicy("bkt", `{"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::BKT/*"}`), nil, 204, "")
	e.ok("PUT", "/bkt/secret", []byte("data"))
	for _, c := range []struct{ path, ifMatch string }{{"/bkt/secret", `"0123"`}, {"/bkt/missing", `"0123"`}, {"/bkt/secret", "*"}} {
		e.wantAnon("DELETE", c.path, nil, map[string]string{"If-Match": c.ifMatch}, 403, "AccessDenied")
	}
	if got := string(e.ok("GET", "/bkt/secret", nil)); got != "data" {
		t.Errorf("object changed: %q", got)
	}
	// Granted reading as well, the condition is evaluated.
	e.want(testAK, testSK, "PUT", "/bkt?policy", bucketPolicy("bkt", `{"Effect":"Allow","Principal":"*","Action":["s3:DeleteObject","s3:GetObject"],"Resource":"arn:aws:s3:::BKT/*"}`), nil, 204, "")
	e.wantAnon("DELETE", "/bkt/secret", nil, map[string]string{"If-Match": `"0123"`}, 412, "PreconditionFailed")
	e.wantAnon("DELETE", "/bkt/secret", nil, map[string]string{"If-Match": "*"}, 204, "")
}
