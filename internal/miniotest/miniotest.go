// Package miniotest runs real MinIO servers for tests: a single node, or an
// N-node distributed (erasure-coded) cluster of separate processes on
// loopback ports, each node with its own drive directories.
//
// The server is built from the version pinned in the nested module
// tools/minio (never from the main module: MinIO is AGPL and would drag its
// dependencies into every build of ours). Binary builds it once per pinned
// version into a cache directory (internal/toolbuild), guarded by a file
// lock so that parallel test binaries do not build it twice; $MINIO_BIN
// overrides the build.
//
// When the environment variable CI is set, failing to get a binary is a
// test failure; elsewhere the test is skipped.
package miniotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lambda/storagecli/internal/toolbuild"
)

// Version is the pinned MinIO version (tools/minio/go.mod).
const Version = "v0.0.0-20260212201848-7aac2a2c5b7c"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the path of a MinIO server binary: $MINIO_BIN if set, else
// one built (once) from tools/minio. On failure it fails the test when CI is
// set and skips it otherwise.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := BinaryPath()
	if err != nil {
		Unavailable(t, err)
	}
	return p
}

// Unavailable ends t because MinIO could not be had: t.Fatal in CI (env CI
// set), t.Skip elsewhere.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("miniotest: no MinIO server binary (CI is set, so this fails): %v", err)
	}
	t.Skipf("miniotest: no MinIO server binary: %v", err)
}

// BinaryPath is Binary without a test: for TestMain.
func BinaryPath() (string, error) {
	binOnce.Do(func() { binPath, binErr = binary() })
	return binPath, binErr
}

func binary() (string, error) {
	dir, err := toolbuild.ToolsDir("minio")
	if err != nil {
		return "", err
	}
	return toolbuild.Tool{
		Name:     "minio",
		Package:  "github.com/minio/minio",
		Version:  Version,
		ToolsDir: dir,
		EnvVar:   "MINIO_BIN",
		Cache:    "storagecli-minio",
	}.Path()
}

// Options configure a server.
type Options struct {
	Nodes  int // 0 or 1: a single node; N > 1: a distributed cluster of N processes
	Drives int // drives per node; 0 means 1 for a single node, 2 for a cluster
	// Dir holds the drives and logs; "" means a new temporary directory
	// (removed by Close).
	Dir string
	// AccessKey and SecretKey are the root credentials; "" means random.
	AccessKey, SecretKey string
	// StartTimeout bounds the wait for readiness (0: 90s).
	StartTimeout time.Duration
}

// Server is a running single node or cluster.
type Server struct {
	// Endpoint is host:port of the first node; Endpoints has every node's.
	Endpoint  string
	Endpoints []string
	AccessKey string
	SecretKey string
	// Dir holds drives (node<i>/d<j>) and logs (node<i>.log).
	Dir string

	bin    string
	args   []string
	tmpDir bool
	mu     sync.Mutex
	nodes  []*exec.Cmd
	done   []chan struct{}
}

// Start starts a server for t and stops it when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := Binary(t)
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := Launch(bin, opts)
	if err != nil {
		t.Fatalf("miniotest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Launch starts a server with the binary bin; Close stops it.
func Launch(bin string, opts Options) (*Server, error) {
	n := max(opts.Nodes, 1)
	drives := opts.Drives
	if drives <= 0 {
		drives = 1
		if n > 1 {
			drives = 2
		}
	}
	s := &Server{AccessKey: opts.AccessKey, SecretKey: opts.SecretKey, Dir: opts.Dir, bin: bin}
	if s.AccessKey == "" {
		s.AccessKey = "test" + randHex(8)
	}
	if s.SecretKey == "" {
		s.SecretKey = randHex(20)
	}
	if s.Dir == "" {
		d, err := os.MkdirTemp("", "miniotest-")
		if err != nil {
			return nil, err
		}
		s.Dir, s.tmpDir = d, true
	}
	ports, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	var drivesArgs []string
	for i, p := range ports {
		s.Endpoints = append(s.Endpoints, net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		for j := 1; j <= drives; j++ {
			d := filepath.Join(s.Dir, fmt.Sprintf("node%d", i+1), fmt.Sprintf("d%d", j))
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
			if n == 1 {
				drivesArgs = append(drivesArgs, d)
			} else {
				drivesArgs = append(drivesArgs, "http://"+s.Endpoints[i]+d)
			}
		}
	}
	s.Endpoint = s.Endpoints[0]
	s.args = drivesArgs
	s.nodes = make([]*exec.Cmd, n)
	s.done = make([]chan struct{}, n)
	for i := range n {
		if err := s.StartNode(i); err != nil {
			s.Close()
			return nil, err
		}
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	if err := s.WaitReady(timeout); err != nil {
		logs := s.logTail()
		s.Close()
		return nil, fmt.Errorf("%w\n%s", err, logs)
	}
	return s, nil
}

// StartNode starts node i (0-based) if it is not running.
func (s *Server) StartNode(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nodes[i] != nil {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(s.Dir, fmt.Sprintf("node%d.log", i+1)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := append([]string{"server", "--quiet", "--address", s.Endpoints[i]}, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=1",
		"MINIO_PROMETHEUS_AUTH_TYPE=public",
		// In a container (/.dockerenv) MinIO refuses endpoints that resolve
		// to loopback unless told which one is its own.
		"_MINIO_SERVER_LOCAL="+s.Endpoints[i],
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	s.nodes[i], s.done[i] = cmd, done
	return nil
}

// StopNode stops node i (SIGTERM, then SIGKILL after 10s) and waits for it.
func (s *Server) StopNode(i int) {
	s.mu.Lock()
	cmd, done := s.nodes[i], s.done[i]
	s.nodes[i], s.done[i] = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Stop stops every node; Start starts them again (same drives, same ports).
func (s *Server) Stop() {
	for i := range s.nodes {
		s.StopNode(i)
	}
}

// Start starts every stopped node and waits until the server is ready.
func (s *Server) Start() error {
	for i := range s.nodes {
		if err := s.StartNode(i); err != nil {
			return err
		}
	}
	return s.WaitReady(90 * time.Second)
}

// Close stops the server and removes a temporary directory it made.
func (s *Server) Close() {
	s.Stop()
	if s.tmpDir {
		os.RemoveAll(s.Dir)
	}
}

// PIDs returns the process ids of the running nodes (0 for stopped ones).
func (s *Server) PIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, len(s.nodes))
	for i, c := range s.nodes {
		if c != nil {
			out[i] = c.Process.Pid
		}
	}
	return out
}

// WaitReady waits until every running node answers /minio/health/ready
// and, for a cluster, the cluster has write quorum.
func (s *Server) WaitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	check := func(url string) bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	for {
		ok := true
		pids := s.PIDs()
		for i, ep := range s.Endpoints {
			if pids[i] == 0 {
				continue
			}
			if !check("http://" + ep + "/minio/health/ready") {
				ok = false
				break
			}
		}
		if ok && len(s.Endpoints) > 1 {
			ok = check("http://" + s.Endpoint + "/minio/health/cluster")
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("miniotest: server at %v not ready after %s", s.Endpoints, timeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *Server) logTail() string {
	var b strings.Builder
	for i := range s.Endpoints {
		data, _ := os.ReadFile(filepath.Join(s.Dir, fmt.Sprintf("node%d.log", i+1)))
		fmt.Fprintf(&b, "--- node%d.log\n%s\n", i+1, toolbuild.Tail(string(data), 2000))
	}
	return b.String()
}

// freePorts returns n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
