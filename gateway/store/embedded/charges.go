package embedded

import (
	"encoding/binary"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// keyCharges (in the meta bucket) marks an index whose usage counters
// follow the charges of store/cost.go; indexes written before them counted
// object and part bytes only.
var keyCharges = []byte("charges")

// chargesVersion is the value of keyCharges: the rule the counters follow.
var chargesVersion = []byte("1")

// migrateCharges recomputes the usage counters under the charges when the
// index predates them (one pass over its records, once) and marks it. It
// reports whether it did.
func migrateCharges(tx *bbolt.Tx) (bool, error) {
	meta := tx.Bucket(bktMeta)
	if string(meta.Get(keyCharges)) == string(chargesVersion) {
		return false, nil
	}
	u, err := chargesTx(tx)
	if err != nil {
		return false, err
	}
	v := make([]byte, 16)
	binary.BigEndian.PutUint64(v, uint64(u.Bytes))
	binary.BigEndian.PutUint64(v[8:], uint64(u.Objects))
	if err := meta.Put(keyUsage, v); err != nil {
		return false, err
	}
	return true, meta.Put(keyCharges, chargesVersion)
}

// chargesTx adds up what the index holds as store.Recount charges it.
func chargesTx(tx *bbolt.Tx) (store.Usage, error) {
	var u store.Usage
	all := tx.Bucket(bktBuckets)
	err := all.ForEachBucket(func(name []byte) error {
		b := all.Bucket(name)
		u.Bytes += store.BucketCost(string(name)) + configsCost(b)
		err := forEachVersion(b, func(k, v []byte) error {
			r, err := decodeObject(v, decodeList)
			if err != nil {
				return err
			}
			u.Bytes += r.cost(string(k))
			if !r.marker {
				u.Objects++
			}
			return nil
		})
		if err != nil {
			return err
		}
		return b.Bucket(keyUploads).ForEach(func(k, v []byte) error {
			if len(k) < len(uploadID{})+1 {
				return errCorrupt
			}
			up, err := decodeUpload(v)
			if err != nil {
				return err
			}
			key := string(k[:len(k)-len(uploadID{})-1])
			u.Bytes += store.UploadCost(key, &up.meta)
			parts, err := partsOf(tx, uploadID(k[len(k)-len(uploadID{}):]))
			for _, p := range parts {
				u.Bytes += store.PartCost(p.rec.size)
			}
			return err
		})
	})
	return u, err
}
