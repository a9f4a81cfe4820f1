// Command buildminio builds the MinIO server pinned in tools/minio into the
// cache (or finds it there, or takes $MINIO_BIN) and prints its path. The
// test command runs it before `go test`, so the tests find the binary ready
// and a fresh machine builds it once, up front:
//
//	MINIO_BIN=$(go run ./internal/miniotest/buildminio)
package main

import (
	"fmt"
	"os"

	"github.com/lambda/storagecli/internal/miniotest"
)

func main() {
	p, err := miniotest.BinaryPath()
	if err != nil {
		fmt.Fprintln(os.Stderr, "buildminio:", err)
		os.Exit(1)
	}
	fmt.Println(p)
}
