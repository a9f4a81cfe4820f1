package config

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

const fileHeader = `# storagecli user configuration (user.toml).
# Edit by hand or with: storagecli config <key> <value>
# Unknown keys are errors. This file holds the gateway's secret key: keep it
# readable by its owner only.
`

// render writes c as commented TOML: each section in field order, each
// setting with its doc comment. With redact, secret values are masked.
func (c *Config) render(redact bool) []byte {
	var b bytes.Buffer
	b.WriteString(fileHeader)
	rv := reflect.ValueOf(c).Elem()
	t := rv.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name := tomlName(sf)
		fv := rv.Field(i)
		switch fv.Kind() {
		case reflect.Struct:
			b.WriteString("\n")
			writeComment(&b, sf.Tag.Get("doc"), "")
			fmt.Fprintf(&b, "[%s]\n", name)
			writeFields(&b, fv, redact)
		case reflect.Map:
			if fv.Len() == 0 {
				b.WriteString("\n")
				writeComment(&b, sf.Tag.Get("doc"), "")
				fmt.Fprintf(&b, "# [%s.<id>]\n", name)
				continue
			}
			for j, id := range sortedKeys(fv) {
				b.WriteString("\n")
				if j == 0 {
					writeComment(&b, sf.Tag.Get("doc"), "")
				}
				table := name + "." + quoteKeyPart(id)
				fmt.Fprintf(&b, "[%s]\n", table)
				writeFields(&b, fv.MapIndex(reflect.ValueOf(id)), redact)
				writeArrays(&b, table, fv.MapIndex(reflect.ValueOf(id)), redact)
			}
		}
	}
	return b.Bytes()
}

func writeFields(b *bytes.Buffer, sv reflect.Value, redact bool) {
	st := sv.Type()
	width := 0
	for i := 0; i < st.NumField(); i++ {
		width = max(width, len(tomlName(st.Field(i))))
	}
	for i := 0; i < st.NumField(); i++ {
		sf := st.Field(i)
		if !sf.IsExported() || isTableArray(sf.Type) || isSubTable(sf.Type) {
			continue
		}
		writeComment(b, sf.Tag.Get("doc"), "")
		val := tomlValue(sv.Field(i))
		if redact && sf.Tag.Get("secret") == "true" && !sv.Field(i).IsZero() {
			val = tomlValue(reflect.ValueOf(Mask))
		}
		fmt.Fprintf(b, "%-*s = %s\n", width, tomlName(sf), val)
	}
}

// isTableArray reports whether t is written as an array of tables.
func isTableArray(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct
}

// writeArrays writes the array-of-tables fields of the struct sv as
// [[table.field]] sections.
func writeArrays(b *bytes.Buffer, table string, sv reflect.Value, redact bool) {
	st := sv.Type()
	for i := 0; i < st.NumField(); i++ {
		sf := st.Field(i)
		if sf.IsExported() && isSubTable(sf.Type) && !sv.Field(i).IsNil() {
			b.WriteString("\n")
			writeComment(b, sf.Tag.Get("doc"), "")
			fmt.Fprintf(b, "[%s.%s]\n", table, tomlName(sf))
			writeFields(b, sv.Field(i).Elem(), redact)
			continue
		}
		if !sf.IsExported() || !isTableArray(sf.Type) {
			continue
		}
		f := sv.Field(i)
		for j := 0; j < f.Len(); j++ {
			b.WriteString("\n")
			if j == 0 {
				writeComment(b, sf.Tag.Get("doc"), "")
			}
			fmt.Fprintf(b, "[[%s.%s]]\n", table, tomlName(sf))
			writeFields(b, f.Index(j), redact)
		}
	}
}

// writeComment writes doc as # comment lines wrapped at about 78 columns.
func writeComment(b *bytes.Buffer, doc, indent string) {
	if doc == "" {
		return
	}
	line := indent + "#"
	for _, w := range strings.Fields(doc) {
		if len(line)+1+len(w) > 78 && line != indent+"#" {
			b.WriteString(line + "\n")
			line = indent + "#"
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
}

// tomlValue encodes one value as TOML, using the toml package so every
// type it supports is quoted and escaped correctly.
func tomlValue(v reflect.Value) string {
	var x any
	switch {
	case v.Type() == durationType:
		x = time.Duration(v.Int()).String()
	case v.Kind() == reflect.String:
		x = v.String() // plain string: a Secret's own methods must not apply
	default:
		x = v.Interface()
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(map[string]any{"v": x}); err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(x))
	}
	s := strings.TrimSpace(b.String())
	return strings.TrimSpace(strings.TrimPrefix(s, "v ="))
}

// redact masks every non-empty secret field of the struct sv (settable),
// also in its arrays of tables (which it copies first: they may be shared).
func redact(sv reflect.Value) {
	st := sv.Type()
	for i := 0; i < st.NumField(); i++ {
		f := sv.Field(i)
		if isSubTable(f.Type()) && !f.IsNil() {
			cp := reflect.New(f.Type().Elem())
			cp.Elem().Set(f.Elem())
			redact(cp.Elem())
			f.Set(cp)
			continue
		}
		if isTableArray(f.Type()) && !f.IsNil() {
			cp := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
			reflect.Copy(cp, f)
			for j := 0; j < cp.Len(); j++ {
				redact(cp.Index(j))
			}
			f.Set(cp)
			continue
		}
		if st.Field(i).Tag.Get("secret") == "true" && f.Kind() == reflect.String && f.String() != "" {
			f.SetString(Mask)
		}
	}
}
