#!/usr/bin/env python3
"""The boto3 example of the product document, as written except where noted.

usage: seed_boto3.py ENDPOINT BUCKET FILE OUT
"""

import filecmp
import sys

import boto3
from botocore.client import Config

import e2elib


def run(c):
    endpoint, bucket, path, out = sys.argv[1:5]
    # Differences from the document:
    # - no region_name='': botocore 1.43 rejects an empty region on the client
    #   side ("Invalid region: region was not a valid DNS name"); without it
    #   requests are signed for us-east-1, the gateway's default region;
    # - the bucket name comes from the test (each test has its own bucket);
    # - no TransferConfig(multipart_threshold=64*MB): the gateway must handle
    #   boto3's default multipart upload (8 MB threshold, 8 MB parts).
    s3 = boto3.resource('s3',
                        endpoint_url=endpoint,
                        aws_access_key_id='accesskey',
                        aws_secret_access_key='secretkey',
                        config=Config(signature_version='s3v4'))

    # create bucket
    s3.Bucket(bucket).create()

    # list bucket
    buckets = [b.name for b in s3.buckets.all()]
    print("buckets:", buckets)
    c.check(bucket in buckets, 'ListBuckets: %r not in %r' % (bucket, buckets))

    # upload file, default TransferConfig
    s3.Bucket(bucket).upload_file(path, 'images/your-file')

    # list file. The document lists Bucket('awstest2'), a typo for the bucket
    # it just created ('awstest'); list the bucket we uploaded to.
    keys = [obj.key for obj in s3.Bucket(bucket).objects.filter(Prefix='images/')]
    print("objects in bucket:", bucket, keys)
    c.eq(keys, ['images/your-file'], "objects.filter(Prefix='images/')")

    # download file
    s3.Bucket(bucket).download_file('images/your-file', out)
    c.check(filecmp.cmp(path, out, shallow=False),
            'download_file: %s differs from the uploaded %s' % (out, path))

    obj = s3.Object(bucket, 'images/your-file')
    c.facts['etag'] = obj.e_tag
    c.facts['content_length'] = obj.content_length


e2elib.main(run)
