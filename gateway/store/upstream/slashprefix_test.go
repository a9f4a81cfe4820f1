package upstream

import (
	"slices"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

// TestListSlashPrefix: listings whose prefix, delimiter or start point
// begin with "/" or hold ".." or "//" (names an S3 engine with a
// filesystem namespace refuses) answer like any other listing.
func TestListSlashPrefix(t *testing.T) {
	srv := server(t, 1)
	s := open(t, config(srv, newPrefix(t)))
	ctx := t.Context()
	if err := s.CreateBucket(ctx, "slash"); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a", "a/b", "a//c", "b./d", "z"}
	for _, k := range keys {
		if _, err := s.PutObject(ctx, "slash", k, storetest.Input(t, []byte(k), "")); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	for _, tt := range []struct {
		prefix, delim, after string
		want                 []string
	}{
		{"/", "", "", nil},
		{"/", "/", "", nil},
		{"//", "", "", nil},
		{"/a", "/", "", nil},
		{"a/", "/", "", []string{"a//", "a/b"}},
		{"a//", "", "", []string{"a//c"}},
		{"..", "", "", nil},
		{"../", "/", "", nil},
		{"b.", "/", "", []string{"b./"}},
		{"", "/", "/", []string{"a", "a/", "b./", "z"}},
		{"", "", "/x", []string{"a", "a//c", "a/b", "b./d", "z"}},
	} {
		page, err := s.ListObjects(ctx, "slash", store.ListOptions{Prefix: tt.prefix, Delimiter: tt.delim, After: tt.after})
		if err != nil {
			t.Errorf("list prefix %q delim %q after %q: %v", tt.prefix, tt.delim, tt.after, err)
			continue
		}
		got := slices.Clone(page.CommonPrefixes)
		for _, o := range page.Objects {
			got = append(got, o.Key)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("list prefix %q delim %q after %q: %q, want %q", tt.prefix, tt.delim, tt.after, got, tt.want)
		}
	}
	// Uploads likewise.
	if _, err := s.CreateMultipartUpload(ctx, "slash", "a/b", store.UploadInput{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "//", "/a"} {
		page, err := s.ListMultipartUploads(ctx, "slash", store.UploadsOptions{Prefix: p})
		if err != nil || len(page.Uploads) != 0 {
			t.Errorf("uploads under %q: %+v, %v; want none", p, page, err)
		}
	}
	if page, err := s.ListMultipartUploads(ctx, "slash", store.UploadsOptions{Prefix: "a/"}); err != nil || len(page.Uploads) != 1 {
		t.Errorf("uploads under \"a/\": %+v, %v; want one", page, err)
	}
}
