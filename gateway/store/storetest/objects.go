package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
)

// Sizes exercised by body tests: empty, small, and larger than any sane
// inline limit.
var bodySizes = []int{0, 1, 1000, 300 << 10}

func testMeta() store.Metadata {
	return store.Metadata{
		ContentType:        "text/plain; charset=utf-8",
		ContentEncoding:    "gzip",
		ContentDisposition: `attachment; filename="a b.txt"`,
		ContentLanguage:    "de-CH",
		CacheControl:       "max-age=60",
		Expires:            "Wed, 21 Oct 2015 07:28:00 GMT",
		User:               map[string]string{"color": "blue", "unicode": "grüß", "empty": ""},
	}
}

// metaEqual compares metadata, ignoring the storage class (stores may
// report their default) and nil versus empty user maps.
func metaEqual(a, b store.Metadata) bool {
	if a.ContentType != b.ContentType || a.ContentEncoding != b.ContentEncoding ||
		a.ContentDisposition != b.ContentDisposition || a.ContentLanguage != b.ContentLanguage ||
		a.CacheControl != b.CacheControl || a.Expires != b.Expires || len(a.User) != len(b.User) {
		return false
	}
	for k, v := range a.User {
		if w, ok := b.User[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testObjects(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("PutGetHeadDelete", func(t *testing.T) {
		for _, n := range bodySizes {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				f := newFixture(t, newStore)
				ctx := t.Context()
				data := Data(uint64(n), n)
				in := Input(t, data, "")
				in.Meta = testMeta()
				o, err := f.s.PutObject(ctx, f.bucket, "obj", in)
				if err != nil {
					t.Fatal(err)
				}
				check := func(what string, o *store.Object) {
					t.Helper()
					if o.Key != "obj" || o.Size != int64(n) || o.ETag != MD5Hex(data) || !recent(o.LastModified) {
						t.Errorf("%s = {Key %q Size %d ETag %q LastModified %v}, want {obj %d %s now}",
							what, o.Key, o.Size, o.ETag, o.LastModified, n, MD5Hex(data))
					}
					if !metaEqual(o.Meta, testMeta()) {
						t.Errorf("%s.Meta = %+v, want %+v", what, o.Meta, testMeta())
					}
					if len(o.Parts) != 0 {
						t.Errorf("%s.Parts = %v, want none", what, o.Parts)
					}
				}
				check("PutObject", o)
				h, err := f.s.HeadObject(ctx, f.bucket, "obj")
				if err != nil {
					t.Fatal(err)
				}
				check("HeadObject", h)
				if !h.LastModified.Equal(o.LastModified) {
					t.Errorf("HeadObject.LastModified = %v, PutObject said %v", h.LastModified, o.LastModified)
				}
				got, g := f.get("obj")
				check("GetObject", g)
				if !bytes.Equal(got, data) {
					t.Fatalf("GetObject = %s, want %s", describe(got), describe(data))
				}
				if err := f.s.DeleteObject(ctx, f.bucket, "obj"); err != nil {
					t.Fatal(err)
				}
				f.wantAbsent("obj")
				if err := f.s.DeleteObject(ctx, f.bucket, "obj"); err != nil {
					t.Errorf("DeleteObject of an absent key: %v", err)
				}
			})
		}
	})
	t.Run("Absent", func(t *testing.T) {
		f := newFixture(t, newStore)
		f.wantAbsent("nope")
		if err := f.s.DeleteObject(t.Context(), f.bucket, "nope"); err != nil {
			t.Errorf("DeleteObject of an absent key: %v", err)
		}
	})
	t.Run("EmptyETag", func(t *testing.T) {
		f := newFixture(t, newStore)
		o := f.put("empty", nil)
		if o.ETag != "d41d8cd98f00b204e9800998ecf8427e" || o.Size != 0 {
			t.Errorf("empty object = %+v", o)
		}
		f.wantContent("empty", nil)
	})
	t.Run("Overwrite", func(t *testing.T) {
		// Every size transition (inline/file in either direction).
		for _, a := range bodySizes {
			for _, b := range bodySizes {
				t.Run(fmt.Sprintf("%d-%d", a, b), func(t *testing.T) {
					f := newFixture(t, newStore)
					v1, v2 := Data(1, a), Data(2, b)
					in := Input(t, v1, "")
					in.Meta = testMeta()
					f.putIn(f.bucket, "k", in)
					o := f.put("k", v2)
					if o.ETag != MD5Hex(v2) {
						t.Errorf("ETag = %s, want %s", o.ETag, MD5Hex(v2))
					}
					f.wantContent("k", v2)
					h, err := f.s.HeadObject(t.Context(), f.bucket, "k")
					if err != nil {
						t.Fatal(err)
					}
					if !metaEqual(h.Meta, store.Metadata{}) {
						t.Errorf("overwrite kept old metadata: %+v", h.Meta)
					}
					f.wantUsage(int64(b), 1)
				})
			}
		}
	})
}

func testKeys(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Coexist", func(t *testing.T) {
		f := newFixture(t, newStore)
		keys := []string{"a", "a/b", "a/", "a/b/", "a//", "b/c/d"}
		for i, k := range keys {
			f.put(k, []byte(fmt.Sprintf("value %d of %q", i, k)))
		}
		for i, k := range keys {
			f.wantContent(k, []byte(fmt.Sprintf("value %d of %q", i, k)))
		}
		if err := f.s.DeleteObject(t.Context(), f.bucket, "a/"); err != nil {
			t.Fatal(err)
		}
		f.wantAbsent("a/")
		f.wantContent("a", []byte(`value 0 of "a"`))
		f.wantContent("a/b", []byte(`value 1 of "a/b"`))
	})
	t.Run("Invalid", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		f.put("valid", []byte("v"))
		invalid := []string{"", "../x", "a/../b", "..", ".", "./a", "a/.", "a/..", "/abs", "/",
			"x\x00y", strings.Repeat("k", store.MaxKeyLength+1), "bad\xff\xfeutf8", "\xc3"}
		for _, k := range invalid {
			what := fmt.Sprintf("%q", k)
			_, err := f.s.PutObject(ctx, f.bucket, k, Input(t, []byte("x"), ""))
			wantErr(t, "PutObject "+what, err, store.ErrInvalidKey)
			_, err = f.s.HeadObject(ctx, f.bucket, k)
			wantErr(t, "HeadObject "+what, err, store.ErrInvalidKey)
			_, rc, err := f.s.GetObject(ctx, f.bucket, k, nil)
			if rc != nil {
				rc.Close()
			}
			wantErr(t, "GetObject "+what, err, store.ErrInvalidKey)
			wantErr(t, "DeleteObject "+what, f.s.DeleteObject(ctx, f.bucket, k), store.ErrInvalidKey)
			_, err = f.s.CopyObject(ctx, f.bucket, "valid", f.bucket, k, store.CopyInput{})
			wantErr(t, "CopyObject to "+what, err, store.ErrInvalidKey)
			_, err = f.s.CopyObject(ctx, f.bucket, k, f.bucket, "dst", store.CopyInput{})
			wantErr(t, "CopyObject from "+what, err, store.ErrInvalidKey)
			_, err = f.s.CreateMultipartUpload(ctx, f.bucket, k, store.UploadInput{})
			wantErr(t, "CreateMultipartUpload "+what, err, store.ErrInvalidKey)
		}
		page, err := f.s.ListObjects(ctx, f.bucket, store.ListOptions{})
		if err != nil || len(page.Objects) != 1 || page.Objects[0].Key != "valid" {
			t.Errorf("ListObjects after invalid puts = %+v, %v", page, err)
		}
		f.wantUsage(1, 1)
	})
	t.Run("Unusual", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		keys := []string{
			"héllo wörld", "日本語/ファイル.txt", "emoji 😀", "sp ace", " leading", "trailing ",
			"100%", "%2F", "a%2Fb", "a+b", "a b+c%d", "q?x=1&y=2#frag", "tab\tkey", "new\nline",
			"~!@$^&*()=[]{};':\",<>|`", "back\\slash", "a//b", "...x", "x/.../y", ".hidden", "a/.b",
			"x/..y", strings.Repeat("k", store.MaxKeyLength), strings.Repeat("é", store.MaxKeyLength/2),
			"\u00ff\u0100", "\U0010FFFF",
		}
		for i, k := range keys {
			f.put(k, []byte(fmt.Sprint(i)))
		}
		for i, k := range keys {
			f.wantContent(k, []byte(fmt.Sprint(i)))
			h, err := f.s.HeadObject(ctx, f.bucket, k)
			if err != nil || h.Key != k {
				t.Errorf("HeadObject(%q) = %+v, %v", k, h, err)
			}
		}
		page, err := f.s.ListObjects(ctx, f.bucket, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := sortedCopy(keys)
		if got := objectKeys(page); !equalStrings(got, want) {
			t.Errorf("ListObjects = %q, want %q", got, want)
		}
		for _, k := range keys {
			if err := f.s.DeleteObject(ctx, f.bucket, k); err != nil {
				t.Errorf("DeleteObject(%q): %v", k, err)
			}
			f.wantAbsent(k)
		}
		f.wantUsage(0, 0)
	})
}

var errBody = errors.New("storetest: body read failed")

func testBodies(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("ReadError", func(t *testing.T) {
		for _, n := range bodySizes {
			for _, size := range []int64{-1, int64(n) + 10} {
				t.Run(fmt.Sprintf("%d/size%d", n, size), func(t *testing.T) {
					f := newFixture(t, newStore)
					old := Data(7, 500)
					f.put("k", old)
					before := f.usage()
					for _, key := range []string{"k", "new"} {
						b := NewBody(t, &errReader{data: Data(8, n), err: errBody}, "")
						_, err := f.s.PutObject(t.Context(), f.bucket, key, b.Input(size))
						if !errors.Is(err, errBody) {
							t.Errorf("PutObject(%q) with a failing body: error = %v, want %v", key, err, errBody)
						}
						if b.SumCalls() != 0 {
							t.Errorf("Sums called after a body error")
						}
					}
					f.wantContent("k", old)
					f.wantAbsent("new")
					if u := f.usage(); u != before {
						t.Errorf("Usage = %+v after failed puts, want %+v", u, before)
					}
				})
			}
		}
	})
	t.Run("SizeMismatch", func(t *testing.T) {
		for _, n := range []int{0, 10, 1000, 300 << 10} {
			for _, declared := range []int64{int64(n) + 1, int64(n) - 1, int64(n) * 2, int64(n) + 100<<10} {
				if declared < 0 || declared == int64(n) {
					continue
				}
				t.Run(fmt.Sprintf("%d/declared%d", n, declared), func(t *testing.T) {
					f := newFixture(t, newStore)
					old := Data(7, 500)
					f.put("k", old)
					for _, key := range []string{"k", "new"} {
						_, err := f.s.PutObject(t.Context(), f.bucket, key, NewBody(t, bytes.NewReader(Data(9, n)), "").Input(declared))
						wantErr(t, "PutObject "+key, err, store.ErrIncompleteBody)
					}
					f.wantContent("k", old)
					f.wantAbsent("new")
					f.wantUsage(500, 1)
				})
			}
		}
	})
	t.Run("UnknownSize", func(t *testing.T) {
		f := newFixture(t, newStore)
		for _, n := range append(bodySizes, 64<<10, 64<<10+1, 1<<20+17) {
			data := Data(uint64(n), n)
			b := NewBody(t, bytes.NewReader(data), "")
			o := f.putIn(f.bucket, "k", b.Input(-1))
			if o.Size != int64(n) || o.ETag != MD5Hex(data) {
				t.Errorf("PutObject of %d bytes, size -1 = %+v", n, o)
			}
			f.wantContent("k", data)
			if b.SumCalls() != 1 {
				t.Errorf("Sums called %d times, want 1", b.SumCalls())
			}
		}
	})
	t.Run("SmallReads", func(t *testing.T) {
		// A body that returns one byte at a time, then data with io.EOF.
		f := newFixture(t, newStore)
		data := Data(3, 100<<10)
		r := io.MultiReader(&oneByteReader{data: data[:50]}, &eofWithData{data: data[50:]})
		f.putIn(f.bucket, "k", NewBody(t, r, "").Input(int64(len(data))))
		f.wantContent("k", data)
	})
	t.Run("Sums", func(t *testing.T) {
		for _, alg := range []string{"", store.CRC32, store.CRC32C, store.CRC64NVME, store.SHA1, store.SHA256, store.SHA512, store.MD5, store.XXHASH64, store.XXHASH3, store.XXHASH128} {
			for _, n := range []int{0, 1000, 300 << 10} {
				t.Run(fmt.Sprintf("%s/%d", alg, n), func(t *testing.T) {
					f := newFixture(t, newStore)
					data := Data(uint64(n)+5, n)
					b := NewBody(t, bytes.NewReader(data), alg)
					o := f.putIn(f.bucket, "k", b.Input(int64(n)))
					if b.SumCalls() != 1 {
						t.Errorf("Sums called %d times, want once", b.SumCalls())
					}
					want := store.Checksum{}
					if alg != "" {
						want = store.Checksum{Algorithm: alg, Type: store.FullObject, Value: checksumOf(t, alg, data)}
					}
					h, err := f.s.HeadObject(t.Context(), f.bucket, "k")
					if err != nil {
						t.Fatal(err)
					}
					for what, got := range map[string]*store.Object{"PutObject": o, "HeadObject": h} {
						if got.Checksum != want {
							t.Errorf("%s.Checksum = %+v, want %+v", what, got.Checksum, want)
						}
						if got.ETag != MD5Hex(data) {
							t.Errorf("%s.ETag = %s, want %s", what, got.ETag, MD5Hex(data))
						}
					}
				})
			}
		}
	})
}

type oneByteReader struct{ data []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.data[0]
	r.data = r.data[1:]
	return 1, nil
}

// eofWithData returns its last bytes together with io.EOF.
type eofWithData struct{ data []byte }

func (r *eofWithData) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, io.EOF
	}
	return n, nil
}
