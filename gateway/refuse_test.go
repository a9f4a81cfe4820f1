package gateway_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"testing"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/order"
)

// refusedValue is a value of each header that asks for what the gateway
// does not do (most headers are refused whatever their value).
var refusedValue = map[string]string{
	"X-Amz-Acl":                        "public-read",
	"X-Amz-Bucket-Object-Lock-Enabled": "true",
	"X-Amz-Object-Ownership":           "ObjectWriter",
}

// TestRefusedHeaders walks the refused-header table on every operation it
// lists: each request is refused with the table's error, and nothing is
// written.
func TestRefusedHeaders(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/k", []byte("data"))
	up := e.createUpload("/bkt/m")
	complete := []byte(`<CompleteMultipartUpload></CompleteMultipartUpload>`)
	copySrc := "/bkt/k"
	requests := map[string]struct {
		method, path string
		body         []byte
		copy         bool
		check        string // a path that must not exist afterwards
	}{
		"PutObject":               {"PUT", "/bkt/new", []byte("x"), false, "/bkt/new"},
		"CopyObject":              {"PUT", "/bkt/new", nil, true, "/bkt/new"},
		"CreateMultipartUpload":   {"POST", "/bkt/new?uploads", nil, false, ""},
		"UploadPart":              {"PUT", "/bkt/m?partNumber=1&uploadId=" + up, []byte("x"), false, ""},
		"UploadPartCopy":          {"PUT", "/bkt/m?partNumber=1&uploadId=" + up, nil, true, ""},
		"CompleteMultipartUpload": {"POST", "/bkt/m?uploadId=" + up, complete, false, "/bkt/m"},
		"GetObject":               {"GET", "/bkt/k", nil, false, ""},
		"HeadObject":              {"HEAD", "/bkt/k", nil, false, ""},
		"CreateBucket":            {"PUT", "/newbkt", nil, false, "/newbkt"},
		"PutObjectAcl":            {"PUT", "/bkt/k?acl", nil, false, ""},
		"PutBucketAcl":            {"PUT", "/bkt?acl", nil, false, ""},
		"DeleteObject":            {"DELETE", "/bkt/k", nil, false, ""},
	}
	n := 0
	for _, rh := range gateway.RefusedHeaders() {
		for _, op := range rh.Ops {
			req, ok := requests[op]
			if !ok {
				t.Fatalf("no request for %s in this test", op)
			}
			name := fmt.Sprintf("%s/%s", op, rh.Name)
			hdr := map[string]string{rh.Name: "x"}
			if v, ok := refusedValue[rh.Name]; ok {
				hdr[rh.Name] = v
			}
			if rh.Code == "InvalidArgument" {
				hdr[rh.Name] = "no-such-value" // the entry for invalid values
			}
			if req.copy {
				hdr["x-amz-copy-source"] = copySrc
			}
			resp, body := e.do(testAK, testSK, req.method, req.path, req.body, hdr)
			if req.method == "HEAD" {
				if resp.StatusCode != rh.Status {
					t.Errorf("%s: status %d, want %d", name, resp.StatusCode, rh.Status)
				}
			} else {
				wantError(t, resp, body, rh.Status, rh.Code)
				wantMessage(t, body, rh.Name)
			}
			if req.check != "" {
				if resp, _ := e.do(testAK, testSK, "HEAD", req.check, nil, nil); resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s: %s exists after the refusal (HEAD: %d)", name, req.check, resp.StatusCode)
				}
			}
			n++
		}
	}
	if n < 7 {
		t.Errorf("only %d header × operation pairs walked", n)
	}
	// The refused conditional deletes deleted nothing.
	if got := string(e.ok("GET", "/bkt/k", nil)); got != "data" {
		t.Errorf("bkt/k after the refused conditional deletes: %q", got)
	}
	// Nor does DeleteObjects with a directory-bucket condition.
	doc := []byte(`<Delete><Object><Key>k</Key><Size>4</Size></Object></Delete>`)
	resp, body := e.do(testAK, testSK, "POST", "/bkt?delete", doc, map[string]string{"Content-MD5": md5b64(doc)})
	wantError(t, resp, body, 501, "NotImplemented")
	if got := string(e.ok("GET", "/bkt/k", nil)); got != "data" {
		t.Errorf("bkt/k after a refused conditional DeleteObjects: %q", got)
	}
	// The refused CreateMultipartUpload requests created no upload.
	var uploads struct{ Upload []struct{ Key string } }
	if err := xml.Unmarshal(e.ok("GET", "/bkt?uploads", nil), &uploads); err != nil || len(uploads.Upload) != 1 {
		t.Errorf("uploads after the refusals: %+v (%v), want only m's", uploads, err)
	}
}

// TestAcceptedHeaderValues: the values equal to what the gateway does
// anyway are accepted (the Docker registry sends x-amz-acl: private on
// every PUT).
func TestAcceptedHeaderValues(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/k", []byte("data"))
	for i, tt := range []struct {
		method, path string
		hdr          map[string]string
	}{
		{"PUT", "/bkt/a", map[string]string{"x-amz-acl": "private"}},
		{"PUT", "/bkt/b", map[string]string{"x-amz-acl": "bucket-owner-full-control"}},
		{"PUT", "/bkt/c", map[string]string{"x-amz-acl": "private", "x-amz-copy-source": "/bkt/k"}},
		{"POST", "/bkt/d?uploads", map[string]string{"x-amz-acl": "bucket-owner-full-control"}},
		{"PUT", "/bkt2", map[string]string{"x-amz-acl": "private"}},
		{"PUT", "/bkt3", map[string]string{"x-amz-acl": "bucket-owner-full-control", "x-amz-object-ownership": "BucketOwnerEnforced"}},
		{"PUT", "/bkt4", map[string]string{"x-amz-bucket-object-lock-enabled": "false"}},
	} {
		var body []byte
		if tt.method == "PUT" && len(tt.path) > 5 && tt.hdr["x-amz-copy-source"] == "" {
			body = []byte(fmt.Sprint(i))
		}
		if resp, b := e.do(testAK, testSK, tt.method, tt.path, body, tt.hdr); resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s %v: %d %s", tt.method, tt.path, tt.hdr, resp.StatusCode, b)
		}
	}
}

// TestInvalidCannedACL: a value that is no canned ACL at all is
// InvalidArgument (a valid one the gateway does not do is refused as in
// TestRefusedHeaders).
func TestInvalidCannedACL(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	for _, path := range []string{"/bkt2", "/bkt/k"} {
		resp, body := e.do(testAK, testSK, "PUT", path, nil, map[string]string{"x-amz-acl": "no-such-acl"})
		wantError(t, resp, body, 400, "InvalidArgument")
	}
}

// TestPutACL: setting the one ACL there is (the owner has full control)
// succeeds, as s3cmd does after every copy; any other is refused.
func TestPutACL(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/k", []byte("data"))
	for _, path := range []string{"/bkt/k?acl", "/bkt?acl"} {
		own := e.ok("GET", path, nil)
		public := bytes.Replace(own, []byte("</AccessControlList>"), []byte(`<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList>`), 1)
		for _, tt := range []struct {
			name   string
			body   []byte
			hdr    map[string]string
			status int
			code   string
		}{
			{"its own ACL", own, nil, 200, ""},
			{"canned private", nil, map[string]string{"x-amz-acl": "private"}, 200, ""},
			{"canned public-read", nil, map[string]string{"x-amz-acl": "public-read"}, 400, "AccessControlListNotSupported"},
			{"a public grant", public, nil, 400, "AccessControlListNotSupported"},
			{"not XML", []byte("<AccessControlPolicy"), nil, 400, "MalformedACLError"},
			{"no ACL at all", nil, nil, 400, "MalformedACLError"},
		} {
			resp, body := e.do(testAK, testSK, "PUT", path, tt.body, tt.hdr)
			if tt.code == "" {
				if resp.StatusCode != tt.status {
					t.Errorf("%s %s: %d %s", path, tt.name, resp.StatusCode, body)
				}
				continue
			}
			wantError(t, resp, body, tt.status, tt.code)
		}
		if got := e.ok("GET", path, nil); !bytes.Equal(got, own) {
			t.Errorf("%s changed: %s", path, got)
		}
	}
	resp, body := e.do(testAK, testSK, "PUT", "/bkt/nokey?acl", nil, map[string]string{"x-amz-acl": "private"})
	wantError(t, resp, body, 404, "NoSuchKey")
}

// TestExpectedBucketOwner: x-amz-expected-bucket-owner is honoured: the
// order's owner ID (as GetBucketAcl shows it) passes, any other is 403.
func TestExpectedBucketOwner(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/k", []byte("data"))
	var acl struct{ Owner struct{ ID string } }
	if err := xml.Unmarshal(e.ok("GET", "/bkt?acl", nil), &acl); err != nil || acl.Owner.ID == "" {
		t.Fatalf("GetBucketAcl: %v", err)
	}
	for _, tt := range []struct {
		method, path string
		hdr          map[string]string
		status       int
	}{
		{"GET", "/bkt/k", map[string]string{"x-amz-expected-bucket-owner": acl.Owner.ID}, 200},
		{"GET", "/bkt/k", map[string]string{"x-amz-expected-bucket-owner": "123456789012"}, 403},
		{"PUT", "/bkt/k2", map[string]string{"x-amz-expected-bucket-owner": "123456789012"}, 403},
		{"PUT", "/bkt/k3", map[string]string{"x-amz-copy-source": "/bkt/k", "x-amz-source-expected-bucket-owner": "123456789012"}, 403},
		{"PUT", "/bkt/k4", map[string]string{"x-amz-copy-source": "/bkt/k", "x-amz-source-expected-bucket-owner": acl.Owner.ID}, 200},
	} {
		var body []byte
		if tt.method == "PUT" && tt.hdr["x-amz-copy-source"] == "" {
			body = []byte("x")
		}
		resp, b := e.do(testAK, testSK, tt.method, tt.path, body, tt.hdr)
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s %v: %d %s, want %d", tt.method, tt.path, tt.hdr, resp.StatusCode, b, tt.status)
		}
	}
	if resp, _ := e.do(testAK, testSK, "HEAD", "/bkt/k2", nil, nil); resp.StatusCode != 404 {
		t.Errorf("k2 written despite the refusal")
	}
	// A browser upload's field is honoured as the header (it was ignored).
	anyKey := []string{`["starts-with", "$key", ""]`, `["starts-with", "$x-amz-expected-bucket-owner", ""]`}
	for _, c := range []struct {
		key, owner string
		status     int
	}{{"p1", acl.Owner.ID, 204}, {"p2", "123456789012", 403}} {
		resp, b := e.post("/bkt", e.signed(testAK, testSK, anyKey, formField{"key", c.key}, formField{"x-amz-expected-bucket-owner", c.owner}), "f", []byte("x"))
		if resp.StatusCode != c.status {
			t.Errorf("POST with x-amz-expected-bucket-owner %s: %d %s, want %d", c.owner, resp.StatusCode, b, c.status)
		}
	}
	e.absent("/bkt/p2")
}
