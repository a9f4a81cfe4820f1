#!/usr/bin/env python3
"""boto3: user metadata and standard headers round trip, CRC32 checksum
returned with ChecksumMode=ENABLED, copy_object (COPY and REPLACE),
delete_objects, presigned GET (valid and expired).

usage: meta_presign.py ENDPOINT BUCKET
"""

import base64
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
import zlib

import e2elib


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, 'big')).decode()


def run(c):
    endpoint, bucket = sys.argv[1:3]
    s3 = e2elib.client(endpoint)
    s3.create_bucket(Bucket=bucket)

    body = b'hello metadata\n' * 1000
    crc = crc32_b64(body)
    headers = {
        'ContentType': 'text/plain; charset=utf-8',
        'ContentDisposition': 'attachment; filename="report.txt"',
        'CacheControl': 'max-age=60, private',
    }
    # boto3 1.43 computes and sends x-amz-checksum-crc32 by default.
    put = s3.put_object(Bucket=bucket, Key='meta', Body=body,
                        Metadata={'a': '1', 'camelCase': 'x', 'with-dash': 'y'}, **headers)
    c.eq(put.get('ChecksumCRC32'), crc, 'put_object response ChecksumCRC32')

    # User metadata names come back lower-cased, exactly.
    head = s3.head_object(Bucket=bucket, Key='meta')
    want_meta = {'a': '1', 'camelcase': 'x', 'with-dash': 'y'}
    c.eq(head.get('Metadata'), want_meta, 'head_object Metadata')
    for k, v in headers.items():
        c.eq(head.get(k), v, 'head_object ' + k)
    c.eq(head.get('ContentLength'), len(body), 'head_object ContentLength')

    # The stored CRC32 is returned when asked (botocore also validates it
    # against the body it reads).
    ok, got = c.step('get_object(ChecksumMode=ENABLED)', s3.get_object,
                     Bucket=bucket, Key='meta', ChecksumMode='ENABLED')
    if ok:
        c.eq(got.get('ChecksumCRC32'), crc, 'get_object(ChecksumMode=ENABLED) ChecksumCRC32')
        data = got['Body'].read()
        c.check(data == body, 'get_object body differs (%d bytes, want %d)' % (len(data), len(body)))
        for k, v in headers.items():
            c.eq(got.get(k), v, 'get_object ' + k)
        c.eq(got.get('Metadata'), want_meta, 'get_object Metadata')

    # copy_object, default directive COPY: metadata and headers are copied.
    src = {'Bucket': bucket, 'Key': 'meta'}
    ok, _ = c.step('copy_object(COPY)', s3.copy_object, Bucket=bucket, Key='meta-copy', CopySource=src)
    if ok:
        h = s3.head_object(Bucket=bucket, Key='meta-copy')
        c.eq(h.get('Metadata'), want_meta, 'copy_object(COPY) Metadata')
        c.eq(h.get('ContentType'), headers['ContentType'], 'copy_object(COPY) ContentType')
        c.eq(h.get('ETag'), head.get('ETag'), 'copy_object(COPY) ETag')

    # copy_object with MetadataDirective=REPLACE: only the new metadata and
    # headers remain.
    ok, _ = c.step('copy_object(REPLACE)', s3.copy_object, Bucket=bucket, Key='meta-replaced',
                   CopySource=src, MetadataDirective='REPLACE',
                   Metadata={'New-Key': 'v2'}, ContentType='application/json')
    if ok:
        h = s3.head_object(Bucket=bucket, Key='meta-replaced')
        c.eq(h.get('Metadata'), {'new-key': 'v2'}, 'copy_object(REPLACE) Metadata')
        c.eq(h.get('ContentType'), 'application/json', 'copy_object(REPLACE) ContentType')
        c.eq(h.get('CacheControl'), None, 'copy_object(REPLACE) CacheControl (not given, must not be copied)')
        data = s3.get_object(Bucket=bucket, Key='meta-replaced')['Body'].read()
        c.check(data == body, 'copy_object(REPLACE) body differs')

    # Copy onto itself with REPLACE: the usual way to change metadata.
    s3.put_object(Bucket=bucket, Key='self', Body=b'self', Metadata={'v': '1'})
    ok, _ = c.step('copy_object(self, REPLACE)', s3.copy_object, Bucket=bucket, Key='self',
                   CopySource={'Bucket': bucket, 'Key': 'self'}, MetadataDirective='REPLACE',
                   Metadata={'v': '2'})
    if ok:
        g = s3.get_object(Bucket=bucket, Key='self')
        c.eq(g.get('Metadata'), {'v': '2'}, 'copy_object(self, REPLACE) Metadata')
        c.eq(g['Body'].read(), b'self', 'copy_object(self, REPLACE) body')

    # delete_objects of 3 keys (boto3 sends a CRC32 checksum, not Content-MD5).
    keys = ['del/1', 'del/2', 'del/3']
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    ok, res = c.step('delete_objects', s3.delete_objects, Bucket=bucket,
                     Delete={'Objects': [{'Key': k} for k in keys]})
    if ok:
        c.eq(sorted(d['Key'] for d in res.get('Deleted', [])), keys, 'delete_objects Deleted')
        c.eq(res.get('Errors', []), [], 'delete_objects Errors')
        left = s3.list_objects_v2(Bucket=bucket, Prefix='del/')
        c.eq([o['Key'] for o in left.get('Contents', [])], [], 'objects left after delete_objects')

    # Presigned GET, fetched without any SDK.
    url = s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'meta'}, ExpiresIn=300)
    c.facts['presigned_url'] = url
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            data = r.read()
            c.eq(r.status, 200, 'presigned GET status')
            c.check(data == body, 'presigned GET body differs (%d bytes)' % len(data))
    except urllib.error.HTTPError as e:
        c.failures.append('presigned GET %s: HTTP %d: %s' % (url, e.code, e.read()[:500]))

    # Expired presigned URL: 403 AccessDenied with an S3 XML error body.
    url = s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'meta'}, ExpiresIn=1)
    time.sleep(2)
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            c.failures.append('expired presigned GET %s: got HTTP %d, want 403' % (url, r.status))
    except urllib.error.HTTPError as e:
        raw = e.read()
        c.eq(e.code, 403, 'expired presigned GET status')
        try:
            code = ET.fromstring(raw).findtext('Code')
        except ET.ParseError as pe:
            code = 'unparsable XML (%s): %r' % (pe, raw[:300])
        c.eq(code, 'AccessDenied', 'expired presigned GET error Code')


e2elib.main(run)
