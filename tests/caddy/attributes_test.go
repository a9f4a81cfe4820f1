package caddy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCaddyGetObjectAttributes: the aws cli's get-object-attributes
// through the built Caddy, on a multipart upload with CRC32 checksums.
func TestCaddyGetObjectAttributes(t *testing.T) {
	requireAWS(t)
	s := startCaddy(t)
	env := clientEnv(s.home, s.ak, s.sk, s.caFile)
	awsAPI := func(args ...string) string {
		return run(t, env, 2*time.Minute, "aws", append([]string{"s3api", "--endpoint-url", s.endpoint, "--output", "json"}, args...)...)
	}
	awsAPI("create-bucket", "--bucket", "attrs")
	file := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(file, make([]byte, 9<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	// The cli's high-level cp uploads 9 MiB in two parts (8 MiB threshold).
	run(t, env, 2*time.Minute, "aws", "s3", "--endpoint-url", s.endpoint, "cp", "--checksum-algorithm", "CRC32", file, "s3://attrs/big")
	var out struct {
		ETag        string
		ObjectSize  int64
		Checksum    map[string]string
		ObjectParts struct {
			TotalPartsCount int
			Parts           []struct {
				PartNumber    int
				Size          int64
				ChecksumCRC32 string
			}
		}
	}
	raw := awsAPI("get-object-attributes", "--bucket", "attrs", "--key", "big", "--object-attributes", "ETag", "ObjectSize", "Checksum", "ObjectParts")
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	op := out.ObjectParts
	if out.ObjectSize != 9<<20 || out.Checksum["ChecksumType"] != "COMPOSITE" || op.TotalPartsCount != 2 || len(op.Parts) != 2 ||
		op.Parts[0].Size != 8<<20 || op.Parts[1].PartNumber != 2 || op.Parts[1].ChecksumCRC32 == "" {
		t.Errorf("get-object-attributes = %s", raw)
	}
}
