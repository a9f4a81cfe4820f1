package storetest

import (
	"fmt"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
)

func testCopy(t *testing.T, newStore func(t *testing.T) store.Store) {
	for _, n := range []int{0, 1000, 300 << 10} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			f := newFixture(t, newStore)
			ctx := t.Context()
			if err := f.s.CreateBucket(ctx, "other"); err != nil {
				t.Fatal(err)
			}
			data := Data(uint64(n)+1, n)
			in := Input(t, data, store.CRC32)
			in.Meta = testMeta()
			src := f.putIn(f.bucket, "src", in)

			// Other key, Meta nil: metadata and checksum kept.
			var seen *store.Object
			o, err := f.s.CopyObject(ctx, f.bucket, "src", f.bucket, "dst", store.CopyInput{
				SrcCheck: func(s *store.Object) error { seen = s; return nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			if seen == nil || seen.Key != "src" || seen.ETag != src.ETag || seen.Size != int64(n) {
				t.Errorf("SrcCheck saw %+v", seen)
			}
			if o.Key != "dst" || o.ETag != MD5Hex(data) || o.Size != int64(n) || !recent(o.LastModified) {
				t.Errorf("CopyObject = %+v", o)
			}
			wantSum := store.Checksum{Algorithm: store.CRC32, Type: store.FullObject, Value: checksumOf(t, store.CRC32, data)}
			h, err := f.s.HeadObject(ctx, f.bucket, "dst")
			if err != nil {
				t.Fatal(err)
			}
			if !metaEqual(h.Meta, testMeta()) || h.Checksum != wantSum || o.Checksum != wantSum {
				t.Errorf("copy: meta %+v checksum %+v / %+v; want the source's", h.Meta, h.Checksum, o.Checksum)
			}
			f.wantContent("dst", data)

			// Other bucket, new metadata.
			newMeta := store.Metadata{ContentType: "application/x-copy", User: map[string]string{"k": "v"}}
			if _, err := f.s.CopyObject(ctx, f.bucket, "src", "other", "dst2", store.CopyInput{Meta: &newMeta}); err != nil {
				t.Fatal(err)
			}
			got, g := f.getFrom("other", "dst2")
			if string(got) != string(data) || g.ETag != MD5Hex(data) || !metaEqual(g.Meta, newMeta) {
				t.Errorf("copy to other bucket = %s %+v", describe(got), g)
			}

			// Same key, replacing metadata.
			o, err = f.s.CopyObject(ctx, f.bucket, "src", f.bucket, "src", store.CopyInput{Meta: &newMeta})
			if err != nil {
				t.Fatal(err)
			}
			h, err = f.s.HeadObject(ctx, f.bucket, "src")
			if err != nil {
				t.Fatal(err)
			}
			if o.ETag != MD5Hex(data) || h.ETag != MD5Hex(data) || !metaEqual(h.Meta, newMeta) || h.Checksum != wantSum {
				t.Errorf("same-key copy: %+v, head %+v", o, h)
			}
			f.wantContent("src", data)

			// The copies are independent of the source.
			f.put("src", []byte("overwritten"))
			f.wantContent("dst", data)
			if err := f.s.DeleteObject(ctx, f.bucket, "src"); err != nil {
				t.Fatal(err)
			}
			f.wantContent("dst", data)
			if got, _ := f.getFrom("other", "dst2"); string(got) != string(data) {
				t.Errorf("other/dst2 changed after the source was deleted")
			}
			f.wantUsage(int64(2*n), 2) // usage is per order: dst and other/dst2
		})
	}
	t.Run("Errors", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		f.put("src", []byte("source"))
		f.put("dst", []byte("destination"))
		_, err := f.s.CopyObject(ctx, f.bucket, "absent", f.bucket, "x", store.CopyInput{})
		wantErr(t, "CopyObject from an absent key", err, store.ErrNoSuchKey)
		_, err = f.s.CopyObject(ctx, "no-bucket", "src", f.bucket, "x", store.CopyInput{})
		wantErr(t, "CopyObject from an absent bucket", err, store.ErrNoSuchBucket)
		_, err = f.s.CopyObject(ctx, f.bucket, "src", "no-bucket", "x", store.CopyInput{})
		wantErr(t, "CopyObject to an absent bucket", err, store.ErrNoSuchBucket)
		_, err = f.s.CopyObject(ctx, f.bucket, "src", f.bucket, "dst", store.CopyInput{
			SrcCheck: func(*store.Object) error { return errCheck },
		})
		if err != errCheck {
			t.Errorf("CopyObject with a failing SrcCheck: error = %v, want it unchanged", err)
		}
		_, err = f.s.CopyObject(ctx, f.bucket, "src", f.bucket, "dst", store.CopyInput{Cond: store.Conditions{IfNoneMatch: "*"}})
		wantErr(t, "CopyObject IfNoneMatch * onto an existing key", err, store.ErrPreconditionFailed)
		_, err = f.s.CopyObject(ctx, f.bucket, "src", f.bucket, "dst", store.CopyInput{Cond: store.Conditions{IfMatch: MD5Hex([]byte("wrong"))}})
		wantErr(t, "CopyObject IfMatch wrong", err, store.ErrPreconditionFailed)
		f.wantContent("dst", []byte("destination"))
		f.wantAbsent("x")
		if _, err := f.s.CopyObject(ctx, f.bucket, "src", f.bucket, "dst", store.CopyInput{Cond: store.Conditions{IfMatch: MD5Hex([]byte("destination"))}}); err != nil {
			t.Errorf("CopyObject IfMatch right: %v", err)
		}
		f.wantContent("dst", []byte("source"))
		if _, err := f.s.CopyObject(ctx, f.bucket, "src", f.bucket, "new", store.CopyInput{Cond: store.Conditions{IfNoneMatch: "*"}}); err != nil {
			t.Errorf("CopyObject IfNoneMatch * onto an absent key: %v", err)
		}
		f.wantUsage(18, 3)
	})
	t.Run("Multipart", func(t *testing.T) {
		// A copy of a multipart object has the MD5 of its bytes as ETag,
		// no parts, and a full-object checksum.
		f := newFixture(t, newStore)
		ctx := t.Context()
		last := Data(5, 1000)
		whole, obj := f.multipart("mp", store.SHA256, "", bigPart(0), last)
		if len(obj.Parts) != 2 {
			t.Fatalf("multipart object has %d parts", len(obj.Parts))
		}
		for _, dst := range []string{"copy", "mp"} {
			o, err := f.s.CopyObject(ctx, f.bucket, "mp", f.bucket, dst, store.CopyInput{})
			if err != nil {
				t.Fatal(err)
			}
			h, err := f.s.HeadObject(ctx, f.bucket, dst)
			if err != nil {
				t.Fatal(err)
			}
			want := store.Checksum{Algorithm: store.SHA256, Type: store.FullObject, Value: checksumOf(t, store.SHA256, whole)}
			for what, got := range map[string]*store.Object{"CopyObject": o, "HeadObject": h} {
				if got.ETag != MD5Hex(whole) || len(got.Parts) != 0 || got.Checksum != want || got.Size != int64(len(whole)) {
					t.Errorf("%s to %q = ETag %s parts %d checksum %+v; want %s, 0, %+v", what, dst, got.ETag, len(got.Parts), got.Checksum, MD5Hex(whole), want)
				}
			}
			f.wantContent(dst, whole)
		}
		if err := f.s.DeleteObject(ctx, f.bucket, "mp"); err != nil {
			t.Fatal(err)
		}
		f.wantContent("copy", whole)
		f.wantUsage(int64(len(whole)), 1)
	})
	t.Run("ChecksumAlgorithm", func(t *testing.T) {
		// CopyInput.ChecksumAlgorithm: the copy gets a full-object
		// checksum of its bytes in that algorithm, whatever the source
		// has (none, another one, a COMPOSITE one), onto itself too.
		f := newFixture(t, newStore)
		ctx := t.Context()
		small, big := Data(7, 300), Data(8, 200<<10)
		f.put("plain", small)
		f.putIn(f.bucket, "crc32", Input(t, big, store.CRC32))
		whole, _ := f.multipart("mp", store.SHA1, store.Composite, bigPart(1), Data(9, 10))
		for _, c := range []struct {
			src, dst, alg string
			data          []byte
		}{
			{"plain", "plain-sha256", store.SHA256, small},
			{"crc32", "crc32-crc64", store.CRC64NVME, big},
			{"crc32", "crc32-same", store.CRC32, big},
			{"mp", "mp-crc32c", store.CRC32C, whole},
			{"crc32", "crc32", store.SHA1, big},
		} {
			o, err := f.s.CopyObject(ctx, f.bucket, c.src, f.bucket, c.dst, store.CopyInput{ChecksumAlgorithm: c.alg})
			if err != nil {
				t.Fatalf("copy %s to %s in %s: %v", c.src, c.dst, c.alg, err)
			}
			h, err := f.s.HeadObject(ctx, f.bucket, c.dst)
			if err != nil {
				t.Fatal(err)
			}
			want := store.Checksum{Algorithm: c.alg, Type: store.FullObject, Value: checksumOf(t, c.alg, c.data)}
			if o.Checksum != want || h.Checksum != want || h.ETag != MD5Hex(c.data) {
				t.Errorf("copy %s to %s in %s: checksum %+v / head %+v ETag %s; want %+v", c.src, c.dst, c.alg, o.Checksum, h.Checksum, h.ETag, want)
			}
			f.wantContent(c.dst, c.data)
		}
	})
}
