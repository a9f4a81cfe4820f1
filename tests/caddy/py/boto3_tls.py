#!/usr/bin/env python3
"""boto3 over TLS through Caddy's s3gateway, with boto3's defaults.

usage: boto3_tls.py ENDPOINT BUCKET WORKDIR

The keys come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the CA
that signed Caddy's certificate from AWS_CA_BUNDLE. Over TLS boto3 sends
PutObject and UploadPart bodies as aws-chunked with a trailing CRC32
checksum.

Checks, each verified byte for byte (SHA-256):
  - upload_file of a 100 MB file with the default TransferConfig (multipart,
    8 MB parts, 10 threads), then download_file;
  - upload_fileobj of unseekable streams (a pipe, 20 MB, and a small one);
  - user metadata with '_' in its name, as Caddyfile.example documents:
    x-amz-meta-build_id is listed in expected_underscore_headers and round
    trips; x-amz-meta-job_id is not, and the upload is refused with
    SignatureDoesNotMatch naming the header and the option; '-' names work.

The last stdout line is a JSON object {"failures": [...], "facts": {...}};
the exit status is 1 if there were failures.
"""

import hashlib
import io
import json
import os
import sys
import threading
import time
import traceback

import boto3
from botocore.client import Config
from botocore.exceptions import ClientError

MB = 1 << 20

failures = []
facts = {}


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            b = f.read(MB)
            if not b:
                return h.hexdigest()
            h.update(b)


def write_random(path, size):
    h = hashlib.sha256()
    with open(path, 'wb') as f:
        left = size
        while left:
            b = os.urandom(min(left, 4 * MB))
            f.write(b)
            h.update(b)
            left -= len(b)
    return h.hexdigest()


def pipe_stream(size):
    """An unseekable stream (a pipe) of size random bytes; returns the
    reader and a function giving the SHA-256 of what was written."""
    r, w = os.pipe()
    h = hashlib.sha256()

    def feed():
        with os.fdopen(w, 'wb') as f:
            left = size
            while left:
                b = os.urandom(min(left, 256 * 1024))
                h.update(b)
                f.write(b)
                left -= len(b)
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    reader = os.fdopen(r, 'rb')
    return reader, lambda: (t.join(), h.hexdigest())[1]


def get_sha(s3, bucket, key):
    body = s3.get_object(Bucket=bucket, Key=key)['Body']
    h = hashlib.sha256()
    n = 0
    for chunk in body.iter_chunks(MB):
        h.update(chunk)
        n += len(chunk)
    return h.hexdigest(), n


def main(endpoint, bucket, workdir):
    s3 = boto3.client('s3', endpoint_url=endpoint, config=Config(signature_version='s3v4'))
    s3.create_bucket(Bucket=bucket)

    # 100 MB with the default TransferConfig.
    src = os.path.join(workdir, 'big.bin')
    want = write_random(src, 100 * MB)
    t0 = time.time()
    s3.upload_file(src, bucket, 'big.bin')
    up = time.time() - t0
    dst = os.path.join(workdir, 'big.out')
    t0 = time.time()
    s3.download_file(bucket, 'big.bin', dst)
    down = time.time() - t0
    check(sha256_file(dst) == want, 'big.bin: downloaded bytes differ from the uploaded ones')
    head = s3.head_object(Bucket=bucket, Key='big.bin')
    check(head['ContentLength'] == 100 * MB, 'big.bin: ContentLength %r' % head['ContentLength'])
    check(head['ETag'].endswith('-13"'), 'big.bin: ETag %s, want a 13-part multipart ETag' % head['ETag'])
    facts['upload_100mb_s'] = round(up, 2)
    facts['download_100mb_s'] = round(down, 2)

    # Unseekable streams: the aws-chunked trailer path.
    for key, size in (('pipe-20mb', 20 * MB + 12345), ('pipe-small', 1000)):
        reader, sha = pipe_stream(size)
        assert not reader.seekable()
        s3.upload_fileobj(reader, bucket, key)
        got, n = get_sha(s3, bucket, key)
        check(n == size and got == sha(), '%s: got %d bytes (sha %s), want %d (sha %s)' % (key, n, got, size, sha()))

    # User metadata with '_' and '-'.
    s3.put_object(Bucket=bucket, Key='meta-listed', Body=b'x', Metadata={'build_id': '42'})
    md = s3.head_object(Bucket=bucket, Key='meta-listed')['Metadata']
    check(md == {'build_id': '42'}, 'listed x-amz-meta-build_id: metadata %r' % md)
    s3.put_object(Bucket=bucket, Key='meta-hyphen', Body=b'x', Metadata={'job-id': '7'})
    md = s3.head_object(Bucket=bucket, Key='meta-hyphen')['Metadata']
    check(md == {'job-id': '7'}, 'x-amz-meta-job-id: metadata %r' % md)
    try:
        s3.put_object(Bucket=bucket, Key='meta-unlisted', Body=b'x', Metadata={'job_id': '7'})
        failures.append('x-amz-meta-job_id (not listed) was accepted')
    except ClientError as e:
        err = e.response.get('Error', {})
        msg = err.get('Message', '')
        facts['unlisted_underscore_error'] = '%s: %s' % (err.get('Code'), msg)
        check(err.get('Code') == 'SignatureDoesNotMatch', 'unlisted underscore metadata: code %r' % err.get('Code'))
        check("'x-amz-meta-job_id'" in msg and 'expected_underscore_headers x-amz-meta-job_id' in msg,
              'unlisted underscore metadata: message %r does not name the header and the option' % msg)
    try:
        s3.head_object(Bucket=bucket, Key='meta-unlisted')
        failures.append('meta-unlisted was stored')
    except ClientError as e:
        check(e.response['Error']['Code'] in ('404', 'NoSuchKey'), 'meta-unlisted: %r' % e.response['Error'])


if __name__ == '__main__':
    try:
        main(*sys.argv[1:4])
    except Exception as e:  # noqa: BLE001 - reported as a failure
        traceback.print_exc(file=sys.stderr)
        failures.append('aborted: %s: %s' % (type(e).__name__, e))
    sys.stdout.flush()
    print(json.dumps({'failures': failures, 'facts': facts}))
    sys.exit(1 if failures else 0)
