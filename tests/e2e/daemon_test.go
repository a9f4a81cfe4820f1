package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lambda/storagecli/internal/testproc"
)

// statusRunning matches the --status line of a running gateway, as the
// product document shows it: "gateway.pid is running, pid is N".
var statusRunning = regexp.MustCompile(`gateway\.pid is running, pid is (\d+)`)

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// TestDaemonizeStatusStop starts the gateway with --daemonize, checks
// --status (running, with the pid), serves a request, stops it with --stop
// and checks --status again (not running). Exit statuses are the ones
// `storagecli gateway run --help` documents: --status exits 0 when running
// and 3 when not.
func TestDaemonizeStatusStop(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := initHome(home); err != nil {
		t.Fatal(err)
	}
	addr, err := testproc.FreeAddrNow()
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "daemon.log")
	run := func(extra ...string) (string, int) {
		t.Helper()
		args := gatewayRunArgs(home, addr, extra...)
		out, code, err := storagecli(home, 30*time.Second, args...)
		if err != nil {
			t.Fatalf("storagecli %s: %v\n%s", testproc.QuoteArgs(args), err, out)
		}
		t.Logf("storagecli %s: exit %d\n%s", testproc.QuoteArgs(args), code, out)
		return out, code
	}

	// The daemon is not our child: find its pid to kill it whatever happens.
	daemonPID := 0
	t.Cleanup(func() {
		if daemonPID > 0 && processAlive(daemonPID) {
			t.Errorf("daemon pid %d still running at the end of the test; killing it", daemonPID)
			_ = syscall.Kill(daemonPID, syscall.SIGKILL)
		}
		if t.Failed() {
			t.Logf("daemon log %s:\n%s", logFile, testproc.FileTail(logFile, 6000))
		}
	})

	start := time.Now()
	daemonOut, code := run("--daemonize", "--log.file", logFile)
	// It prints "gateway is running, pid is N, ...": track N at once.
	if m := regexp.MustCompile(`pid is (\d+)`).FindStringSubmatch(daemonOut); m != nil {
		daemonPID, _ = strconv.Atoi(m[1])
		testproc.Register(daemonPID, "daemonized gateway on "+addr)
		defer testproc.Unregister(daemonPID)
	}
	if code != 0 {
		t.Fatalf("--daemonize: exit %d, want 0\n%s", code, daemonOut)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("--daemonize took %v to return", d)
	}
	if err := testproc.WaitTCP(addr, nil, 20*time.Second); err != nil {
		t.Fatalf("daemonized gateway: %v", err)
	}

	out, code := run("--status")
	m := statusRunning.FindStringSubmatch(out)
	if m != nil {
		if pid, _ := strconv.Atoi(m[1]); pid != daemonPID {
			daemonPID = pid
			testproc.Register(daemonPID, "daemonized gateway on "+addr)
			defer testproc.Unregister(daemonPID)
		}
	}
	if code != 0 || m == nil {
		t.Fatalf("--status while running: exit %d, output %q; want exit 0 and \"gateway.pid is running, pid is N\"", code, out)
	}
	if want := "pid is " + m[1]; !strings.Contains(daemonOut, want) {
		t.Errorf("--daemonize printed %q, --status %q: want the same pid", daemonOut, out)
	}
	if !processAlive(daemonPID) {
		t.Fatalf("--status reports pid %d, which is not running", daemonPID)
	}
	if cmdline, _ := os.ReadFile("/proc/" + m[1] + "/cmdline"); !strings.Contains(string(cmdline), "storagecli") {
		t.Errorf("pid %d is not a storagecli process: %q", daemonPID, cmdline)
	}

	// The daemon serves S3.
	c := newS3Client(&gateway{addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Errorf("ListBuckets against the daemon: %v", err)
	}

	out, code = run("--stop")
	if code != 0 {
		t.Errorf("--stop: exit %d, want 0\n%s", code, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for processAlive(daemonPID) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if processAlive(daemonPID) {
		t.Fatalf("pid %d still running 15s after --stop", daemonPID)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after --stop", addr)
	}

	out, code = run("--status")
	if statusRunning.MatchString(out) || !strings.Contains(strings.ToLower(out), "not running") {
		t.Errorf("--status after --stop: output %q, want it to say not running", out)
	}
	if code != 3 {
		t.Errorf("--status after --stop: exit %d, want 3 (not running, per `gateway run --help`)", code)
	}
	if st, err := os.Stat(logFile); err != nil || st.Size() == 0 {
		t.Errorf("--log.file %s: empty or missing (%v)", logFile, err)
	}
}
