package embedded

import (
	"os"
	"time"
)

// The index is a memory-mapped file: every page a read touches (a listing,
// a GET of an inline object) stays mapped into the process, and counts in
// its resident set, until the kernel needs the memory back. A gateway that
// listed a million keys or served a few hundred megabytes of small objects
// would show that much RSS for as long as it runs, although none of it is
// its own memory. So the committer, once a second, looks at the process's
// file-backed resident set and, above residentFileLimit, drops the index's
// pages from the process's mapping (madvise MADV_DONTNEED). The kernel's
// page cache keeps them: the next read maps them again without any I/O.

// residentFileLimit is the file-backed resident set (the binary's own
// pages included) above which the index's mapped pages are dropped.
const residentFileLimit = 32 << 20

// trimInterval is how often the committer looks at the resident set.
const trimInterval = time.Second

// trimIndex drops the index's pages from the process's resident set when
// the file-backed resident set is above s.residentLimit. It must run on
// the committer goroutine between groups: bbolt remaps the index only while
// committing, so the mapping cannot move while it is advised.
func (s *Store) trimIndex() {
	if residentFileBytes() <= s.residentLimit.Load() {
		return
	}
	fi, err := os.Stat(s.db.Path())
	if err != nil {
		return
	}
	// The mapping is never shorter than the file (bbolt maps at least the
	// file's size); pages past the file's end are never resident.
	if err := dropMapped(s.db.Info().Data, fi.Size()); err != nil {
		s.log.Debug("embedded: index pages not dropped from the resident set")
	}
}
