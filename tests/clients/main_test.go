// Package clients runs the S3 clients users actually run against
// `storagecli gateway run` (plain HTTP) and against the built Caddy
// (./cmd/caddy, the s3gateway module) over HTTPS with its internal CA: the
// aws cli v2 (Debian's awscli, /usr/bin/aws: the aws on PATH may be v1),
// rclone, s3cmd, restic and the AWS SDK for JavaScript v3 (npm
// @aws-sdk/client-s3 and @aws-sdk/lib-storage, installed into js/ by
// test.sh with `npm ci`). Each client uploads (a multipart upload at the
// client's default settings), lists, downloads or syncs (restic: backs up,
// checks, restores), and deletes everything its own way; what comes back
// is compared byte for byte with what went in.
//
// Run with:
//
//	(cd tests/clients/js && npm ci) && go test ./tests/clients/
//
// The clients are required: without one its tests fail when CI is set in
// the environment and are skipped otherwise.
package clients

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lambda/storagecli/internal/testproc"
)

// source is the directory tree every client uploads, written once by
// TestMain (see writeSource).
var source string

func TestMain(m *testing.M) {
	testproc.Main(m, "clients", func() int {
		source = filepath.Join(testproc.TempDir(), "source")
		if err := writeSource(source); err != nil {
			fmt.Fprintf(os.Stderr, "clients: writing the source tree: %v\n", err)
			return 1
		}
		return m.Run()
	})
}
