package main

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The --sse modes.
const (
	sseS3 = "AES256"
	sseC  = "SSE-C"
)

// benchCustomerKey is the SSE-C key of --sse SSE-C: fixed, so that a run
// with --existing reads what an earlier run wrote.
var benchCustomerKey = sha256.Sum256([]byte("s3bench SSE-C key"))

// sseS3 is the x-amz-server-side-encryption of the objects written.
func (b *bench) sseS3() types.ServerSideEncryption {
	if b.cfg.SSE == sseS3 {
		return types.ServerSideEncryptionAes256
	}
	return ""
}

// sseC returns the SSE-C algorithm, key and key MD5 of every object
// request (nil without --sse SSE-C).
func (b *bench) sseC() (alg, key, keyMD5 *string) {
	if b.cfg.SSE != sseC {
		return nil, nil, nil
	}
	sum := md5.Sum(benchCustomerKey[:])
	a, k, m := "AES256", base64.StdEncoding.EncodeToString(benchCustomerKey[:]), base64.StdEncoding.EncodeToString(sum[:])
	return &a, &k, &m
}
