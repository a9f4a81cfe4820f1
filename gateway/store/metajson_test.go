package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestMetadataJSON: every value survives a JSON round trip byte for byte,
// bytes that are not UTF-8 included; records without "raw" still decode.
func TestMetadataJSON(t *testing.T) {
	for _, m := range []Metadata{
		{},
		{ContentType: "text/plain", User: map[string]string{"k": "v"}},
		{ContentDisposition: "attachment; filename=\"caf\xe9.txt\"", CacheControl: "\xff", StorageClass: "GLACIER",
			User: map[string]string{"name": "caf\xe9", "ok": "café", "empty": ""}},
		{User: map[string]string{"only": "\x80"}},
	} {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var got Metadata
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) && !(len(m.User) == 0 && len(got.User) == 0) {
			t.Errorf("%q round trips as %q (JSON %s)", m, got, b)
		}
	}
	var old Metadata
	if err := json.Unmarshal([]byte(`{"ct":"a/b","u":{"k":"v"}}`), &old); err != nil ||
		!reflect.DeepEqual(old, Metadata{ContentType: "a/b", User: map[string]string{"k": "v"}}) {
		t.Errorf("old record: %+v, %v", old, err)
	}
}
