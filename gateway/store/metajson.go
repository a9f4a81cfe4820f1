package store

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// JSON form of Metadata. Header values may hold bytes that are not UTF-8
// (a raw Latin-1 "é" in a filename), which a JSON string cannot carry:
// encoding/json would replace them with U+FFFD. Such values go to "raw"
// instead, as bytes (base64), keyed by their field's JSON name or by "u:"
// and the user metadata name, so every value comes back byte for byte.
// Valid UTF-8 values, and records written before "raw" existed, are plain
// strings.

// metadataFields is Metadata without its JSON methods.
type metadataFields Metadata

type metadataJSON struct {
	metadataFields
	Raw map[string][]byte `json:"raw,omitempty"`
}

// fields returns the system fields of m with their JSON names.
func (m *Metadata) fields() map[string]*string {
	return map[string]*string{"ct": &m.ContentType, "ce": &m.ContentEncoding, "cd": &m.ContentDisposition,
		"cl": &m.ContentLanguage, "cc": &m.CacheControl, "ex": &m.Expires, "sc": &m.StorageClass}
}

// MarshalJSON implements json.Marshaler.
func (m Metadata) MarshalJSON() ([]byte, error) {
	j := metadataJSON{metadataFields: metadataFields(m)}
	c := (*Metadata)(&j.metadataFields)
	raw := func(key, v string) {
		if j.Raw == nil {
			j.Raw = map[string][]byte{}
		}
		j.Raw[key] = []byte(v)
	}
	for name, p := range c.fields() {
		if !utf8.ValidString(*p) {
			raw(name, *p)
			*p = ""
		}
	}
	if len(m.User) > 0 {
		c.User = make(map[string]string, len(m.User))
		for k, v := range m.User {
			if utf8.ValidString(v) {
				c.User[k] = v
			} else {
				raw("u:"+k, v)
			}
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *Metadata) UnmarshalJSON(b []byte) error {
	var j metadataJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*m = Metadata(j.metadataFields)
	fields := m.fields()
	for key, v := range j.Raw {
		if name, ok := strings.CutPrefix(key, "u:"); ok {
			if m.User == nil {
				m.User = map[string]string{}
			}
			m.User[name] = string(v)
		} else if p := fields[key]; p != nil {
			*p = string(v)
		}
	}
	return nil
}
