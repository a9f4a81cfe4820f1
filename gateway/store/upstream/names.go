package upstream

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lambda/storagecli/gateway/store"
)

// enc maps a user key (or key prefix) to its upstream form: '.' -> ".-",
// '/' -> "..", every other byte unchanged. The code is prefix-free and
// order-preserving ('.' < '/' and '-' < '.'), so comparisons and prefixes
// of encoded keys are those of the keys. The first ".." in any encoded
// suffix that starts at a codeword boundary is an encoded '/'.
func enc(k string) string {
	if strings.IndexByte(k, '.') < 0 && strings.IndexByte(k, '/') < 0 {
		return k
	}
	var b strings.Builder
	b.Grow(len(k) + 8)
	for i := 0; i < len(k); i++ {
		switch c := k[i]; c {
		case '.':
			b.WriteString(".-")
		case '/':
			b.WriteString("..")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// dec inverts enc.
func dec(s string) (string, bool) {
	if strings.IndexByte(s, '.') < 0 {
		return s, strings.IndexByte(s, '/') < 0
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			return "", false
		case c != '.':
			b.WriteByte(c)
		case i+1 >= len(s):
			return "", false
		case s[i+1] == '-':
			b.WriteByte('.')
			i++
		case s[i+1] == '.':
			b.WriteByte('/')
			i++
		default:
			return "", false
		}
	}
	return b.String(), true
}

// maxSuffix sorts after every byte an encoded key can continue with
// (U+10FFFF is the largest UTF-8 sequence): name+maxSuffix seeks past
// (almost) every name starting with name.
const maxSuffix = "\U0010FFFF"

func (s *Store) dataBase(bucket string) string      { return s.pfx + bucket + "/" }
func (s *Store) dataName(bucket, key string) string { return s.pfx + bucket + "/" + enc(key) }
func (s *Store) bucketsBase() string                { return s.pfx + ".buckets/" }
func (s *Store) markerName(bucket string) string    { return s.pfx + ".buckets/" + bucket }
func (s *Store) uploadsBase(bucket string) string   { return s.pfx + ".uploads/" + bucket + "/" }
func (s *Store) uploadName(bucket, key, id string) string {
	return s.uploadsBase(bucket) + enc(key) + "/" + enc(id)
}
func (s *Store) psumsBase(id string) string { return s.pfx + ".psums/" + enc(id) + "/" }
func (s *Store) mpName(token string) string { return s.pfx + ".mp/" + token }
func (s *Store) stagingName() string        { return s.pfx + ".staging/" + token() }
func psumName(n int, etag, sum string) string {
	return fmt.Sprintf("%05d.%s.%s", n, etag, b64std2url(sum))
}

func b64std2url(v string) string {
	return strings.NewReplacer("+", "-", "/", "_").Replace(v)
}

func b64url2std(v string) string {
	return strings.NewReplacer("-", "+", "_", "/").Replace(v)
}

func token() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ---- metadata ----

// metaHeader carries the blob; minio-go returns it canonicalized.
const (
	metaKey    = "Storagecli"
	metaHeader = "X-Amz-Meta-Storagecli"
)

// blob is what the gateway keeps with an upstream object or upload.
type blob struct {
	Meta store.Metadata `json:"m"`
	Sum  store.Checksum `json:"s"`
	// Token names the completion record (P.mp/<token>) of an object made
	// by CompleteMultipartUpload, or of a streamed put (Deferred).
	Token string `json:"t,omitempty"`
	// Deferred marks a streamed put: its checksum, known only at the
	// body's end, is in the record (no record: no checksum).
	Deferred bool `json:"d,omitempty"`
	// Alg and Typ are an upload's checksum algorithm and type.
	Alg string `json:"a,omitempty"`
	Typ string `json:"y,omitempty"`
}

func (b *blob) encode() string {
	j, _ := json.Marshal(b)
	return base64.RawURLEncoding.EncodeToString(j)
}

func decodeBlob(h http.Header) (*blob, error) {
	v := h.Get(metaHeader)
	b := &blob{}
	if v == "" {
		return b, nil // written by someone else: plain object
	}
	j, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("upstream: corrupt object metadata: %v", err)
	}
	if err := json.Unmarshal(j, b); err != nil {
		return nil, fmt.Errorf("upstream: corrupt object metadata: %v", err)
	}
	return b, nil
}

// mpRecord describes a completed multipart object.
type mpRecord struct {
	ETag  string         `json:"e"`
	Sum   store.Checksum `json:"s"`
	Parts []store.Part   `json:"p"`
	// UploadID is the multipart upload that made the object: a repeated
	// CompleteMultipartUpload of it is answered from this record.
	UploadID string `json:"u,omitempty"`
}

// uploadRecord is kept at P.uploads/<B>/<enc(K)>/<enc(id)>.
type uploadRecord struct {
	Meta  store.Metadata `json:"m"`
	Alg   string         `json:"a,omitempty"`
	Typ   string         `json:"y,omitempty"`
	Token string         `json:"t"`
	// Initiated is set from the record's upstream mtime.
	Initiated time.Time `json:"-"`
}

func trimETag(e string) string { return strings.Trim(e, `"`) }
