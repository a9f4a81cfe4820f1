package gateway_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/store"
)

// vEnv wraps a testEnv with the versioning calls of the tests.
type vEnv struct{ *testEnv }

func (e vEnv) setVersioning(bucket string, status types.BucketVersioningStatus) {
	e.t.Helper()
	_, err := e.s3.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: status}})
	if err != nil {
		e.t.Fatalf("PutBucketVersioning(%s): %v", status, err)
	}
}

func (e vEnv) putV(bucket, key, data string) string {
	e.t.Helper()
	out, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(data)})
	if err != nil {
		e.t.Fatalf("PutObject: %v", err)
	}
	return aws.ToString(out.VersionId)
}

func (e vEnv) getV(bucket, key, vid string) (string, string, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	out, err := e.s3.GetObject(context.Background(), in)
	if err != nil {
		return "", "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), aws.ToString(out.VersionId), err
}

// TestVersioningSDK drives versioning through aws-sdk-go-v2: states,
// version ids on writes and reads, delete markers, deletes by id,
// DeleteObjects with ids, copies of a version, the Suspended null version.
func TestVersioningSDK(t *testing.T) {
	e := vEnv{newEnv(t)}
	ctx := context.Background()
	e.mkBucket("bkt")
	gv, err := e.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("bkt")})
	if err != nil || gv.Status != "" {
		t.Fatalf("GetBucketVersioning of a new bucket = %q, %v", gv.Status, err)
	}
	if vid := e.putV("bkt", "k", "n0"); vid != "" {
		t.Errorf("PUT in an unversioned bucket: version id %q", vid)
	}
	e.setVersioning("bkt", types.BucketVersioningStatusEnabled)
	gv, err = e.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("bkt")})
	if err != nil || gv.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("GetBucketVersioning = %q, %v", gv.Status, err)
	}
	v1, v2 := e.putV("bkt", "k", "v1"), e.putV("bkt", "k", "v2")
	if v1 == "" || v2 == "" || v1 == v2 || v1 == "null" {
		t.Fatalf("version ids %q, %q", v1, v2)
	}
	for vid, want := range map[string]string{v1: "v1", v2: "v2", "null": "n0", "": "v2"} {
		body, got, err := e.getV("bkt", "k", vid)
		if err != nil || body != want || (vid != "" && got != vid) {
			t.Errorf("GetObject(versionId %q) = %q, version %q, %v; want %q", vid, body, got, err, want)
		}
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: aws.String(v1)})
	if err != nil || aws.ToString(head.VersionId) != v1 || aws.ToInt64(head.ContentLength) != 2 {
		t.Errorf("HeadObject(v1) = %+v, %v", head, err)
	}

	// A delete without an id adds a delete marker.
	del, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) == "" {
		t.Fatalf("DeleteObject = %+v, %v", del, err)
	}
	dm := aws.ToString(del.VersionId)
	if _, _, err := e.getV("bkt", "k", ""); apiCode(err) != "NoSuchKey" {
		t.Errorf("GET of a deleted key: %v", err)
	}
	resp, body := e.do("GET", "/bkt/k", nil, nil)
	wantError(t, resp, body, 404, "NoSuchKey")
	if resp.Header.Get("x-amz-delete-marker") != "true" || resp.Header.Get("x-amz-version-id") != dm {
		t.Errorf("GET of a deleted key: headers %v", resp.Header)
	}
	for _, m := range []string{"GET", "HEAD"} {
		resp, body := e.do(m, "/bkt/k?versionId="+dm, nil, nil)
		if resp.StatusCode != 405 || resp.Header.Get("x-amz-delete-marker") != "true" || resp.Header.Get("Last-Modified") == "" {
			t.Errorf("%s of a delete marker by id: %d %v %s", m, resp.StatusCode, resp.Header, body)
		}
	}
	lv, err := e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("bkt")})
	if err != nil || len(lv.Versions) != 3 || len(lv.DeleteMarkers) != 1 || !aws.ToBool(lv.DeleteMarkers[0].IsLatest) ||
		aws.ToString(lv.DeleteMarkers[0].VersionId) != dm {
		t.Fatalf("ListObjectVersions = %+v, %v", lv, err)
	}
	for i, want := range []string{v2, v1, "null"} {
		if v := lv.Versions[i]; aws.ToString(v.VersionId) != want || aws.ToBool(v.IsLatest) {
			t.Errorf("version %d: %s latest %v, want %s", i, aws.ToString(v.VersionId), aws.ToBool(v.IsLatest), want)
		}
	}
	// In the document the marker comes first: it is the newest.
	_, raw := e.do("GET", "/bkt?versions", nil, nil)
	if i, j := bytes.Index(raw, []byte("<DeleteMarker>")), bytes.Index(raw, []byte("<Version>")); i < 0 || j < i {
		t.Errorf("delete marker not listed before the versions: %s", raw)
	}

	// Copies of a version; a delete marker is no copy source.
	cp, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"),
		CopySource: aws.String("bkt/k?versionId=" + url.QueryEscape(v1))})
	if err != nil || aws.ToString(cp.CopySourceVersionId) != v1 || aws.ToString(cp.VersionId) == "" {
		t.Fatalf("CopyObject(v1) = %+v, %v", cp, err)
	}
	if b, _, _ := e.getV("bkt", "copy", ""); b != "v1" {
		t.Errorf("copy of v1 = %q", b)
	}
	_, err = e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("copy"),
		CopySource: aws.String("bkt/k?versionId=" + dm)})
	if apiCode(err) != "InvalidRequest" {
		t.Errorf("CopyObject from a delete marker: %v", err)
	}

	// Deleting the marker by id brings v2 back.
	del, err = e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: aws.String(dm)})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != dm {
		t.Errorf("DeleteObject(marker) = %+v, %v", del, err)
	}
	if b, vid, _ := e.getV("bkt", "k", ""); b != "v2" || vid != v2 {
		t.Errorf("after deleting the marker: %q (%s)", b, vid)
	}
	// DeleteObjects with ids: v2 and the null version go, v1 is current.
	do, err := e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bkt"), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("k"), VersionId: aws.String(v2)}, {Key: aws.String("k"), VersionId: aws.String("null")}, {Key: aws.String("copy")}}}})
	if err != nil || len(do.Deleted) != 3 || len(do.Errors) != 0 {
		t.Fatalf("DeleteObjects = %+v, %v", do, err)
	}
	if d := do.Deleted[0]; aws.ToString(d.VersionId) != v2 || aws.ToBool(d.DeleteMarker) {
		t.Errorf("deleted %+v", d)
	}
	if d := do.Deleted[2]; !aws.ToBool(d.DeleteMarker) || aws.ToString(d.DeleteMarkerVersionId) == "" {
		t.Errorf("DeleteObjects without an id: %+v, want a delete marker", d)
	}
	if b, _, _ := e.getV("bkt", "k", ""); b != "v1" {
		t.Errorf("after DeleteObjects: %q", b)
	}
	// Unknown and malformed ids.
	if _, _, err := e.getV("bkt", "k", "bogus"); apiCode(err) != "InvalidArgument" {
		t.Errorf("GET of a malformed version id: %v", err)
	}
	if _, _, err := e.getV("bkt", "k", v2); apiCode(err) != "NoSuchVersion" {
		t.Errorf("GET of a deleted version: %v", err)
	}
	resp, body = e.do("GET", "/bkt/k?versionId=", nil, nil)
	wantError(t, resp, body, 400, "InvalidArgument")
	if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: aws.String(v2)}); err != nil {
		t.Errorf("deleting a version that is gone: %v, want success", err)
	}

	// Suspended: writes make the null version.
	e.setVersioning("bkt", types.BucketVersioningStatusSuspended)
	if vid := e.putV("bkt", "k", "n1"); vid != "null" {
		t.Errorf("Suspended PUT: version id %q, want null", vid)
	}
	del, err = e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil || !aws.ToBool(del.DeleteMarker) || aws.ToString(del.VersionId) != "null" {
		t.Errorf("Suspended DeleteObject = %+v, %v", del, err)
	}
}

// TestVersioningMultipart: UploadPartCopy of a version, and a completed
// upload is a new version with its id in the answer.
func TestVersioningMultipart(t *testing.T) {
	e := vEnv{newEnv(t)}
	ctx := context.Background()
	e.mkBucket("bkt")
	e.setVersioning("bkt", types.BucketVersioningStatusEnabled)
	v1 := e.putV("bkt", "src", "old")
	e.putV("bkt", "src", "new")
	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String("bkt/src?versionId=" + url.QueryEscape(v1))})
	if err != nil || aws.ToString(pc.CopySourceVersionId) != v1 {
		t.Fatalf("UploadPartCopy(v1) = %+v, %v", pc, err)
	}
	done, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("mp"),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: pc.CopyPartResult.ETag}}}})
	if err != nil || aws.ToString(done.VersionId) == "" {
		t.Fatalf("CompleteMultipartUpload = %+v, %v", done, err)
	}
	if b, vid, _ := e.getV("bkt", "mp", ""); b != "old" || vid != aws.ToString(done.VersionId) {
		t.Errorf("completed upload: %q version %s", b, vid)
	}
	_, err = e.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("bkt"), Key: aws.String("mp"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), CopySource: aws.String("bkt/src?versionId=" + url.QueryEscape(v1))})
	if apiCode(err) != "NoSuchUpload" {
		t.Errorf("UploadPartCopy to a completed upload: %v", err)
	}
}

// TestPutBucketVersioningRefusals: documents AWS refuses, and MFA delete.
func TestPutBucketVersioningRefusals(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("bkt")
	for _, tt := range []struct {
		name, doc string
		hdr       map[string]string
		status    int
		code      string
	}{
		{"no status", `<VersioningConfiguration/>`, nil, 400, "IllegalVersioningConfigurationException"},
		{"back to unversioned", `<VersioningConfiguration><Status>Disabled</Status></VersioningConfiguration>`, nil, 400, "IllegalVersioningConfigurationException"},
		{"mfa delete", `<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>`, nil, 501, "NotImplemented"},
		{"mfa header", `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`, map[string]string{"x-amz-mfa": "serial 123456"}, 501, "NotImplemented"},
		{"not xml", `Enabled`, nil, 400, "MalformedXML"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{"Content-MD5": md5b64([]byte(tt.doc))}
			for k, v := range tt.hdr {
				hdr[k] = v
			}
			resp, body := e.do("PUT", "/bkt?versioning", []byte(tt.doc), hdr)
			wantError(t, resp, body, tt.status, tt.code)
		})
	}
	resp, body := e.do("GET", "/bkt?versioning", nil, nil)
	if resp.StatusCode != 200 || bytes.Contains(body, []byte("<Status>")) {
		t.Errorf("after refusals: %d %s", resp.StatusCode, body)
	}
	doc := `<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>`
	resp, body = e.do("PUT", "/nosuchbucket?versioning", []byte(doc), map[string]string{"Content-MD5": md5b64([]byte(doc))})
	wantError(t, resp, body, 404, "NoSuchBucket")
	resp, body = e.do("PUT", "/bkt?versioning", []byte(doc), map[string]string{"Content-MD5": md5b64([]byte(doc))})
	if resp.StatusCode != 200 {
		t.Errorf("Enabled with MfaDelete Disabled: %d %s", resp.StatusCode, body)
	}
}

// TestVersionsCapacity: every version counts against the order's
// capacity, delete markers too; deleting a version frees it.
func TestVersionsCapacity(t *testing.T) {
	capacity := bktCost + 2*objCost("a", 1000) + store.DeleteMarkerCost("a")
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1", Capacity: capacity})
	e.ok("PUT", "/bkt", nil)
	doc := []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)
	if resp, body := e.do(testAK, testSK, "PUT", "/bkt?versioning", doc, map[string]string{"Content-MD5": md5b64(doc)}); resp.StatusCode != 200 {
		t.Fatalf("PutBucketVersioning: %d %s", resp.StatusCode, body)
	}
	e.ok("PUT", "/bkt/a", randBytes(1000, 1))
	resp, _ := e.do(testAK, testSK, "PUT", "/bkt/a", randBytes(1000, 2), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("second version: %d", resp.StatusCode)
	}
	v2 := resp.Header.Get("x-amz-version-id")
	// A third version does not fit: the two before it stay charged.
	resp, body := e.do(testAK, testSK, "PUT", "/bkt/a", randBytes(1000, 3), nil)
	wantError(t, resp, body, http.StatusForbidden, "QuotaExceeded")
	// A delete marker fits exactly; a second one does not.
	e.ok("DELETE", "/bkt/a", nil)
	if u := e.used(); u != capacity {
		t.Errorf("used %d, want %d", u, capacity)
	}
	resp, body = e.do(testAK, testSK, "DELETE", "/bkt/a", nil, nil)
	wantError(t, resp, body, http.StatusForbidden, "QuotaExceeded")
	// Deleting a version by id frees it (and needs no room).
	e.ok("DELETE", "/bkt/a?versionId="+url.QueryEscape(v2), nil)
	if u := e.used(); u != capacity-objCost("a", 1000) {
		t.Errorf("used %d after deleting a version", u)
	}
	e.ok("PUT", "/bkt/a", randBytes(1000, 4))
}

// TestVersioningUpstream: upstream mode keeps no versions: versioning is
// refused as NotImplemented, every object is its null version, and other
// version ids name nothing (also as a copy source).
func TestVersioningUpstream(t *testing.T) {
	e := newOrderEnv(t, openUpstream, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	e.ok("PUT", "/bkt/k", []byte("data"))
	doc := []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)
	resp, body := e.do(testAK, testSK, "PUT", "/bkt?versioning", doc, map[string]string{"Content-MD5": md5b64(doc)})
	wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
	if body := e.ok("GET", "/bkt?versioning", nil); bytes.Contains(body, []byte("<Status>")) {
		t.Errorf("GetBucketVersioning: %s", body)
	}
	if body := e.ok("GET", "/bkt/k?versionId=null", nil); string(body) != "data" {
		t.Errorf("GET of the null version: %q", body)
	}
	const other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	resp, body = e.do(testAK, testSK, "GET", "/bkt/k?versionId="+other, nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchVersion")
	resp, body = e.do(testAK, testSK, "PUT", "/bkt/c", nil, map[string]string{"x-amz-copy-source": "/bkt/k?versionId=" + other})
	wantError(t, resp, body, http.StatusNotFound, "NoSuchVersion")
	if body := e.ok("GET", "/bkt?versions", nil); !bytes.Contains(body, []byte("<VersionId>null</VersionId>")) {
		t.Errorf("ListObjectVersions: %s", body)
	}
	e.ok("DELETE", "/bkt/k?versionId=null", nil)
	resp, body = e.do(testAK, testSK, "GET", "/bkt/k", nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchKey")
}

// TestVersionedAttributes: object tagging and GetObjectAttributes act on
// the version versionId names, noncurrent or not.
func TestVersionedAttributes(t *testing.T) {
	e := vEnv{newEnv(t)}
	ctx := context.Background()
	e.mkBucket("bkt")
	e.setVersioning("bkt", types.BucketVersioningStatusEnabled)
	v1 := e.putV("bkt", "k", "one")
	v2 := e.putV("bkt", "k", "two!")
	_, err := e.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: aws.String(v1),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("old"), Value: aws.String("yes")}}}})
	if err != nil {
		t.Fatal(err)
	}
	for vid, want := range map[string]int{v1: 1, v2: 0} {
		out, err := e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: aws.String(vid)})
		if err != nil || len(out.TagSet) != want || aws.ToString(out.VersionId) != vid {
			t.Errorf("GetObjectTagging(%s) = %+v, %v; want %d tags", vid, out, err, want)
		}
	}
	attrs, err := e.s3.GetObjectAttributes(ctx, &s3.GetObjectAttributesInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: aws.String(v1),
		ObjectAttributes: []types.ObjectAttributes{types.ObjectAttributesObjectSize}})
	if err != nil || aws.ToInt64(attrs.ObjectSize) != 3 || aws.ToString(attrs.VersionId) != v1 {
		t.Errorf("GetObjectAttributes(v1) = %+v, %v", attrs, err)
	}
	dm, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k"), VersionId: dm.VersionId,
		Tagging: &types.Tagging{TagSet: []types.Tag{}}})
	if apiCode(err) != "MethodNotAllowed" {
		t.Errorf("tagging a delete marker: %v", err)
	}
	_, err = e.s3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if apiCode(err) != "NoSuchKey" {
		t.Errorf("tags of a deleted key: %v", err)
	}
}

// TestVersionedPostObject: a browser upload into a versioned bucket makes
// a new version and answers its id.
func TestVersionedPostObject(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	e.ok("PUT", "/bkt", nil)
	doc := []byte(`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`)
	if resp, body := e.do(testAK, testSK, "PUT", "/bkt?versioning", doc, map[string]string{"Content-MD5": md5b64(doc)}); resp.StatusCode != 200 {
		t.Fatalf("PutBucketVersioning: %d %s", resp.StatusCode, body)
	}
	e.ok("PUT", "/bkt/k", []byte("first"))
	fields := e.signed(testAK, testSK, []string{`{"bucket": "bkt"}`, `["eq", "$key", "k"]`}, formField{"key", "k"})
	resp, body := e.post("/bkt", fields, "f.txt", []byte("second"))
	vid := resp.Header.Get("x-amz-version-id")
	if resp.StatusCode != http.StatusNoContent || vid == "" || vid == "null" {
		t.Fatalf("POST: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	var list struct {
		Version []struct{ VersionId string }
	}
	if err := xml.Unmarshal(e.ok("GET", "/bkt?versions", nil), &list); err != nil || len(list.Version) != 2 || list.Version[0].VersionId != vid {
		t.Errorf("versions after POST: %+v, %v", list, err)
	}
}

// TestVersioningLockedBucket: a bucket with an object lock configuration
// cannot have its versioning suspended.
func TestVersioningLockedBucket(t *testing.T) {
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o1"})
	if resp, body := e.do(testAK, testSK, "PUT", "/bkt", nil, map[string]string{"x-amz-bucket-object-lock-enabled": "true"}); resp.StatusCode != 200 {
		t.Fatalf("CreateBucket with object lock: %d %s", resp.StatusCode, body)
	}
	put := func(status string) (*http.Response, []byte) {
		doc := []byte(`<VersioningConfiguration><Status>` + status + `</Status></VersioningConfiguration>`)
		return e.do(testAK, testSK, "PUT", "/bkt?versioning", doc, map[string]string{"Content-MD5": md5b64(doc)})
	}
	if resp, body := put("Enabled"); resp.StatusCode != 200 {
		t.Fatalf("Enabled: %d %s", resp.StatusCode, body)
	}
	resp, body := put("Suspended")
	wantError(t, resp, body, http.StatusConflict, "InvalidBucketState")
	if body := e.ok("GET", "/bkt?versioning", nil); !bytes.Contains(body, []byte("<Status>Enabled</Status>")) {
		t.Errorf("after the refused suspension: %s", body)
	}
}
