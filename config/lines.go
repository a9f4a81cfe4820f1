package config

import (
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// The toml package does not expose the position of a key, so the lines of
// keys are found by scanning the text: a line-oriented reading of TOML that
// tracks table headers, dotted keys and multi-line strings. It is used only
// to point at lines in error messages.

// entry is a table header or a key/value line of the file.
type entry struct {
	line  int      // 1-based
	key   toml.Key // full key: table + key for key/value lines
	table bool     // a [table] or [[array]] header
	value string   // the raw text after '=' (key/value lines)
}

// scanEntries reads the headers and key/value lines of TOML text.
func scanEntries(data []byte) []entry {
	var out []entry
	var table toml.Key
	inML := "" // the closing delimiter of an open multi-line string
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		s := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if inML != "" {
			idx := strings.Index(s, inML)
			if idx < 0 {
				continue
			}
			inML = ""
			continue
		}
		if s == "" || s[0] == '#' {
			continue
		}
		if s[0] == '[' {
			inner := strings.TrimPrefix(s, "[")
			inner = strings.TrimPrefix(inner, "[")
			k, rest, ok := parseKey(inner)
			if !ok || !strings.HasPrefix(strings.TrimSpace(rest), "]") {
				continue
			}
			table = k
			out = append(out, entry{line: n, key: k, table: true})
			continue
		}
		k, rest, ok := parseKey(s)
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, "=") {
			continue
		}
		val := strings.TrimSpace(rest[1:])
		full := append(append(toml.Key{}, table...), k...)
		out = append(out, entry{line: n, key: full, value: val})
		for _, d := range []string{`"""`, `'''`} {
			if strings.HasPrefix(val, d) && !strings.Contains(val[3:], d) {
				inML = d
			}
		}
	}
	return out
}

// parseKey parses a dotted TOML key at the start of s and returns it and
// the rest of s.
func parseKey(s string) (toml.Key, string, bool) {
	var k toml.Key
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		var part string
		switch s[0] {
		case '"':
			end := 1
			var b strings.Builder
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' && end+1 < len(s) {
					end++
				}
				b.WriteByte(s[end])
				end++
			}
			if end >= len(s) {
				return nil, "", false
			}
			part, s = b.String(), s[end+1:]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, "", false
			}
			part, s = s[1:end+1], s[end+2:]
		default:
			end := 0
			for end < len(s) && isBareKeyChar(s[end]) {
				end++
			}
			if end == 0 {
				return nil, "", false
			}
			part, s = s[:end], s[end:]
		}
		k = append(k, part)
		t := strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(t, ".") {
			return k, s, true
		}
		s = t[1:]
	}
}

func isBareKeyChar(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func hasPrefix(k, prefix toml.Key) bool {
	if len(prefix) > len(k) {
		return false
	}
	for i := range prefix {
		if k[i] != prefix[i] {
			return false
		}
	}
	return true
}

// findKeyLine returns the first line defining key (or a key or table under
// it), or 0 if none is found.
func findKeyLine(data []byte, key toml.Key) int {
	for _, e := range scanEntries(data) {
		if hasPrefix(e.key, key) {
			return e.line
		}
	}
	// Not found by structure (e.g. inside an inline table): look for the
	// last part of the key followed by '='.
	last := key[len(key)-1]
	re := regexp.MustCompile(`(^|[\s{,.])["']?` + regexp.QuoteMeta(last) + `["']?\s*=`)
	for i, l := range strings.Split(string(data), "\n") {
		if re.MatchString(l) {
			return i + 1
		}
	}
	return 0
}

// isSecretKey reports whether the full key k names a secret setting
// (gateway.secret_key, or a per-order key marked secret).
func isSecretKey(k toml.Key) bool {
	if len(k) >= 3 && k[0] == "order" {
		k = append(toml.Key{"order", OrderIDPlaceholder}, k[2:]...)
	}
	s := strings.Join(k, ".")
	for _, info := range Keys() {
		if info.Secret && info.Key == s {
			return true
		}
	}
	return false
}

// lineKey returns the full key defined at line, or "".
func lineKey(data []byte, line int) string {
	for _, e := range scanEntries(data) {
		if e.line == line {
			return e.key.String()
		}
	}
	return ""
}

// lineHasSecret reports whether line defines a secret setting, or looks
// like it does (a line the scanner cannot parse that mentions a secret
// key's name).
func lineHasSecret(data []byte, line int) bool {
	for _, e := range scanEntries(data) {
		if e.line == line && !e.table {
			return isSecretKey(e.key)
		}
	}
	lines := strings.Split(string(data), "\n")
	if line < 1 || line > len(lines) {
		return false
	}
	for _, info := range Keys() {
		if info.Secret {
			name := info.Key[strings.LastIndexByte(info.Key, '.')+1:]
			if strings.Contains(lines[line-1], name) {
				return true
			}
		}
	}
	return false
}

// redactText replaces in msg every secret value written in data.
func redactText(data []byte, msg string) string {
	for _, e := range scanEntries(data) {
		if e.table || !isSecretKey(e.key) {
			continue
		}
		v := strings.Trim(e.value, `"' `)
		if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
			v = strings.Trim(v, `"'`)
		}
		if len(v) >= 3 {
			msg = strings.ReplaceAll(msg, v, Mask)
		}
	}
	return msg
}
