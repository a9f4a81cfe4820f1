package e2e

import (
	"path/filepath"
	"testing"
)

// TestSeedBoto3 runs the product document's boto3 example (py/seed_boto3.py)
// with a ~20 MB file and boto3's default TransferConfig, so upload_file and
// download_file use multipart (8 MB threshold and parts: 3 parts).
func TestSeedBoto3(t *testing.T) {
	requireBoto3(t)
	g := sharedGateway(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "your-file")
	const size = 20<<20 + 4321
	writeRandomFile(t, src, size, 5)
	wantETag := `"` + multipartETag(t, src, 8<<20) + `"`

	facts := runPy(t, clientEnv(t), "seed_boto3.py", g.endpoint(), "awstest-boto3", src, filepath.Join(dir, "newfile"))
	if facts == nil {
		return
	}
	if got, _ := facts["etag"].(string); got != wantETag {
		t.Errorf("ETag of images/your-file = %s, want the multipart ETag %s", got, wantETag)
	}
	if got, _ := facts["content_length"].(float64); int64(got) != size {
		t.Errorf("ContentLength of images/your-file = %v, want %d", facts["content_length"], size)
	}
}

// TestBoto3UnseekableUpload uploads unseekable streams with upload_fileobj:
// a pipe and a raw stream whose seekable() is False, 30 MB (multipart) and
// small, plus an empty one, then downloads and compares SHA-256
// (py/unseekable.py).
func TestBoto3UnseekableUpload(t *testing.T) {
	requireBoto3(t)
	g := sharedGateway(t)
	runPy(t, clientEnv(t), "unseekable.py", g.endpoint(), "boto3-unseekable")
}

// TestBoto3MetadataChecksumsPresign checks user metadata and standard header
// round trips, the CRC32 checksum with ChecksumMode=ENABLED, copy_object with
// COPY and REPLACE, delete_objects and presigned GET URLs, valid and expired
// (py/meta_presign.py).
func TestBoto3MetadataChecksumsPresign(t *testing.T) {
	requireBoto3(t)
	g := sharedGateway(t)
	runPy(t, clientEnv(t), "meta_presign.py", g.endpoint(), "boto3-meta")
}

// TestBoto3ExpectContinueEmptyBody reuses one connection after a zero-length
// PutObject sent with `Expect: 100-continue` (py/expect_continue.py): unless
// the gateway sends 100 Continue first, botocore misreads the next response
// on the connection and hangs until its read timeout. `aws s3 sync` of a
// tree holding an empty file runs into this (TestAWSCLISyncAndList then
// takes over a minute).
func TestBoto3ExpectContinueEmptyBody(t *testing.T) {
	requireBoto3(t)
	g := sharedGateway(t)
	runPy(t, clientEnv(t), "expect_continue.py", g.endpoint(), "boto3-expect")
}

// TestBoto3PostForms: browser uploads (py/post_forms.py): a form from
// boto3's generate_presigned_post carrying x-amz-website-redirect-location,
// anonymous forms into a public-read-write bucket (accepted), a private
// one, with a public ACL or under IgnorePublicAcls (refused), and a policy
// without a signature (refused).
func TestBoto3PostForms(t *testing.T) {
	requireBoto3(t)
	g := sharedGateway(t)
	runPy(t, clientEnv(t), "post_forms.py", g.endpoint(), "boto3-post")
}
