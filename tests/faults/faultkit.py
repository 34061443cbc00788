"""What every fault test checks after its fault, shared by the test modules:

- the dynaseal process is alive and a normal request through it succeeds;
- its file descriptors are back to the baseline (/proc/PID/fd, each socket classified with
  /proc/net/tcp*): no accepted connection left, no socket its peer closed (CLOSE_WAIT), no
  other fd more than before; pooled upstream connections are allowed, up to the pool's size;
- no ENCRYPT_AND_SIGN attribute was ever written in plaintext (the backend scanned directly
  for the plaintext marker);
- an error dynaseal answers is DynamoDB-shaped: status, x-amzn-RequestId, JSON with the exact
  `__type`, and a message that says what happened.
"""
import os
import socket
import time
import uuid

import peers as h

MARKER = "PLAINTEXT-MARKER-" + uuid.uuid4().hex[:8]
TABLE = "faulty"
# Retryable in the AWS SDKs: a 5xx status, or one of these error codes on a 400.
THROTTLING_CODES = {"ThrottlingException", "ProvisionedThroughputExceededException",
                    "RequestLimitExceeded", "Throttling", "TooManyRequestsException",
                    "RequestThrottledException", "RequestThrottled", "ThrottledException",
                    "TransactionInProgressException", "SlowDown", "LimitExceededException"}

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


def table_config(keyring="local", keyrings=None, workdir=None):
    """A configured table whose `secret` is ENCRYPT_AND_SIGN, with a raw-aes keyring unless
    keyrings are given."""
    if keyrings is None:
        path = os.path.join(workdir or h.run_dir(), "fault-%s.key" % uuid.uuid4().hex[:6])
        with open(path, "wb") as f:
            f.write(os.urandom(32))
        keyrings = {"local": {"type": "raw-aes", "key_file": path}}
    return {"keyrings": keyrings,
            "tables": {TABLE: {"keyring": keyring, "partition_key": "pk",
                               "attribute_actions": {"secret": "ENCRYPT_AND_SIGN",
                                                     "owner": "SIGN_ONLY"}}}}


def create_table(moto_url, name=TABLE):
    d = h.boto3_client(moto_url)
    d.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                   KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    return d


def item(pk, n=0):
    return {"pk": {"S": pk}, "secret": {"S": "%s %s %d" % (MARKER, pk, n)}, "owner": {"S": "o-" + pk}}


# -- file descriptors ---------------------------------------------------------------------

_TCP_STATES = {"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT", "0A": "LISTEN",
               "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
               "07": "CLOSE", "09": "LAST_ACK", "0B": "CLOSING"}


def _tcp_table():
    """{inode: (local port, remote port, state)} of every TCP socket on the machine."""
    out = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            p = line.split()
            out[p[9]] = (int(p[1].rsplit(":", 1)[1], 16), int(p[2].rsplit(":", 1)[1], 16),
                         _TCP_STATES.get(p[3], p[3]))
    return out


def census(proxy):
    """dynaseal's fds by kind: clients (accepted on its listener), outbound (established
    connections it opened), closewait (sockets whose peer closed), other (everything else:
    files, pipes, epoll, listeners)."""
    tcp = _tcp_table()
    c = {"clients": 0, "outbound": 0, "closewait": 0, "other": 0, "total": 0}
    fddir = "/proc/%d/fd" % proxy.proc.pid
    for fd in os.listdir(fddir):
        try:
            target = os.readlink(os.path.join(fddir, fd))
        except OSError:
            continue
        c["total"] += 1
        if not target.startswith("socket:["):
            c["other"] += 1
            continue
        info = tcp.get(target[8:-1])
        if info is None or info[2] == "LISTEN":
            c["other"] += 1
        elif info[0] == proxy.port:
            c["clients"] += 1
        elif info[2] == "CLOSE_WAIT":
            c["closewait"] += 1
        else:
            c["outbound"] += 1
    return c


def baseline(proxy):
    """The census once a normal request has run (lazy set-up done)."""
    return census(proxy)


def assert_fds_back(tc, proxy, base, clients=0, max_outbound=64, timeout=20):
    """Waits (up to `timeout`, not asserting on time) until dynaseal holds no more fds than
    at `base`, apart from pooled upstream connections."""
    close_clients()
    deadline = time.time() + timeout
    while True:
        now = census(proxy)
        ok = (now["clients"] == clients and now["closewait"] == 0 and now["other"] <= base["other"]
              and now["outbound"] <= max_outbound)
        if ok or time.time() > deadline:
            break
        time.sleep(0.1)
    tc.assertEqual(now["clients"], clients, "accepted connections left open: %r (base %r)" % (now, base))
    tc.assertEqual(now["closewait"], 0, "sockets closed by their peer still held: %r" % now)
    tc.assertLessEqual(now["other"], base["other"], "fds above the baseline: %r (base %r)" % (now, base))
    tc.assertLessEqual(now["outbound"], max_outbound, "upstream connections: %r" % now)


# -- checks after a fault -----------------------------------------------------------------

def assert_alive_and_serving(tc, proxy, pk="after-fault"):
    """dynaseal still runs and a normal write and read of a configured item round-trip."""
    tc.assertIsNone(proxy.proc.poll(), "dynaseal exited:\n" + h.tail(proxy.log))
    app = client(proxy.url)
    app.put_item(TableName=TABLE, Item=item(pk))
    tc.assertEqual(app.get_item(TableName=TABLE, Key={"pk": {"S": pk}}, ConsistentRead=True)["Item"], item(pk))


def assert_no_plaintext(tc, backend_url):
    """Scans the backend itself: no configured attribute holds plaintext, no byte of any item
    holds the marker."""
    raw = h.boto3_client(backend_url)
    items = []
    for page in raw.get_paginator("scan").paginate(TableName=TABLE):
        items.extend(page["Items"])
    for it in items:
        tc.assertNotIn(MARKER, repr(it), "plaintext written to the backend: %r" % it)
        if "secret" in it:
            tc.assertEqual(list(it["secret"]), ["B"], it)
    return items


def assert_error(tc, exc, status, code, *message_parts):
    """A botocore ClientError from dynaseal: status, exact error code, request id, message."""
    r = exc.response
    tc.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], status, r)
    tc.assertEqual(r["Error"]["Code"], code, r)
    tc.assertTrue(r["ResponseMetadata"].get("RequestId"), r)
    msg = r["Error"]["Message"]
    for part in message_parts:
        tc.assertIn(part, msg)
    return msg


def assert_retryable(tc, exc):
    """What the AWS SDKs retry: a 5xx status or a throttling code."""
    r = exc.response
    tc.assertTrue(r["ResponseMetadata"]["HTTPStatusCode"] >= 500 or r["Error"]["Code"] in THROTTLING_CODES,
                  "not retryable for an SDK: %r" % r["Error"])


def client(target, service="dynamodb", attempts=1):
    """A boto3 client making exactly `attempts` attempts per call (peers.boto3_client's
    retries=N gives botocore's legacy max_attempts, one more attempt than it says)."""
    import boto3
    from botocore.config import Config
    url = getattr(target, "url", target)
    c = boto3.client(service, endpoint_url=url, region_name=h.REGION,
                        aws_access_key_id=h.CLIENT_KEY, aws_secret_access_key=h.CLIENT_SECRET,
                        config=Config(retries={"total_max_attempts": attempts, "mode": "standard"},
                                      read_timeout=120, connect_timeout=10))
    _clients.append(c)
    return c


_clients = []


def close_clients():
    """Closes the keep-alive connections of every client made by client(): the test's own
    connections are not dynaseal's leaks."""
    while _clients:
        _clients.pop().close()


def raw_request(target, body, host="localhost"):
    """A DynamoDB request as bytes, as an SDK sends it (the signature is dynaseal's to drop)."""
    b = body.encode() if isinstance(body, str) else body
    return ("POST / HTTP/1.1\r\nHost: %s\r\nX-Amz-Target: DynamoDB_20120810.%s\r\n"
            "Content-Type: application/x-amz-json-1.0\r\n"
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIDAPP/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00\r\nX-Amz-Date: 20260101T000000Z\r\n"
            "Content-Length: %d\r\n\r\n" % (host, target, len(b))).encode() + b


def connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s
