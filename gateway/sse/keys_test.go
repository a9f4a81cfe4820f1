package sse

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	if d2, _ := kr2.NewS3(); d2.Ref != "2" {
		t.Fatalf("new objects wrapped by key %q after rotation", d2.Ref)
	}
	// the old key still unwraps the old object
	got, err := kr2.Open(d1, nil)
	if err != nil || !bytes.Equal(got.etagKey, k1.etagKey) {
		t.Fatalf("old object after rotation: %v", err)
	}
	// a key file without the old key cannot open it
	only2, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(only2)), "\n")
	kr3, err := ParseKeyring([]byte(lines[len(lines)-1])) // key 2 only
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr3.Open(d1, nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
}

// TestKeyFileCreatedOnce: gateways opening a missing key file together
// all get the one key that was created.
func TestKeyFileCreatedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFileName)
	rings := make([]*Keyring, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range rings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rings[i], errs[i] = OpenKeyring(path)
		}()
	}
	wg.Wait()
	d, _ := rings[0].NewS3()
	for i, kr := range rings {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if _, err := kr.Open(d, nil); err != nil {
			t.Fatalf("keyring %d has another key: %v", i, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("%d files left in the directory", len(entries))
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
