package gateway_test

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

// TestCreateOwnedBucketOutsideUSEast1: outside us-east-1, re-creating an
// owned bucket is 409 BucketAlreadyOwnedByYou (TestBuckets covers
// us-east-1's 200).
func TestCreateOwnedBucketOutsideUSEast1(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cli := s3.New(s3.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testAK, testSK, "")})
	in := &s3.CreateBucketInput{Bucket: aws.String("owned"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}
	if _, err := cli.CreateBucket(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	_, err = cli.CreateBucket(context.Background(), in)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "BucketAlreadyOwnedByYou" {
		t.Errorf("re-create in eu-west-1: %v, want BucketAlreadyOwnedByYou", err)
	}
}

// TestPathEdgeCases: paths that must not be read as another operation.
func TestPathEdgeCases(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("bkt")
	e.put("bkt", "k", []byte("data"))
	for _, tt := range []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"invalid UTF-8 key", "GET", "/bkt/%FF", 400, "InvalidURI"},
		{"invalid UTF-8 key, PUT", "PUT", "/bkt/a%C3", 400, "InvalidURI"},
		{"invalid UTF-8 bucket", "GET", "/b%FFt/k", 400, "InvalidURI"},
		{"an empty first segment is not ListBuckets", "GET", "//bkt/k", 404, "NoSuchBucket"},
		{"an empty first segment, PUT", "PUT", "//bkt/k", 404, "NoSuchBucket"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(tt.method, tt.path, nil, nil)
			wantError(t, resp, body, tt.status, tt.code)
		})
	}
}

// TestListEdgeCases: an empty continuation token starts the listing; keys
// and prefixes with characters XML 1.0 cannot carry come back as sent
// (character references), or URL-encoded when asked.
func TestListEdgeCases(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("bkt")
	e.put("bkt", "a", []byte("1"))
	if resp, body := e.do("PUT", "/bkt/c%01d", []byte("2"), nil); resp.StatusCode != 200 {
		t.Fatalf("PUT c\\x01d: %d %s", resp.StatusCode, body)
	}
	for _, tt := range []struct {
		name, query string
		want        []string
	}{
		{"empty continuation token", "list-type=2&continuation-token=",
			[]string{"<ContinuationToken></ContinuationToken>", "<Key>a</Key>", "<KeyCount>2</KeyCount>"}},
		{"control character in a key", "list-type=2", []string{"<Key>c&#x1;d</Key>"}},
		{"control character, url encoding", "list-type=2&encoding-type=url", []string{"<Key>c%01d</Key>"}},
		{"control character prefix", "prefix=%01", []string{"<Prefix>&#x1;</Prefix>"}},
		{"control character prefix, v2", "list-type=2&prefix=c%01", []string{"<Prefix>c&#x1;</Prefix>", "<Key>c&#x1;d</Key>"}},
		{"versions: control character", "versions&prefix=c%01", []string{"<Prefix>c&#x1;</Prefix>", "<Key>c&#x1;d</Key>"}},
		{"versions: url encoding", "versions&encoding-type=url", []string{"<Key>c%01d</Key>", "<Key>a</Key>"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do("GET", "/bkt?"+tt.query, nil, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("no %s in %s", w, body)
				}
			}
		})
	}
}

// TestListObjectVersions: unversioned buckets list every object as its
// one version, null, with key-marker pagination and common prefixes.
func TestListObjectVersions(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("bkt")
	keys := []string{"a", "b/1", "b/2", "c", "d"}
	for _, k := range keys {
		e.put("bkt", k, []byte(k))
	}
	ctx := context.Background()
	// Every page of two through the SDK's paginator.
	var got []string
	p := s3.NewListObjectVersionsPaginator(e.s3, &s3.ListObjectVersionsInput{Bucket: aws.String("bkt"), MaxKeys: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, v := range out.Versions {
			if aws.ToString(v.VersionId) != "null" || !aws.ToBool(v.IsLatest) || aws.ToInt64(v.Size) != int64(len(*v.Key)) || v.ETag == nil {
				t.Errorf("version %+v", v)
			}
			got = append(got, *v.Key)
		}
		if len(out.DeleteMarkers) != 0 {
			t.Errorf("delete markers: %+v", out.DeleteMarkers)
		}
	}
	if strings.Join(got, ",") != strings.Join(keys, ",") || pages != 3 {
		t.Errorf("listed %v in %d pages", got, pages)
	}
	// With a delimiter.
	out, err := e.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("bkt"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Versions) != 3 || len(out.CommonPrefixes) != 1 || aws.ToString(out.CommonPrefixes[0].Prefix) != "b/" {
		t.Errorf("delimited: %d versions, prefixes %+v", len(out.Versions), out.CommonPrefixes)
	}
	// Resuming after a key and its null version.
	resp, body := e.do("GET", "/bkt?versions&key-marker=b/2&version-id-marker=null", nil, nil)
	var res struct {
		Version []struct{ Key string }
	}
	if resp.StatusCode != 200 || xml.Unmarshal(body, &res) != nil || len(res.Version) != 2 || res.Version[0].Key != "c" {
		t.Errorf("after b/2: %d %s", resp.StatusCode, body)
	}
	for _, tt := range []struct{ query, code string }{
		{"versions&version-id-marker=null", "InvalidArgument"},
		{"versions&key-marker=a&version-id-marker=nosuchversion", "InvalidArgument"},
		{"versions&encoding-type=base64", "InvalidArgument"},
		{"versions&max-keys=-1", "InvalidArgument"},
	} {
		resp, body := e.do("GET", "/bkt?"+tt.query, nil, nil)
		wantError(t, resp, body, 400, tt.code)
	}
	resp, body = e.do("GET", "/nosuchbucket?versions", nil, nil)
	wantError(t, resp, body, 404, "NoSuchBucket")
}
