package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
)

// getRange reads [off, off+length) of key through a CheckFunc.
func (f *fixture) getRange(key string, off, length int64) ([]byte, error) {
	f.t.Helper()
	calls := 0
	var seen *store.Object
	o, rc, err := f.s.GetObject(f.t.Context(), f.bucket, key, func(o *store.Object) (int64, int64, error) {
		calls++
		seen = o
		return off, length, nil
	})
	if calls != 1 {
		f.t.Errorf("CheckFunc called %d times, want once", calls)
	}
	if err != nil {
		if rc != nil {
			f.t.Errorf("GetObject returned a reader with error %v", err)
			rc.Close()
		}
		return nil, err
	}
	defer rc.Close()
	if o == nil || seen == nil || o.ETag != seen.ETag || o.Size != seen.Size {
		f.t.Errorf("GetObject returned %+v, CheckFunc saw %+v", o, seen)
	}
	// io.Copy uses the reader's WriteTo if it has one (f.get uses Read).
	var buf bytes.Buffer
	_, err = io.Copy(&buf, rc)
	return buf.Bytes(), err
}

// checkRanges reads many ranges of key, which holds data.
func (f *fixture) checkRanges(key string, data []byte, extra ...[2]int64) {
	f.t.Helper()
	n := int64(len(data))
	ranges := [][2]int64{{0, -1}, {0, n}, {0, 0}, {0, 1}, {1, -1}, {n / 2, -1}, {n / 3, n / 3},
		{n - 1, 1}, {n - 1, -1}, {n - 10, 10}, {n / 2, 0}}
	for _, r := range append(ranges, extra...) {
		off, length := r[0], r[1]
		if off < 0 || off >= n || (length >= 0 && off+length > n) {
			continue
		}
		got, err := f.getRange(key, off, length)
		if err != nil {
			f.t.Errorf("range %d+%d of %d bytes: %v", off, length, n, err)
			continue
		}
		end := n
		if length >= 0 {
			end = off + length
		}
		if !bytes.Equal(got, data[off:end]) {
			f.t.Errorf("range %d+%d = %s, want %s", off, length, describe(got), describe(data[off:end]))
		}
	}
	for _, r := range [][2]int64{{n + 1, -1}, {n + 1, 0}, {n, 1}, {n - 1, 2}, {0, n + 1}, {n + 100, 5}} {
		_, err := f.getRange(key, r[0], r[1])
		if !errors.Is(err, store.ErrInvalidRange) {
			f.t.Errorf("range %d+%d of %d bytes: error = %v, want ErrInvalidRange", r[0], r[1], n, err)
		}
	}
}

var errCheck = errors.New("storetest: check refused")

func testRanges(t *testing.T, newStore func(t *testing.T) store.Store) {
	for _, n := range []int{1, 1000, 300 << 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFixture(t, newStore)
			data := Data(uint64(n), n)
			f.put("k", data)
			f.checkRanges("k", data)
		})
	}
	t.Run("Empty", func(t *testing.T) {
		f := newFixture(t, newStore)
		f.put("e", nil)
		got, err := f.getRange("e", 0, -1)
		if err != nil || len(got) != 0 {
			t.Errorf("range 0+-1 of an empty object = %q, %v", got, err)
		}
		got, err = f.getRange("e", 0, 0)
		if err != nil || len(got) != 0 {
			t.Errorf("range 0+0 of an empty object = %q, %v", got, err)
		}
		for _, r := range [][2]int64{{1, -1}, {0, 1}} {
			_, err := f.getRange("e", r[0], r[1])
			wantErr(t, fmt.Sprintf("range %d+%d of an empty object", r[0], r[1]), err, store.ErrInvalidRange)
		}
	})
	t.Run("CheckError", func(t *testing.T) {
		f := newFixture(t, newStore)
		for _, n := range []int{10, 300 << 10} {
			data := Data(1, n)
			f.put("k", data)
			var seen *store.Object
			_, rc, err := f.s.GetObject(t.Context(), f.bucket, "k", func(o *store.Object) (int64, int64, error) {
				seen = o
				return 0, -1, errCheck
			})
			if rc != nil {
				t.Errorf("GetObject returned a reader with the check's error")
				rc.Close()
			}
			if err != errCheck {
				t.Errorf("GetObject error = %v, want the CheckFunc's error unchanged", err)
			}
			if seen == nil || seen.Key != "k" || seen.Size != int64(n) || seen.ETag != MD5Hex(data) {
				t.Errorf("CheckFunc saw %+v", seen)
			}
		}
		// Reading still works after refused reads (nothing leaked or locked).
		f.wantContent("k", Data(1, 300<<10))
		f.put("k", []byte("new"))
		f.wantContent("k", []byte("new"))
	})
	t.Run("NilCheck", func(t *testing.T) {
		f := newFixture(t, newStore)
		f.put("k", []byte("whole"))
		f.wantContent("k", []byte("whole"))
	})
	t.Run("ReaderKeepsVersion", func(t *testing.T) {
		for _, n := range []int{100, 300 << 10} {
			for _, then := range []string{"overwrite", "delete", "overwrite-large"} {
				t.Run(fmt.Sprintf("%d/%s", n, then), func(t *testing.T) {
					f := newFixture(t, newStore)
					ctx := t.Context()
					v1 := Data(1, n)
					f.put("k", v1)
					// One reader has started reading, one has not.
					o, started, err := f.s.GetObject(ctx, f.bucket, "k", nil)
					if err != nil {
						t.Fatal(err)
					}
					defer started.Close()
					_, fresh, err := f.s.GetObject(ctx, f.bucket, "k", func(*store.Object) (int64, int64, error) { return 10, -1, nil })
					if err != nil {
						t.Fatal(err)
					}
					defer fresh.Close()
					head := make([]byte, 10)
					if _, err := io.ReadFull(started, head); err != nil {
						t.Fatal(err)
					}
					switch then {
					case "overwrite":
						f.put("k", Data(2, n))
					case "overwrite-large":
						f.put("k", Data(2, 2*n+100<<10))
					case "delete":
						if err := f.s.DeleteObject(ctx, f.bucket, "k"); err != nil {
							t.Fatal(err)
						}
					}
					rest, err := io.ReadAll(started)
					if err != nil {
						t.Fatal(err)
					}
					if got := append(head, rest...); !bytes.Equal(got, v1) || o.ETag != MD5Hex(v1) {
						t.Errorf("reader after %s = %s, want the old version %s", then, describe(got), describe(v1))
					}
					got, err := io.ReadAll(fresh)
					if err != nil || !bytes.Equal(got, v1[10:]) {
						t.Errorf("ranged reader after %s = %s, %v; want the old version", then, describe(got), err)
					}
				})
			}
		}
	})
}
