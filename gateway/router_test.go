package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/order"
)

// TestRouter pins which operation each request is routed to and whether it
// writes (read-only keys and expired orders are refused writes).
func TestRouter(t *testing.T) {
	h := newEnv(t).h
	copySrc := map[string]string{"x-amz-copy-source": "/bkt/src"}
	form := map[string]string{"Content-Type": "multipart/form-data; boundary=x"}
	for _, tt := range []struct {
		method, path string
		hdr          map[string]string
		op           string
		writes       bool
	}{
		{"GET", "/", nil, "ListBuckets", false},
		{"GET", "/?x-id=ListBuckets", nil, "ListBuckets", false},
		{"PUT", "/", nil, "", false},
		{"GET", "/bkt", nil, "ListObjects", false},
		{"GET", "/bkt?list-type=2", nil, "ListObjectsV2", false},
		{"GET", "/bkt?list-type=2&X-Amz-Signature=x&x-id=ListObjectsV2", nil, "ListObjectsV2", false},
		{"GET", "/bkt?location", nil, "GetBucketLocation", false},
		{"GET", "/bkt?versioning", nil, "GetBucketVersioning", false},
		{"PUT", "/bkt?versioning", nil, "PutBucketVersioning", true},
		{"GET", "/bkt?versions", nil, "ListObjectVersions", false},
		{"GET", "/bkt?versions&list-type=2", nil, "ListObjectVersions", false},
		{"GET", "/bkt?uploads", nil, "ListMultipartUploads", false},
		{"GET", "/bkt?acl", nil, "GetBucketAcl", false},
		{"PUT", "/bkt?acl", nil, "PutBucketAcl", true},
		{"HEAD", "/bkt", nil, "HeadBucket", false},
		{"PUT", "/bkt", nil, "CreateBucket", true},
		{"PUT", "/bkt?X-Amz-Signature=x&X-Amz-Credential=y", nil, "CreateBucket", true},
		{"DELETE", "/bkt", nil, "DeleteBucket", true},
		{"POST", "/bkt?delete", nil, "DeleteObjects", true},
		{"POST", "/bkt", nil, "PostObject", true},
		{"POST", "/bkt", form, "PostObject", true},
		{"POST", "/bkt", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "PostObject", true},
		{"POST", "/bkt?delete", form, "DeleteObjects", true},
		{"POST", "/bkt?uploads", form, "NotImplemented", true},
		{"PATCH", "/bkt", nil, "", false},
		{"GET", "/bkt?policy", nil, "GetBucketPolicy", false},
		{"PUT", "/bkt?policy", nil, "PutBucketPolicy", true},
		{"DELETE", "/bkt?policy", nil, "DeleteBucketPolicy", true},
		{"GET", "/bkt?cors", nil, "GetBucketCors", false},
		{"PUT", "/bkt?cors", nil, "PutBucketCors", true},
		{"DELETE", "/bkt?cors", nil, "DeleteBucketCors", true},
		{"GET", "/bkt?lifecycle", nil, "GetBucketLifecycleConfiguration", false},
		{"PUT", "/bkt?lifecycle", nil, "PutBucketLifecycleConfiguration", true},
		{"DELETE", "/bkt?lifecycle", nil, "DeleteBucketLifecycle", true},
		{"GET", "/bkt?tagging", nil, "GetBucketTagging", false},
		{"PUT", "/bkt?tagging", nil, "PutBucketTagging", true},
		{"DELETE", "/bkt?tagging", nil, "DeleteBucketTagging", true},
		{"GET", "/bkt?website", nil, "GetBucketWebsite", false},
		{"PUT", "/bkt?website", nil, "PutBucketWebsite", true},
		{"DELETE", "/bkt?website", nil, "DeleteBucketWebsite", true},
		{"GET", "/bkt?encryption", nil, "GetBucketEncryption", false},
		{"PUT", "/bkt?encryption", nil, "PutBucketEncryption", true},
		{"DELETE", "/bkt?encryption", nil, "DeleteBucketEncryption", true},
		{"GET", "/bkt?ownershipControls", nil, "GetBucketOwnershipControls", false},
		{"PUT", "/bkt?ownershipControls", nil, "PutBucketOwnershipControls", true},
		{"DELETE", "/bkt?ownershipControls", nil, "DeleteBucketOwnershipControls", true},
		{"GET", "/bkt?object-lock", nil, "GetObjectLockConfiguration", false},
		{"PUT", "/bkt?object-lock", nil, "PutObjectLockConfiguration", true},
		{"DELETE", "/bkt?object-lock", nil, "NotImplemented", true},
		{"GET", "/bkt?publicAccessBlock", nil, "GetPublicAccessBlock", false},
		{"PUT", "/bkt?publicAccessBlock", nil, "PutPublicAccessBlock", true},
		{"DELETE", "/bkt?publicAccessBlock", nil, "DeletePublicAccessBlock", true},
		{"GET", "/bkt?replication", nil, "GetBucketReplication", false},
		{"PUT", "/bkt?replication", nil, "PutBucketReplication", true},
		{"DELETE", "/bkt?replication", nil, "DeleteBucketReplication", true},
		{"GET", "/bkt?logging", nil, "GetBucketLogging", false},
		{"PUT", "/bkt?logging", nil, "PutBucketLogging", true},
		{"GET", "/bkt?notification", nil, "GetBucketNotificationConfiguration", false},
		{"PUT", "/bkt?notification", nil, "PutBucketNotificationConfiguration", true},
		{"GET", "/bkt?accelerate", nil, "GetBucketAccelerateConfiguration", false},
		{"PUT", "/bkt?accelerate", nil, "PutBucketAccelerateConfiguration", true},
		{"GET", "/bkt?requestPayment", nil, "GetBucketRequestPayment", false},
		{"PUT", "/bkt?requestPayment", nil, "PutBucketRequestPayment", true},
		{"GET", "/bkt?analytics", nil, "NotImplemented", false},
		{"PUT", "/bkt?metrics", nil, "NotImplemented", true},
		{"DELETE", "/bkt?inventory", nil, "NotImplemented", true},

		{"GET", "/bkt/k", nil, "GetObject", false},
		{"GET", "/bkt/k?versionId=null&partNumber=1&response-content-type=a", nil, "GetObject", false},
		{"HEAD", "/bkt/k", nil, "HeadObject", false},
		{"HEAD", "/bkt/k?acl", nil, "NotImplemented", false},
		{"GET", "/bkt/k?uploadId=u", nil, "ListParts", false},
		{"GET", "/bkt/k?acl", nil, "GetObjectAcl", false},
		{"GET", "/bkt/k?tagging", nil, "GetObjectTagging", false},
		{"GET", "/bkt/k?attributes", nil, "GetObjectAttributes", false},
		{"OPTIONS", "/bkt/k?uploads", nil, "PreflightRequest", false},
		{"OPTIONS", "/", nil, "PreflightRequest", false},
		{"GET", "/bkt?cors", nil, "GetBucketCors", false},
		{"PUT", "/bkt?cors", nil, "PutBucketCors", true},
		{"DELETE", "/bkt?cors", nil, "DeleteBucketCors", true},
		{"GET", "/bkt/k?retention", nil, "GetObjectRetention", false},
		{"GET", "/bkt/k?legal-hold", nil, "GetObjectLegalHold", false},
		{"GET", "/bkt/k?torrent", nil, "NotImplemented", false},
		// Operations S3 added that the gateway does not implement: never
		// served as the plain operation of their method (a rename as a
		// PutObject of an empty body, a DeleteObjectAnnotation as a delete).
		{"PUT", "/bkt/k?renameObject", nil, "NotImplemented", true},
		{"PUT", "/bkt/k?annotation", nil, "NotImplemented", true},
		{"DELETE", "/bkt/k?annotation", nil, "NotImplemented", true},
		{"GET", "/bkt/k?annotation&x-id=ListObjectAnnotations", nil, "NotImplemented", false},
		{"PUT", "/bkt/k?encryption", nil, "NotImplemented", true},
		{"PUT", "/bkt?abac", nil, "NotImplemented", true},
		{"GET", "/bkt?abac", nil, "NotImplemented", false},
		{"POST", "/bkt?metadataConfiguration", nil, "NotImplemented", true},
		{"PUT", "/bkt?metadataJournalTable", nil, "NotImplemented", true},
		{"PUT", "/bkt?metadataInventoryTable", nil, "NotImplemented", true},
		{"PUT", "/bkt?metadataAnnotationTable", nil, "NotImplemented", true},
		{"PUT", "/bkt/k", nil, "PutObject", true},
		{"PUT", "/bkt/k?x-id=PutObject", nil, "PutObject", true},
		{"PUT", "/bkt/k", copySrc, "CopyObject", true},
		{"PUT", "/bkt/k?uploadId=u&partNumber=1", nil, "UploadPart", true},
		{"PUT", "/bkt/k?uploadId=u", nil, "UploadPart", true},
		{"PUT", "/bkt/k?uploadId=u&partNumber=1", copySrc, "UploadPartCopy", true},
		{"PUT", "/bkt/k?acl", nil, "PutObjectAcl", true},
		{"PUT", "/bkt/k?tagging", nil, "PutObjectTagging", true},
		{"PUT", "/bkt/k?tagging", copySrc, "PutObjectTagging", true},
		{"PUT", "/bkt/k?retention", nil, "PutObjectRetention", true},
		{"PUT", "/bkt/k?legal-hold", nil, "PutObjectLegalHold", true},
		{"DELETE", "/bkt/k", nil, "DeleteObject", true},
		{"DELETE", "/bkt/k?versionId=null", nil, "DeleteObject", true},
		{"DELETE", "/bkt/k?uploadId=u", nil, "AbortMultipartUpload", true},
		{"DELETE", "/bkt/k?tagging", nil, "DeleteObjectTagging", true},
		{"POST", "/bkt/k?uploads", nil, "CreateMultipartUpload", true},
		{"POST", "/bkt/k?uploadId=u", nil, "CompleteMultipartUpload", true},
		{"POST", "/bkt/k?uploadId=u&uploads", nil, "CompleteMultipartUpload", true},
		{"POST", "/bkt/k?restore", nil, "NotImplemented", true},
		{"POST", "/bkt/k?select&select-type=2", nil, "NotImplemented", true},
		{"POST", "/bkt/k", nil, "", false},
		{"POST", "/bkt/k", form, "", false},
	} {
		req, err := http.NewRequest(tt.method, "http://gw"+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tt.hdr {
			req.Header.Set(k, v)
		}
		op, writes := gateway.RouteFor(h, req)
		if op != tt.op || writes != tt.writes {
			t.Errorf("%s %s %v: routed to %q (writes %v), want %q (writes %v)", tt.method, tt.path, tt.hdr, op, writes, tt.op, tt.writes)
		}
	}
}

// TestEveryWriteRouteRefused sends a request to every route of the table
// with a read-only key and in an expired order: every route that writes is
// refused before its handler runs, every other one is not refused as such.
func TestEveryWriteRouteRefused(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1", Expires: exp, Grace: 24 * time.Hour})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/k", []byte("data"))
	routes := gateway.Routes()
	if len(routes) < 40 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, when := range []struct {
		name   string
		ak, sk string
		now    time.Time
	}{
		{"read-only key", roAK, roSK, time.Now()},
		{"expired order", testAK, testSK, exp.Add(time.Minute)},
	} {
		e.setNow(when.now)
		for _, rt := range routes {
			hdr := map[string]string{}
			for k := range rt.Header {
				hdr[k] = rt.Header.Get(k)
			}
			resp, body := e.do(when.ak, when.sk, rt.Method, rt.Path, nil, hdr)
			if rt.Form {
				resp, body = e.post(rt.Path, e.signed(when.ak, when.sk, []string{`{"key": "k"}`}, formField{"key", "k"}), "f", []byte("data"))
			}
			denied := resp.StatusCode == http.StatusForbidden && strings.Contains(string(body), "<Code>AccessDenied</Code>")
			if denied != rt.Writes {
				t.Errorf("%s: %s (%s %s): %d %s", when.name, rt.Op, rt.Method, rt.Path, resp.StatusCode, body)
			}
		}
	}
	e.setNow(time.Now())
	if got := string(e.ok("GET", "/bkt/k", nil)); got != "data" {
		t.Errorf("object changed: %q", got)
	}
}
