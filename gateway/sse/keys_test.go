package sse

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyFileCreatedAndRotated(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFileName)
	kr, err := OpenKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	d1, k1 := kr.NewS3()
	if d1.Ref != "1" {
		t.Fatalf("first key id %q", d1.Ref)
	}
	id, err := AddKey(path)
	if err != nil || id != "2" {
		t.Fatalf("AddKey = %q, %v", id, err)
	}
	kr2, err := OpenKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if kr2.Active() != "2" {
		t.Fatalf("active key %q after rotation", kr2.Active())
	}
	// the old key still unwraps the old object
	got, err := kr2.Open(d1, nil)
	if err != nil || !bytes.Equal(got.etagKey, k1.etagKey) {
		t.Fatalf("old object after rotation: %v", err)
	}
	// rewrap moves it to the new key, same data key
	nd, ok, err := kr2.Rewrap(d1)
	if err != nil || !ok || nd.Ref != "2" {
		t.Fatalf("Rewrap = %+v, %v, %v", nd, ok, err)
	}
	got, err = kr2.Open(nd, nil)
	if err != nil || !bytes.Equal(got.etagKey, k1.etagKey) {
		t.Fatalf("rewrapped object: %v", err)
	}
	// a key file without the old key cannot open it
	only2, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(only2), "\n")
	kr3, err := ParseKeyring([]byte(lines[1]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr3.Open(d1, nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
}

func TestKeyFileRefused(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		content string
		mode    os.FileMode
	}{
		"readable by others": {"1 " + strings.Repeat("ab", 32) + "\n", 0o644},
		"no keys":            {"# nothing\n", 0o600},
		"short key":          {"1 abcd\n", 0o600},
		"repeated id":        {"1 " + strings.Repeat("ab", 32) + "\n1 " + strings.Repeat("cd", 32) + "\n", 0o600},
		"bad id":             {"a/b " + strings.Repeat("ab", 32) + "\n", 0o600},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
			if err := os.WriteFile(path, []byte(c.content), c.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, c.mode)
			if _, err := OpenKeyring(path); err == nil {
				t.Fatal("accepted")
			} else if strings.Contains(err.Error(), strings.Repeat("ab", 32)) {
				t.Fatal("the error shows the key")
			}
		})
	}
}

func TestCustomerKey(t *testing.T) {
	kr, err := ParseKeyring([]byte("1 " + strings.Repeat("00", 32)))
	if err != nil {
		t.Fatal(err)
	}
	ck := bytes.Repeat([]byte{7}, KeySize)
	d, k := NewC(ck)
	parsed, err := ParseDescriptor(d.String())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.String(), string(ck)) {
		t.Fatal("descriptor holds the key")
	}
	for name, c := range map[string]struct {
		key  []byte
		want error
	}{
		"right key": {ck, nil},
		"no key":    {nil, ErrKeyMissing},
		"wrong key": {bytes.Repeat([]byte{8}, KeySize), ErrWrongKey},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := kr.Open(parsed, c.key)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err == nil && !bytes.Equal(got.ETag([]byte("x")), k.ETag([]byte("x"))) {
				t.Fatal("another data key")
			}
		})
	}
}

func TestDescriptorParse(t *testing.T) {
	for _, s := range []string{"X 1 AAAA", "S3 1", "S3 1 !!!", "S3 1 AAAA -5", "S3 1 AAAA 5 6"} {
		if _, err := ParseDescriptor(s); err == nil {
			t.Errorf("ParseDescriptor(%q) accepted", s)
		}
	}
	d := &Descriptor{Mode: ModeS3, Ref: "7", Wrapped: []byte{1, 2, 3}, Size: 42}
	got, err := ParseDescriptor(d.String())
	if err != nil || got.Size != 42 || got.Ref != "7" || !bytes.Equal(got.Wrapped, d.Wrapped) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
}
