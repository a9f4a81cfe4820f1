package storetest

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/checksum"
	"github.com/lambda/storagecli/gateway/store"
)

func (f *fixture) createUpload(key string, in store.UploadInput) string {
	f.t.Helper()
	id, err := f.s.CreateMultipartUpload(f.t.Context(), f.bucket, key, in)
	if err != nil {
		f.t.Fatalf("CreateMultipartUpload(%q): %v", key, err)
	}
	return id
}

func (f *fixture) uploadPart(key, id string, n int, data []byte, alg string) *store.Part {
	f.t.Helper()
	b := NewBody(f.t, bytes.NewReader(data), alg)
	p, err := f.s.UploadPart(f.t.Context(), f.bucket, key, id, n, b.Input(int64(len(data))))
	if err != nil {
		f.t.Fatalf("UploadPart(%q, %d): %v", key, n, err)
	}
	if b.SumCalls() != 1 {
		f.t.Errorf("UploadPart called Sums %d times, want once", b.SumCalls())
	}
	if p.Number != n || p.Size != int64(len(data)) || p.ETag != MD5Hex(data) || !recent(p.LastModified) {
		f.t.Errorf("UploadPart(%d) = %+v, want size %d ETag %s", n, p, len(data), MD5Hex(data))
	}
	if alg != "" && p.Checksum != checksumOf(f.t, alg, data) {
		f.t.Errorf("UploadPart(%d).Checksum = %q, want %q", n, p.Checksum, checksumOf(f.t, alg, data))
	}
	return p
}

// multipart uploads parts (numbered from 1) to key with checksum alg and
// type, completes the upload, and returns the object's bytes and
// description.
func (f *fixture) multipart(key, alg, typ string, parts ...[]byte) ([]byte, *store.Object) {
	f.t.Helper()
	id := f.createUpload(key, store.UploadInput{ChecksumAlgorithm: alg, ChecksumType: typ})
	var cps []store.CompletePart
	for i, p := range parts {
		part := f.uploadPart(key, id, i+1, p, alg)
		cps = append(cps, store.CompletePart{Number: i + 1, ETag: part.ETag, Checksum: part.Checksum})
	}
	o, err := f.s.CompleteMultipartUpload(f.t.Context(), f.bucket, key, id, cps, store.CompleteInput{})
	if err != nil {
		f.t.Fatalf("CompleteMultipartUpload(%q): %v", key, err)
	}
	return bytes.Join(parts, nil), o
}

// multipartETag is hex(md5(concat(part md5s)))-N.
func multipartETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	return hex.EncodeToString(h.Sum(nil)) + "-" + fmt.Sprint(len(parts))
}

// compositeChecksum is base64(hash(concat(raw part checksums)))-N.
func compositeChecksum(t testing.TB, alg string, parts ...[]byte) string {
	h, _ := checksum.New(alg)
	for _, p := range parts {
		raw, err := base64.StdEncoding.DecodeString(checksumOf(t, alg, p))
		if err != nil {
			t.Fatal(err)
		}
		h.Write(raw)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + fmt.Sprint(len(parts))
}

func testMultipart(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Assemble", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		p1, p2, p3 := bigPart(0), bigPart(1), Data(3, 1234)
		meta := testMeta()
		id := f.createUpload("mp", store.UploadInput{Meta: meta})
		// Out of order.
		parts := map[int]*store.Part{}
		parts[2] = f.uploadPart("mp", id, 2, p2, "")
		parts[3] = f.uploadPart("mp", id, 3, p3, "")
		parts[1] = f.uploadPart("mp", id, 1, p1, "")
		f.wantUsage(int64(len(p1)+len(p2)+len(p3)), 0)

		lp, err := f.s.ListParts(ctx, f.bucket, "mp", id, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(lp.Parts) != 3 || lp.Truncated {
			t.Fatalf("ListParts = %+v", lp)
		}
		for i, p := range lp.Parts {
			want := parts[i+1]
			if p.Number != i+1 || p.Size != want.Size || p.ETag != want.ETag {
				t.Errorf("ListParts[%d] = %+v, want %+v", i, p, want)
			}
		}
		if u := lp.Upload; u.Key != "mp" || u.UploadID != id || !recent(u.Initiated) || !metaEqual(u.Meta, meta) {
			t.Errorf("ListParts.Upload = %+v", u)
		}
		cps := []store.CompletePart{{Number: 1, ETag: parts[1].ETag}, {Number: 2, ETag: parts[2].ETag}, {Number: 3, ETag: parts[3].ETag}}
		o, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "mp", id, cps, store.CompleteInput{})
		if err != nil {
			t.Fatal(err)
		}
		whole := bytes.Join([][]byte{p1, p2, p3}, nil)
		h, err := f.s.HeadObject(ctx, f.bucket, "mp")
		if err != nil {
			t.Fatal(err)
		}
		for what, got := range map[string]*store.Object{"Complete": o, "Head": h} {
			if got.Key != "mp" || got.ETag != multipartETag(p1, p2, p3) || got.Size != int64(len(whole)) || !metaEqual(got.Meta, meta) || !recent(got.LastModified) {
				t.Errorf("%s = {Key %q ETag %s Size %d Meta %+v}, want ETag %s size %d", what, got.Key, got.ETag, got.Size, got.Meta, multipartETag(p1, p2, p3), len(whole))
			}
			if len(got.Parts) != 3 {
				t.Fatalf("%s.Parts = %+v", what, got.Parts)
			}
			for i, p := range got.Parts {
				if p.Number != i+1 || p.Size != parts[i+1].Size || p.ETag != parts[i+1].ETag {
					t.Errorf("%s.Parts[%d] = %+v, want %+v", what, i, p, parts[i+1])
				}
			}
		}
		f.wantContent("mp", whole)
		b := int64(store.MinPartSize)
		f.checkRanges("mp", whole, [2]int64{b - 10, 20}, [2]int64{b - 1, b + 2}, [2]int64{b, b}, [2]int64{b, -1},
			[2]int64{2 * b, -1}, [2]int64{2*b - 1, 2}, [2]int64{1, 2*b + 100}, [2]int64{b + 7, b - 7})
		f.wantUsage(int64(len(whole)), 1)
		_, err = f.s.ListParts(ctx, f.bucket, "mp", id, 0, 0)
		wantErr(t, "ListParts after complete", err, store.ErrNoSuchUpload)
		if up, err := f.s.ListMultipartUploads(ctx, f.bucket, store.UploadsOptions{}); err != nil || len(up.Uploads) != 0 {
			t.Errorf("ListMultipartUploads after complete = %+v, %v", up, err)
		}

		// A reader of the multipart version survives an overwrite.
		_, rc, err := f.s.GetObject(ctx, f.bucket, "mp", func(*store.Object) (int64, int64, error) { return b - 5, -1, nil })
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		head := make([]byte, 3)
		if _, err := io.ReadFull(rc, head); err != nil {
			t.Fatal(err)
		}
		f.put("mp", []byte("small"))
		rest, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(append(head, rest...), whole[b-5:]) {
			t.Errorf("reader after overwrite: %v; wrong bytes", err)
		}
		f.wantUsage(5, 1)
	})
	t.Run("ReplacePart", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		id := f.createUpload("k", store.UploadInput{})
		old := f.uploadPart("k", id, 1, []byte("aaa"), "")
		f.uploadPart("k", id, 1, []byte("bbbb"), "")
		f.wantUsage(4, 0)
		lp, err := f.s.ListParts(ctx, f.bucket, "k", id, 0, 0)
		if err != nil || len(lp.Parts) != 1 || lp.Parts[0].Size != 4 || lp.Parts[0].ETag != MD5Hex([]byte("bbbb")) {
			t.Fatalf("ListParts after replacing = %+v, %v", lp, err)
		}
		_, err = f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, []store.CompletePart{{Number: 1, ETag: old.ETag}}, store.CompleteInput{})
		wantErr(t, "Complete with the replaced part's ETag", err, store.ErrInvalidPart)
		o, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, []store.CompletePart{{Number: 1, ETag: MD5Hex([]byte("bbbb"))}}, store.CompleteInput{})
		if err != nil {
			t.Fatal(err)
		}
		if o.ETag != multipartETag([]byte("bbbb")) {
			t.Errorf("ETag = %s, want %s", o.ETag, multipartETag([]byte("bbbb")))
		}
		f.wantContent("k", []byte("bbbb"))
		f.wantUsage(4, 1)
	})
	t.Run("ResendInFlight", func(t *testing.T) {
		// A part re-sent while an earlier upload of the same number is
		// still being received: the one that finishes last is the part,
		// and Complete with its ETag succeeds.
		f := newFixture(t, newStore)
		ctx := t.Context()
		id := f.createUpload("k", store.UploadInput{})
		slow, fast := Data(10, 300<<10), Data(11, 200<<10)
		pr, pw := io.Pipe()
		slowDone := make(chan error, 1)
		go func() {
			b := NewBody(t, pr, "")
			_, err := f.s.UploadPart(ctx, f.bucket, "k", id, 1, b.Input(int64(len(slow))))
			slowDone <- err
		}()
		if _, err := pw.Write(slow[:100<<10]); err != nil {
			t.Fatal(err)
		}
		fastDone := make(chan error, 1)
		go func() {
			_, err := f.s.UploadPart(ctx, f.bucket, "k", id, 1, Input(t, fast, ""))
			fastDone <- err
		}()
		// A store may serialise uploads of one part number: then the
		// re-sent part waits for the slow one and finishes last.
		last, other := slow, fast
		select {
		case err := <-fastDone:
			if err != nil {
				t.Fatalf("re-sent part: %v", err)
			}
			fastDone = nil
		case <-time.After(2 * time.Second):
			last, other = fast, slow
		}
		if _, err := pw.Write(slow[100<<10:]); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		if err := <-slowDone; err != nil {
			t.Fatalf("slow part: %v", err)
		}
		if fastDone != nil {
			if err := <-fastDone; err != nil {
				t.Fatalf("re-sent part: %v", err)
			}
		}
		lp, err := f.s.ListParts(ctx, f.bucket, "k", id, 0, 0)
		if err != nil || len(lp.Parts) != 1 || lp.Parts[0].ETag != MD5Hex(last) {
			t.Fatalf("ListParts = %+v, %v; want the part that finished last (%d bytes)", lp, err, len(last))
		}
		f.wantUsage(int64(len(last)), 0)
		_, err = f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, []store.CompletePart{{Number: 1, ETag: MD5Hex(other)}}, store.CompleteInput{})
		wantErr(t, "Complete with the overwritten part's ETag", err, store.ErrInvalidPart)
		if _, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, []store.CompletePart{{Number: 1, ETag: MD5Hex(last)}}, store.CompleteInput{}); err != nil {
			t.Fatalf("Complete with the last part's ETag: %v", err)
		}
		f.wantContent("k", last)
		f.wantUsage(int64(len(last)), 1)
	})
	t.Run("ListParts", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		id := f.createUpload("k", store.UploadInput{ChecksumAlgorithm: store.CRC32, ChecksumType: store.Composite})
		numbers := []int{8, 1, 5, 2, 3, store.MaxPartNumber}
		for _, n := range numbers {
			f.uploadPart("k", id, n, []byte(fmt.Sprint("part ", n)), store.CRC32)
		}
		type step struct {
			after, limit int
			want         []int
			truncated    bool
		}
		for _, s := range []step{
			{0, 2, []int{1, 2}, true}, {2, 2, []int{3, 5}, true}, {5, 2, []int{8, store.MaxPartNumber}, false},
			{0, 0, []int{1, 2, 3, 5, 8, store.MaxPartNumber}, false}, {4, 1, []int{5}, true},
			{8, 5, []int{store.MaxPartNumber}, false}, {store.MaxPartNumber, 1, nil, false},
		} {
			lp, err := f.s.ListParts(ctx, f.bucket, "k", id, s.after, s.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, p := range lp.Parts {
				got = append(got, p.Number)
				if want := []byte(fmt.Sprint("part ", p.Number)); p.ETag != MD5Hex(want) || p.Checksum != checksumOf(t, store.CRC32, want) {
					t.Errorf("part %d = %+v", p.Number, p)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(s.want) || lp.Truncated != s.truncated {
				t.Errorf("ListParts(after %d, limit %d) = %v truncated %v; want %v %v", s.after, s.limit, got, lp.Truncated, s.want, s.truncated)
			}
			if len(got) > 0 && lp.Next != got[len(got)-1] {
				t.Errorf("ListParts(after %d, limit %d).Next = %d", s.after, s.limit, lp.Next)
			}
			if u := lp.Upload; u.Key != "k" || u.UploadID != id || u.ChecksumAlgorithm != store.CRC32 || u.ChecksumType != store.Composite {
				t.Errorf("ListParts.Upload = %+v", u)
			}
		}
	})
	t.Run("CompleteErrors", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		id := f.createUpload("k", store.UploadInput{ChecksumAlgorithm: store.CRC32C, ChecksumType: store.Composite})
		one := f.uploadPart("k", id, 1, []byte("one"), store.CRC32C)
		two := f.uploadPart("k", id, 2, []byte("two"), store.CRC32C)
		three := f.uploadPart("k", id, 3, []byte("three"), store.CRC32C)
		cp := func(p *store.Part) store.CompletePart { return store.CompletePart{Number: p.Number, ETag: p.ETag} }
		complete := func(parts ...store.CompletePart) error {
			_, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, parts, store.CompleteInput{})
			return err
		}
		wantErr(t, "descending parts", complete(cp(two), cp(one)), store.ErrInvalidPartOrder)
		wantErr(t, "repeated part", complete(cp(one), cp(one)), store.ErrInvalidPartOrder)
		wantErr(t, "wrong ETag", complete(store.CompletePart{Number: 1, ETag: two.ETag}), store.ErrInvalidPart)
		wantErr(t, "part not uploaded", complete(store.CompletePart{Number: 4, ETag: one.ETag}), store.ErrInvalidPart)
		wantErr(t, "wrong checksum", complete(store.CompletePart{Number: 3, ETag: three.ETag, Checksum: one.Checksum}), store.ErrInvalidPart)
		wantErr(t, "small part not last", complete(cp(one), cp(two)), store.ErrEntityTooSmall)
		wantErr(t, "small parts not last", complete(cp(one), cp(three)), store.ErrEntityTooSmall)
		f.wantAbsent("k")
		// The upload survived every failure.
		lp, err := f.s.ListParts(ctx, f.bucket, "k", id, 0, 0)
		if err != nil || len(lp.Parts) != 3 {
			t.Fatalf("ListParts after failed completes = %+v, %v", lp, err)
		}
		// A single small part is fine (it is the last); unlisted parts go.
		if err := complete(store.CompletePart{Number: 3, ETag: three.ETag, Checksum: three.Checksum}); err != nil {
			t.Fatalf("Complete with one small part: %v", err)
		}
		f.wantContent("k", []byte("three"))
		f.wantUsage(5, 1)
	})
	t.Run("Unlisted", func(t *testing.T) {
		f := newFixture(t, newStore)
		p1, p3 := bigPart(0), Data(3, 10)
		id := f.createUpload("k", store.UploadInput{})
		a := f.uploadPart("k", id, 1, p1, "")
		f.uploadPart("k", id, 2, Data(2, 1000), "")
		c := f.uploadPart("k", id, 3, p3, "")
		f.uploadPart("k", id, 4, Data(4, 100), "")
		o, err := f.s.CompleteMultipartUpload(t.Context(), f.bucket, "k", id,
			[]store.CompletePart{{Number: 1, ETag: a.ETag}, {Number: 3, ETag: c.ETag}}, store.CompleteInput{})
		if err != nil {
			t.Fatal(err)
		}
		whole := append(bytes.Clone(p1), p3...)
		if o.ETag != multipartETag(p1, p3) || len(o.Parts) != 2 || o.Parts[1].Number != 3 || o.Parts[1].Size != 10 {
			t.Errorf("Complete = ETag %s parts %+v", o.ETag, o.Parts)
		}
		f.wantContent("k", whole)
		f.wantUsage(int64(len(whole)), 1)
	})
	t.Run("Empty", func(t *testing.T) {
		f := newFixture(t, newStore)
		whole, o := f.multipart("k", "", "", nil)
		if len(whole) != 0 || o.Size != 0 || o.ETag != multipartETag(nil) {
			t.Errorf("empty multipart object = %+v", o)
		}
		f.wantContent("k", nil)
		got, err := f.getRange("k", 0, -1)
		if err != nil || len(got) != 0 {
			t.Errorf("read empty multipart object = %q, %v", got, err)
		}
	})
	t.Run("Abort", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		id := f.createUpload("k", store.UploadInput{})
		f.uploadPart("k", id, 1, Data(1, 100), "")
		f.uploadPart("k", id, 2, Data(2, 300<<10), "")
		f.wantUsage(100+300<<10, 0)
		if err := f.s.AbortMultipartUpload(ctx, f.bucket, "k", id); err != nil {
			t.Fatal(err)
		}
		f.wantUsage(0, 0)
		f.wantNoUpload("k", id)
		f.wantAbsent("k")
		if up, err := f.s.ListMultipartUploads(ctx, f.bucket, store.UploadsOptions{}); err != nil || len(up.Uploads) != 0 {
			t.Errorf("ListMultipartUploads after abort = %+v, %v", up, err)
		}
		if err := f.s.DeleteBucket(ctx, f.bucket); err != nil {
			t.Errorf("DeleteBucket after abort: %v", err)
		}
	})
	t.Run("NoSuchUpload", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		if err := f.s.CreateBucket(ctx, "other"); err != nil {
			t.Fatal(err)
		}
		id := f.createUpload("k", store.UploadInput{})
		p := f.uploadPart("k", id, 1, []byte("x"), "")
		for _, bad := range []string{"", "nope", id + "x", id[:len(id)-1], strings.ToUpper(id), strings.ToLower(id), mangle(id)} {
			if bad == id {
				continue
			}
			f.wantNoUpload("k", bad)
		}
		f.wantNoUpload("other-key", id)
		_, err := f.s.UploadPart(ctx, "other", "k", id, 1, Input(t, []byte("x"), ""))
		wantErr(t, "UploadPart in another bucket", err, store.ErrNoSuchUpload)
		_, err = f.s.ListParts(ctx, "other", "k", id, 0, 0)
		wantErr(t, "ListParts in another bucket", err, store.ErrNoSuchUpload)
		// Still usable, then gone once completed (but for a repeated
		// Complete: see RepeatComplete).
		if _, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, []store.CompletePart{{Number: 1, ETag: p.ETag}}, store.CompleteInput{}); err != nil {
			t.Fatal(err)
		}
		_, err = f.s.UploadPart(ctx, f.bucket, "k", id, 1, Input(t, []byte("x"), ""))
		wantErr(t, "UploadPart after complete", err, store.ErrNoSuchUpload)
		_, err = f.s.ListParts(ctx, f.bucket, "k", id, 0, 0)
		wantErr(t, "ListParts after complete", err, store.ErrNoSuchUpload)
		err = f.s.AbortMultipartUpload(ctx, f.bucket, "k", id)
		wantErr(t, "AbortMultipartUpload after complete", err, store.ErrNoSuchUpload)
		f.wantContent("k", []byte("x"))
	})
	t.Run("RepeatComplete", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		p1, p2 := bigPart(1), Data(5, 77)
		id := f.createUpload("k", store.UploadInput{ChecksumAlgorithm: store.SHA256})
		a := f.uploadPart("k", id, 1, p1, store.SHA256)
		b := f.uploadPart("k", id, 2, p2, store.SHA256)
		parts := []store.CompletePart{{Number: 1, ETag: a.ETag, Checksum: a.Checksum}, {Number: 2, ETag: b.ETag}}
		first, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, parts, store.CompleteInput{})
		if err != nil {
			t.Fatal(err)
		}
		whole := append(bytes.Clone(p1), p2...)
		if h, err := f.s.HeadObject(ctx, f.bucket, "k"); err != nil || h.UploadID != id || first.UploadID != id {
			t.Errorf("UploadID of the completed object: Head %+v, %v; Complete %q; want %q", h, err, first.UploadID, id)
		}
		// The same request again (an SDK retrying a lost answer), even
		// with a condition that no longer holds, answers the object.
		for _, cond := range []store.Conditions{{}, {IfNoneMatch: "*"}} {
			again, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, parts, store.CompleteInput{Cond: cond})
			if err != nil {
				t.Fatalf("repeated Complete (%+v): %v", cond, err)
			}
			if again.ETag != first.ETag || again.Size != int64(len(whole)) || again.Checksum != first.Checksum {
				t.Errorf("repeated Complete = ETag %s size %d checksum %+v, want %s %d %+v",
					again.ETag, again.Size, again.Checksum, first.ETag, len(whole), first.Checksum)
			}
		}
		f.wantContent("k", whole)
		f.wantUsage(int64(len(whole)), 1)
		// Another part list, another key or another upload is not a repeat.
		for what, c := range map[string]struct {
			key, id string
			parts   []store.CompletePart
		}{
			"fewer parts":    {"k", id, parts[:1]},
			"another ETag":   {"k", id, []store.CompletePart{parts[0], {Number: 2, ETag: a.ETag}}},
			"another key":    {"k2", id, parts},
			"another id":     {"k", mangle(id), parts},
			"wrong checksum": {"k", id, []store.CompletePart{{Number: 1, ETag: a.ETag, Checksum: b.Checksum}, parts[1]}},
		} {
			_, err := f.s.CompleteMultipartUpload(ctx, f.bucket, c.key, c.id, c.parts, store.CompleteInput{})
			wantErr(t, what, err, store.ErrNoSuchUpload)
		}
		// Once the object is replaced, the upload is gone for good.
		f.put("k", []byte("new"))
		if h, err := f.s.HeadObject(ctx, f.bucket, "k"); err != nil || h.UploadID != "" {
			t.Errorf("UploadID after an overwrite: %+v, %v", h, err)
		}
		_, err = f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, parts, store.CompleteInput{})
		wantErr(t, "Complete after an overwrite", err, store.ErrNoSuchUpload)
		f.wantContent("k", []byte("new"))
		f.wantUsage(3, 1)
	})
	t.Run("UploadIDs", func(t *testing.T) {
		f := newFixture(t, newStore)
		seen := map[string]bool{}
		for range 50 {
			id := f.createUpload("k", store.UploadInput{})
			if seen[id] || len(id) < 16 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~") != "" {
				t.Errorf("upload id %q repeated, short, or not URL-safe", id)
			}
			seen[id] = true
		}
	})
	t.Run("PartNumbers", func(t *testing.T) {
		f := newFixture(t, newStore)
		id := f.createUpload("k", store.UploadInput{})
		for _, n := range []int{0, -1, store.MaxPartNumber + 1} {
			if _, err := f.s.UploadPart(t.Context(), f.bucket, "k", id, n, Input(t, []byte("x"), "")); err == nil {
				t.Errorf("UploadPart(%d) succeeded", n)
			}
		}
		f.uploadPart("k", id, store.MaxPartNumber, []byte("x"), "")
		f.wantUsage(1, 0)
	})
	t.Run("Checksums", func(t *testing.T) {
		for _, c := range []struct{ alg, typ string }{
			{store.CRC32C, store.Composite}, {store.SHA1, store.Composite},
			{store.CRC64NVME, store.FullObject}, {store.CRC32, store.FullObject},
		} {
			t.Run(c.alg+"/"+c.typ, func(t *testing.T) {
				f := newFixture(t, newStore)
				p1, p2 := bigPart(2), Data(2, 4321)
				whole, o := f.multipart("k", c.alg, c.typ, p1, p2)
				want := store.Checksum{Algorithm: c.alg, Type: c.typ, Value: checksumOf(t, c.alg, whole)}
				if c.typ == store.Composite {
					want.Value = compositeChecksum(t, c.alg, p1, p2)
				}
				h, err := f.s.HeadObject(t.Context(), f.bucket, "k")
				if err != nil {
					t.Fatal(err)
				}
				for what, got := range map[string]*store.Object{"Complete": o, "Head": h} {
					if got.Checksum != want {
						t.Errorf("%s.Checksum = %+v, want %+v", what, got.Checksum, want)
					}
					for i, p := range [][]byte{p1, p2} {
						if len(got.Parts) != 2 || got.Parts[i].Checksum != checksumOf(t, c.alg, p) {
							t.Errorf("%s.Parts = %+v", what, got.Parts)
							break
						}
					}
				}
			})
		}
	})
	t.Run("Conditions", func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		f.put("k", []byte("existing"))
		id := f.createUpload("k", store.UploadInput{})
		p := f.uploadPart("k", id, 1, []byte("new"), "")
		parts := []store.CompletePart{{Number: 1, ETag: p.ETag}}
		_, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, parts, store.CompleteInput{Cond: store.Conditions{IfNoneMatch: "*"}})
		wantErr(t, "Complete IfNoneMatch * on an existing key", err, store.ErrPreconditionFailed)
		_, err = f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, parts, store.CompleteInput{Cond: store.Conditions{IfMatch: MD5Hex([]byte("other"))}})
		wantErr(t, "Complete IfMatch wrong", err, store.ErrPreconditionFailed)
		f.wantContent("k", []byte("existing"))
		_, err = f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, parts, store.CompleteInput{Cond: store.Conditions{IfNoneMatch: `"` + MD5Hex([]byte("other")) + `", ` + MD5Hex([]byte("existing"))}})
		wantErr(t, "Complete IfNoneMatch listing the current ETag", err, store.ErrPreconditionFailed)
		other := f.createUpload("absent", store.UploadInput{})
		op := f.uploadPart("absent", other, 1, []byte("new"), "")
		_, err = f.s.CompleteMultipartUpload(ctx, f.bucket, "absent", other, []store.CompletePart{{Number: 1, ETag: op.ETag}}, store.CompleteInput{Cond: store.Conditions{IfMatch: "*"}})
		wantErr(t, "Complete IfMatch * on an absent key", err, store.ErrPreconditionFailed)
		if err := f.s.AbortMultipartUpload(ctx, f.bucket, "absent", other); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.CompleteMultipartUpload(ctx, f.bucket, "k", id, parts, store.CompleteInput{Cond: store.Conditions{IfMatch: "*", IfNoneMatch: MD5Hex([]byte("other"))}}); err != nil {
			t.Fatalf("Complete IfMatch right: %v", err)
		}
		f.wantContent("k", []byte("new"))
		f.wantUsage(3, 1)
	})
	t.Run("ListUploads", testListUploads(newStore))
}

// mangle changes one character of an id, keeping its form.
func mangle(id string) string {
	b := []byte(id)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// wantNoUpload checks that every upload operation says ErrNoSuchUpload.
func (f *fixture) wantNoUpload(key, id string) {
	f.t.Helper()
	ctx := f.t.Context()
	_, err := f.s.UploadPart(ctx, f.bucket, key, id, 1, Input(f.t, []byte("x"), ""))
	wantErr(f.t, fmt.Sprintf("UploadPart(%q, %q)", key, id), err, store.ErrNoSuchUpload)
	_, err = f.s.ListParts(ctx, f.bucket, key, id, 0, 0)
	wantErr(f.t, fmt.Sprintf("ListParts(%q, %q)", key, id), err, store.ErrNoSuchUpload)
	_, err = f.s.CompleteMultipartUpload(ctx, f.bucket, key, id, []store.CompletePart{{Number: 1, ETag: MD5Hex([]byte("x"))}}, store.CompleteInput{})
	wantErr(f.t, fmt.Sprintf("CompleteMultipartUpload(%q, %q)", key, id), err, store.ErrNoSuchUpload)
	err = f.s.AbortMultipartUpload(ctx, f.bucket, key, id)
	wantErr(f.t, fmt.Sprintf("AbortMultipartUpload(%q, %q)", key, id), err, store.ErrNoSuchUpload)
}

func testListUploads(newStore func(t *testing.T) store.Store) func(t *testing.T) {
	return func(t *testing.T) {
		f := newFixture(t, newStore)
		ctx := t.Context()
		// Created out of key order; "b" twice, in order.
		type up struct{ key, id string }
		var ups []up
		for _, k := range []string{"c/e", "b", "a", "c/d", "b", "a-b", "d"} {
			ups = append(ups, up{k, f.createUpload(k, store.UploadInput{Meta: store.Metadata{ContentType: "t/" + k}})})
			time.Sleep(2 * time.Millisecond) // distinct initiation times
		}
		// Expected order: by key, then initiation.
		order := []up{ups[2], ups[5], ups[1], ups[4], ups[3], ups[0], ups[6]}
		page, err := f.s.ListMultipartUploads(ctx, f.bucket, store.UploadsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Uploads) != len(order) || page.Truncated {
			t.Fatalf("ListMultipartUploads = %+v", page)
		}
		for i, u := range page.Uploads {
			if u.Key != order[i].key || u.UploadID != order[i].id || !recent(u.Initiated) || u.Meta.ContentType != "t/"+u.Key {
				t.Errorf("upload %d = %+v, want %+v", i, u, order[i])
			}
			if i > 0 && u.Key == page.Uploads[i-1].Key && u.Initiated.Before(page.Uploads[i-1].Initiated) {
				t.Errorf("uploads of %q not in initiation order", u.Key)
			}
		}
		// Paging with markers, one at a time.
		var got []up
		opts := store.UploadsOptions{Limit: 1}
		for range 20 {
			p, err := f.s.ListMultipartUploads(ctx, f.bucket, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range p.Uploads {
				got = append(got, up{u.Key, u.UploadID})
			}
			if !p.Truncated {
				break
			}
			if len(p.Uploads) != 1 || p.NextKeyMarker != p.Uploads[0].Key || p.NextUploadIDMarker != p.Uploads[0].UploadID {
				t.Fatalf("page %+v", p)
			}
			opts.KeyMarker, opts.UploadIDMarker = p.NextKeyMarker, p.NextUploadIDMarker
		}
		if fmt.Sprint(got) != fmt.Sprint(order) {
			t.Errorf("paged uploads = %v, want %v", got, order)
		}
		keysOf := func(p *store.UploadsPage) string {
			var s []string
			for _, u := range p.Uploads {
				s = append(s, u.Key)
			}
			return fmt.Sprint(s, p.CommonPrefixes)
		}
		for _, c := range []struct {
			opts store.UploadsOptions
			want string
		}{
			{store.UploadsOptions{KeyMarker: "b"}, "[c/d c/e d] []"},
			{store.UploadsOptions{KeyMarker: "b", UploadIDMarker: ups[1].id}, "[b c/d c/e d] []"},
			{store.UploadsOptions{KeyMarker: "a-"}, "[a-b b b c/d c/e d] []"},
			{store.UploadsOptions{Prefix: "c/"}, "[c/d c/e] []"},
			{store.UploadsOptions{Delimiter: "/"}, "[a a-b b b d] [c/]"},
			{store.UploadsOptions{Delimiter: "-"}, "[a b b c/d c/e d] [a-]"},
			{store.UploadsOptions{Delimiter: "/", KeyMarker: "c/"}, "[d] []"},
			{store.UploadsOptions{Delimiter: "/", KeyMarker: "c/d"}, "[d] []"},
			{store.UploadsOptions{Prefix: "c/", Delimiter: "/"}, "[c/d c/e] []"},
			{store.UploadsOptions{Prefix: "zz"}, "[] []"},
		} {
			p, err := f.s.ListMultipartUploads(ctx, f.bucket, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := keysOf(p); got != c.want {
				t.Errorf("ListMultipartUploads(%+v) = %s, want %s", c.opts, got, c.want)
			}
		}
		p, err := f.s.ListMultipartUploads(ctx, f.bucket, store.UploadsOptions{Delimiter: "/", Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		if keysOf(p) != "[a a-b b b] []" || !p.Truncated || p.NextKeyMarker != "b" || p.NextUploadIDMarker != ups[4].id {
			t.Errorf("first page = %s truncated %v next %q/%q", keysOf(p), p.Truncated, p.NextKeyMarker, p.NextUploadIDMarker)
		}
		p, err = f.s.ListMultipartUploads(ctx, f.bucket, store.UploadsOptions{Delimiter: "/", Limit: 1, KeyMarker: "b", UploadIDMarker: ups[4].id})
		if err != nil {
			t.Fatal(err)
		}
		if keysOf(p) != "[] [c/]" || !p.Truncated || p.NextKeyMarker != "c/" {
			t.Errorf("prefix page = %s truncated %v next %q", keysOf(p), p.Truncated, p.NextKeyMarker)
		}
	}
}
