package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/store"
)

// TestRetentionChange: the rules of PutObjectRetention on a version's
// current retention.
func TestRetentionChange(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	in := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	later, sooner := now.Add(2*time.Hour), now.Add(30*time.Minute)
	for _, c := range []struct {
		name         string
		mode, until  string // current retention
		newMode      string
		newUntil     time.Time
		bypass, deny bool
	}{
		{"none to COMPLIANCE", "", "", store.LockCompliance, later, false, false},
		{"expired COMPLIANCE removed", store.LockCompliance, in(-time.Hour), "", time.Time{}, false, false},
		{"COMPLIANCE extended", store.LockCompliance, in(time.Hour), store.LockCompliance, later, false, false},
		{"COMPLIANCE kept", store.LockCompliance, in(time.Hour), store.LockCompliance, now.Add(time.Hour), false, false},
		{"COMPLIANCE shortened", store.LockCompliance, in(time.Hour), store.LockCompliance, sooner, true, true},
		{"COMPLIANCE removed", store.LockCompliance, in(time.Hour), "", time.Time{}, true, true},
		{"COMPLIANCE to GOVERNANCE", store.LockCompliance, in(time.Hour), store.LockGovernance, later, true, true},
		{"GOVERNANCE extended", store.LockGovernance, in(time.Hour), store.LockGovernance, later, false, false},
		{"GOVERNANCE to COMPLIANCE", store.LockGovernance, in(time.Hour), store.LockCompliance, later, false, true},
		{"GOVERNANCE to COMPLIANCE, bypass", store.LockGovernance, in(time.Hour), store.LockCompliance, later, true, false},
		{"GOVERNANCE shortened", store.LockGovernance, in(time.Hour), store.LockGovernance, sooner, false, true},
		{"GOVERNANCE shortened, bypass", store.LockGovernance, in(time.Hour), store.LockGovernance, sooner, true, false},
		{"GOVERNANCE removed", store.LockGovernance, in(time.Hour), "", time.Time{}, false, true},
		{"GOVERNANCE removed, bypass", store.LockGovernance, in(time.Hour), "", time.Time{}, true, false},
		{"unreadable date counts as in force", store.LockCompliance, "garbage", store.LockCompliance, later, false, true},
	} {
		m := store.Metadata{LockMode: c.mode, LockUntil: c.until}
		err := retentionChange(&m, c.newMode, c.newUntil, now, c.bypass)
		if (err != nil) != c.deny {
			t.Errorf("%s: error %v, want denied %v", c.name, err, c.deny)
		}
	}
}

// TestRequireIntegrity: Content-MD5, an x-amz-checksum-* header, the SDK
// algorithm header or a checksum trailer satisfy AWS's rule; the payload
// hash of SigV4 does not.
func TestRequireIntegrity(t *testing.T) {
	for _, c := range []struct {
		hdr map[string]string
		ok  bool
	}{
		{map[string]string{"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, true},
		{map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}, true},
		{map[string]string{"x-amz-sdk-checksum-algorithm": "CRC32"}, true},
		{map[string]string{"x-amz-trailer": "x-amz-checksum-crc64nvme"}, true},
		{map[string]string{"x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, false},
		{map[string]string{"x-amz-checksum-algorithm": "CRC32"}, false},
		{nil, false},
	} {
		h := http.Header{}
		for k, v := range c.hdr {
			h.Set(k, v)
		}
		if err := requireIntegrity(h); (err == nil) != c.ok {
			t.Errorf("%v: error %v, want ok %v", c.hdr, err, c.ok)
		}
	}
}
