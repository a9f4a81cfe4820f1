package lifecycle

import (
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/store"
)

// TestWorkerHonoursObjectLock: noncurrent versions under retention
// (GOVERNANCE too: the worker never bypasses) or a legal hold survive
// NoncurrentVersionExpiration; the unlocked one goes.
func TestWorkerHonoursObjectLock(t *testing.T) {
	e := newWorkerEnv(t,
		`<Rule><ID>all</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>`)
	e.w.Day = func() time.Duration { return time.Hour }
	ctx := t.Context()
	if err := e.s.SetBucketVersioning(ctx, "bkt", store.Enabled); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	locks := []store.Metadata{
		{LockMode: store.LockGovernance, LockUntil: until},
		{LockMode: store.LockCompliance, LockUntil: until},
		{LegalHold: store.LegalHoldOn},
		{}, // unlocked
	}
	var vids []string
	for i, m := range locks {
		vid := e.put("k", 10+i, "").VersionID
		vids = append(vids, vid)
		if _, err := e.s.UpdateObjectVersion(ctx, "bkt", "k", vid, func(o *store.Object) error {
			o.Meta.CopyAttrs(&m)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.put("k", 1, "") // every locked version is noncurrent now
	e.offset = 2 * time.Hour
	st := e.run()
	if st.VersionsDeleted != 1 || st.Refused != 3 {
		t.Errorf("run: %+v, want 1 version deleted and 3 refused", st)
	}
	for i, vid := range vids {
		_, err := e.s.HeadObjectVersion(ctx, "bkt", "k", vid)
		if locked := i < 3; locked != (err == nil) {
			t.Errorf("version %d (%+v): HEAD %v", i, locks[i], err)
		}
	}
	e.exact()
}
