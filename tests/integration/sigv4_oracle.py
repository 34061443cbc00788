#!/usr/bin/env python3
"""Independent SigV4 oracle: botocore's SigV4Auth signs a request described on stdin.

Input (one JSON object on stdin):
  {"method": "POST", "url": "https://host/path?query",
   "headers": {"Name": "value", ...},          # headers to sign (host, x-amz-date, ...)
   "body": "<base64>", "access_key": "...", "secret_key": "...",
   "token": null | "...", "region": "...", "service": "...",
   "amz_date": "YYYYMMDDTHHMMSSZ"}
Output: the Authorization header value on one line.  With --debug the canonical request and
the string to sign follow on stderr, to explain a mismatch.

botocore 1.43 stamps the time inside add_auth() with botocore.auth.get_current_datetime(), so
request.context['timestamp'] is overwritten; the clock is frozen by patching that function.
botocore also (re)sets X-Amz-Date and, with a token, X-Amz-Security-Token itself.
"""
import base64
import datetime
import json
import sys
from unittest import mock

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class _Frozen(datetime.datetime):
    """datetime whose utcnow() is the frozen time (set by frozen_clock)."""
    at = None

    @classmethod
    def utcnow(cls):
        return cls.at


def frozen_clock(when):
    """Freezes the clock botocore's signer reads: get_current_datetime() where botocore has it
    (1.31 and later), else datetime.datetime.utcnow() as botocore.auth sees it (Debian 12's
    1.29)."""
    if hasattr(botocore.auth, "get_current_datetime"):
        return mock.patch.object(botocore.auth, "get_current_datetime", lambda *args, **kwargs: when)
    _Frozen.at = when
    return mock.patch.object(botocore.auth.datetime, "datetime", _Frozen)


def sign(desc):
    when = datetime.datetime.strptime(desc["amz_date"], "%Y%m%dT%H%M%SZ")
    body = base64.b64decode(desc.get("body") or "")
    request = AWSRequest(
        method=desc["method"],
        url=desc["url"],
        headers=dict(desc.get("headers") or {}),
        data=body,
    )
    creds = Credentials(desc["access_key"], desc["secret_key"], desc.get("token"))
    signer = SigV4Auth(creds, desc["service"], desc["region"])
    with frozen_clock(when):
        signer.add_auth(request)
        authz = request.headers["Authorization"]
        # Recomputed under the same frozen clock for --debug only, without the header just
        # added (botocore would otherwise sign it too).
        del request.headers["Authorization"]
        canonical = signer.canonical_request(request)
        sts = signer.string_to_sign(request, canonical)
    return authz, canonical, sts


def main():
    desc = json.load(sys.stdin)
    authz, canonical, sts = sign(desc)
    print(authz)
    if "--debug" in sys.argv[1:]:
        print(canonical, file=sys.stderr)
        print("----", file=sys.stderr)
        print(sts, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
