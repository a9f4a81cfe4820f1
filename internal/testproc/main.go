package testproc

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The state of the test binary, set up by Main.
var (
	suiteName string
	repoRoot  string
	tmpDir    string
	builds    Builder

	teardownMu sync.Mutex
	teardowns  []func()
)

// Main is the TestMain of an end-to-end test package called name: it
// parses the flags, finds the module root, makes a temporary directory
// (TempDir, removed afterwards) and runs run, which sets the package up,
// calls m.Run and returns its exit code. No process registered by the
// tests outlives the binary: they are killed when run returns and shortly
// before -test.timeout (when the testing package panics without running
// cleanups), after the functions given to OnTimeout.
func Main(m *testing.M, name string, run func() int) {
	flag.Parse()
	os.Exit(mainCode(name, run))
}

func mainCode(name string, run func() int) int {
	suiteName = name
	defer KillAll(name)
	ArmTimeoutWatchdog(func() {
		teardownMu.Lock()
		fns := append([]func(){}, teardowns...)
		teardownMu.Unlock()
		for _, fn := range fns {
			fn()
		}
		KillAll(name)
	})
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	if _, err := os.Stat(filepath.Join(repoRoot, "go.mod")); err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot find the module root: %v\n", name, err)
		return 1
	}
	if tmpDir, err = os.MkdirTemp("", "storagecli-"+name+"-"); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	defer os.RemoveAll(tmpDir)
	builds = Builder{RepoRoot: repoRoot, OutDir: filepath.Join(tmpDir, "bin")}
	return run()
}

// OnTimeout adds fn to what runs shortly before -test.timeout, before the
// registered processes are killed (e.g. killing a cluster's nodes); fn
// must not block on locks a test may hold.
func OnTimeout(fn func()) {
	teardownMu.Lock()
	defer teardownMu.Unlock()
	teardowns = append(teardowns, fn)
}

// RepoRoot is the module root (where go.mod lives).
func RepoRoot() string { return repoRoot }

// TempDir is the test binary's temporary directory, removed when it ends.
func TempDir() string { return tmpDir }

// binaryOverride is the environment variable naming a prebuilt binary for
// ./cmd/<cmd>: <SUITE>_<CMD>, e.g. E2E_STORAGECLI or SCALEOUT_CADDY.
func binaryOverride(cmd string) string {
	return strings.ToUpper(suiteName + "_" + cmd)
}

// Binary returns the path of ./cmd/<cmd>, built once per test binary
// (failing t if the build fails); <SUITE>_<CMD>=/path uses a prebuilt one.
func Binary(t testing.TB, cmd string) string {
	t.Helper()
	if p := os.Getenv(binaryOverride(cmd)); p != "" {
		builds.Use(cmd, p)
	}
	return builds.Build(t, cmd)
}

// BinaryNow is Binary in a TestMain's setup.
func BinaryNow(cmd string) (string, error) {
	if p := os.Getenv(binaryOverride(cmd)); p != "" {
		builds.Use(cmd, p)
	}
	return builds.BuildNow(cmd)
}
