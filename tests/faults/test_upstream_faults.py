"""The DynamoDB upstream misbehaving, injected by faultproxy in front of moto_server: refusing
connections, resetting mid-response, stalling, answering 500 / 503 / ThrottlingException /
ProvisionedThroughputExceededException, truncating its body, answering garbage.

For each, on a configured table, a write and a read through dynaseal get the right
DynamoDB-style error (what dynaseal answers itself: 503 ServiceUnavailableException naming the
endpoint and what happened; the upstream's own errors: relayed as they came), retryable where
an AWS SDK should retry (shown by boto3 with retries succeeding once the fault passes); then
dynaseal's fds are back to the baseline, a normal request succeeds, and the backend holds no
plaintext of the configured attribute."""
import unittest

import botocore.exceptions

import faultkit as fk
import peers as h
from faultkit import TABLE, item
from faultproxy import FaultProxy

UNAVAILABLE = "ServiceUnavailableException"


class UpstreamFaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            cls.fp = FaultProxy(cls.moto.port)
            fk.create_table(cls.moto.url)
            cls.proxy = h.start_dynaseal(cls.fp.url, config=dict(
                fk.table_config(), upstream={"response_timeout_ms": 1500}))
            fk.client(cls.proxy).put_item(TableName=TABLE, Item=item("warm-up"))
            cls.base = fk.baseline(cls.proxy)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "fp", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def setUp(self):
        self.fp.reset()
        self.app = fk.client(self.proxy)

    def tearDown(self):
        self.fp.reset()

    def after_fault(self):
        fk.assert_fds_back(self, self.proxy, self.base)
        fk.assert_alive_and_serving(self, self.proxy)
        fk.assert_no_plaintext(self, self.moto.url)

    def both_fail(self, status, code, *parts):
        """A configured write and read both fail with the error; returns the messages."""
        msgs = []
        for name, call in (("PutItem", lambda: self.app.put_item(TableName=TABLE, Item=item("w-" + code))),
                           ("GetItem", lambda: self.app.get_item(TableName=TABLE, Key={"pk": {"S": "warm-up"}}))):
            with self.assertRaises(botocore.exceptions.ClientError, msg=name) as cm:
                call()
            msgs.append(fk.assert_error(self, cm.exception, status, code, *parts))
            fk.assert_retryable(self, cm.exception)
        return msgs

    def own_unavailable(self, *parts):
        port = "127.0.0.1:%d" % self.fp.port
        msgs = self.both_fail(503, UNAVAILABLE, "dynamodb endpoint", port, "retry the request", *parts)
        self.fp.reset()
        self.after_fault()
        return msgs

    def test_refusing(self):
        self.fp.set("refuse")
        self.own_unavailable("Connection refused")

    def test_reset_mid_response(self):
        self.fp.set("reset", after=60)
        for m in self.own_unavailable():
            self.assertRegex(m, r"reset by peer|closed the connection in the middle of the response")

    def test_stalling(self):
        self.fp.set("stall")
        self.own_unavailable("no response from", "after 1500 ms")

    def test_truncated_body(self):
        self.fp.set("truncate")
        self.own_unavailable("closed the connection in the middle of the response")

    def test_garbage_instead_of_http(self):
        self.fp.set("garbage_http")
        self.own_unavailable("sent a response dynaseal could not read")

    def relayed(self, status, type_, code):
        """The upstream's own error reaches the application as it came, and boto3's retries
        carry the request through once it passes."""
        self.fp.set("status", status=status, type=type_, message="injected by the test")
        self.both_fail(status, code, "injected by the test")
        self.fp.set("status", n=2, status=status, type=type_, message="injected by the test")
        fk.client(self.proxy, attempts=3).put_item(TableName=TABLE, Item=item("retried-" + code))
        self.assertEqual(self.fp.mode, "pass")
        got = fk.client(self.proxy).get_item(TableName=TABLE, Key={"pk": {"S": "retried-" + code}})
        self.assertEqual(got["Item"], item("retried-" + code))
        self.after_fault()

    def test_500(self):
        self.relayed(500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "InternalServerError")

    def test_503(self):
        self.relayed(503, "com.amazon.coral.availability#ServiceUnavailableException", UNAVAILABLE)

    def test_throttling(self):
        self.relayed(400, "com.amazon.coral.availability#ThrottlingException", "ThrottlingException")

    def test_provisioned_throughput_exceeded(self):
        self.relayed(400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                     "ProvisionedThroughputExceededException")

    def test_well_framed_body_that_is_not_json(self):
        """A 200 whose body is cut inside its JSON (the framing intact): dynaseal cannot verify
        what it cannot parse, so the read of a configured table fails, retryable."""
        self.fp.set("garbage_body", body=b'{"Item":{"pk":{"S":"warm-up"},"secret":{"B":"AAAA')
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.app.get_item(TableName=TABLE, Key={"pk": {"S": "warm-up"}})
        fk.assert_error(self, cm.exception, 502, "InternalServerError", "GetItem", TABLE, "not JSON")
        fk.assert_retryable(self, cm.exception)
        self.fp.reset()
        self.after_fault()


if __name__ == "__main__":
    unittest.main()
