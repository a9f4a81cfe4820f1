package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

func TestVirtualHostedStyle(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: testRegion, Domain: "s3.test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	// Resolve every *.s3.test name to the test server.
	dialer := &net.Dialer{}
	httpClient := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, addr)
	}}}
	cli := s3.New(s3.Options{Region: testRegion, BaseEndpoint: aws.String("http://s3.test:" + port), HTTPClient: httpClient,
		Credentials: credentials.NewStaticCredentialsProvider(testAK, testSK, "")}) // virtual-hosted style is the SDK default
	ctx := context.Background()
	if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("vhost")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("dir/k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatal(err)
	}
	out, err := cli.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("vhost")})
	if err != nil || len(out.Contents) != 1 || *out.Contents[0].Key != "dir/k" {
		t.Fatalf("list: %+v %v", out, err)
	}
	// CompleteMultipartUpload's Location addresses the object as the client
	// did: the bucket in the host, not again in the path.
	cr, err := cli.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("vhost"), Key: aws.String("dir/m p")})
	if err != nil {
		t.Fatal(err)
	}
	up, err := cli.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("vhost"), Key: aws.String("dir/m p"), UploadId: cr.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("part")})
	if err != nil {
		t.Fatal(err)
	}
	comp, err := cli.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("vhost"), Key: aws.String("dir/m p"), UploadId: cr.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: up.ETag}}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://vhost.s3.test:" + port + "/dir/m%20p"; aws.ToString(comp.Location) != want {
		t.Errorf("Location %q, want %q", aws.ToString(comp.Location), want)
	}
	// Path style keeps working on the bare domain.
	pathCli := s3.New(s3.Options{Region: testRegion, BaseEndpoint: aws.String("http://s3.test:" + port), HTTPClient: httpClient, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testAK, testSK, "")})
	got, err := pathCli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("vhost"), Key: aws.String("dir/k")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(b) != "v" {
		t.Errorf("path style read %q", b)
	}
}

func TestExpectContinueRejectsBeforeBody(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("expect")
	for _, c := range []struct {
		name, method, path, secret string
		status                     string
	}{
		{"bad signature", "PUT", "/expect/big", "wrong", "403"},
		{"missing bucket", "PUT", "/nobucket/big", testSK, "404"},
		{"DeleteObjects on a missing bucket", "POST", "/nobucket?delete", testSK, "404"},
		{"CompleteMultipartUpload of a missing upload", "POST", "/expect/big?uploadId=none", testSK, "404"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, e.srv.URL+c.path, nil)
			req.Header.Set("Expect", "100-continue")
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			if err := newS3Signer().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAK, SecretAccessKey: c.secret}, req,
				"UNSIGNED-PAYLOAD", "s3", testRegion, time.Now()); err != nil {
				t.Fatal(err)
			}
			conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// Send only the head of a 1 GiB upload, as a client waiting for
			// 100 Continue does.
			var head strings.Builder
			fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", c.method, c.path, req.Host, 1<<30)
			if err := req.Header.Write(&head); err != nil {
				t.Fatal(err)
			}
			head.WriteString("\r\n")
			if _, err := io.WriteString(conn, head.String()); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			status, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(status, "HTTP/1.1 "+c.status) {
				rest, _ := io.ReadAll(br)
				t.Errorf("first response line %q, want the final %s (never 100 Continue)\n%s", status, c.status, rest)
			}
		})
	}
}
