package embedded

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/store/storetest"
)

// A store whose inline objects were all read holds them mapped; once the
// process's file-backed resident set is above the limit, the committer
// drops them, and they still read back intact.
func TestIndexPagesLeaveResidentSet(t *testing.T) {
	s := newBucket(t, Options{NoSync: true})
	const n, size = 1200, 60 << 10 // 70 MiB of inline objects
	for i := range n {
		put(t, s, fmt.Sprint(i), storetest.Data(uint64(i), size))
	}
	readAll := func() {
		t.Helper()
		for i := range n {
			_, body, err := s.GetObject(t.Context(), "bkt", fmt.Sprint(i), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(body)
			body.Close()
			if err != nil || !bytes.Equal(got, storetest.Data(uint64(i), size)) {
				t.Fatalf("object %d: %d bytes read back, %v", i, len(got), err)
			}
		}
	}
	// Nothing is dropped while the test reads (a slow machine could see
	// a trim in the middle), then the limit is the store's own again.
	s.residentLimit.Store(math.MaxInt64)
	readAll()
	if r := indexResident(t, s); r < n*size/2 {
		t.Fatalf("only %d bytes of the index resident after reading %d", r, n*size)
	}
	s.residentLimit.Store(residentFileLimit)
	deadline := time.Now().Add(10 * trimInterval)
	for indexResident(t, s) > residentFileLimit/2 {
		if time.Now().After(deadline) {
			t.Fatalf("index still has %d bytes resident (process file-backed: %d)", indexResident(t, s), residentFileBytes())
		}
		time.Sleep(trimInterval / 10)
	}
	readAll()
	checkConsistent(t, s)
}

// indexResident is the resident size of the index's mapping, from
// /proc/self/smaps.
func indexResident(t *testing.T, s *Store) int {
	t.Helper()
	addr := uint64(s.db.Info().Data)
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := mappingRange(line); ok {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, err := strconv.Atoi(strings.Fields(line)[1])
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no mapping at %#x in /proc/self/smaps", addr)
	return 0
}

// mappingRange parses the address range that starts a mapping's block in
// /proc/self/smaps ("7f12-7f34 r--s ...").
func mappingRange(line string) (lo, hi uint64, ok bool) {
	r, _, found := strings.Cut(line, " ")
	a, b, dash := strings.Cut(r, "-")
	if !found || !dash {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(a, 16, 64)
	hi, err2 := strconv.ParseUint(b, 16, 64)
	return lo, hi, err1 == nil && err2 == nil
}
