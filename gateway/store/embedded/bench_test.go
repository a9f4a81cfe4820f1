package embedded

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

// Benchmarks run in durable mode (fsync before acknowledging) on the
// machine's disk (b.TempDir). Bodies are plain readers (like network
// bodies) with precomputed Sums, so the numbers are the store's own cost.

func benchStore(b *testing.B, opts Options) *Store {
	b.Helper()
	s := openTest(b, opts)
	if err := s.CreateBucket(b.Context(), "bench"); err != nil {
		b.Fatal(err)
	}
	return s
}

// body is a plain io.Reader over data with precomputed digests.
func body(data []byte, sum [16]byte) store.PutInput {
	return store.PutInput{
		Body: struct{ io.Reader }{bytes.NewReader(data)},
		Size: int64(len(data)),
		Sums: func() store.Sums { return store.Sums{MD5: sum[:]} },
	}
}

// BenchmarkPut4K: 4 KiB PUTs from 16 concurrent writers (group commit).
func BenchmarkPut4K(b *testing.B) {
	s := benchStore(b, Options{})
	data := storetest.Data(1, 4<<10)
	sum := md5.Sum(data)
	var n atomic.Int64
	b.SetBytes(int64(len(data)))
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("k/%09d", n.Add(1))
			if _, err := s.PutObject(b.Context(), "bench", key, body(data, sum)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPut4KSerial: one writer, so every PUT waits for its own commit.
func BenchmarkPut4KSerial(b *testing.B) {
	s := benchStore(b, Options{})
	data := storetest.Data(1, 4<<10)
	sum := md5.Sum(data)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		if _, err := s.PutObject(b.Context(), "bench", fmt.Sprintf("k/%09d", i), body(data, sum)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet4K: 4 KiB GETs (inline objects), concurrent readers.
func BenchmarkGet4K(b *testing.B) {
	benchGet(b, Options{}, 4<<10)
}

// BenchmarkGet4KFile: 4 KiB GETs of objects in data files.
func BenchmarkGet4KFile(b *testing.B) {
	benchGet(b, Options{InlineLimit: -1}, 4<<10)
}

func benchGet(b *testing.B, opts Options, size int) {
	s := benchStore(b, opts)
	data := storetest.Data(1, size)
	sum := md5.Sum(data)
	const keys = 1000
	for i := range keys {
		if _, err := s.PutObject(b.Context(), "bench", fmt.Sprintf("k/%04d", i), body(data, sum)); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.SetBytes(int64(size))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 32<<10)
		for pb.Next() {
			_, rc, err := s.GetObject(b.Context(), "bench", fmt.Sprintf("k/%04d", n.Add(1)%keys), nil)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{rc}, buf); err != nil {
				b.Error(err)
			}
			rc.Close()
		}
	})
}

// BenchmarkPut64M: 64 MiB PUTs, one at a time (streaming + fsync).
func BenchmarkPut64M(b *testing.B) {
	s := benchStore(b, Options{})
	data := storetest.Data(1, 64<<20)
	sum := md5.Sum(data)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		// One key, overwritten: the disk holds one or two versions.
		if _, err := s.PutObject(b.Context(), "bench", "big", body(data, sum)); err != nil {
			b.Fatal(err)
		}
	}
}
