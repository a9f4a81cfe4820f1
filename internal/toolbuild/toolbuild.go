// Package toolbuild builds the servers that tests run against (MinIO,
// SeaweedFS) from the nested tools modules that pin them, once per pinned
// version, into a cache directory. A file lock keeps parallel test binaries
// from building the same binary twice; an environment variable naming a
// prebuilt binary overrides the build.
package toolbuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// Tool is a server binary built from a nested tools module.
type Tool struct {
	Name     string // the binary's file name, e.g. "weed"
	Package  string // the main package to build, e.g. "github.com/seaweedfs/seaweedfs/weed"
	Version  string // the pinned version (part of the cache key)
	ToolsDir string // the nested module that pins Package
	EnvVar   string // names a prebuilt binary that replaces the build, e.g. "WEED_BIN"
	Cache    string // the cache subdirectory, e.g. "storagecli-seaweedfs"
}

// Path returns the binary: $EnvVar if set, else the cached build for the
// tools module's go.mod and go.sum, building it first if it is missing.
func (t Tool) Path() (string, error) {
	if p := os.Getenv(t.EnvVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w", t.EnvVar, err)
		}
		return p, nil
	}
	key, err := pinKey(t.ToolsDir)
	if err != nil {
		return "", err
	}
	dir, err := CacheDir(t.Cache)
	if err != nil {
		return "", err
	}
	dir = filepath.Join(dir, t.Version+"-"+key)
	bin := filepath.Join(dir, t.Name)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lock(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil { // built by another process meanwhile
		return bin, nil
	}
	return bin, t.Build(bin)
}

// Build builds Package in ToolsDir into out (through a temporary file, so
// that out is never a partial binary).
func (t Tool) Build(out string) error {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	tmp := out + ".tmp" + strconv.Itoa(os.Getpid())
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", tmp, t.Package)
	cmd.Dir = t.ToolsDir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly", "CGO_ENABLED=0")
	var outBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	start := time.Now()
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("go build %s in %s: %v\n%s", t.Package, t.ToolsDir, err, Tail(outBuf.String(), 4000))
	}
	fmt.Fprintf(os.Stderr, "toolbuild: built %s %s in %s\n", t.Package, t.Version, time.Since(start).Round(time.Second))
	return os.Rename(tmp, out)
}

// CacheDir is where built servers are kept: $STORAGECLI_CACHE/<sub>, else
// <the user cache directory>/<sub>.
func CacheDir(sub string) (string, error) {
	if d := os.Getenv("STORAGECLI_CACHE"); d != "" {
		return filepath.Join(d, sub), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, sub), nil
}

// ToolsDir finds tools/<name> from this source file's location.
func ToolsDir(name string) (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("toolbuild: cannot locate the source tree")
	}
	d := filepath.Join(filepath.Dir(file), "..", "..", "tools", name)
	if _, err := os.Stat(filepath.Join(d, "go.mod")); err != nil {
		return "", fmt.Errorf("toolbuild: tools module: %w", err)
	}
	return filepath.Clean(d), nil
}

// pinKey hashes the tools module's go.mod and go.sum, so that a new pin
// gets a new binary.
func pinKey(dir string) (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Tail returns the last n bytes of s, marked with an ellipsis when cut.
func Tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
