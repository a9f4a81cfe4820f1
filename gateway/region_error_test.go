package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestWrongRegionNamesTheRegion: a request signed for another region gets
// AuthorizationHeaderMalformed (presigned: AuthorizationQueryParametersError)
// with a Region element naming the gateway's region, as AWS answers; s3cmd
// (whose default bucket_location is "US") re-signs with it. Other errors
// carry no Region.
func TestWrongRegionNamesTheRegion(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("regions")
	empty := sha256.Sum256(nil)
	hash := hex.EncodeToString(empty[:])
	creds := aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK}
	for _, c := range []struct {
		name, region, path string
		presign            bool
		status             int
		code, wantRegion   string
	}{
		{"header, s3cmd's default", "US", "/regions", false, http.StatusBadRequest, "AuthorizationHeaderMalformed", testRegion},
		{"header, another region", "eu-west-1", "/regions", false, http.StatusBadRequest, "AuthorizationHeaderMalformed", testRegion},
		{"presigned", "eu-west-1", "/regions", true, http.StatusBadRequest, "AuthorizationQueryParametersError", testRegion},
		{"right region, missing bucket", testRegion, "/missing-bucket", false, http.StatusNotFound, "NoSuchBucket", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := e.rawRequest(http.MethodGet, c.path, nil)
			if c.presign {
				req = e.rawRequest(http.MethodGet, c.path+"?X-Amz-Expires=900", nil)
				url, _, err := newS3Signer().PresignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", c.region, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				req = e.rawRequest(http.MethodGet, strings.TrimPrefix(url, e.srv.URL), nil)
			} else {
				req.Header.Set("X-Amz-Content-Sha256", hash)
				if err := newS3Signer().SignHTTP(context.Background(), creds, req, hash, "s3", c.region, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			resp, body := e.send(req)
			wantError(t, resp, body, c.status, c.code)
			hasRegion := strings.Contains(string(body), "<Region>")
			if c.wantRegion != "" && !strings.Contains(string(body), "<Region>"+c.wantRegion+"</Region>") || c.wantRegion == "" && hasRegion {
				t.Errorf("body %s, want Region %q", body, c.wantRegion)
			}
		})
	}
}
