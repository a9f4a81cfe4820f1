package upstream

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/internal/testproc"
)

// TestBoto3 runs py/boto3_upstream.py: put/get with metadata and ranges,
// upload_file and download_file of 20 MB, a single 20 MB put, and
// listings with a delimiter and pagination.
func TestBoto3(t *testing.T) {
	env(t)
	testproc.RequireTool(t, "python3 with boto3", "python3", "-c", "import boto3")
	g := orders["alpha"]
	out, err := testproc.Run(clientEnv(t, g), 3*time.Minute, "python3", "py/boto3_upstream.py",
		g.endpoint(), g.accessKey, g.secretKey, "boto", t.TempDir())
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res struct{ Failures []string }
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &res); jerr != nil {
		t.Fatalf("boto3_upstream.py: %v, no result line:\n%s", err, out)
	}
	for _, f := range res.Failures {
		t.Error(f)
	}
	if err != nil && len(res.Failures) == 0 {
		t.Errorf("boto3_upstream.py failed without a failure: %v\n%s", err, out)
	}
}
