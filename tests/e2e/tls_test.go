package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/internal/testproc"
)

// writeSelfSignedCert writes a certificate for 127.0.0.1 and its key as PEM.
func writeSelfSignedCert(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "storagecli e2e"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// TestGatewayRunTLS serves https from `storagecli gateway run --tls.cert
// --tls.key` and runs the seed's aws cli commands over it with --ca-bundle
// (over TLS the cli streams bodies as aws-chunked with checksum trailers).
func TestGatewayRunTLS(t *testing.T) {
	requireAWS(t)
	dir := t.TempDir()
	certPath, keyPath := writeSelfSignedCert(t, dir)
	home := filepath.Join(dir, "home")
	if err := initHome(home); err != nil {
		t.Fatal(err)
	}
	addr, err := testproc.FreeAddrNow()
	if err != nil {
		t.Fatal(err)
	}
	g, err := startGatewayAt(home, addr, filepath.Join(dir, "gateway.log"), "--tls.cert", certPath, "--tls.key", keyPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Stop(10 * time.Second) })
	ep := "https://" + addr

	// HTTP/2 is negotiated over TLS.
	pool := x509.NewCertPool()
	pemBytes, _ := os.ReadFile(certPath)
	pool.AppendCertsFromPEM(pemBytes)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := client.Get(ep + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous GET over TLS: %s %d, want HTTP/2 403", resp.Proto, resp.StatusCode)
	}

	env := clientEnv(t)
	src := filepath.Join(dir, "your-file")
	writeRandomFile(t, src, 20<<20+7, 9)
	awsCLI(t, env, "s3", "--endpoint-url", ep, "--ca-bundle", certPath, "mb", "s3://tlsbucket")
	awsCLI(t, env, "s3", "--endpoint-url", ep, "--ca-bundle", certPath, "cp", src, "s3://tlsbucket/your-file")
	out := awsCLI(t, env, "s3", "--endpoint-url", ep, "--ca-bundle", certPath, "ls", "s3://tlsbucket")
	if !strings.Contains(out, "your-file") {
		t.Errorf("ls over TLS: %q", out)
	}
	back := filepath.Join(dir, "back")
	awsCLI(t, env, "s3", "--endpoint-url", ep, "--ca-bundle", certPath, "cp", "s3://tlsbucket/your-file", back)
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(back)
	if string(a) != string(b) {
		t.Fatalf("object differs after a round trip over TLS (%d vs %d bytes)", len(a), len(b))
	}
	awsCLI(t, env, "s3", "--endpoint-url", ep, "--ca-bundle", certPath, "rm", "s3://tlsbucket/your-file")
}
