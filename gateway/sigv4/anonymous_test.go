package sigv4

import (
	"net/http"
	"strings"
	"testing"
)

func TestAnonymous(t *testing.T) {
	for _, tc := range []struct {
		sha, decoded string
		ok           bool
		payload      string
		decodedLen   int64
	}{
		{"", "", true, UnsignedPayload, -1},
		{UnsignedPayload, "", true, UnsignedPayload, -1},
		{strings.Repeat("AB", 32), "", true, strings.Repeat("ab", 32), -1},
		{StreamingUnsignedTrailer, "5", true, StreamingUnsignedTrailer, 5},
		{StreamingUnsignedTrailer, "", true, StreamingUnsignedTrailer, -1},
		{StreamingUnsignedTrailer, "-1", false, "", 0},
		{StreamingSigned, "5", false, "", 0},
		{StreamingSignedTrailer, "5", false, "", 0},
		{"not-a-hash", "", false, "", 0},
	} {
		r, _ := http.NewRequest("PUT", "http://h/b/k", nil)
		if tc.sha != "" {
			r.Header.Set("X-Amz-Content-Sha256", tc.sha)
		}
		if tc.decoded != "" {
			r.Header.Set("X-Amz-Decoded-Content-Length", tc.decoded)
		}
		a, ok := Anonymous(r)
		if ok != tc.ok || ok && (a.PayloadHash != tc.payload || a.decodedLen != tc.decodedLen || a.AccessKey != "") {
			t.Errorf("Anonymous(%q, %q) = %+v, %v", tc.sha, tc.decoded, a, ok)
		}
	}
}
