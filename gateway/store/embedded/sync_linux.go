package embedded

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS flushes the whole filesystem holding path (syncfs(2)): with NoSync
// nothing was synced as it was written, and Close makes it all durable.
func syncFS(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
