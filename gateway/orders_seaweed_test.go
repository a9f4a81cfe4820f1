package gateway_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/internal/seaweedtest"
)

// The order tests also run on an upstream store over a SeaweedFS cluster
// (internal/seaweedtest), shared by the tests and started on first use.
func init() {
	orderStores = append(orderStores, struct {
		name string
		open storeOpener
	}{"seaweedfs", openSeaweed})
}

var (
	weedOnce    sync.Once
	weedCluster *seaweedtest.Cluster
	weedDir     string
	weedErr     error
)

// openSeaweed opens an upstream store on its own prefix of the shared
// SeaweedFS cluster (see openUpstream). Under -short (test.sh's -race
// pass) it is skipped: SeaweedFS's behaviour, not more of the gateway's.
func openSeaweed(t *testing.T) (store.Store, func(context.Context) (store.Usage, error)) {
	if testing.Short() {
		t.Skip("-short: the SeaweedFS runs are skipped")
	}
	bin := seaweedtest.Binary(t)
	weedOnce.Do(func() {
		if weedDir, weedErr = os.MkdirTemp("", "gateway-seaweedfs-"); weedErr != nil {
			return
		}
		if weedCluster, weedErr = seaweedtest.Launch(bin, seaweedtest.Options{Dir: weedDir}); weedErr == nil {
			weedErr = weedCluster.MakeBucket(ordersUpstreamBucket)
		}
	})
	if weedErr != nil {
		t.Fatalf("SeaweedFS cluster: %v", weedErr)
	}
	return openUpstreamOn(t, "http://"+weedCluster.Endpoint, weedCluster.AccessKey, weedCluster.SecretKey)
}

// closeSeaweed stops the shared cluster (TestMain).
func closeSeaweed() {
	if weedCluster != nil {
		weedCluster.Close()
	}
	if weedDir != "" {
		os.RemoveAll(weedDir)
	}
}
