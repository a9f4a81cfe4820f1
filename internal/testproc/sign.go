package testproc

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// UnsignedPayload is the x-amz-content-sha256 of a request whose body is
// not signed.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// SignV4 signs req for S3 in us-east-1 with the key pair, as a client of
// the gateway does (the path as given, not escaped again). payloadHash is
// the hex SHA-256 of the body or UnsignedPayload; it is also set as
// x-amz-content-sha256.
func SignV4(req *http.Request, accessKey, secretKey, payloadHash string) error {
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	return signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey},
		req, payloadHash, "s3", "us-east-1", time.Now())
}
