package upstream

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// storagecli runs the binary for g's home with the upstream credentials
// in the environment and returns its output.
func storagecli(t *testing.T, g *gateway, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"--home", g.home}, args...)...)
	cmd.Env = gatewayEnv(g.home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("storagecli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// `order usage --recount` and `order list` read an upstream order's usage
// from the upstream; `config` shows where it lives.
func TestOrderCommands(t *testing.T) {
	env(t)
	ctx := context.Background()
	g := orders["beta"]
	cl := client(t, g, g.accessKey, g.secretKey)
	if err := cl.MakeBucket(ctx, "usage", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	put(t, cl, "usage", "a", strings.Repeat("a", 1000))
	put(t, cl, "usage", "b/c", strings.Repeat("b", 234))

	var rep struct {
		Bytes   int64 `json:"used_bytes"`
		Objects int64 `json:"objects"`
		Recount *struct {
			Bytes   int64 `json:"used_bytes"`
			Objects int64 `json:"objects"`
		} `json:"recount"`
		Drift bool `json:"drift"`
	}
	if err := json.Unmarshal([]byte(storagecli(t, g, "order", "usage", "--recount", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Bytes < 1234 || rep.Objects < 2 || rep.Recount == nil || rep.Drift {
		t.Errorf("order usage --recount: %+v", rep)
	}

	var rows []struct {
		OrderID string `json:"order_id"`
		DataDir string `json:"data_dir"`
		Status  string `json:"status"`
	}
	if err := json.Unmarshal([]byte(storagecli(t, g, "order", "list", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	want := "http://" + g.upstream + "/" + upstreamBucket + "/beta/"
	if len(rows) == 0 || rows[0].OrderID != "beta" || rows[0].DataDir != want || rows[0].Status != "active" {
		t.Errorf("order list: %+v, want beta at %s", rows, want)
	}
	if out := storagecli(t, g, "config", "order.beta.upstream.endpoint"); strings.TrimSpace(out) != "http://"+g.upstream {
		t.Errorf("config order.beta.upstream.endpoint: %q", out)
	}
}
