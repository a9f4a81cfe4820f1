// Command miniobin prints the path of the pinned MinIO server binary that
// the tests use (internal/miniotest), building it into the cache first if
// needed; $MINIO_BIN overrides it. bench/run.sh runs it for the minio and
// upstream targets:
//
//	go run ./bench/miniobin
package main

import (
	"fmt"
	"os"

	"github.com/lambda/storagecli/internal/miniotest"
)

func main() {
	p, err := miniotest.BinaryPath()
	if err != nil {
		fmt.Fprintln(os.Stderr, "miniobin:", err)
		os.Exit(1)
	}
	fmt.Println(p)
}
