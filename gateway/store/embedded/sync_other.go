//go:build !linux

package embedded

// syncFS is a no-op where syncfs(2) is missing: with NoSync, writes are
// then durable only once the OS writes them back.
func syncFS(string) error { return nil }
