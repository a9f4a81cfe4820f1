package embedded

import (
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// residentFileBytes is the process's file-backed (and shared) resident
// set: the third field of /proc/self/statm, in pages.
func residentFileBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// dropMapped removes the pages of the read-only shared file mapping at
// addr from the process's page tables (MADV_DONTNEED): the file's data
// stays in the page cache, and a later access maps it again.
func dropMapped(addr uintptr, length int64) error {
	if length <= 0 {
		return nil
	}
	page := int64(os.Getpagesize())
	length = (length + page - 1) / page * page
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, addr, uintptr(length), unix.MADV_DONTNEED)
	if errno != 0 {
		return errno
	}
	return nil
}
