package embedded

import (
	"encoding/binary"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// Layout of index.db (bbolt):
//
//	buckets/<name>/c          created time (varint Unix ns)
//	buckets/<name>/o/<key>    object record (records.go)
//	buckets/<name>/u/<key>\x00<raw upload id>  upload record
//	parts/<raw upload id><uint32 BE part number>  part record
//	meta/usage                bytes, objects (2 × int64 BE)
//	meta/state                "clean" after Close, "dirty" while open
//
// bbolt orders keys by bytes, which is S3's order (UTF-8 byte order) for
// objects. Keys never contain NUL (store.ValidKey), so an upload's index
// key <key>\x00<id> sorts by key first, then by the id, whose first 8 bytes
// are the initiation time (big endian): ListMultipartUploads order.
var (
	bktBuckets = []byte("buckets")
	bktParts   = []byte("parts")
	bktMeta    = []byte("meta")
	keyObjects = []byte("o")
	keyUploads = []byte("u")
	keyCreated = []byte("c")
	keyUsage   = []byte("usage")
	keyState   = []byte("state")

	stateClean = []byte("clean")
	stateDirty = []byte("dirty")
)

// bucketOf returns the bbolt bucket of S3 bucket name, or nil.
func bucketOf(tx *bbolt.Tx, name string) *bbolt.Bucket {
	return tx.Bucket(bktBuckets).Bucket([]byte(name))
}

// objectsOf returns the objects of S3 bucket name, or nil if it is absent.
func objectsOf(tx *bbolt.Tx, name string) *bbolt.Bucket {
	if b := bucketOf(tx, name); b != nil {
		return b.Bucket(keyObjects)
	}
	return nil
}

// uploadsOf returns the uploads of S3 bucket name, or nil if it is absent.
func uploadsOf(tx *bbolt.Tx, name string) *bbolt.Bucket {
	if b := bucketOf(tx, name); b != nil {
		return b.Bucket(keyUploads)
	}
	return nil
}

// readUsage returns the usage counters.
func readUsage(tx *bbolt.Tx) store.Usage {
	v := tx.Bucket(bktMeta).Get(keyUsage)
	if len(v) != 16 {
		return store.Usage{}
	}
	return store.Usage{
		Bytes:   int64(binary.BigEndian.Uint64(v)),
		Objects: int64(binary.BigEndian.Uint64(v[8:])),
	}
}

// addUsage adjusts the usage counters in the same transaction as the
// change they account for, so they stay exact across crashes.
func addUsage(tx *bbolt.Tx, bytes, objects int64) error {
	if bytes == 0 && objects == 0 {
		return nil
	}
	u := readUsage(tx)
	v := make([]byte, 16)
	binary.BigEndian.PutUint64(v, uint64(u.Bytes+bytes))
	binary.BigEndian.PutUint64(v[8:], uint64(u.Objects+objects))
	return tx.Bucket(bktMeta).Put(keyUsage, v)
}

// partKey is the parts index key of part number of upload id.
func partKey(id uploadID, number int) []byte {
	k := make([]byte, len(id)+4)
	copy(k, id[:])
	binary.BigEndian.PutUint32(k[len(id):], uint32(number))
	return k
}

// uploadKey is the uploads index key of the upload id of key.
func uploadKey(key string, id uploadID) []byte {
	k := make([]byte, 0, len(key)+1+len(id))
	k = append(k, key...)
	k = append(k, 0)
	return append(k, id[:]...)
}
