"""boto3 against a gateway in upstream mode.

Usage: boto3_upstream.py ENDPOINT ACCESS_KEY SECRET_KEY BUCKET WORKDIR

put/get, upload_file/download_file of 20 MB (multipart), metadata, and a
listing with a delimiter. Prints one JSON line: {"failures": [...]}.
"""

import hashlib
import json
import os
import sys
import traceback

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.client import Config

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)


def main():
    endpoint, ak, sk, bucket, work = sys.argv[1:6]
    s3 = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id=ak,
                      aws_secret_access_key=sk, region_name='us-east-1',
                      config=Config(signature_version='s3v4', retries={'max_attempts': 2}))
    s3.create_bucket(Bucket=bucket)

    body = os.urandom(100 * 1024 + 3)
    s3.put_object(Bucket=bucket, Key='a/one.bin', Body=body, ContentType='application/x-test',
                  Metadata={'colour': 'blue', 'n': '42'}, CacheControl='no-cache')
    got = s3.get_object(Bucket=bucket, Key='a/one.bin')
    check(got['Body'].read() == body, 'get_object: bytes differ')
    check(got['ContentType'] == 'application/x-test', 'content type %r' % got['ContentType'])
    check(got['Metadata'] == {'colour': 'blue', 'n': '42'}, 'metadata %r' % got['Metadata'])
    check(got.get('CacheControl') == 'no-cache', 'cache control %r' % got.get('CacheControl'))
    head = s3.head_object(Bucket=bucket, Key='a/one.bin')
    check(head['ContentLength'] == len(body), 'head length %r' % head['ContentLength'])
    check(head['ETag'] == '"%s"' % hashlib.md5(body).hexdigest(), 'etag %r' % head['ETag'])
    rng = s3.get_object(Bucket=bucket, Key='a/one.bin', Range='bytes=100-199')
    check(rng['Body'].read() == body[100:200], 'range read differs')

    # 20 MB with upload_file (multipart at boto3's 8 MB threshold).
    src = os.path.join(work, 'twenty.bin')
    big = os.urandom(20 * 1000 * 1000)
    with open(src, 'wb') as f:
        f.write(big)
    s3.upload_file(src, bucket, 'big/twenty.bin', ExtraArgs={'Metadata': {'kind': 'big'}},
                   Config=TransferConfig())
    dst = os.path.join(work, 'twenty.back')
    s3.download_file(bucket, 'big/twenty.bin', dst)
    with open(dst, 'rb') as f:
        check(f.read() == big, 'download_file: 20 MB differ')
    check(s3.head_object(Bucket=bucket, Key='big/twenty.bin')['Metadata'] == {'kind': 'big'}, 'big metadata')
    one = s3.put_object(Bucket=bucket, Key='big/single.bin', Body=big)
    check(one['ETag'] == '"%s"' % hashlib.md5(big).hexdigest(), 'single 20 MB put etag %r' % one['ETag'])
    check(s3.get_object(Bucket=bucket, Key='big/single.bin')['Body'].read() == big, 'single 20 MB get differs')

    for k in ['a/b/c.txt', 'a/b/d.txt', 'a/e.txt', 'f.txt', 'a.b/g']:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    page = s3.list_objects_v2(Bucket=bucket, Delimiter='/')
    check([p['Prefix'] for p in page.get('CommonPrefixes', [])] == ['a.b/', 'a/', 'big/'],
          'top prefixes %r' % page.get('CommonPrefixes'))
    check([o['Key'] for o in page.get('Contents', [])] == ['f.txt'], 'top keys %r' % page.get('Contents'))
    page = s3.list_objects_v2(Bucket=bucket, Prefix='a/', Delimiter='/', MaxKeys=1)
    keys, prefixes = [], []
    while True:
        keys += [o['Key'] for o in page.get('Contents', [])]
        prefixes += [p['Prefix'] for p in page.get('CommonPrefixes', [])]
        if not page['IsTruncated']:
            break
        page = s3.list_objects_v2(Bucket=bucket, Prefix='a/', Delimiter='/', MaxKeys=1,
                                  ContinuationToken=page['NextContinuationToken'])
    check(keys == ['a/e.txt', 'a/one.bin'] and prefixes == ['a/b/'], 'a/ pages: %r %r' % (keys, prefixes))

    for o in s3.list_objects_v2(Bucket=bucket)['Contents']:
        s3.delete_object(Bucket=bucket, Key=o['Key'])
    s3.delete_bucket(Bucket=bucket)


if __name__ == '__main__':
    try:
        main()
    except Exception as e:  # noqa: BLE001 - reported
        traceback.print_exc(file=sys.stderr)
        failures.append('%s: %s' % (type(e).__name__, e))
    print(json.dumps({'failures': failures}))
    sys.exit(1 if failures else 0)
