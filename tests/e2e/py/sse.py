#!/usr/bin/env python3
"""boto3: server-side encryption over TLS. SSE-S3 and SSE-C round trips
(single and multipart, ranged reads across part and 64 KiB segment
boundaries), copies between the modes (copy_object and a multipart copy
through UploadPartCopy), wrong and missing SSE-C keys, SSE-KMS refused,
bucket default encryption.

usage: sse.py ENDPOINT CA_BUNDLE BUCKET
"""

import hashlib
import os
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.client import Config
from botocore.exceptions import ClientError

import e2elib

MIB = 1 << 20
SEG = 64 << 10


def error_of(fn, **kw):
    """Calls fn and returns (HTTP status, error code), or (None, None)."""
    try:
        fn(**kw)
    except ClientError as e:
        return e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error'].get('Code')
    return None, None


def run(c):
    endpoint, ca, bucket = sys.argv[1:4]
    s3 = boto3.client('s3', endpoint_url=endpoint, verify=ca,
                      aws_access_key_id=e2elib.ACCESS_KEY, aws_secret_access_key=e2elib.SECRET_KEY,
                      config=Config(signature_version='s3v4'))
    s3.create_bucket(Bucket=bucket)
    key1, key2 = os.urandom(32), os.urandom(32)
    ssec1 = {'SSECustomerAlgorithm': 'AES256', 'SSECustomerKey': key1}
    ssec2 = {'SSECustomerAlgorithm': 'AES256', 'SSECustomerKey': key2}
    src1 = {'CopySourceSSECustomerAlgorithm': 'AES256', 'CopySourceSSECustomerKey': key1}
    data = os.urandom(3 * SEG + 1234)

    # Single PUTs.
    r = s3.put_object(Bucket=bucket, Key='s3', Body=data, ServerSideEncryption='AES256')
    c.eq(r.get('ServerSideEncryption'), 'AES256', 'put SSE-S3 ServerSideEncryption')
    c.eq(r['ETag'].strip('"'), hashlib.md5(data).hexdigest(), 'SSE-S3 ETag (MD5 of the data)')
    r = s3.put_object(Bucket=bucket, Key='c', Body=data, **ssec1)
    c.eq(r.get('SSECustomerAlgorithm'), 'AES256', 'put SSE-C SSECustomerAlgorithm')
    c.check(r['ETag'].strip('"') != hashlib.md5(data).hexdigest(), 'SSE-C ETag must not be the MD5 of the data')
    got = s3.get_object(Bucket=bucket, Key='s3')
    c.eq(got.get('ServerSideEncryption'), 'AES256', 'get SSE-S3 ServerSideEncryption')
    c.check(got['Body'].read() == data, 'get SSE-S3 body')
    c.check(s3.get_object(Bucket=bucket, Key='c', **ssec1)['Body'].read() == data, 'get SSE-C body')
    for lo, hi in ((SEG - 10, SEG + 10), (0, 0), (2 * SEG, 3 * SEG + 1233)):
        for key, extra in (('s3', {}), ('c', ssec1)):
            b = s3.get_object(Bucket=bucket, Key=key, Range='bytes=%d-%d' % (lo, hi), **extra)['Body'].read()
            c.check(b == data[lo:hi + 1], 'ranged get %s %d-%d' % (key, lo, hi))
    head = s3.head_object(Bucket=bucket, Key='c', **ssec1)
    c.eq(head['ContentLength'], len(data), 'head SSE-C ContentLength')

    # Wrong and missing keys, SSE-KMS.
    c.eq(error_of(s3.get_object, Bucket=bucket, Key='c', **ssec2), (403, 'AccessDenied'), 'get with the wrong key')
    c.eq(error_of(s3.get_object, Bucket=bucket, Key='c'), (400, 'InvalidRequest'), 'get without the key')
    c.eq(error_of(s3.head_object, Bucket=bucket, Key='c', **ssec2)[0], 403, 'head with the wrong key')
    c.eq(error_of(s3.put_object, Bucket=bucket, Key='kms', Body=b'x', ServerSideEncryption='aws:kms'),
         (501, 'NotImplemented'), 'put SSE-KMS')

    # Multipart (boto3's transfer manager: 5 MiB parts, ranged downloads).
    big = os.urandom(12 * MIB + 77)
    tc = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=4)
    for key, extra in (('mp-s3', {'ServerSideEncryption': 'AES256'}), ('mp-c', ssec1)):
        s3.upload_fileobj(_Reader(big), bucket, key, ExtraArgs=extra, Config=tc)
        head_extra = ssec1 if key == 'mp-c' else {}
        head = s3.head_object(Bucket=bucket, Key=key, **head_extra)
        c.eq(head['ContentLength'], len(big), key + ' ContentLength')
        c.check(head['ETag'].endswith('-3"'), key + ' multipart ETag ' + head['ETag'])
        sink = _Sink()
        s3.download_fileobj(bucket, key, sink, ExtraArgs=head_extra, Config=tc)
        c.check(sink.data() == big, key + ' download')
        lo = 5 * MIB - 3
        b = s3.get_object(Bucket=bucket, Key=key, Range='bytes=%d-%d' % (lo, lo + SEG), **head_extra)['Body'].read()
        c.check(b == big[lo:lo + SEG + 1], key + ' range across the part boundary')
        p2 = s3.get_object(Bucket=bucket, Key=key, PartNumber=2, **head_extra)['Body'].read()
        c.check(p2 == big[5 * MIB:10 * MIB], key + ' PartNumber=2')
    listed = {o['Key']: o['Size'] for o in s3.list_objects_v2(Bucket=bucket)['Contents']}
    c.eq(listed.get('mp-c'), len(big), 'listed size of mp-c')
    c.eq(listed.get('c'), len(data), 'listed size of c')

    # Copies between modes.
    s3.copy_object(Bucket=bucket, Key='c-to-s3', CopySource={'Bucket': bucket, 'Key': 'c'}, ServerSideEncryption='AES256', **src1)
    c.check(s3.get_object(Bucket=bucket, Key='c-to-s3')['Body'].read() == data, 'copy SSE-C -> SSE-S3')
    s3.copy_object(Bucket=bucket, Key='s3-to-c2', CopySource={'Bucket': bucket, 'Key': 's3'}, **ssec2)
    c.check(s3.get_object(Bucket=bucket, Key='s3-to-c2', **ssec2)['Body'].read() == data, 'copy SSE-S3 -> SSE-C')
    s3.copy_object(Bucket=bucket, Key='c-to-plain', CopySource={'Bucket': bucket, 'Key': 'c'}, **src1)
    plain = s3.get_object(Bucket=bucket, Key='c-to-plain')
    c.check('ServerSideEncryption' not in plain and plain['Body'].read() == data, 'copy SSE-C -> unencrypted')
    # A managed copy above the threshold is a multipart upload of UploadPartCopy parts.
    s3.copy({'Bucket': bucket, 'Key': 'mp-c'}, bucket, 'mp-c-to-c2',
            ExtraArgs=dict(ssec2, **src1), Config=tc)
    sink = _Sink()
    s3.download_fileobj(bucket, 'mp-c-to-c2', sink, ExtraArgs=ssec2, Config=tc)
    c.check(sink.data() == big, 'multipart copy SSE-C (key 1) -> SSE-C (key 2)')

    # Bucket default encryption.
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        'Rules': [{'ApplyServerSideEncryptionByDefault': {'SSEAlgorithm': 'AES256'}}]})
    rule = s3.get_bucket_encryption(Bucket=bucket)['ServerSideEncryptionConfiguration']['Rules'][0]
    c.eq(rule['ApplyServerSideEncryptionByDefault']['SSEAlgorithm'], 'AES256', 'get_bucket_encryption')
    r = s3.put_object(Bucket=bucket, Key='default', Body=b'default')
    c.eq(r.get('ServerSideEncryption'), 'AES256', 'put into a bucket with default encryption')
    status, _ = error_of(s3.put_bucket_encryption, Bucket=bucket, ServerSideEncryptionConfiguration={
        'Rules': [{'ApplyServerSideEncryptionByDefault': {'SSEAlgorithm': 'aws:kms'}}]})
    c.eq(status, 501, 'put_bucket_encryption aws:kms')
    s3.delete_bucket_encryption(Bucket=bucket)
    c.eq(error_of(s3.get_bucket_encryption, Bucket=bucket)[0], 404, 'get_bucket_encryption after delete')


class _Reader:
    """An unseekable reader of b (boto3 then streams parts)."""

    def __init__(self, b):
        self.b, self.off = b, 0

    def read(self, n=-1):
        if n is None or n < 0:
            n = len(self.b) - self.off
        out = self.b[self.off:self.off + n]
        self.off += len(out)
        return out


class _Sink:
    """A seekable in-memory file for download_fileobj."""

    def __init__(self):
        import io
        self.f = io.BytesIO()

    def write(self, b):
        return self.f.write(b)

    def seek(self, *a):
        return self.f.seek(*a)

    def tell(self):
        return self.f.tell()

    def data(self):
        return self.f.getvalue()


e2elib.main(run)
