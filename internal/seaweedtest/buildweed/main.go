// Command buildweed builds the SeaweedFS server pinned in tools/seaweedfs
// into the cache (or finds it there, or takes $WEED_BIN) and prints its
// path. The test command runs it before `go test`, so the tests find the
// binary ready and a fresh machine builds it once, up front:
//
//	WEED_BIN=$(go run ./internal/seaweedtest/buildweed)
package main

import (
	"fmt"
	"os"

	"github.com/lambda/storagecli/internal/seaweedtest"
)

func main() {
	p, err := seaweedtest.BinaryPath()
	if err != nil {
		fmt.Fprintln(os.Stderr, "buildweed:", err)
		os.Exit(1)
	}
	fmt.Println(p)
}
