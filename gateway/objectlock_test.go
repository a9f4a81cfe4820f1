package gateway_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/store"
)

// lockBucket creates a bucket with object lock through the SDK.
func (e *testEnv) lockBucket(name string) {
	e.t.Helper()
	if _, err := e.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name),
		ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		e.t.Fatalf("CreateBucket with object lock: %v", err)
	}
}

// putLocked puts key with the given lock headers and returns its version id.
func (e *testEnv) putLocked(bucket, key string, mode types.ObjectLockMode, until time.Time, hold types.ObjectLockLegalHoldStatus) string {
	e.t.Helper()
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("data"),
		ObjectLockMode: mode, ObjectLockLegalHoldStatus: hold, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}
	if mode != "" {
		in.ObjectLockRetainUntilDate = aws.Time(until)
	}
	out, err := e.s3.PutObject(context.Background(), in)
	if err != nil {
		e.t.Fatalf("PutObject %s with lock: %v", key, err)
	}
	return aws.ToString(out.VersionId)
}

// TestObjectLockBucket: CreateBucket with object lock turns versioning on
// for good; the configuration's default retention is kept and applied to
// new versions; lock headers need a bucket with object lock.
func TestObjectLockBucket(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.lockBucket("locked")
	v, err := e.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("locked")})
	if err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning of a lock bucket = %+v, %v; want Enabled", v, err)
	}
	_, err = e.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("locked"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
	wantAPIError(t, "suspending versioning of a lock bucket", err, "InvalidBucketState")
	c, err := e.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("locked")})
	if err != nil || c.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled || c.ObjectLockConfiguration.Rule != nil {
		t.Fatalf("GetObjectLockConfiguration = %+v, %v", c, err)
	}

	// Default retention: applied to versions written without lock headers.
	if _, err := e.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("locked"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(2)}}}}); err != nil {
		t.Fatalf("PutObjectLockConfiguration: %v", err)
	}
	c, err = e.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("locked")})
	if err != nil || c.ObjectLockConfiguration.Rule == nil || c.ObjectLockConfiguration.Rule.DefaultRetention.Mode != types.ObjectLockRetentionModeGovernance ||
		aws.ToInt32(c.ObjectLockConfiguration.Rule.DefaultRetention.Days) != 2 {
		t.Fatalf("GetObjectLockConfiguration after put = %+v, %v", c, err)
	}
	// AWS's rule: a put into a bucket with default retention carries
	// Content-MD5 or a checksum.
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String("dflt"), Body: strings.NewReader("x")})
	wantAPIError(t, "put without integrity header into a default-retention bucket", err, "InvalidRequest")
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("locked"), Key: aws.String("dflt"), Body: strings.NewReader("x"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}); err != nil {
		t.Fatalf("put with a checksum into a default-retention bucket: %v", err)
	}
	h, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("locked"), Key: aws.String("dflt")})
	if err != nil || h.ObjectLockMode != types.ObjectLockModeGovernance || h.ObjectLockRetainUntilDate == nil ||
		time.Until(*h.ObjectLockRetainUntilDate) < 47*time.Hour || time.Until(*h.ObjectLockRetainUntilDate) > 49*time.Hour {
		t.Fatalf("HeadObject of a default-retention version = %+v, %v; want GOVERNANCE for 2 days", h, err)
	}
	for _, bad := range []*types.ObjectLockConfiguration{
		{ObjectLockEnabled: types.ObjectLockEnabledEnabled, Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance}}},
		{ObjectLockEnabled: types.ObjectLockEnabledEnabled, Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1), Years: aws.Int32(1)}}},
		{ObjectLockEnabled: types.ObjectLockEnabledEnabled, Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: "FOREVER", Days: aws.Int32(1)}}},
	} {
		_, err := e.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("locked"), ObjectLockConfiguration: bad})
		wantAPIError(t, "invalid default retention", err, "MalformedXML")
	}
	_, err = e.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String("locked"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Years: aws.Int32(101)}}}})
	wantAPIError(t, "101 years", err, "InvalidArgument")

	// A bucket without object lock: no configuration, lock headers refused;
	// unversioned it cannot get one, versioned it can.
	e.mkBucket("plain")
	_, err = e.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String("plain")})
	wantAPIError(t, "GetObjectLockConfiguration without lock", err, "ObjectLockConfigurationNotFoundError")
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String("k"), Body: strings.NewReader("d"),
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn})
	wantAPIError(t, "lock header on a bucket without lock", err, "InvalidRequest")
	_, err = e.s3.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String("plain"), Key: aws.String("k")})
	wantAPIError(t, "GetObjectRetention without lock", err, "InvalidRequest")
	enable := &s3.PutObjectLockConfigurationInput{Bucket: aws.String("plain"),
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled}}
	_, err = e.s3.PutObjectLockConfiguration(ctx, enable)
	wantAPIError(t, "object lock on an unversioned bucket", err, "InvalidBucketState")
	vEnv{e}.setVersioning("plain", types.BucketVersioningStatusEnabled)
	if _, err := e.s3.PutObjectLockConfiguration(ctx, enable); err != nil {
		t.Fatalf("object lock on a versioned bucket: %v", err)
	}

	resp, body := e.do("PUT", "/badhdr", nil, map[string]string{"x-amz-bucket-object-lock-enabled": "maybe"})
	wantError(t, resp, body, http.StatusBadRequest, "InvalidArgument")
	// An empty configuration is S3's MissingRequestBodyError.
	resp, body = e.do("PUT", "/plain?object-lock", nil, map[string]string{"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="})
	wantError(t, resp, body, http.StatusBadRequest, "MissingRequestBodyError")
}

// TestObjectLockEnforced: retention and legal hold set by PutObject,
// CopyObject and multipart uploads, shown on GET/HEAD, changed by
// Put/GetObjectRetention and -LegalHold, and enforced on every delete
// path (DeleteObject and DeleteObjects with version ids); a delete
// without a version id adds a delete marker.
func TestObjectLockEnforced(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.lockBucket("lkb")
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	vc := e.putLocked("lkb", "c", types.ObjectLockModeCompliance, until, types.ObjectLockLegalHoldStatusOn)
	g, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lkb"), Key: aws.String("c")})
	if err != nil || g.ObjectLockMode != types.ObjectLockModeCompliance || !aws.ToTime(g.ObjectLockRetainUntilDate).Equal(until) ||
		g.ObjectLockLegalHoldStatus != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("GetObject = mode %q until %v hold %q, %v", g.ObjectLockMode, g.ObjectLockRetainUntilDate, g.ObjectLockLegalHoldStatus, err)
	}
	g.Body.Close()

	// Retention: COMPLIANCE may be extended, never shortened or removed.
	r, err := e.s3.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String("lkb"), Key: aws.String("c"), VersionId: aws.String(vc)})
	if err != nil || r.Retention.Mode != types.ObjectLockRetentionModeCompliance || !aws.ToTime(r.Retention.RetainUntilDate).Equal(until) {
		t.Fatalf("GetObjectRetention = %+v, %v", r, err)
	}
	retain := func(key, vid string, mode types.ObjectLockRetentionMode, t time.Time, bypass bool) error {
		in := &s3.PutObjectRetentionInput{Bucket: aws.String("lkb"), Key: aws.String(key), VersionId: aws.String(vid),
			Retention: &types.ObjectLockRetention{Mode: mode}}
		if mode != "" {
			in.Retention.RetainUntilDate = aws.Time(t)
		}
		if bypass {
			in.BypassGovernanceRetention = aws.Bool(true)
		}
		_, err := e.s3.PutObjectRetention(ctx, in)
		return err
	}
	wantAPIError(t, "shortening COMPLIANCE", retain("c", vc, types.ObjectLockRetentionModeCompliance, until.Add(-time.Minute), false), "AccessDenied")
	wantAPIError(t, "COMPLIANCE to GOVERNANCE", retain("c", vc, types.ObjectLockRetentionModeGovernance, until.Add(time.Hour), false), "AccessDenied")
	wantAPIError(t, "removing COMPLIANCE", retain("c", vc, "", time.Time{}, false), "AccessDenied")
	wantAPIError(t, "retention in the past", retain("c", vc, types.ObjectLockRetentionModeCompliance, time.Now().Add(-time.Hour), false), "InvalidArgument")
	if err := retain("c", vc, types.ObjectLockRetentionModeCompliance, until.Add(time.Hour), false); err != nil {
		t.Fatalf("extending COMPLIANCE: %v", err)
	}

	// Legal hold.
	lh, err := e.s3.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String("lkb"), Key: aws.String("c")})
	if err != nil || lh.LegalHold.Status != types.ObjectLockLegalHoldStatusOn {
		t.Fatalf("GetObjectLegalHold = %+v, %v", lh, err)
	}
	if _, err := e.s3.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String("lkb"), Key: aws.String("c"),
		VersionId: aws.String(vc), LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOff}}); err != nil {
		t.Fatalf("PutObjectLegalHold OFF: %v", err)
	}
	lh, err = e.s3.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String("lkb"), Key: aws.String("c"), VersionId: aws.String(vc)})
	if err != nil || lh.LegalHold.Status != types.ObjectLockLegalHoldStatusOff {
		t.Fatalf("GetObjectLegalHold after OFF = %+v, %v", lh, err)
	}

	// Copies and multipart uploads take the request's lock headers.
	if _, err := e.s3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("lkb"), Key: aws.String("copy"), CopySource: aws.String("lkb/c"),
		ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn}); err != nil {
		t.Fatalf("CopyObject with a legal hold: %v", err)
	}
	up, err := e.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("lkb"), Key: aws.String("mp"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(until)})
	if err != nil {
		t.Fatalf("CreateMultipartUpload with retention: %v", err)
	}
	p, err := e.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("lkb"), Key: aws.String("mp"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("part"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("lkb"), Key: aws.String("mp"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: p.ETag}}}}); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string][2]string{"copy": {"", "ON"}, "mp": {"GOVERNANCE", ""}} {
		h, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lkb"), Key: aws.String(key)})
		if err != nil || string(h.ObjectLockMode) != want[0] || string(h.ObjectLockLegalHoldStatus) != want[1] {
			t.Errorf("HeadObject %s = mode %q hold %q, %v; want %q", key, h.ObjectLockMode, h.ObjectLockLegalHoldStatus, err, want)
		}
	}

	// Every delete of a locked version is refused; GOVERNANCE needs a key
	// allowed to bypass (this env's key is not).
	vg := e.putLocked("lkb", "g", types.ObjectLockModeGovernance, until, "")
	vh := e.putLocked("lkb", "h", "", time.Time{}, types.ObjectLockLegalHoldStatusOn)
	for key, vid := range map[string]string{"c": vc, "g": vg, "h": vh} {
		_, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("lkb"), Key: aws.String(key), VersionId: aws.String(vid)})
		wantAPIError(t, "DeleteObject of locked "+key, err, "AccessDenied")
		out, err := e.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("lkb"), Delete: &types.Delete{
			Objects: []types.ObjectIdentifier{{Key: aws.String(key), VersionId: aws.String(vid)}}}})
		if err != nil || len(out.Errors) != 1 || aws.ToString(out.Errors[0].Code) != "AccessDenied" || len(out.Deleted) != 0 {
			t.Errorf("DeleteObjects of locked %s = %+v, %v; want AccessDenied", key, out, err)
		}
	}
	_, err = e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("lkb"), Key: aws.String("g"), VersionId: aws.String(vg),
		BypassGovernanceRetention: aws.Bool(true)})
	wantAPIError(t, "bypass from a key not allowed to", err, "AccessDenied")
	wantAPIError(t, "removing GOVERNANCE without bypass", retain("g", vg, "", time.Time{}, false), "AccessDenied")
	wantAPIError(t, "removing GOVERNANCE with a bypass the key may not use", retain("g", vg, "", time.Time{}, true), "AccessDenied")
	// Changing the mode overrides the governance setting: S3 asks for the
	// bypass even to make it COMPLIANCE.
	wantAPIError(t, "GOVERNANCE to COMPLIANCE without bypass", retain("g", vg, types.ObjectLockRetentionModeCompliance, until, false), "AccessDenied")
	d, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("lkb"), Key: aws.String("c")})
	if err != nil || !aws.ToBool(d.DeleteMarker) {
		t.Fatalf("DeleteObject without version id = %+v, %v; want a delete marker", d, err)
	}
	if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lkb"), Key: aws.String("c"), VersionId: aws.String(vc)}); err != nil {
		t.Errorf("the locked version after a delete marker: %v", err)
	}
}

// TestObjectLockKeys: bypass_governance per key, read-only keys, and the
// integrity header lock parameters need (raw requests, which send none
// unless told).
func TestObjectLockKeys(t *testing.T) {
	const bypassAK, bypassSK = "bypasser", "bypassersecret"
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o", Keys: []order.Key{
		{AccessKey: testAK, SecretKey: testSK},
		{AccessKey: bypassAK, SecretKey: bypassSK, BypassGovernance: true},
		{AccessKey: roAK, SecretKey: roSK, ReadOnly: true, BypassGovernance: true},
	}})
	resp, body := e.do(testAK, testSK, "PUT", "/lkb", nil, map[string]string{"x-amz-bucket-object-lock-enabled": "true"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CreateBucket with lock: %d %s", resp.StatusCode, body)
	}
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	lockHdr := map[string]string{"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": until}

	// A lock header without Content-MD5 or a checksum is refused.
	resp, body = e.do(testAK, testSK, "PUT", "/lkb/k", []byte("data"), lockHdr)
	wantError(t, resp, body, http.StatusBadRequest, "InvalidRequest")
	sum := md5.Sum([]byte("data"))
	lockHdr["Content-MD5"] = base64.StdEncoding.EncodeToString(sum[:])
	resp, body = e.do(testAK, testSK, "PUT", "/lkb/k", []byte("data"), lockHdr)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PutObject with lock and Content-MD5: %d %s", resp.StatusCode, body)
	}
	vid := resp.Header.Get("x-amz-version-id")
	legal := []byte(`<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>ON</Status></LegalHold>`)
	resp, body = e.do(testAK, testSK, "PUT", "/lkb/k?legal-hold&versionId="+vid, legal, nil)
	wantError(t, resp, body, http.StatusBadRequest, "InvalidRequest")

	// Read-only keys read lock settings, never set them, never bypass.
	resp, body = e.do(roAK, roSK, "GET", "/lkb/k?retention&versionId="+vid, nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("<Mode>GOVERNANCE</Mode>")) {
		t.Errorf("GetObjectRetention with a read-only key: %d %s", resp.StatusCode, body)
	}
	legalSum := md5.Sum(legal)
	resp, body = e.do(roAK, roSK, "PUT", "/lkb/k?legal-hold&versionId="+vid, legal,
		map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(legalSum[:])})
	wantError(t, resp, body, http.StatusForbidden, "AccessDenied")
	resp, body = e.do(roAK, roSK, "DELETE", "/lkb/k?versionId="+vid, nil, map[string]string{"x-amz-bypass-governance-retention": "true"})
	wantError(t, resp, body, http.StatusForbidden, "AccessDenied")

	// Bypass: refused to a key without bypass_governance, granted to one with.
	bypass := map[string]string{"x-amz-bypass-governance-retention": "true"}
	resp, body = e.do(testAK, testSK, "DELETE", "/lkb/k?versionId="+vid, nil, bypass)
	wantError(t, resp, body, http.StatusForbidden, "AccessDenied")
	resp, body = e.do(bypassAK, bypassSK, "DELETE", "/lkb/k?versionId="+vid, nil, nil)
	wantError(t, resp, body, http.StatusForbidden, "AccessDenied")
	resp, body = e.do(bypassAK, bypassSK, "DELETE", "/lkb/k?versionId="+vid, nil, bypass)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DeleteObject of GOVERNANCE with an allowed bypass: %d %s", resp.StatusCode, body)
	}
	resp, _ = e.do(testAK, testSK, "HEAD", "/lkb/k?versionId="+vid, nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("bypassed version still there: HEAD %d", resp.StatusCode)
	}
	// The header from a key that may not bypass grants nothing, and
	// refuses nothing either: a version without retention is deleted (as
	// clients' clean-ups send the header on every delete).
	resp, body = e.do(testAK, testSK, "PUT", "/lkb/free", []byte("x"), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT free: %d %s", resp.StatusCode, body)
	}
	freeVID := resp.Header.Get("x-amz-version-id")
	if resp, body = e.do(testAK, testSK, "DELETE", "/lkb/free?versionId="+freeVID, nil, bypass); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DeleteObject of an unprotected version with the bypass header from a key without bypass_governance: %d %s", resp.StatusCode, body)
	}

	// GOVERNANCE shortened with an allowed bypass; COMPLIANCE never.
	lockHdr["x-amz-object-lock-mode"] = "COMPLIANCE"
	resp, _ = e.do(testAK, testSK, "PUT", "/lkb/c", []byte("data"), lockHdr)
	cvid := resp.Header.Get("x-amz-version-id")
	shorter := []byte(`<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>` + time.Now().Add(time.Minute).UTC().Format(time.RFC3339) + `</RetainUntilDate></Retention>`)
	shortSum := md5.Sum(shorter)
	hdr := map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(shortSum[:]), "x-amz-bypass-governance-retention": "true"}
	resp, body = e.do(bypassAK, bypassSK, "PUT", "/lkb/c?retention&versionId="+cvid, shorter, hdr)
	wantError(t, resp, body, http.StatusForbidden, "AccessDenied")
	resp, body = e.do(bypassAK, bypassSK, "DELETE", "/lkb/c?versionId="+cvid, nil, bypass)
	wantError(t, resp, body, http.StatusForbidden, "AccessDenied")
}

// TestObjectLockStores: on a store with versions CreateBucket with lock
// works; upstream (no versions) it answers NotImplemented and leaves no
// bucket behind, and so does enabling lock on an existing bucket.
func TestObjectLockStores(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeOpener) {
		e := newOrderEnv(t, open, &order.Order{ID: "o"})
		resp, body := e.do(testAK, testSK, "PUT", "/lockstore", nil, map[string]string{"x-amz-bucket-object-lock-enabled": "true"})
		if store.SupportsVersions(e.st) {
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("CreateBucket with lock: %d %s", resp.StatusCode, body)
			}
			return
		}
		wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
		if resp, _ := e.do(testAK, testSK, "HEAD", "/lockstore", nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("HEAD of the refused lock bucket: %d, want 404", resp.StatusCode)
		}
		e.ok("PUT", "/plainstore", nil)
		cfg := []byte(`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`)
		sum := md5.Sum(cfg)
		resp, body = e.do(testAK, testSK, "PUT", "/plainstore?object-lock", cfg, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])})
		wantError(t, resp, body, http.StatusNotImplemented, "NotImplemented")
	})
}

// TestObjectLockOrderExpiry: a retention date past the order's expiry is
// accepted; once the order expires, lock settings still read but nothing
// changes them (docs/objectlock.md).
func TestObjectLockOrderExpiry(t *testing.T) {
	start := time.Now()
	e := newOrderEnv(t, openEmbedded, &order.Order{ID: "o", Expires: start.Add(time.Hour), Grace: 24 * time.Hour})
	resp, body := e.do(testAK, testSK, "PUT", "/expiring", nil, map[string]string{"x-amz-bucket-object-lock-enabled": "true"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CreateBucket with lock: %d %s", resp.StatusCode, body)
	}
	sum := md5.Sum([]byte("data"))
	resp, body = e.do(testAK, testSK, "PUT", "/expiring/k", []byte("data"), map[string]string{
		"Content-MD5": base64.StdEncoding.EncodeToString(sum[:]), "x-amz-object-lock-mode": "COMPLIANCE",
		"x-amz-object-lock-retain-until-date": start.Add(365 * 24 * time.Hour).UTC().Format(time.RFC3339)})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("retention a year past the order's expiry: %d %s", resp.StatusCode, body)
	}
	e.setNow(start.Add(2 * time.Hour))
	resp, body = e.do(testAK, testSK, "GET", "/expiring/k?retention", nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("COMPLIANCE")) {
		t.Errorf("GetObjectRetention after expiry: %d %s", resp.StatusCode, body)
	}
	legal := []byte(`<LegalHold><Status>ON</Status></LegalHold>`)
	lsum := md5.Sum(legal)
	resp, body = e.do(testAK, testSK, "PUT", "/expiring/k?legal-hold", legal, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(lsum[:])})
	wantError(t, resp, body, http.StatusForbidden, "AccessDenied")
}
