#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Sign a set of S3 requests with botocore and with objfsd's signer
(tests/lib/sigv4_tool) and require the same Authorization header.

Exits 77 (skip) when botocore is not installed."""

import datetime
import hashlib
import os
import subprocess
import sys
import urllib.parse
from unittest import mock

try:
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    print("SKIP: python3-botocore is not installed")
    sys.exit(77)

TOOL = os.environ.get("SIGV4_TOOL", "tests/lib/sigv4_tool")
WHEN = datetime.datetime(2024, 2, 29, 23, 59, 58)
AMZ_DATE = WHEN.strftime("%Y%m%dT%H%M%SZ")
ACCESS, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def quote(s, safe):
    return urllib.parse.quote(s, safe=safe)


CASES = [
    # method, bucket/key path, query pairs, extra headers, body
    ("GET", "/bucket/plain.txt", [], {}, b""),
    ("GET", "/bucket/with space/and+plus~tilde", [], {"Range": "bytes=0-99"}, b""),
    ("GET", "/bucket/unicodé/日本語/émoji-😀", [], {}, b""),
    ("GET", "/bucket/odd!$&'()*,;=:@[]", [], {}, b""),
    ("HEAD", "/bucket/a/b/c/", [], {}, b""),
    ("GET", "/bucket", [("list-type", "2"), ("prefix", "dir with space/"),
                        ("delimiter", "/"), ("max-keys", "1000"),
                        ("continuation-token", "1oo8Ol0H+Wx9f/Zho=="),
                        ("encoding-type", "url")], {}, b""),
    ("PUT", "/bucket/new file", [], {"x-amz-meta-mode": "33188",
                                     "x-amz-meta-uid": "1000",
                                     "x-amz-meta-xattr": "%7B%22user.a%22%3A%22Yg%3D%3D%22%7D",
                                     "Content-Type": "application/octet-stream"},
     b"hello world"),
    ("PUT", "/bucket/copy", [], {"x-amz-copy-source": "/bucket/src%20key",
                                 "x-amz-metadata-directive": "REPLACE"}, b""),
    ("POST", "/bucket/big", [("uploads", "")], {}, b""),
    ("PUT", "/bucket/big", [("partNumber", "7"), ("uploadId", "VXBs/b2Fk+SUQ=")],
     {}, b"x" * 1000),
    ("POST", "/bucket", [("delete", "")], {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
                                            "Content-Type": "application/xml"},
     b"<Delete><Object><Key>a</Key></Object></Delete>"),
    ("DELETE", "/bucket/gone", [], {"X-Amz-Meta-Spaced": "  a   b  "}, b""),
]


def botocore_auth(method, path, query, headers, body, token):
    url = "http://127.0.0.1:4569" + quote(path, "/-_.~")
    if query:
        url += "?" + "&".join(quote(k, "-_.~") + "=" + quote(v, "-_.~")
                              for k, v in query)
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    auth = S3SigV4Auth(Credentials(ACCESS, SECRET, token), "s3", "us-east-1")
    with mock.patch("botocore.auth.datetime") as dt:
        dt.datetime.utcnow.return_value = WHEN
        dt.timezone = datetime.timezone
        auth.add_auth(req)
    return req.headers


def ours(method, path, query, signed, payload_hash):
    args = [TOOL, method, path, AMZ_DATE, "us-east-1", payload_hash, ACCESS, SECRET]
    for k, v in query:
        args += ["-q", f"{k}={v}"]
    for k, v in signed.items():
        args += ["-H", f"{k}:{v}"]
    return subprocess.run(args, check=True, capture_output=True,
                          text=True).stdout.strip()


def main():
    failed = 0
    for token in (None, "FQoGZXIvYXdzEBYaDEXAMPLETOKEN+/=="):
        for method, path, query, headers, body in CASES:
            signed_by_boto = botocore_auth(method, path, query, headers, body, token)
            theirs = signed_by_boto["Authorization"]
            names = theirs.split("SignedHeaders=")[1].split(",")[0].split(";")
            signed = {}
            for n in names:
                if n == "host":
                    signed["host"] = "127.0.0.1:4569"
                else:
                    signed[n] = signed_by_boto[n]
            payload_hash = signed_by_boto["X-Amz-Content-SHA256"]
            if body and payload_hash != "UNSIGNED-PAYLOAD":
                assert payload_hash == hashlib.sha256(body).hexdigest()
            mine = ours(method, path, query, signed, payload_hash)
            if mine != theirs:
                failed += 1
                print(f"FAIL: {method} {path} {query} token={bool(token)}\n"
                      f"  botocore: {theirs}\n  objfsd:   {mine}")
    total = 2 * len(CASES)
    print(f"sigv4 vs botocore: {total - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
