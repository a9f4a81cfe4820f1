#!/usr/bin/env python3
"""Requests after an early final answer to `Expect: 100-continue`, on one
kept-alive connection.

botocore sends `Expect: 100-continue` with file-like bodies (every
`aws s3 cp/sync` upload). If the server answers such a request with its final
response without a 100 Continue first -- as Go's net/http does by itself for
a zero-length body -- botocore remembers that response's status line on the
connection and misreads the NEXT response on it: the real status line is
parsed as a header, the body length is lost, and the client hangs until its
read timeout (60 s by default) and retries. `aws s3 sync` of a tree with an
empty file hits this. The gateway has to send `100 Continue` first.

usage: expect_continue.py ENDPOINT BUCKET
"""

import io
import sys
import time

import boto3
from botocore.client import Config

import e2elib


def run(c):
    endpoint, bucket = sys.argv[1:3]
    # One connection, so every request reuses it; fail fast instead of
    # waiting 60 s and retrying.
    s3 = boto3.client('s3', endpoint_url=endpoint,
                      aws_access_key_id=e2elib.ACCESS_KEY,
                      aws_secret_access_key=e2elib.SECRET_KEY,
                      config=Config(signature_version='s3v4', max_pool_connections=1,
                                    read_timeout=10, retries={'total_max_attempts': 1}))
    s3.create_bucket(Bucket=bucket)

    steps = [
        ('PutObject empty (file-like body, Expect: 100-continue)', 'empty', b''),
        ('PutObject 3 bytes on the same connection', 'next', b'abc'),
        ('PutObject empty again', 'empty2', b''),
        ('PutObject 1 MiB on the same connection', 'big', b'x' * (1 << 20)),
    ]
    # Only uploads back to back: a request without Expect (a GET) resets
    # botocore's state and would hide the problem.
    for what, key, body in steps:
        t = time.time()
        c.step(what, s3.put_object, Bucket=bucket, Key=key, Body=io.BytesIO(body))
        c.check(time.time() - t < 5, '%s took %.1fs' % (what, time.time() - t))
    for _, key, body in steps:
        ok, got = c.step('GetObject ' + key, s3.get_object, Bucket=bucket, Key=key)
        if ok:
            c.eq(got['Body'].read(), body, 'GetObject %s body' % key)

    # An early error (no such bucket) to an Expect request with a body, then
    # a normal request.
    try:
        s3.put_object(Bucket=bucket + '-missing', Key='k', Body=io.BytesIO(b'data'))
        c.failures.append('PutObject to a missing bucket succeeded')
    except s3.exceptions.NoSuchBucket:
        pass
    except Exception as e:  # noqa: BLE001
        c.failures.append('PutObject to a missing bucket: %s: %s (want NoSuchBucket)' % (type(e).__name__, e))
    c.step('PutObject after an early error response', s3.put_object,
           Bucket=bucket, Key='after-error', Body=io.BytesIO(b'ok'))


e2elib.main(run)
