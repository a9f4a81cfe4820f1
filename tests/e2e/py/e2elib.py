"""Helpers shared by the e2e scripts.

Every script checks what it can without stopping at the first problem and
prints, as its LAST stdout line, one JSON object:
{"failures": [...], "facts": {...}}. It exits 1 if there were failures.
The Go tests (tests/e2e) turn each failure into a test error.
"""

import json
import sys
import traceback

import boto3
from botocore.client import Config

ACCESS_KEY = 'accesskey'
SECRET_KEY = 'secretkey'


def client(endpoint):
    """A boto3 S3 client for the gateway, configured like the product doc.

    No region_name: the doc passes region_name='', which botocore 1.43 rejects
    on the client side ("Invalid region: region was not a valid DNS name")
    before sending anything. Without a region, S3 requests are signed for
    us-east-1, the gateway's default.
    """
    return boto3.client('s3', endpoint_url=endpoint,
                        aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY,
                        config=Config(signature_version='s3v4'))


class Checker:
    """Collects failures (soft assertions) and facts, and reports them."""

    def __init__(self):
        self.failures = []
        self.facts = {}

    def check(self, cond, msg):
        if not cond:
            self.failures.append(msg)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, '%s: got %r, want %r' % (what, got, want))

    def step(self, what, fn, *args, **kwargs):
        """Runs fn(*args, **kwargs); an exception becomes a failure naming
        the step. Returns (ok, fn's result or None)."""
        try:
            return True, fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - reported, not swallowed
            self.failures.append('%s raised %s: %s' % (what, type(e).__name__, e))
            traceback.print_exc(file=sys.stderr)
            return False, None

    def finish(self):
        sys.stdout.flush()
        print(json.dumps({'failures': self.failures, 'facts': self.facts}))
        sys.exit(1 if self.failures else 0)


def main(fn):
    """Runs fn(checker); an uncaught exception is reported as a failure."""
    c = Checker()
    try:
        fn(c)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        c.failures.append('aborted: %s: %s' % (type(e).__name__, e))
    c.finish()
