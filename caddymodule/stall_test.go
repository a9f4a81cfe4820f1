package caddymodule

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestStalledUploadBehindCaddy: the gateway's read idle timeout
// ([gateway] read_idle_timeout) also applies behind Caddy, whose own idle
// body reader (one minute by default) takes it as a ceiling: a body that
// stops arriving gets 400 RequestTimeout after the gateway's timeout.
func TestStalledUploadBehindCaddy(t *testing.T) {
	tc := newTester(t)
	_, httpsPort, _ := testPorts(t)
	dir := t.TempDir()
	cfg := writeUserTOML(t, filepath.Join(dir, "config"), fmt.Sprintf(`[gateway]
access_key = "stall-ak"
secret_key = "stall-secret"
read_idle_timeout = "500ms"

[broker]
extra_order_id = "stall"
db_path = %q
`, filepath.Join(dir, "data")))
	load(t, tc, globalOptions(t)+fmt.Sprintf(`
https://localhost:%d {
	tls internal
	s3gateway {
		config %s
	}
}
`, httpsPort, cfg))
	hc := httpsClient(t)
	endpoint := fmt.Sprintf("https://localhost:%d", httpsPort)
	waitTLS(t, hc, endpoint)
	mkBucket(t, s3Client(hc, endpoint, "stall-ak", "stall-secret", false), "stall")

	req, _ := http.NewRequest("PUT", endpoint+"/stall/k", nil)
	req.ContentLength = 1 << 20
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(context.Background(),
		aws.Credentials{AccessKeyID: "stall-ak", SecretAccessKey: "stall-secret"}, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpsPort), &tls.Config{ServerName: "localhost", RootCAs: rootPool(t), NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var head bytes.Buffer
	fmt.Fprintf(&head, "PUT /stall/k HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.Host, req.ContentLength)
	_ = req.Header.Write(&head)
	head.WriteString("\r\n")
	head.Write(make([]byte, 100<<10))
	if _, err := conn.Write(head.Bytes()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(40 * time.Second)) // under Caddy's own minute
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled upload after %v: %v", time.Since(start), err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte("<Code>RequestTimeout</Code>")) {
		t.Fatalf("stalled upload behind Caddy: %d %s", resp.StatusCode, body)
	}
}
