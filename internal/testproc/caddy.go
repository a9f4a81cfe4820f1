package testproc

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Caddy is the built Caddy (./cmd/caddy) serving one site over HTTPS on a
// loopback port, its certificate from Caddy's internal CA.
type Caddy struct {
	Proc     *Proc
	Endpoint string         // https://localhost:<port>
	CAFile   string         // the internal CA's root certificate
	Pool     *x509.CertPool // trusts CAFile
	Client   *http.Client   // trusts Pool, HTTP/2
	Dir      string         // the Caddyfile, logs and Caddy's storage
	Home     string         // HOME and the XDG directories of the process
}

// StartCaddy runs bin in dir on a Caddyfile with the global options of the
// tests (no admin endpoint, local certificates kept in dir, loopback
// ports) plus servers (the body of a `servers` block, may be ""), and one
// site, https://localhost:<port>, with `tls internal` and site (its other
// directives). env is added to the process's isolated environment. It
// waits until the site answers over HTTPS; Caddy is stopped when t ends.
func StartCaddy(t testing.TB, bin, dir, servers, site string, env []string) *Caddy {
	t.Helper()
	c := &Caddy{Dir: dir, Home: filepath.Join(dir, "home")}
	port, httpPort := FreePort(t), FreePort(t)
	storage := filepath.Join(dir, "caddy-storage")
	caddyfile := fmt.Sprintf(`{
	admin off
	persist_config off
	local_certs
	skip_install_trust
	storage file_system %s
	http_port %d
	https_port %d
	default_bind 127.0.0.1
	servers {
		%s
	}
}

https://localhost:%d {
	tls internal
	%s
}
`, storage, httpPort, port, servers, port, site)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = append(IsolatedEnv(c.Home), env...)
	c.Proc = StartT(t, "caddy", fmt.Sprintf("localhost:%d", port), filepath.Join(dir, "caddy.log"), cmd)
	c.CAFile, c.Pool = CaddyRootCA(t, storage)
	c.Client = TLSClient(t, c.Pool)
	c.Endpoint = fmt.Sprintf("https://localhost:%d", port)
	WaitHTTP(t, c.Proc, c.Client, c.Endpoint+"/")
	return c
}
