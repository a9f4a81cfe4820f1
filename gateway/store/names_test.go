package store

import (
	"strings"
	"testing"
)

func TestValidBucketName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"abc", true}, {"my-bucket.data", true}, {"a1b2c3", true}, {strings.Repeat("a", 63), true},
		{"ab", false}, {strings.Repeat("a", 64), false}, {"Abc", false}, {"a_b", false},
		{"-ab", false}, {"ab-", false}, {".ab", false}, {"a..b", false}, {"a.-b", false},
		{"10.0.0.1", false}, {"a b", false}, {"", false},
	} {
		if got := ValidBucketName(c.name); got != c.ok {
			t.Errorf("ValidBucketName(%q) = %v, want %v", c.name, got, c.ok)
		}
	}
}

func TestValidKey(t *testing.T) {
	for _, c := range []struct {
		key string
		ok  bool
	}{
		{"a", true}, {"a/b", true}, {"a/", true}, {"dir/sub/", true}, {"ü/日本", true},
		{"a..b", true}, {"..a", true}, {"a/...", true}, {"sp ace+%", true}, {strings.Repeat("k", 1024), true},
		{"", false}, {strings.Repeat("k", 1025), false}, {"/abs", false}, {"..", false}, {"../x", false},
		{"a/../b", false}, {"a/..", false}, {"./a", false}, {"a/./b", false}, {"nul\x00", false}, {"bad\xffutf8", false},
	} {
		if got := ValidKey(c.key); got != c.ok {
			t.Errorf("ValidKey(%q) = %v, want %v", c.key, got, c.ok)
		}
	}
}

func TestCommonPrefix(t *testing.T) {
	for _, tc := range []struct {
		key, prefix, delim string
		want               string
		ok                 bool
	}{
		{"a/b/c", "", "/", "a/", true},
		{"a/b/c", "a/", "/", "a/b/", true},
		{"a/b", "a/b", "/", "", false},
		{"a/b", "x", "/", "", false},
		{"a/b", "", "", "", false},
		{"photos2024-01", "photos", "-", "photos2024-", true},
		{"a::b::c", "a", "::", "a::", true},
		{"abc", "", "c", "abc", true},
	} {
		got, ok := CommonPrefix(tc.key, tc.prefix, tc.delim)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CommonPrefix(%q, %q, %q) = %q, %v; want %q, %v", tc.key, tc.prefix, tc.delim, got, ok, tc.want, tc.ok)
		}
	}
}
