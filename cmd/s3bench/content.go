package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
)

// spread is how far apart objects' contents can start in the pool: every
// key gets its own bytes without generating any per object.
const spread = 1 << 20

// content is the deterministic data of the benchmark: object i of a run is
// pool[offset(i) : offset(i)+size], so a reader checks a body against the
// pool without any stored copy of what was written.
type content struct {
	pool []byte
	size int64
	seed uint64
}

func newContent(size int64, seed uint64) *content {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	pool := make([]byte, size+spread)
	_, _ = rand.NewChaCha8(s).Read(pool)
	return &content{pool: pool, size: size, seed: seed}
}

// offset is where object i starts in the pool (splitmix64 of seed and i).
func (c *content) offset(i int64) int64 {
	z := c.seed + uint64(i)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return int64(z % spread)
}

// object returns object i's bytes (not to be modified).
func (c *content) object(i int64) []byte {
	o := c.offset(i)
	return c.pool[o : o+c.size : o+c.size]
}

// verify reads body to its end with buf and checks it is exactly want.
func verify(body io.Reader, want []byte, buf []byte) (int64, error) {
	var n int64
	for {
		m, err := body.Read(buf)
		if m > 0 {
			if n+int64(m) > int64(len(want)) {
				return n + int64(m), fmt.Errorf("body longer than the %d bytes written", len(want))
			}
			if !bytes.Equal(buf[:m], want[n:n+int64(m)]) {
				at := n
				for k := range m {
					if buf[k] != want[n+int64(k)] {
						at = n + int64(k)
						break
					}
				}
				return n + int64(m), fmt.Errorf("body differs from what was written at byte %d", at)
			}
			n += int64(m)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("reading body after %d bytes: %w", n, err)
		}
	}
	if n != int64(len(want)) {
		return n, fmt.Errorf("body is %d bytes, %d were written", n, len(want))
	}
	return n, nil
}
