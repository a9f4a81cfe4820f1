package console

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// internalHost is the Host of the S3 requests the console makes
// in-process (path style; never a virtual host of a bucket).
const internalHost = "console.internal.invalid"

// maxInternalResponse bounds the body of an in-process S3 response the
// console buffers (listings: 1000 keys of 1 KiB at most, XML escaped).
const maxInternalResponse = 16 << 20

// inProcess is an SDK HTTP client that serves each request with the
// gateway's handler, in this process: the console's calls are signed S3
// requests, authenticated and authorized exactly as any client's.
type inProcess struct{ h http.Handler }

// Do serves req with the handler and returns its buffered response.
func (d inProcess) Do(req *http.Request) (*http.Response, error) {
	sreq := req.Clone(req.Context())
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "127.0.0.1:0"
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	rec := &recorder{header: http.Header{}}
	d.h.ServeHTTP(rec, sreq)
	if rec.err != nil {
		return nil, rec.err
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", rec.status, http.StatusText(rec.status)), StatusCode: rec.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rec.header, Body: io.NopCloser(&rec.body), ContentLength: int64(rec.body.Len()), Request: req,
	}, nil
}

// recorder buffers a response (up to maxInternalResponse bytes).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	err    error
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	if r.body.Len()+len(p) > maxInternalResponse {
		r.err = errors.New("console: in-process S3 response too large")
		return 0, r.err
	}
	return r.body.Write(p)
}

// newClient returns an S3 client signing with the key pair whose requests
// the handler serves in-process.
func newClient(h http.Handler, region, accessKey, secretKey string) *s3.Client {
	return s3.New(s3.Options{
		Region:                     region,
		Credentials:                credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		BaseEndpoint:               aws.String("http://" + internalHost),
		UsePathStyle:               true,
		HTTPClient:                 inProcess{h},
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// atoi parses a non-negative decimal, or returns def.
func atoi(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return def
	}
	return n
}
