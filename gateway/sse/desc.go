package sse

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Encryption modes, as a descriptor names them.
const (
	ModeS3 = "S3" // SSE-S3: the data key is wrapped by an order key
	ModeC  = "C"  // SSE-C: the data key is wrapped by a key derived from the customer's
)

// Labels bind wrapped keys to their mode.
const (
	labelS3 = "storagecli sse-s3 v1"
	labelC  = "storagecli sse-c v1"
)

// ErrKeyMissing: the object is stored with SSE-C and the request did not
// give the key.
var ErrKeyMissing = errors.New("sse: the object is encrypted with a customer key the request does not give")

// ErrUnknownKey: the order key that wrapped the object's data key is not
// in the key file (a key removed after rotation).
var ErrUnknownKey = errors.New("sse: the order key that wrapped the object's key is not in the key file")

// Descriptor is how an object or upload is encrypted: kept in its
// Metadata.Encryption (store.Metadata), never holding a key in clear.
type Descriptor struct {
	Mode    string
	Ref     string // ModeS3: the order key's id; ModeC: base64 of the salt
	Wrapped []byte // the wrapped data key
	// Size is the plaintext size of an object made by
	// CompleteMultipartUpload (its stored size does not tell it); -1
	// otherwise.
	Size int64
}

// String is the descriptor's stored form: "<mode> <ref> <wrapped>[ <size>]".
func (d *Descriptor) String() string {
	s := d.Mode + " " + d.Ref + " " + base64.RawStdEncoding.EncodeToString(d.Wrapped)
	if d.Size >= 0 {
		s += " " + strconv.FormatInt(d.Size, 10)
	}
	return s
}

// ParseDescriptor parses a stored descriptor; "" (an unencrypted object)
// is nil without error.
func ParseDescriptor(s string) (*Descriptor, error) {
	if s == "" {
		return nil, nil
	}
	f := strings.Split(s, " ")
	d := &Descriptor{Size: -1}
	var err error
	if len(f) < 3 || len(f) > 4 || (f[0] != ModeS3 && f[0] != ModeC) {
		return nil, fmt.Errorf("sse: malformed descriptor")
	}
	d.Mode, d.Ref = f[0], f[1]
	if d.Wrapped, err = base64.RawStdEncoding.DecodeString(f[2]); err != nil {
		return nil, fmt.Errorf("sse: malformed descriptor")
	}
	if len(f) == 4 {
		if d.Size, err = strconv.ParseInt(f[3], 10, 64); err != nil || d.Size < 0 {
			return nil, fmt.Errorf("sse: malformed descriptor")
		}
	}
	return d, nil
}

// DataKey is an object's data key, ready to use.
type DataKey struct {
	AEAD    cipher.AEAD
	etagKey []byte
}

// newDataKey returns a random data key.
func newDataKey() ([]byte, *DataKey) {
	dk := make([]byte, KeySize)
	if _, err := rand.Read(dk); err != nil {
		panic(err)
	}
	return dk, dataKey(dk)
}

func dataKey(dk []byte) *DataKey {
	m := hmac.New(sha256.New, dk)
	m.Write([]byte("storagecli etag v1"))
	return &DataKey{AEAD: newAEAD(dk), etagKey: m.Sum(nil)}
}

// ETag returns the ETag digest of an SSE-C object or part whose plaintext
// has MD5 sum: keyed by the data key, so that it says nothing of the
// plaintext to someone without the customer's key (AWS: an SSE-C ETag is
// not the MD5 of the data).
func (k *DataKey) ETag(sum []byte) []byte {
	m := hmac.New(sha256.New, k.etagKey)
	m.Write(sum)
	return m.Sum(nil)[:16]
}

// NewS3 returns a new SSE-S3 descriptor and its data key, wrapped by the
// active order key.
func (kr *Keyring) NewS3() (*Descriptor, *DataKey) {
	raw, dk := newDataKey()
	return &Descriptor{Mode: ModeS3, Ref: kr.active, Wrapped: wrap(kr.keys[kr.active], raw, labelS3), Size: -1}, dk
}

// NewC returns a new SSE-C descriptor and its data key, wrapped by a key
// derived from customerKey (KeySize bytes) and a random salt.
func NewC(customerKey []byte) (*Descriptor, *DataKey) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	raw, dk := newDataKey()
	w := wrap(customerKEK(customerKey, salt), raw, labelC)
	return &Descriptor{Mode: ModeC, Ref: base64.RawStdEncoding.EncodeToString(salt), Wrapped: w, Size: -1}, dk
}

// Open unwraps d's data key: with the order key it names (ModeS3), or
// with customerKey (ModeC: ErrKeyMissing without one, ErrWrongKey for
// another key than the object's).
func (kr *Keyring) Open(d *Descriptor, customerKey []byte) (*DataKey, error) {
	switch d.Mode {
	case ModeS3:
		kek, ok := kr.keys[d.Ref]
		if !ok {
			return nil, fmt.Errorf("%w (key id %q)", ErrUnknownKey, d.Ref)
		}
		raw, err := unwrap(kek, d.Wrapped, labelS3)
		if err != nil {
			return nil, fmt.Errorf("%w: the wrapped data key", ErrTampered)
		}
		return dataKey(raw), nil
	case ModeC:
		if customerKey == nil {
			return nil, ErrKeyMissing
		}
		salt, err := base64.RawStdEncoding.DecodeString(d.Ref)
		if err != nil {
			return nil, fmt.Errorf("%w: the descriptor's salt", ErrTampered)
		}
		raw, err := unwrap(customerKEK(customerKey, salt), d.Wrapped, labelC)
		if err != nil {
			return nil, ErrWrongKey
		}
		return dataKey(raw), nil
	}
	return nil, fmt.Errorf("sse: unknown mode %q", d.Mode)
}

// Rewrap returns d with its data key wrapped by the active order key
// (rotation); ok is false if it already is, or d is not SSE-S3.
func (kr *Keyring) Rewrap(d *Descriptor) (nd *Descriptor, ok bool, err error) {
	if d.Mode != ModeS3 || d.Ref == kr.active {
		return d, false, nil
	}
	kek, found := kr.keys[d.Ref]
	if !found {
		return nil, false, fmt.Errorf("%w (key id %q)", ErrUnknownKey, d.Ref)
	}
	raw, err := unwrap(kek, d.Wrapped, labelS3)
	if err != nil {
		return nil, false, fmt.Errorf("%w: the wrapped data key", ErrTampered)
	}
	n := *d
	n.Ref, n.Wrapped = kr.active, wrap(kr.keys[kr.active], raw, labelS3)
	return &n, true, nil
}
