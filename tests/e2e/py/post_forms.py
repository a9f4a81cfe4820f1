#!/usr/bin/env python3
"""Browser uploads (POST Object) as web apps make them: a form built by
boto3's generate_presigned_post (with x-amz-website-redirect-location), and
anonymous forms (no policy, no signature) into a public-read-write bucket,
a private one, and one whose PublicAccessBlock ignores public ACLs; a form
with a policy but no signature is refused.

usage: post_forms.py ENDPOINT BUCKET
"""

import sys
import xml.etree.ElementTree as ET

import urllib3

import e2elib


def post(url, fields, data, filename='upload.txt'):
    """POSTs fields (in order) and then the file as multipart/form-data."""
    body, ctype = urllib3.encode_multipart_formdata(
        list(fields.items()) + [('file', (filename, data, 'text/plain'))])
    return urllib3.PoolManager().request('POST', url, body=body, headers={'Content-Type': ctype},
                                         redirect=False, retries=False)


def code(resp):
    try:
        return ET.fromstring(resp.data).findtext('Code')
    except ET.ParseError:
        return None


def run(c):
    endpoint, bucket = sys.argv[1:3]
    s3 = e2elib.client(endpoint)
    public, private = bucket + '-public', bucket + '-private'
    s3.create_bucket(Bucket=public, ObjectOwnership='ObjectWriter', ACL='public-read-write')
    s3.create_bucket(Bucket=private)

    # A signed form from generate_presigned_post, with a website redirect.
    form = s3.generate_presigned_post(
        public, 'signed/${filename}',
        Fields={'Content-Type': 'text/plain', 'x-amz-website-redirect-location': '/index.html'},
        Conditions=[['starts-with', '$key', 'signed/'], {'Content-Type': 'text/plain'},
                    {'x-amz-website-redirect-location': '/index.html'}],
        ExpiresIn=600)
    r = post(form['url'], form['fields'], b'signed upload', 'a.txt')
    c.eq(r.status, 204, 'signed POST status (%s)' % r.data[:200])
    ok, head = c.step('head_object signed/a.txt', s3.head_object, Bucket=public, Key='signed/a.txt')
    if ok:
        c.eq(head.get('WebsiteRedirectLocation'), '/index.html', 'WebsiteRedirectLocation of the signed upload')
        c.eq(head.get('ContentType'), 'text/plain', 'ContentType of the signed upload')

    # Anonymous: no policy, no signature.
    url = endpoint + '/' + public
    r = post(url, {'key': 'anon/${filename}', 'Content-Type': 'text/plain',
                   'success_action_status': '201'}, b'anonymous upload', 'b.txt')
    c.eq(r.status, 201, 'anonymous POST into a public-read-write bucket (%s)' % r.data[:200])
    ok, got = c.step('get_object anon/b.txt', s3.get_object, Bucket=public, Key='anon/b.txt')
    if ok:
        c.eq(got['Body'].read(), b'anonymous upload', 'anonymous upload content')
    r = post(endpoint + '/' + private, {'key': 'anon.txt'}, b'x')
    c.eq((r.status, code(r)), (403, 'AccessDenied'), 'anonymous POST into a private bucket')
    r = post(url, {'key': 'anon/acl.txt', 'acl': 'public-read'}, b'x')
    c.eq((r.status, code(r)), (403, 'AccessDenied'), 'anonymous POST asking for a public ACL')
    r = post(url, {'key': 'anon/p.txt', 'policy': form['fields']['policy']}, b'x')
    c.eq((r.status, code(r)), (400, 'InvalidArgument'), 'a policy without a signature')

    s3.put_public_access_block(Bucket=public, PublicAccessBlockConfiguration={
        'BlockPublicAcls': False, 'IgnorePublicAcls': True,
        'BlockPublicPolicy': False, 'RestrictPublicBuckets': False})
    r = post(url, {'key': 'anon/blocked.txt'}, b'x')
    c.eq((r.status, code(r)), (403, 'AccessDenied'), 'anonymous POST with IgnorePublicAcls')
    s3.delete_public_access_block(Bucket=public)

    listed = s3.list_objects_v2(Bucket=public).get('Contents', [])
    c.eq(sorted(o['Key'] for o in listed), ['anon/b.txt', 'signed/a.txt'], 'the public bucket holds')
    for o in listed:
        s3.delete_object(Bucket=public, Key=o['Key'])
    s3.delete_bucket(Bucket=public)
    s3.delete_bucket(Bucket=private)


e2elib.main(run)
