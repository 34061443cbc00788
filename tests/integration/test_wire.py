"""HTTP-level behaviour against dynalite: byte-identical responses, keep-alive, pipelining,
split segments, chunked bodies, Expect: 100-continue; and every error dynaseal answers itself
(garbage, limits, a client gone mid-body, upstream down or stalled), each followed by a normal
request to show the proxy keeps serving.  Under DYNASEAL_DIRECT=1 the behaviour shared with
any HTTP/1.1 DynamoDB endpoint is checked against dynalite itself; dynaseal's own errors are
skipped."""
import json
import os
import re
import socket
import threading
import time
import unittest
import zlib

import peers as h


def ddb_request(target, body, host="localhost", extra=""):
    b = body.encode() if isinstance(body, str) else body
    return ("POST / HTTP/1.1\r\nHost: %s\r\nX-Amz-Target: DynamoDB_20120810.%s\r\n"
            "Content-Type: application/x-amz-json-1.0\r\n"
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIDAPP/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=00\r\nX-Amz-Date: 20260101T000000Z\r\n%sContent-Length: %d\r\n\r\n"
            % (host, target, extra, len(b))).encode() + b


_pending = {}


def read_response(sock, timeout=10):
    """Reads one HTTP response (Content-Length framed); returns (status, headers, body).
    Bytes of a following (pipelined) response are kept for the next call on that socket."""
    sock.settimeout(timeout)
    data = _pending.pop(sock.fileno(), b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response: %r" % data)
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, v = l.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    if len(rest) > n:
        _pending[sock.fileno()] = rest[n:]
    return status, headers, rest[:n]


def exchange(port, raw, timeout=10):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(raw)
        return read_response(s, timeout)


def closed_by_peer(sock, timeout=5):
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def assert_own_error(tc, status, headers, body, code, type_part):
    """An error dynaseal answers itself: its status, a request id, a matching CRC32, and a
    DynamoDB-shaped JSON body whose __type contains type_part.  Returns the message."""
    tc.assertEqual(status, code, body)
    tc.assertIn("x-amzn-requestid", headers)
    tc.assertEqual(int(headers["x-amz-crc32"]), zlib.crc32(body))
    doc = json.loads(body)
    tc.assertIn(type_part, doc["__type"])
    # DynamoDB's deserializer (SerializationException) spells the member "Message".
    key = "Message" if doc["__type"].endswith("#SerializationException") else "message"
    tc.assertEqual(list(doc), ["__type", key])
    tc.assertTrue(doc[key])
    return doc[key]


class WireTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ddb = h.start_dynalite()
        try:
            cls.proxy = h.start_dynaseal(cls.ddb.url, direct_ok=True, config={
                "limits": {"max_header_bytes": 4096, "max_body_bytes": 65536, "client_idle_timeout_ms": 3000}})
            cls.fill()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def fill(cls):
        d = h.boto3_client(cls.ddb.url)
        d.create_table(TableName="wire", AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
        d.get_waiter("table_exists").wait(TableName="wire", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
        for i in range(5):
            d.put_item(TableName="wire", Item={"pk": {"S": "k%d" % i}, "v": {"S": "é" * i}})

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "ddb"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def assert_serving(self):
        st, _, body = exchange(self.proxy.port, ddb_request("GetItem", '{"TableName":"wire","Key":{"pk":{"S":"k1"}}}'))
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body)["Item"]["v"], {"S": "é"})

    def assert_own_error(self, status, headers, body, code, type_part):
        return assert_own_error(self, status, headers, body, code, type_part)

    def test_signature_refusals_as_dynamodb_words_them(self):
        """A request with no signature, one of another kind, one missing its parts, or signed
        both ways is refused before anything else, as DynamoDB refuses it: dynalite (which
        documents DynamoDB's answers) and dynaseal in front of it answer the same status,
        __type and message, whatever the table or encryption."""
        body = '{"TableName":"wire","Key":{"pk":{"S":"k1"}}}'
        good = ddb_request("GetItem", body).decode()
        authz = re.search(r"Authorization: ([^\r]*)\r\n", good).group(1)
        cases = {
            "no Authorization": good.replace("Authorization: %s\r\n" % authz, ""),
            "not AWS4": good.replace(authz, "Basic dXNlcjpwdw=="),
            "no Credential": good.replace(authz, "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00"),
            "only the scheme": good.replace(authz, "AWS4-HMAC-SHA256"),
            "no date": good.replace("X-Amz-Date: 20260101T000000Z\r\n", ""),
            "signed both ways": good.replace("POST / ", "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256 "),
            "query missing parts": good.replace("Authorization: %s\r\n" % authz, "").replace(
                "POST / ", "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00 "),
            "query with an empty algorithm": good.replace("Authorization: %s\r\n" % authz, "").replace(
                "POST / ", "POST /?X-Amz-Algorithm= "),
        }
        # DynamoDB answers in the JSON media type it is asked in.
        for name in list(cases):
            cases[name + ", as application/json"] = re.sub(
                r"Content-Type: [^\r]*\r\n", "Content-Type: application/json; charset=utf-8\r\n",
                cases[name])
        for name, raw in cases.items():
            with self.subTest(name):
                d_st, d_h, d_body = exchange(self.ddb.port, raw.encode())
                p_st, p_h, p_body = exchange(self.proxy.port, raw.encode())
                self.assertEqual(d_st, 400, d_body)
                self.assertEqual(p_st, d_st, p_body)
                self.assertEqual(json.loads(p_body), json.loads(d_body))
                self.assertEqual(p_h["content-type"], d_h["content-type"])
                if not h.DIRECT:
                    self.assert_own_error(p_st, p_h, p_body, 400, "com.amazon.coral.service#")
        self.assert_serving()

    def test_front_door_as_dynamodb(self):
        """What DynamoDB answers before the signature is looked at (dynalite documents it):
        GET is a health check, another method or a body that is not JSON by its media type an
        unknown page, a body that is no JSON object a SerializationException, an X-Amz-Target
        of no known operation an UnknownOperationException -- signed or not."""
        base = ("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\n"
                "X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 2\r\n\r\n{}")
        cases = {
            "GET": "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
            "PUT": base.replace("POST", "PUT"),
            "DELETE": base.replace("POST", "DELETE"),
            "OPTIONS": base.replace("POST", "OPTIONS"),
            "no content type": base.replace("Content-Type: application/x-amz-json-1.0\r\n", ""),
            "text/plain": base.replace("application/x-amz-json-1.0", "text/plain"),
            "json 1.1": base.replace("x-amz-json-1.0", "x-amz-json-1.1"),
            "not JSON": base.replace("Content-Length: 2\r\n\r\n{}", "Content-Length: 2\r\n\r\nhi"),
            "not JSON, as application/json": base.replace("application/x-amz-json-1.0", "application/json")
            .replace("Content-Length: 2\r\n\r\n{}", "Content-Length: 2\r\n\r\nhi"),
            "no target": base.replace("X-Amz-Target: DynamoDB_20120810.ListTables\r\n", ""),
            "no such target": base.replace("DynamoDB_20120810.ListTables", "whatever"),
            "no such operation": base.replace("ListTables", "ListTable"),
            "known operation, unsigned": base,
            "CORS preflight": "OPTIONS / HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example\r\n"
                              "Access-Control-Request-Headers: x-amz-target\r\n"
                              "Access-Control-Request-Method: POST\r\n\r\n",
            "unsigned, with an Origin": base.replace("Host: localhost\r\n", "Host: localhost\r\nOrigin: https://a\r\n"),
            "no body, no content type": base.replace("Content-Type: application/x-amz-json-1.0\r\n", "")
            .replace("Content-Length: 2\r\n\r\n{}", "Content-Length: 0\r\n\r\n"),
        }
        for name, raw in cases.items():
            with self.subTest(name):
                d_st, d_h, d_body = exchange(self.ddb.port, raw.encode())
                p_st, p_h, p_body = exchange(self.proxy.port, raw.encode())
                self.assertEqual((p_st, p_body), (d_st, d_body))
                for hd in ("access-control-allow-origin", "access-control-allow-headers",
                           "access-control-allow-methods", "access-control-max-age"):
                    self.assertEqual(p_h.get(hd), d_h.get(hd), hd)
                if "content-type" in d_h:
                    self.assertEqual(p_h.get("content-type", "").split(";")[0],
                                     d_h["content-type"].split(";")[0])
                if not h.DIRECT and name != "CORS preflight":
                    self.assertEqual(int(p_h["x-amz-crc32"]), zlib.crc32(p_body))
                    self.assertRegex(p_h["x-amzn-requestid"], r"^[0-9A-Z]{52}$")
        self.assert_serving()

    def test_signature_refusals_generated(self):
        """The same comparison on generated requests: Authorization headers built at random from
        the parts that matter (scheme, Credential, Signature, SignedHeaders, empty values,
        separators), with or without X-Amz-Date or Date, and query-string signatures with some
        of their five parameters.  dynalite and dynaseal must answer alike: the same refusal,
        or both let the request through (dynalite then answers it; dynaseal forwards it)."""
        import random
        seed = int(os.environ.get("WIRE_SEED", "20261204"))
        rng = random.Random(seed)
        body = '{"TableName":"wire","Key":{"pk":{"S":"k1"}}}'
        base = ddb_request("GetItem", body).decode()
        authz = re.search(r"Authorization: ([^\r]*)\r\n", base).group(1)
        parts = {"Credential": ["AKIDAPP/20260101/us-east-1/dynamodb/aws4_request", "", "x"],
                 "Signature": ["00", "", "ab" * 32], "SignedHeaders": ["host;x-amz-date", "", "host"]}
        query = ["X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Credential=A%2F20260101%2Fr%2Fdynamodb%2Faws4_request",
                 "X-Amz-Signature=00", "X-Amz-SignedHeaders=host", "X-Amz-Date=20260101T000000Z"]
        checked = 0
        for i in range(120):
            raw = base
            if rng.random() < 0.8:
                scheme = rng.choice(["AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256", "AWS4-X", "Basic", "aws4-hmac-sha256"])
                params = ["%s=%s" % (k, rng.choice(v)) for k, v in parts.items() if rng.random() < 0.75]
                rng.shuffle(params)
                value = (scheme + " " + rng.choice([", ", ",", " "]).join(params)).rstrip()
                raw = raw.replace("Authorization: %s\r\n" % authz, "Authorization: %s\r\n" % value)
            else:
                raw = raw.replace("Authorization: %s\r\n" % authz, "")
            if rng.random() < 0.2:
                raw = raw.replace("X-Amz-Date: 20260101T000000Z\r\n",
                                  rng.choice(["", "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n"]))
            if rng.random() < 0.25:
                q = [p for p in query if rng.random() < 0.7]
                if q:
                    raw = raw.replace("POST / ", "POST /?%s " % "&".join(q))
            d_st, _, d_body = exchange(self.ddb.port, raw.encode())
            p_st, _, p_body = exchange(self.proxy.port, raw.encode())
            d_doc, p_doc = json.loads(d_body), json.loads(p_body)
            with self.subTest(case=i, seed=seed):
                refused = d_st == 400 and ("Signature" in d_doc.get("__type", "") or
                                           "Authentication" in d_doc.get("__type", ""))
                if refused:
                    self.assertEqual((p_st, p_doc), (d_st, d_doc), raw.split("\r\n\r\n")[0])
                    checked += 1
                else:
                    # dynalite took the signature: so must dynaseal (and it forwards the request).
                    self.assertNotIn("Signature", p_doc.get("__type", ""), raw.split("\r\n\r\n")[0])
                    self.assertNotIn("Authentication", p_doc.get("__type", ""), raw.split("\r\n\r\n")[0])
        self.assertGreater(checked, 40)
        self.assert_serving()

    def test_byte_identical_to_direct(self):
        for target, body in [("GetItem", '{"TableName":"wire","Key":{"pk":{"S":"k3"}}}'),
                             ("Query", '{"TableName":"wire","KeyConditionExpression":"pk = :p",'
                                       '"ExpressionAttributeValues":{":p":{"S":"k2"}}}'),
                             ("Scan", '{"TableName":"wire"}'),
                             ("DescribeTable", '{"TableName":"wire"}'),
                             ("DescribeTable", '{"TableName":"nope"}')]:
            d_st, d_h, d_body = exchange(self.ddb.port, ddb_request(target, body))
            p_st, p_h, p_body = exchange(self.proxy.port, ddb_request(target, body))
            self.assertEqual(p_st, d_st, target)
            self.assertEqual(p_body, d_body, target)
            self.assertEqual(p_h["x-amz-crc32"], d_h["x-amz-crc32"], target)
            self.assertEqual(int(p_h["x-amz-crc32"]), zlib.crc32(p_body), target)
            self.assertEqual(p_h["content-type"], d_h["content-type"], target)
            self.assertIn("x-amzn-requestid", p_h)
            if body.endswith('"nope"}'):
                self.assertEqual(d_st, 400)
                self.assertIn("ResourceNotFoundException", json.loads(p_body)["__type"])
            else:
                self.assertEqual(d_st, 200, d_body)

    def test_keep_alive_pipelined_and_split(self):
        req = ddb_request("GetItem", '{"TableName":"wire","Key":{"pk":{"S":"k4"}}}')
        with socket.create_connection(("127.0.0.1", self.proxy.port)) as s:
            s.sendall(req + req)                      # two pipelined requests
            for _ in range(2):
                st, _, body = read_response(s)
                self.assertEqual(st, 200)
                self.assertEqual(json.loads(body)["Item"]["v"], {"S": "éééé"})
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for b in req:                             # one byte per segment
                s.send(bytes([b]))
            st, _, body = read_response(s)
            self.assertEqual(st, 200)

    def test_chunked_and_expect_continue(self):
        body = b'{"TableName":"wire","Key":{"pk":{"S":"k2"}}}'
        head = ddb_request("GetItem", b"").replace(b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n")
        chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:])
        st, _, out = exchange(self.proxy.port, head + chunks)
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(out)["Item"]["pk"], {"S": "k2"})
        with socket.create_connection(("127.0.0.1", self.proxy.port)) as s:
            s.sendall(ddb_request("GetItem", body, extra="Expect: 100-continue\r\n")[:-len(body)])
            s.settimeout(5)
            self.assertTrue(s.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n\r\n"))
            s.sendall(body)
            st, _, out = read_response(s)
            self.assertEqual(st, 200)

    @h.proxy_only
    def test_garbage(self):
        with socket.create_connection(("127.0.0.1", self.proxy.port)) as s:
            s.sendall(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 not http at all\r\n\r\n")
            msg = self.assert_own_error(*read_response(s), 400, "SerializationException")
            self.assertIn("Malformed HTTP request", msg)
            self.assertTrue(closed_by_peer(s))
        self.assert_serving()

    @h.proxy_only
    def test_repeated_identity_headers_refused(self):
        """Two X-Amz-Target (or Host, X-Amz-Date, Authorization...) headers could let the
        operation checked differ from the one forwarded: refused, naming the header."""
        for extra, name in [("X-Amz-Target: DynamoDB_20120810.DeleteTable\r\n", "x-amz-target"),
                            ("x-amz-date: 20260102T000000Z\r\n", "x-amz-date"),
                            ("Host: other\r\n", "host"),
                            ("authorization: AWS4-HMAC-SHA256 x\r\n", "authorization")]:
            st, hd, body = exchange(self.proxy.port, ddb_request(
                "GetItem", '{"TableName":"wire","Key":{"pk":{"S":"k1"}}}', extra=extra))
            msg = self.assert_own_error(st, hd, body, 400, "SerializationException")
            self.assertEqual(msg, "The request repeats the header %s; send it once" % name)
        st, _, _ = exchange(self.proxy.port, ddb_request("DescribeTable", '{"TableName":"wire"}'))
        self.assertEqual(st, 200)       # the table is still there
        self.assert_serving()

    @h.proxy_only
    def test_header_over_limit(self):
        st, hd, body = exchange(self.proxy.port, ddb_request("ListTables", "{}", extra="X-Big: %s\r\n" % ("a" * 5000)))
        msg = self.assert_own_error(st, hd, body, 431, "ValidationException")
        self.assertIn("limits.max_header_bytes", msg)
        self.assert_serving()

    @h.proxy_only
    def test_body_over_limit(self):
        big = '{"TableName":"wire","Item":{"pk":{"S":"%s"}}}' % ("x" * 70000)
        st, hd, body = exchange(self.proxy.port, ddb_request("PutItem", big))
        msg = self.assert_own_error(st, hd, body, 413, "RequestEntityTooLarge")
        self.assertIn("limits.max_body_bytes", msg)
        self.assert_serving()

    @h.proxy_only
    def test_body_over_limit_sent_whole_still_reads_413(self):
        """A client that sends its whole oversized body before reading (as the SDKs do) gets
        the 413, not a reset: dynaseal reads and discards the rest before closing (lingering
        close), then closes."""
        big = '{"TableName":"wire","Item":{"pk":{"S":"%s"}}}' % ("x" * (8 << 20))
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", self.proxy.port)) as s:
                s.sendall(ddb_request("PutItem", big))       # 8 MiB against a 64 KiB limit
                st, hd, body = read_response(s)
                msg = self.assert_own_error(st, hd, body, 413, "RequestEntityTooLarge")
                self.assertIn("limits.max_body_bytes", msg)
                self.assertEqual(hd.get("connection"), "close")
                self.assertTrue(closed_by_peer(s))
        self.assert_serving()

    @h.proxy_only   # dynalite itself dies on it (an unhandled 'aborted' error)
    def test_client_gone_mid_body(self):
        raw = ddb_request("PutItem", '{"TableName":"wire","Item":{"pk":{"S":"gone"}}}')
        with socket.create_connection(("127.0.0.1", self.proxy.port)) as s:
            s.sendall(raw[:-10])
        time.sleep(0.2)
        self.assert_serving()
        st, _, body = exchange(self.proxy.port, ddb_request("GetItem", '{"TableName":"wire","Key":{"pk":{"S":"gone"}}}'))
        self.assertNotIn("Item", json.loads(body))

    @h.proxy_only
    def test_incomplete_request_times_out(self):
        with socket.create_connection(("127.0.0.1", self.proxy.port)) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            msg = self.assert_own_error(*read_response(s, timeout=10), 408, "ValidationException")
            self.assertIn("client_idle_timeout_ms", msg)
        self.assert_serving()


@h.proxy_only
class UpstreamFaultTest(unittest.TestCase):
    """The upstream refuses connections, or accepts and never answers."""

    def test_upstream_down_is_retryable_503(self):
        port = h.free_port()  # nothing listens there
        proxy = h.start_dynaseal("http://127.0.0.1:%d" % port)
        try:
            st, hd, body = exchange(proxy.port, ddb_request("ListTables", "{}"))
            assert_own_error(self, st, hd, body, 503, "ServiceUnavailableException")
            # botocore classifies it as retryable: every attempt reaches dynaseal.
            d = h.boto3_client(proxy.url, retries=2)
            with self.assertRaises(Exception) as cm:
                d.list_tables()
            self.assertIn("ServiceUnavailable", str(cm.exception))
            m = re.search(r'dynaseal_requests_total\{operation="ListTables",status="5xx"\} (\d+)', h.metrics(proxy))
            self.assertIsNotNone(m)
            self.assertGreaterEqual(int(m.group(1)), 1 + 3)
        finally:
            proxy.stop()

    def test_upstream_stall_times_out(self):
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(16)
        held = []
        stop = threading.Event()

        def accept_and_hold():
            lsock.settimeout(0.2)
            while not stop.is_set():
                try:
                    c, _ = lsock.accept()
                    held.append(c)
                except OSError:
                    pass

        t = threading.Thread(target=accept_and_hold, daemon=True)
        t.start()
        proxy = h.start_dynaseal("http://127.0.0.1:%d" % lsock.getsockname()[1],
                                 config={"upstream": {"response_timeout_ms": 500}})
        try:
            t0 = time.time()
            st, hd, body = exchange(proxy.port, ddb_request("ListTables", "{}"))
            msg = assert_own_error(self, st, hd, body, 503, "ServiceUnavailableException")
            self.assertIn("no response from", msg)
            self.assertLess(time.time() - t0, 5)
        finally:
            proxy.stop()
            stop.set()
            t.join()
            for c in held:
                c.close()
            lsock.close()


if __name__ == "__main__":
    unittest.main()
