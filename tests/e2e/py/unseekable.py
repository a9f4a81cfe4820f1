#!/usr/bin/env python3
"""upload_fileobj of unseekable streams (a pipe and a raw stream whose
seekable() is False), large enough for multipart and small, with boto3's
default TransferConfig; download and compare SHA-256.

usage: unseekable.py ENDPOINT BUCKET
"""

import hashlib
import io
import os
import random
import sys
import threading

import e2elib

MB = 1 << 20


class Unseekable(io.RawIOBase):
    """size deterministic pseudo-random bytes; cannot seek or tell."""

    def __init__(self, seed, size):
        self.rng = random.Random(seed)
        self.left = size
        self.sha = hashlib.sha256()

    def readable(self):
        return True

    def seekable(self):
        return False

    def readinto(self, b):
        n = min(len(b), self.left, 1 * MB)
        if n == 0:
            return 0
        data = self.rng.randbytes(n)
        b[:n] = data
        self.sha.update(data)
        self.left -= n
        return n


def pipe_stream(seed, size):
    """A pipe fed by a thread with size bytes, read through a buffered
    reader like sys.stdin.buffer; returns (reader, sha256 fn)."""
    r, w = os.pipe()
    src = Unseekable(seed, size)

    def feed():
        with os.fdopen(w, 'wb') as f:
            while True:
                chunk = src.read(256 * 1024)
                if not chunk:
                    break
                f.write(chunk)
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    reader = os.fdopen(r, 'rb')
    assert not reader.seekable()
    return reader, (lambda: (t.join(), src.sha.hexdigest())[1])


class HashWriter(io.RawIOBase):
    """A write-only sink computing SHA-256 and counting bytes."""

    def __init__(self):
        self.sha = hashlib.sha256()
        self.n = 0

    def writable(self):
        return True

    def write(self, b):
        self.sha.update(b)
        self.n += len(b)
        return len(b)


def run(c):
    endpoint, bucket = sys.argv[1:3]
    s3 = e2elib.client(endpoint)
    s3.create_bucket(Bucket=bucket)

    # s3transfer decides on multipart by read(8 MB) from the stream: a
    # buffered reader returns a full 8 MB (multipart, 8 MB parts: 4 parts for
    # 30 MB), a raw stream returns a short read (one PutObject of everything).
    cases = [
        # key, kind, size, expected number of parts (0: single PutObject,
        # None: not checked)
        ('pipe-30m', 'pipe', 30 * MB, 4),
        ('buffered-30m', 'buffered', 30 * MB + 1, 4),
        ('raw-30m', 'raw', 30 * MB - 1, None),
        ('raw-small', 'raw', 100 * 1024 + 7, 0),
        ('buffered-empty', 'buffered', 0, 0),
    ]
    for i, (key, kind, size, parts) in enumerate(cases):
        if kind == 'pipe':
            stream, digest = pipe_stream(1000 + i, size)
        else:
            raw = Unseekable(1000 + i, size)
            stream, digest = raw, raw.sha.hexdigest
            if kind == 'buffered':
                stream = io.BufferedReader(raw)
        c.check(not stream.seekable(), '%s: test bug: stream is seekable' % key)
        ok, _ = c.step('upload_fileobj(%s, %d bytes, %s)' % (key, size, kind),
                       s3.upload_fileobj, stream, bucket, key)
        if not ok:
            continue
        want = digest()
        ok, head = c.step('head_object(%s)' % key, s3.head_object, Bucket=bucket, Key=key)
        if ok:
            c.eq(head['ContentLength'], size, '%s ContentLength' % key)
            etag = head['ETag'].strip('"')
            if parts:
                c.check(etag.endswith('-%d' % parts),
                        '%s: ETag %s, want a multipart ETag ending in -%d' % (key, head['ETag'], parts))
            elif parts == 0:
                c.check('-' not in etag, '%s: ETag %s, want a plain MD5' % (key, head['ETag']))
            c.facts[key + '.etag'] = head['ETag']
        sink = HashWriter()
        ok, _ = c.step('download_fileobj(%s)' % key, s3.download_fileobj, bucket, key, sink)
        if ok:
            c.eq((sink.n, sink.sha.hexdigest()), (size, want), '%s downloaded (size, sha256)' % key)


e2elib.main(run)
