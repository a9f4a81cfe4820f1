package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
)

func testConfigs(t *testing.T, newStore func(t *testing.T) store.Store) {
	f := newFixture(t, newStore)
	ctx := t.Context()
	get := func(name string) ([]byte, error) { return f.s.GetBucketConfig(ctx, f.bucket, name) }

	for _, name := range store.ConfigNames {
		_, err := get(name)
		wantErr(t, "GetBucketConfig("+name+") unset", err, store.ErrNoSuchConfig)
	}
	_, err := f.s.GetBucketConfig(ctx, "absent-bucket", store.ConfigCORS)
	wantErr(t, "GetBucketConfig in an absent bucket", err, store.ErrNoSuchBucket)
	wantErr(t, "PutBucketConfig in an absent bucket",
		f.s.PutBucketConfig(ctx, "absent-bucket", store.ConfigCORS, []byte("x")), store.ErrNoSuchBucket)
	wantErr(t, "DeleteBucketConfig in an absent bucket",
		f.s.DeleteBucketConfig(ctx, "absent-bucket", store.ConfigCORS), store.ErrNoSuchBucket)
	if err := f.s.PutBucketConfig(ctx, f.bucket, "no-such-config", []byte("x")); err == nil {
		t.Error("PutBucketConfig with an unknown name succeeded")
	}
	big := bytes.Repeat([]byte("a"), store.MaxConfigLen+1)
	wantErr(t, "PutBucketConfig too large", f.s.PutBucketConfig(ctx, f.bucket, store.ConfigPolicy, big), store.ErrConfigTooLarge)
	f.wantUsage(0, 0)

	// Set, read back, replace, and the charges follow.
	docs := map[string][]byte{
		store.ConfigCORS:   []byte("<CORSConfiguration/>"),
		store.ConfigPolicy: Data(1, 20<<10),
		store.ConfigACL:    {}, // an empty document is a document
	}
	for _, name := range store.ConfigNames {
		if doc, ok := docs[name]; ok {
			if err := f.s.PutBucketConfig(ctx, f.bucket, name, doc); err != nil {
				t.Fatalf("PutBucketConfig(%s): %v", name, err)
			}
		}
	}
	for _, name := range store.ConfigNames {
		got, err := get(name)
		want, set := docs[name]
		switch {
		case !set:
			wantErr(t, "GetBucketConfig("+name+") never set", err, store.ErrNoSuchConfig)
		case err != nil:
			t.Errorf("GetBucketConfig(%s): %v", name, err)
		case !bytes.Equal(got, want):
			t.Errorf("GetBucketConfig(%s) = %s, want %s", name, describe(got), describe(want))
		}
	}
	f.wantUsage(0, 0)
	if err := f.s.PutBucketConfig(ctx, f.bucket, store.ConfigPolicy, []byte("short")); err != nil {
		t.Fatal(err)
	}
	if got, _ := get(store.ConfigPolicy); string(got) != "short" {
		t.Errorf("replaced policy = %s, want short", describe(got))
	}
	f.wantUsage(0, 0)
	// A document read is the caller's: changing it changes nothing stored.
	got, _ := get(store.ConfigPolicy)
	if len(got) > 0 {
		got[0] = 'X'
	}
	if again, _ := get(store.ConfigPolicy); string(again) != "short" {
		t.Errorf("policy after a caller changed its copy = %s", describe(again))
	}

	if err := f.s.DeleteBucketConfig(ctx, f.bucket, store.ConfigCORS); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteBucketConfig(ctx, f.bucket, store.ConfigCORS); err != nil {
		t.Errorf("deleting an absent configuration: %v", err)
	}
	_, err = get(store.ConfigCORS)
	wantErr(t, "GetBucketConfig after delete", err, store.ErrNoSuchConfig)
	f.wantUsage(0, 0)

	// Documents do not keep a bucket from being deleted, and go with it.
	before := f.usage().Bytes
	if err := f.s.DeleteBucket(ctx, f.bucket); err != nil {
		t.Fatalf("DeleteBucket with configurations only: %v", err)
	}
	charged := store.BucketCost(f.bucket) + store.ConfigCost(store.ConfigPolicy, len("short")) + store.ConfigCost(store.ConfigACL, 0)
	if got := before - f.usage().Bytes; got != charged {
		t.Errorf("DeleteBucket freed %d bytes, want %d (the bucket and its documents)", got, charged)
	}
	if err := f.s.CreateBucket(ctx, f.bucket); err != nil {
		t.Fatal(err)
	}
	for _, name := range store.ConfigNames {
		if _, err := get(name); !errors.Is(err, store.ErrNoSuchConfig) {
			t.Errorf("GetBucketConfig(%s) in a re-created bucket: %v, want ErrNoSuchConfig", name, err)
		}
	}
	f.wantUsage(0, 0)
}
