package sse

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// KeySize is the size of every key: order keys, data keys and SSE-C
// customer keys (AES-256).
const KeySize = 32

// ErrWrongKey: the SSE-C key given is not the one the object was stored
// with.
var ErrWrongKey = errors.New("sse: the customer key does not match the object's")

// Keyring holds an order's keys: each wraps the data keys of the objects
// written while it was the newest. Keys are never logged.
type Keyring struct {
	ids    []string // in file order; the last is the active key
	keys   map[string]cipher.AEAD
	active string
}

// KeyFileName is the key file's name in an embedded store's directory.
const KeyFileName = "sse.keys"

// OpenKeyring reads the key file at path: one key a line, "<id> <64 hex
// digits>", '#' comments; the last key wraps new objects, the others stay
// to unwrap older ones. A missing file is created with one new key (mode
// 0600). A file others may read, or without keys, is an error.
func OpenKeyring(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := AddKey(path); err != nil {
			return nil, err
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("sse: key file: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sse: key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("sse: key file %s may be read by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	kr, err := ParseKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("sse: key file %s: %w", path, err)
	}
	return kr, nil
}

// ParseKeyring parses a key file's contents (see OpenKeyring).
func ParseKeyring(data []byte) (*Keyring, error) {
	kr := &Keyring{keys: map[string]cipher.AEAD{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		id, hexKey, ok := strings.Cut(text, " ")
		key, err := hex.DecodeString(strings.TrimSpace(hexKey))
		if !ok || err != nil || len(key) != KeySize || !validKeyID(id) {
			return nil, fmt.Errorf("line %d: want \"<id> <64 hex digits>\" (id: letters, digits, '-', '_', '.')", line)
		}
		if _, dup := kr.keys[id]; dup {
			return nil, fmt.Errorf("line %d: key id %q repeated", line, id)
		}
		kr.keys[id] = newAEAD(key)
		kr.ids = append(kr.ids, id)
		kr.active = id
	}
	if kr.active == "" {
		return nil, errors.New("no keys")
	}
	return kr, nil
}

// validKeyID accepts the ids a descriptor can carry.
func validKeyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.", c)) {
			return false
		}
	}
	return true
}

// AddKey appends a new random key to the key file at path (creating it,
// mode 0600) and returns its id: the next number after the file's keys.
// The new key wraps objects written once the gateway reads the file
// again; the older keys stay to unwrap the objects they wrapped.
func AddKey(path string) (string, error) {
	n := 1
	if data, err := os.ReadFile(path); err == nil {
		kr, err := ParseKeyring(data)
		if err != nil {
			return "", fmt.Errorf("sse: key file %s: %w", path, err)
		}
		n = len(kr.ids) + 1
		for kr.keys[fmt.Sprint(n)] != nil {
			n++
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("sse: key file: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	id := fmt.Sprint(n)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("sse: key file: %w", err)
	}
	_, err = fmt.Fprintf(f, "%s %s\n", id, hex.EncodeToString(key))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("sse: key file: %w", err)
	}
	return id, nil
}

// Active returns the id of the key that wraps new objects.
func (kr *Keyring) Active() string { return kr.active }

// newAEAD returns AES-256-GCM under key.
func newAEAD(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // key is always KeySize bytes
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return g
}

// wrap seals the data key dk under kek, bound to label.
func wrap(kek cipher.AEAD, dk []byte, label string) []byte {
	nonce := make([]byte, nonceSize, nonceSize+KeySize+tagSize)
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return kek.Seal(nonce, nonce, dk, []byte(label))
}

// unwrap opens a wrapped data key.
func unwrap(kek cipher.AEAD, w []byte, label string) ([]byte, error) {
	if len(w) != nonceSize+KeySize+tagSize {
		return nil, errors.New("sse: malformed wrapped key")
	}
	return kek.Open(nil, w[:nonceSize], w[nonceSize:], []byte(label))
}

// customerKEK derives the key that wraps an SSE-C object's data key from
// the customer's key and the object's random salt.
func customerKEK(customerKey, salt []byte) cipher.AEAD {
	m := hmac.New(sha256.New, customerKey)
	m.Write([]byte("storagecli sse-c v1"))
	m.Write(salt)
	return newAEAD(m.Sum(nil))
}
