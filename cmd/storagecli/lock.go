package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lambda/storagecli/config"
)

// One gateway per order: the serving process holds an exclusive flock on
// home/run/gateway-<order>.lock for its whole life and writes what it is
// (instance, as JSON) into that file, and its pid into
// home/run/gateway-<order>.pid for other tools. Whether a gateway runs is
// decided by the lock alone, so a pid file left by a crash (or a pid reused
// by another process) is never mistaken for a running gateway, and --stop
// only signals a pid published by the lock's holder.

// instance describes a running gateway; it is the lock file's content.
type instance struct {
	PID     int       `json:"pid"`
	Order   string    `json:"order"`
	Address string    `json:"address,omitempty"` // empty while starting
	Scheme  string    `json:"scheme,omitempty"`  // http or https
	LogFile string    `json:"log_file,omitempty"`
	Started time.Time `json:"started"`
	// ShutdownTimeout is how long the gateway drains requests when stopped.
	ShutdownTimeout time.Duration `json:"shutdown_timeout,omitempty"`
	// Usage is the served order's usage, refreshed every few seconds (the
	// store cannot be opened by another process while the gateway runs).
	Usage *servedUsage `json:"usage,omitempty"`
}

// servedUsage is the usage a running gateway publishes.
type servedUsage struct {
	Bytes    int64     `json:"bytes"`
	Objects  int64     `json:"objects"`
	Capacity int64     `json:"capacity"` // 0: unlimited
	Expires  time.Time `json:"expires,omitzero"`
	State    string    `json:"state"`
	At       time.Time `json:"at"`
}

// errAlreadyRunning is returned by acquireLock when a gateway holds the lock.
type errAlreadyRunning struct {
	order string
	pid   int
}

func (e *errAlreadyRunning) Error() string {
	if e.pid > 0 {
		return fmt.Sprintf("gateway for order %s is already running, pid %d", e.order, e.pid)
	}
	return fmt.Sprintf("gateway for order %s is already running or starting (its data is in use)", e.order)
}

// orderLock is a held lock on an order.
type orderLock struct {
	f     *os.File
	home  string
	order string
	pid   bool // a pid file was written
}

// lockWait is how long acquireLock retries while the lock is held by a
// process that published no live pid (a starting gateway, --status or
// order list, which hold it briefly).
const lockWait = 2 * time.Second

// acquireLock takes the order's lock without blocking on a running gateway.
func acquireLock(home, order string, wait time.Duration) (*orderLock, error) {
	if err := os.MkdirAll(config.RunDir(home), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(config.LockFile(home, order), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &orderLock{f: f, home: home, order: order}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		in, _ := readInstance(f)
		if in.PID > 0 && processAlive(in.PID) {
			f.Close()
			return nil, &errAlreadyRunning{order: order, pid: in.PID}
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, &errAlreadyRunning{order: order, pid: readPIDFile(home, order)}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// publish records in in the lock file and the pid in the pid file.
func (l *orderLock) publish(in instance) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	if _, err := l.f.WriteAt(b, 0); err != nil {
		return err
	}
	pidFile := config.PIDFile(l.home, l.order)
	tmp := pidFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(in.PID)+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, pidFile); err != nil {
		return err
	}
	l.pid = true
	return nil
}

// release removes the pid file, clears the lock file and unlocks.
func (l *orderLock) release() {
	if l.pid {
		os.Remove(config.PIDFile(l.home, l.order))
	}
	_ = l.f.Truncate(0)
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}

// probe reports whether a gateway holds the order's lock, and what it
// published.
func probe(home, order string) (running bool, in instance, err error) {
	f, err := os.Open(config.LockFile(home, order))
	if errors.Is(err, os.ErrNotExist) {
		return false, instance{}, nil
	}
	if err != nil {
		return false, instance{}, err
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false, instance{}, nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return false, instance{}, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	// The holder may be writing: retry a torn read a few times.
	for i := 0; i < 5; i++ {
		if in, err = readInstance(f); err == nil && in.PID > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if in.PID == 0 {
		in = instance{PID: readPIDFile(home, order), Order: order}
	}
	return true, in, nil
}

func readInstance(f *os.File) (instance, error) {
	var in instance
	st, err := f.Stat()
	if err != nil {
		return in, err
	}
	if st.Size() == 0 || st.Size() > 1<<16 {
		return in, errors.New("no instance")
	}
	b := make([]byte, st.Size())
	n, err := f.ReadAt(b, 0)
	if n == 0 {
		return in, err
	}
	err = json.Unmarshal(b[:n], &in)
	return in, err
}

// readPIDFile returns the pid in the order's pid file if that process is
// alive, else 0.
func readPIDFile(home, order string) int {
	b, err := os.ReadFile(config.PIDFile(home, order))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || !processAlive(pid) {
		return 0
	}
	return pid
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
