package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
)

func testConditions(t *testing.T, newStore func(t *testing.T) store.Store) {
	for _, n := range []int{10, 300 << 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFixture(t, newStore)
			ctx := t.Context()
			put := func(key string, data []byte, c store.Conditions) error {
				in := Input(t, data, "")
				in.Cond = c
				_, err := f.s.PutObject(ctx, f.bucket, key, in)
				return err
			}
			v1, v2, v3 := Data(1, n), Data(2, n), Data(3, n)

			// If-None-Match: *
			if err := put("k", v1, store.Conditions{IfNoneMatch: "*"}); err != nil {
				t.Fatalf("IfNoneMatch * on an absent key: %v", err)
			}
			wantErr(t, "IfNoneMatch * on an existing key", put("k", v2, store.Conditions{IfNoneMatch: "*"}), store.ErrPreconditionFailed)
			f.wantContent("k", v1)

			// If-Match
			wantErr(t, "IfMatch wrong ETag", put("k", v2, store.Conditions{IfMatch: MD5Hex(v3)}), store.ErrPreconditionFailed)
			f.wantContent("k", v1)
			if err := put("k", v2, store.Conditions{IfMatch: MD5Hex(v1)}); err != nil {
				t.Fatalf("IfMatch right ETag: %v", err)
			}
			f.wantContent("k", v2)
			if err := put("k", v3, store.Conditions{IfMatch: "*"}); err != nil {
				t.Fatalf("IfMatch * on an existing key: %v", err)
			}
			f.wantContent("k", v3)
			wantErr(t, "IfMatch on an absent key", put("absent", v1, store.Conditions{IfMatch: MD5Hex(v1)}), store.ErrNoSuchKey)
			wantErr(t, "IfMatch * on an absent key", put("absent", v1, store.Conditions{IfMatch: "*"}), store.ErrPreconditionFailed)
			f.wantAbsent("absent")
			f.wantUsage(int64(n), 1)

			// ETag lists, quoted or not (as MinIO and Ceph evaluate them).
			list := func(etags ...string) string {
				out := ""
				for i, e := range etags {
					if i > 0 {
						out += ", "
					}
					if i%2 == 0 {
						e = `"` + e + `"`
					}
					out += e
				}
				return out
			}
			wantErr(t, "IfNoneMatch list naming the current ETag", put("k", v1, store.Conditions{IfNoneMatch: list(MD5Hex(v1), MD5Hex(v3))}), store.ErrPreconditionFailed)
			wantErr(t, "IfNoneMatch of the current ETag", put("k", v1, store.Conditions{IfNoneMatch: MD5Hex(v3)}), store.ErrPreconditionFailed)
			f.wantContent("k", v3)
			if err := put("k", v2, store.Conditions{IfNoneMatch: list(MD5Hex(v1), MD5Hex(v2))}); err != nil {
				t.Fatalf("IfNoneMatch list without the current ETag: %v", err)
			}
			f.wantContent("k", v2)
			wantErr(t, "IfMatch list without the current ETag", put("k", v1, store.Conditions{IfMatch: list(MD5Hex(v1), MD5Hex(v3))}), store.ErrPreconditionFailed)
			if err := put("k", v3, store.Conditions{IfMatch: list(MD5Hex(v1), MD5Hex(v2))}); err != nil {
				t.Fatalf("IfMatch list naming the current ETag: %v", err)
			}
			f.wantContent("k", v3)
			if err := put("new", v1, store.Conditions{IfNoneMatch: list(MD5Hex(v1), MD5Hex(v2))}); err != nil {
				t.Fatalf("IfNoneMatch list on an absent key: %v", err)
			}
			if err := f.s.DeleteObject(ctx, f.bucket, "new"); err != nil {
				t.Fatal(err)
			}
			f.wantUsage(int64(n), 1)

			// After a delete the key is absent again.
			if err := f.s.DeleteObject(ctx, f.bucket, "k"); err != nil {
				t.Fatal(err)
			}
			if err := put("k", v1, store.Conditions{IfNoneMatch: "*"}); err != nil {
				t.Fatalf("IfNoneMatch * after delete: %v", err)
			}
		})
	}
	t.Run("RaceIfNoneMatch", func(t *testing.T) {
		for _, n := range []int{10, 300 << 10} {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				f := newFixture(t, newStore)
				const writers = 16
				var wg sync.WaitGroup
				errs := make([]error, writers)
				start := make(chan struct{})
				for i := range writers {
					wg.Go(func() {
						<-start
						in := Input(t, Data(uint64(i), n), "")
						in.Cond = store.Conditions{IfNoneMatch: "*"}
						_, errs[i] = f.s.PutObject(t.Context(), f.bucket, "race", in)
					})
				}
				close(start)
				wg.Wait()
				winner := -1
				for i, err := range errs {
					switch {
					case err == nil && winner >= 0:
						t.Errorf("writers %d and %d both succeeded", winner, i)
					case err == nil:
						winner = i
					case !errors.Is(err, store.ErrPreconditionFailed):
						t.Errorf("writer %d: %v, want ErrPreconditionFailed", i, err)
					}
				}
				if winner < 0 {
					t.Fatal("no writer succeeded")
				}
				f.wantContent("race", Data(uint64(winner), n))
				f.wantUsage(int64(n), 1)
			})
		}
	})
}

func testConcurrency(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("OneKey", func(t *testing.T) {
		// Writers of different sizes race on one key while readers check
		// that every read is one whole version.
		f := newFixture(t, newStore)
		ctx := t.Context()
		sizes := []int{0, 100, 5000, 200 << 10}
		versions := map[string][]byte{}
		var all [][]byte
		for i := range 12 {
			d := Data(uint64(i), sizes[i%len(sizes)]+i)
			versions[MD5Hex(d)] = d
			all = append(all, d)
		}
		f.put("k", all[0])
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for r := range 3 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					o, rc, err := f.s.GetObject(ctx, f.bucket, "k", nil)
					if err != nil {
						t.Errorf("reader %d: %v", r, err)
						return
					}
					got, err := io.ReadAll(rc)
					rc.Close()
					if err != nil {
						t.Errorf("reader %d: read: %v", r, err)
						return
					}
					if want, ok := versions[o.ETag]; !ok || !bytes.Equal(got, want) || o.Size != int64(len(got)) {
						t.Errorf("reader %d read %s with ETag %s: not a whole version", r, describe(got), o.ETag)
						return
					}
				}
			})
		}
		var writers sync.WaitGroup
		for w := range 8 {
			writers.Go(func() {
				for j := range 3 {
					d := all[(w*3+j)%len(all)]
					if _, err := f.s.PutObject(ctx, f.bucket, "k", Input(t, d, "")); err != nil {
						t.Errorf("writer %d: %v", w, err)
					}
				}
			})
		}
		writers.Wait()
		close(stop)
		wg.Wait()
		got, o := f.get("k")
		if want, ok := versions[o.ETag]; !ok || !bytes.Equal(got, want) {
			t.Errorf("final object %s (ETag %s) is not one whole version", describe(got), o.ETag)
		}
		f.wantUsage(int64(len(got)), 1)
	})
	t.Run("Mixed", func(t *testing.T) {
		// Random puts, deletes, reads and listings over a few keys; then
		// the listing, the objects and Usage must agree.
		f := newFixture(t, newStore)
		ctx := t.Context()
		keys := []string{"a", "a/b", "b", "c/d/e", "d", "e/"}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				rnd := rand.New(rand.NewPCG(uint64(w), 1))
				for range 40 {
					k := keys[rnd.IntN(len(keys))]
					switch rnd.IntN(5) {
					case 0, 1:
						n := []int{0, 10, 2000, 100 << 10}[rnd.IntN(4)]
						if _, err := f.s.PutObject(ctx, f.bucket, k, Input(t, Data(rnd.Uint64(), n), "")); err != nil {
							t.Errorf("PutObject: %v", err)
						}
					case 2:
						if err := f.s.DeleteObject(ctx, f.bucket, k); err != nil {
							t.Errorf("DeleteObject: %v", err)
						}
					case 3:
						o, rc, err := f.s.GetObject(ctx, f.bucket, k, nil)
						if errors.Is(err, store.ErrNoSuchKey) {
							continue
						}
						if err != nil {
							t.Errorf("GetObject: %v", err)
							continue
						}
						got, err := io.ReadAll(rc)
						rc.Close()
						if err != nil || MD5Hex(got) != o.ETag {
							t.Errorf("GetObject read %s, %v; ETag %s", describe(got), err, o.ETag)
						}
					case 4:
						if _, err := f.s.ListObjects(ctx, f.bucket, store.ListOptions{Limit: 1 + rnd.IntN(3)}); err != nil {
							t.Errorf("ListObjects: %v", err)
						}
					}
				}
			})
		}
		wg.Wait()
		page, err := f.s.ListObjects(ctx, f.bucket, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var size int64
		var listed []string
		for _, o := range page.Objects {
			listed = append(listed, o.Key)
			got, g := f.get(o.Key)
			if g.ETag != o.ETag || int64(len(got)) != o.Size {
				t.Errorf("%s: listed %s/%d, read %s/%d", o.Key, o.ETag, o.Size, g.ETag, len(got))
			}
			size += o.Size
		}
		for _, k := range keys {
			if !slices.Contains(listed, k) {
				f.wantAbsent(k)
			}
		}
		f.wantUsage(size, int64(len(page.Objects)))
	})
}
