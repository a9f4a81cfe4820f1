package gateway

import (
	"testing"

	"github.com/lambda/storagecli/gateway/policy"
)

// TestAccessTableCoversRoutes: every operation of the route table has its
// access control, with an S3 action policies can name, and no entry names
// an operation that does not exist.
func TestAccessTableCoversRoutes(t *testing.T) {
	ops := map[string]bool{}
	for _, rt := range routes {
		ops[rt.op] = true
		a, ok := accessTable[rt.op]
		if !ok {
			t.Errorf("%s has no entry in accessTable", rt.op)
			continue
		}
		if !policy.KnownAction(a.action) {
			t.Errorf("%s: %s is no S3 action", rt.op, a.action)
		}
		if a.anon != anonNever && rt.perm == permConfig {
			t.Errorf("%s changes a configuration: anonymous requests may never be granted it", rt.op)
		}
	}
	for op := range accessTable {
		if !ops[op] {
			t.Errorf("accessTable names %s, which no route serves", op)
		}
	}
}
