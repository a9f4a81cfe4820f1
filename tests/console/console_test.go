package console

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3Client is an SDK client for the served gateway.
func s3Client(endpoint string, hc *http.Client) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true, HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(rwKey, rwSecret, "")})
}

// seedReadOnly makes the bucket and object the read-only flow reads.
func seedReadOnly(t *testing.T, c *s3.Client) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ro-bucket")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("ro-bucket"), Key: aws.String("readme.txt"),
		Body: strings.NewReader("read me")}); err != nil {
		t.Fatal(err)
	}
}

func TestConsoleReadWrite(t *testing.T) {
	s := serve(t)
	p := newBrowser(t, s.URL+"/_console/", false)
	readWriteFlow(t, p, site{base: s.URL + "/_console/", client: http.DefaultClient, usage: func() (int64, int64) {
		u := s.usage(t)
		return u.Bytes, u.Objects
	}})
	if strings.Contains(s.logs.String(), rwSecret) {
		t.Error("the secret is in the log")
	}
}

func TestConsoleReadOnly(t *testing.T) {
	s := serve(t)
	seedReadOnly(t, s3Client(s.URL, http.DefaultClient))
	p := newBrowser(t, s.URL+"/_console/", false)
	readOnlyFlow(t, p, site{base: s.URL + "/_console/", client: http.DefaultClient})
	if strings.Contains(s.logs.String(), roSecret) {
		t.Error("the secret is in the log")
	}
}
