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
	// AWS leaves '/' unencoded ("a b/" comes back as "a+b/"); a space is
	// %20 here, which unquote and unquote_plus decoders both read.
	if res.EncodingType != "url" || len(res.CommonPrefixes) != 1 || res.CommonPrefixes[0].Prefix != "sp%20ace/" {
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

func TestListBucketsPagination(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, b := range []string{"lb-a", "lb-b", "lb-c", "other"} {
		e.mkBucket(b)
	}
	// The SDK paginator: max-buckets pages, each bucket with its region.
	var names []string
	p := s3.NewListBucketsPaginator(e.s3, &s3.ListBucketsInput{MaxBuckets: aws.Int32(2), Prefix: aws.String("lb-")})
	for pages := 0; p.HasMorePages(); pages++ {
		if pages > 3 {
			t.Fatal("paginator does not stop")
		}
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if out.Prefix == nil || *out.Prefix != "lb-" {
			t.Errorf("Prefix not echoed: %v", out.Prefix)
		}
		for _, b := range out.Buckets {
			names = append(names, *b.Name)
			if b.BucketRegion == nil || *b.BucketRegion != testRegion {
				t.Errorf("%s: BucketRegion %v", *b.Name, b.BucketRegion)
			}
		}
	}
	if strings.Join(names, ",") != "lb-a,lb-b,lb-c" {
		t.Errorf("paged buckets = %v", names)
	}
	for _, c := range []struct {
		query, want, code string
	}{
		{"", "lb-a,lb-b,lb-c,other", ""},
		{"?bucket-region=" + testRegion, "lb-a,lb-b,lb-c,other", ""},
		{"?bucket-region=eu-west-1", "", ""},
		{"?continuation-token=garbage", "", "InvalidArgument"},
		{"?continuation-token=", "", "InvalidArgument"},
		{"?max-buckets=0", "", "InvalidArgument"},
	} {
		resp, body := e.do("GET", "/"+c.query, nil, nil)
		if c.code != "" {
			wantError(t, resp, body, 400, c.code)
			continue
		}
		var res struct {
			Buckets []struct{ Name, BucketRegion string } `xml:"Buckets>Bucket"`
		}
		if err := xml.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", c.query, resp.StatusCode, body)
		}
		var got []string
		for _, b := range res.Buckets {
			got = append(got, b.Name)
			// Without a ListBuckets parameter AWS sends no BucketRegion.
			if (c.query == "") != (b.BucketRegion == "") {
				t.Errorf("%q: %s BucketRegion %q", c.query, b.Name, b.BucketRegion)
			}
		}
		if strings.Join(got, ",") != c.want {
			t.Errorf("%q: buckets %v, want %s", c.query, got, c.want)
		}
	}
}

// TestListEchoesAndResumePoints: what each listing echoes (V1 Marker, V2
// StartAfter and ContinuationToken, encoded under encoding-type=url) and
// how start-after combines with a continuation token.
func TestListEchoesAndResumePoints(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("echo")
	for _, k := range []string{"a b/1", "a b/2", "c", "d e", "f"} {
		e.put("echo", k, []byte("x"))
	}
	type result struct {
		Marker, NextMarker, StartAfter, ContinuationToken, NextContinuationToken, Delimiter, Prefix string
		KeyCount                                                                                    int
		IsTruncated                                                                                 bool
		Contents                                                                                    []struct{ Key string }
		CommonPrefixes                                                                              []struct{ Prefix string }
	}
	list := func(query string) result {
		t.Helper()
		resp, body := e.do("GET", "/echo?"+query, nil, nil)
		var res result
		if err := xml.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", query, resp.StatusCode, body)
		}
		return res
	}
	names := func(r result) string {
		var out []string
		for _, c := range r.Contents {
			out = append(out, c.Key)
		}
		for _, p := range r.CommonPrefixes {
			out = append(out, "P:"+p.Prefix)
		}
		return strings.Join(out, ",")
	}
	// V1 echoes the marker (encoded) and gives NextMarker (encoded) with a
	// delimiter, also when the page ends on a common prefix.
	r := list("marker=a%20b%2F1&max-keys=1&delimiter=%2F&encoding-type=url")
	if r.Marker != "a%20b/1" || r.NextMarker != "c" || names(r) != "c" || !r.IsTruncated {
		t.Errorf("V1 marker page: %+v", r)
	}
	r = list("max-keys=1&delimiter=%2F&encoding-type=url")
	if r.Marker != "" || r.NextMarker != "a%20b/" || names(r) != "P:a%20b/" || r.Delimiter != "/" {
		t.Errorf("V1 page ending on a prefix: %+v", r)
	}
	// V2: start-after is echoed on every page; the token resumes after it.
	r = list("list-type=2&start-after=a%20b%2F2&max-keys=2&encoding-type=url")
	if r.StartAfter != "a%20b/2" || names(r) != "c,d%20e" || !r.IsTruncated || r.NextContinuationToken == "" || r.KeyCount != 2 {
		t.Fatalf("V2 first page: %+v", r)
	}
	tok := r.NextContinuationToken
	r = list("list-type=2&start-after=a%20b%2F2&max-keys=2&continuation-token=" + url.QueryEscape(tok))
	if r.StartAfter != "a b/2" || r.ContinuationToken != tok || names(r) != "f" || r.IsTruncated || r.NextContinuationToken != "" {
		t.Errorf("V2 second page: %+v", r)
	}
	// A start-after past the token's resume point wins.
	r = list("list-type=2&start-after=e&continuation-token=" + url.QueryEscape(tok))
	if names(r) != "f" {
		t.Errorf("start-after past the token: %+v", r)
	}
	// max-keys=0: nothing, not truncated, no resume point.
	for _, q := range []string{"max-keys=0", "list-type=2&max-keys=0"} {
		if r := list(q); names(r) != "" || r.IsTruncated || r.NextMarker != "" || r.NextContinuationToken != "" || r.KeyCount != 0 {
			t.Errorf("%s: %+v", q, r)
		}
	}
}
