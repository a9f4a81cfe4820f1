package gateway_test

import (
	"context"
	"encoding/xml"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// listV2All pages through ListObjectsV2 and returns keys and prefixes in order.
func listV2All(t *testing.T, e *testEnv, bucket, prefix, delim string, pageSize int32) []string {
	t.Helper()
	var out []string
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(pageSize)}
	if delim != "" {
		in.Delimiter = aws.String(delim)
	}
	p := s3.NewListObjectsV2Paginator(e.s3, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if int(*page.KeyCount) != len(page.Contents)+len(page.CommonPrefixes) {
			t.Errorf("KeyCount %d", *page.KeyCount)
		}
		// Within a page, keys and prefixes merge in byte order.
		var entries []string
		for _, o := range page.Contents {
			entries = append(entries, *o.Key)
		}
		for _, cp := range page.CommonPrefixes {
			entries = append(entries, "P:"+*cp.Prefix)
		}
		sort.Slice(entries, func(i, j int) bool {
			return strings.TrimPrefix(entries[i], "P:") < strings.TrimPrefix(entries[j], "P:")
		})
		out = append(out, entries...)
	}
	return out
}

func TestListingOrderAndPagination(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("lst")
	keys := []string{"a", "a-b", "a/b", "a/c/d", "a/c/e", "a0", "b", "b/x", "c|d|e", "c|f", "dir/", "dir/sub/", "dir/sub/f", "ü", "z"}
	for _, k := range keys {
		e.put("lst", k, []byte(k))
	}
	cases := []struct {
		prefix, delim string
		want          string
	}{
		{"", "", "a,a-b,a/b,a/c/d,a/c/e,a0,b,b/x,c|d|e,c|f,dir/,dir/sub/,dir/sub/f,z,ü"},
		{"", "/", "a,a-b,P:a/,a0,b,P:b/,c|d|e,c|f,P:dir/,z,ü"},
		{"a/", "/", "a/b,P:a/c/"},
		{"", "|", "a,a-b,a/b,a/c/d,a/c/e,a0,b,b/x,P:c|,dir/,dir/sub/,dir/sub/f,z,ü"},
		{"c|", "|", "P:c|d|,c|f"},
		{"dir/", "/", "dir/,P:dir/sub/"},
		{"nomatch", "/", ""},
	}
	for _, c := range cases {
		for _, size := range []int32{1, 2, 3, 1000} {
			got := strings.Join(listV2All(t, e, "lst", c.prefix, c.delim, size), ",")
			if got != c.want {
				t.Errorf("prefix %q delim %q page %d:\n got %s\nwant %s", c.prefix, c.delim, size, got, c.want)
			}
		}
	}
}

func TestListV1Markers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("vone")
	for _, k := range []string{"a/1", "a/2", "b", "c/1", "d"} {
		e.put("vone", k, []byte("x"))
	}
	var got []string
	marker := ""
	for i := 0; i < 10; i++ {
		out, err := e.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("vone"), Delimiter: aws.String("/"), MaxKeys: aws.Int32(2), Marker: aws.String(marker)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			got = append(got, *o.Key)
		}
		for _, p := range out.CommonPrefixes {
			got = append(got, *p.Prefix)
		}
		if !*out.IsTruncated {
			break
		}
		if out.NextMarker == nil {
			t.Fatal("truncated V1 listing with a delimiter has no NextMarker")
		}
		marker = *out.NextMarker
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "a/,b,c/,d" {
		t.Errorf("V1 pages = %v", got)
	}
	// Without a delimiter there is no NextMarker; the client resumes at the last key.
	out, err := e.s3.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("vone"), MaxKeys: aws.Int32(2)})
	if err != nil || out.NextMarker != nil || !*out.IsTruncated || len(out.Contents) != 2 {
		t.Errorf("V1 without delimiter: %+v %v", out, err)
	}
}

func TestListEncodingAndErrors(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("enc")
	e.put("enc", "sp ace/+plus&amp", []byte("x"))
	resp, body := e.do("GET", "/enc?list-type=2&encoding-type=url&delimiter=%2F", nil, nil)
	var res struct {
		EncodingType   string
		CommonPrefixes []struct{ Prefix string }
	}
	if err := xml.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if res.EncodingType != "url" || len(res.CommonPrefixes) != 1 || res.CommonPrefixes[0].Prefix != "sp%20ace%2F" {
		t.Errorf("encoded listing: %s", body)
	}
	if p, _ := url.QueryUnescape(res.CommonPrefixes[0].Prefix); p != "sp ace/" {
		t.Errorf("prefix decodes to %q", p)
	}
	for _, c := range []struct{ query, code string }{
		{"list-type=2&continuation-token=garbage!", "InvalidArgument"},
		{"list-type=2&max-keys=-1", "InvalidArgument"},
		{"list-type=2&encoding-type=base64", "InvalidArgument"},
	} {
		resp, body := e.do("GET", "/enc?"+c.query, nil, nil)
		wantError(t, resp, body, 400, c.code)
	}
	resp, body = e.do("GET", "/nobucket?list-type=2", nil, nil)
	wantError(t, resp, body, 404, "NoSuchBucket")
}
