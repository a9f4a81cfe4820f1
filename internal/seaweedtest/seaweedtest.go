// Package seaweedtest runs a real SeaweedFS cluster for tests, every server
// a separate `weed` process on loopback: one master, volume servers (three
// by default, all in one rack, replication 001: every needle on two of
// them), one filer and S3 front ends (two by default, distinct ports).
//
// `weed` is built from the version pinned in the nested module
// tools/seaweedfs (never from the main module), once per pinned version,
// into the cache (internal/toolbuild); $WEED_BIN overrides the build.
//
// When the environment variable CI is set, failing to get a binary is a
// test failure; elsewhere the test is skipped.
package seaweedtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/internal/toolbuild"
)

// Version is the pinned SeaweedFS version (tools/seaweedfs/go.mod); `weed
// version` reports it as 4.53.
const Version = "v0.0.0-20261109003541-7506e5f91cd6"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the path of a `weed` binary: $WEED_BIN if set, else one
// built (once) from tools/seaweedfs. On failure it fails the test when CI
// is set and skips it otherwise.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := BinaryPath()
	if err != nil {
		Unavailable(t, err)
	}
	return p
}

// Unavailable ends t because SeaweedFS could not be had: t.Fatal in CI (env
// CI set), t.Skip elsewhere.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("seaweedtest: no weed binary (CI is set, so this fails): %v", err)
	}
	t.Skipf("seaweedtest: no weed binary: %v", err)
}

// BinaryPath is Binary without a test: for TestMain and the build command.
func BinaryPath() (string, error) {
	binOnce.Do(func() {
		dir, err := toolbuild.ToolsDir("seaweedfs")
		if err != nil {
			binErr = err
			return
		}
		binPath, binErr = toolbuild.Tool{
			Name:     "weed",
			Package:  "github.com/seaweedfs/seaweedfs/weed",
			Version:  Version,
			ToolsDir: dir,
			EnvVar:   "WEED_BIN",
			Cache:    "storagecli-seaweedfs",
		}.Path()
	})
	return binPath, binErr
}

// Options configure a cluster.
type Options struct {
	Volumes int // volume servers; 0 means 3
	S3      int // S3 front ends; 0 means 2
	// Replication is the master's default replica placement; "" means
	// "001" (one more copy on another server of the same rack).
	Replication string
	// Dir holds the servers' data and logs; "" means a new temporary
	// directory (removed by Close).
	Dir string
	// AccessKey and SecretKey are the S3 admin credentials; "" means random.
	AccessKey, SecretKey string
	// StartTimeout bounds the wait for readiness (0: 3 minutes).
	StartTimeout time.Duration
}

// Cluster is a running SeaweedFS cluster.
type Cluster struct {
	// Endpoint is host:port of the first S3 front end; Endpoints has every
	// front end's.
	Endpoint  string
	Endpoints []string
	AccessKey string
	SecretKey string
	// Dir holds every server's data directory and log (<name>.log).
	Dir string

	bin    string
	tmpDir bool
	procs  []*proc // master, volumes, filer, S3 front ends, in start order
	master *proc
	vols   []*proc
}

// proc is one `weed` server: its command line, and the running process.
type proc struct {
	name       string
	args       []string
	http, grpc int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// addr is the server's address as peers give it: host:port.grpcPort.
func (p *proc) addr() string {
	return "127.0.0.1:" + strconv.Itoa(p.http) + "." + strconv.Itoa(p.grpc)
}

// Start starts a cluster for t and stops it when t ends.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	bin := Binary(t)
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	c, err := Launch(bin, opts)
	if err != nil {
		t.Fatalf("seaweedtest: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// Launch starts a cluster with the binary bin and waits until its S3 front
// ends serve requests; Close stops it.
func Launch(bin string, opts Options) (*Cluster, error) {
	c := &Cluster{AccessKey: opts.AccessKey, SecretKey: opts.SecretKey, Dir: opts.Dir, bin: bin}
	if c.AccessKey == "" {
		c.AccessKey = "test" + randHex(8)
	}
	if c.SecretKey == "" {
		c.SecretKey = randHex(20)
	}
	if c.Dir == "" {
		d, err := os.MkdirTemp("", "seaweedtest-")
		if err != nil {
			return nil, err
		}
		c.Dir, c.tmpDir = d, true
	}
	if err := c.plan(opts); err != nil {
		c.Close()
		return nil, err
	}
	for _, p := range c.procs {
		if err := c.startProc(p); err != nil {
			c.Close()
			return nil, err
		}
	}
	timeout := orDefault(opts.StartTimeout, 3*time.Minute)
	if err := c.WaitReady(timeout); err != nil {
		logs := c.logTail()
		c.Close()
		return nil, fmt.Errorf("%w\n%s", err, logs)
	}
	return c, nil
}

// plan picks the ports and writes the command lines and the S3 identities.
func (c *Cluster) plan(opts Options) error {
	nVol, nS3 := opts.Volumes, opts.S3
	if nVol <= 0 {
		nVol = 3
	}
	if nS3 <= 0 {
		nS3 = 2
	}
	repl := opts.Replication
	if repl == "" {
		repl = "001"
	}
	n := 1 + nVol + 1 + nS3
	ports, err := freePorts(2 * n)
	if err != nil {
		return err
	}
	next := func(name string) *proc {
		p := &proc{name: name, http: ports[0], grpc: ports[1]}
		ports = ports[2:]
		return p
	}
	common := func(p *proc) []string {
		return []string{"-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-port=" + strconv.Itoa(p.http), "-port.grpc=" + strconv.Itoa(p.grpc)}
	}
	dir := func(name string) (string, error) {
		d := filepath.Join(c.Dir, name)
		return d, os.MkdirAll(d, 0o755)
	}

	c.master = next("master")
	mdir, err := dir("master")
	if err != nil {
		return err
	}
	c.master.args = append([]string{"master", "-mdir=" + mdir, "-defaultReplication=" + repl,
		"-volumeSizeLimitMB=128", "-telemetry=false"}, common(c.master)...)
	c.procs = append(c.procs, c.master)

	for i := range nVol {
		v := next(fmt.Sprintf("volume%d", i+1))
		vdir, err := dir(v.name)
		if err != nil {
			return err
		}
		v.args = append([]string{"volume", "-dir=" + vdir, "-max=32", "-mserver=" + c.master.addr(),
			"-dataCenter=dc1", "-rack=r1", "-preStopSeconds=0"}, common(v)...)
		c.vols = append(c.vols, v)
		c.procs = append(c.procs, v)
	}

	filer := next("filer")
	fdir, err := dir("filer")
	if err != nil {
		return err
	}
	filer.args = append([]string{"filer", "-master=" + c.master.addr(), "-defaultStoreDir=" + fdir,
		"-localSocket=" + filepath.Join(fdir, "filer.sock")}, common(filer)...)
	c.procs = append(c.procs, filer)

	conf := filepath.Join(c.Dir, "s3.json")
	if err := c.writeIdentities(conf); err != nil {
		return err
	}
	for i := range nS3 {
		s := next(fmt.Sprintf("s3-%d", i+1))
		s.args = append([]string{"s3", "-filer=" + filer.addr(), "-config=" + conf,
			"-port.iceberg=0", "-port.lance=0", "-iam=false",
			"-localSocket=" + filepath.Join(c.Dir, s.name+".sock")}, common(s)...)
		c.Endpoints = append(c.Endpoints, net.JoinHostPort("127.0.0.1", strconv.Itoa(s.http)))
		c.procs = append(c.procs, s)
	}
	c.Endpoint = c.Endpoints[0]
	return nil
}

// writeIdentities writes the S3 front ends' identities: one admin with the
// cluster's key pair.
func (c *Cluster) writeIdentities(path string) error {
	type cred struct {
		AccessKey string `json:"accessKey"`
		SecretKey string `json:"secretKey"`
	}
	type identity struct {
		Name        string   `json:"name"`
		Credentials []cred   `json:"credentials"`
		Actions     []string `json:"actions"`
	}
	b, err := json.MarshalIndent(map[string][]identity{"identities": {{
		Name:        "admin",
		Credentials: []cred{{c.AccessKey, c.SecretKey}},
		Actions:     []string{"Admin", "Read", "List", "Tagging", "Write"},
	}}}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func (c *Cluster) startProc(p *proc) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(c.Dir, p.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bin, append([]string{"-logtostderr"}, p.args...)...)
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting weed %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

// stopProc stops p with sig (SIGKILL after 10s) and waits for it to exit.
func stopProc(p *proc, sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Volumes is the number of volume servers.
func (c *Cluster) Volumes() int { return len(c.vols) }

// StopVolume stops volume server i (0-based; SIGTERM) and waits for it.
func (c *Cluster) StopVolume(i int) { stopProc(c.vols[i], syscall.SIGTERM) }

// KillVolume kills volume server i (SIGKILL) and waits for it.
func (c *Cluster) KillVolume(i int) { stopProc(c.vols[i], syscall.SIGKILL) }

// StartVolume starts volume server i again (same directory, same ports)
// if it is stopped, and waits until the master counts it again.
func (c *Cluster) StartVolume(i int) error {
	if err := c.startProc(c.vols[i]); err != nil {
		return err
	}
	return c.waitVolumes(time.Minute)
}

// Stop stops every server, S3 front ends first.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		stopProc(c.procs[i], syscall.SIGTERM)
	}
}

// Start starts every stopped server and waits until the cluster is ready.
func (c *Cluster) Start() error {
	for _, p := range c.procs {
		if err := c.startProc(p); err != nil {
			return err
		}
	}
	return c.WaitReady(3 * time.Minute)
}

// Close stops the cluster and removes a temporary directory it made.
func (c *Cluster) Close() {
	c.Stop()
	if c.tmpDir {
		os.RemoveAll(c.Dir)
	}
}

// PIDs returns the process ids of the servers (0 for stopped ones).
func (c *Cluster) PIDs() []int {
	out := make([]int, len(c.procs))
	for i, p := range c.procs {
		p.mu.Lock()
		if p.cmd != nil {
			out[i] = p.cmd.Process.Pid
		}
		p.mu.Unlock()
	}
	return out
}

// Client returns a minio-go client of S3 front end i with the admin
// credentials.
func (c *Cluster) Client(i int) (*minio.Client, error) {
	return minio.New(c.Endpoints[i], &minio.Options{Creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, "")})
}

// MakeBucket creates bucket name (through the first S3 front end).
func (c *Cluster) MakeBucket(name string) error {
	cl, err := c.Client(0)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return cl.MakeBucket(ctx, name, minio.MakeBucketOptions{})
}

// WaitReady waits until the master counts every running volume server and
// every running S3 front end answers a signed ListBuckets.
func (c *Cluster) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	if err := c.waitVolumes(timeout); err != nil {
		return err
	}
	for i := range c.Endpoints {
		p := c.procs[len(c.procs)-len(c.Endpoints)+i]
		if !p.running() {
			continue
		}
		cl, err := c.Client(i)
		if err != nil {
			return err
		}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := cl.ListBuckets(ctx)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("seaweedtest: S3 front end %s not ready after %s: %v", c.Endpoints[i], timeout, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// waitVolumes waits until the master's topology lists every running volume
// server (and no stopped one), so that writes can be placed.
func (c *Cluster) waitVolumes(timeout time.Duration) error {
	want := 0
	for _, v := range c.vols {
		if v.running() {
			want++
		}
	}
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		n, err := c.dataNodes(client)
		if err == nil && n == want {
			return nil
		}
		last = err
		if err == nil {
			last = fmt.Errorf("%d of %d volume servers registered", n, want)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("seaweedtest: master not ready after %s: %v", timeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dataNodes counts the volume servers in the master's topology.
func (c *Cluster) dataNodes(client *http.Client) (int, error) {
	resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(c.master.http) + "/dir/status")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("master /dir/status: %s", resp.Status)
	}
	var st struct {
		Topology struct {
			DataCenters []struct {
				Racks []struct {
					DataNodes []json.RawMessage
				}
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, err
	}
	n := 0
	for _, dc := range st.Topology.DataCenters {
		for _, r := range dc.Racks {
			n += len(r.DataNodes)
		}
	}
	return n, nil
}

func (c *Cluster) logTail() string {
	var b strings.Builder
	for _, p := range c.procs {
		data, _ := os.ReadFile(filepath.Join(c.Dir, p.name+".log"))
		fmt.Fprintf(&b, "--- %s.log\n%s\n", p.name, toolbuild.Tail(string(data), 1500))
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

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
