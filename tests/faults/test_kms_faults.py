"""KMS misbehaving under the aws-kms keyring, injected by faultproxy in front of moto's KMS
(dynaseal finds it through AWS_ENDPOINT_URL_KMS): denying, throttling, failing with 500,
timing out, answering JSON that is not KMS's and bytes that are not HTTP; and an application
that hangs up while dynaseal waits for KMS.

Writes need GenerateDataKey and reads of an item not yet cached need Decrypt: both fail closed
with the right DynamoDB-style error (AccessDeniedException naming the key and the KMS action,
not retryable; ThrottlingException after dynaseal's own three attempts, retryable, and boto3's
retry succeeds once KMS stops throttling; 503 ServiceUnavailableException or 502
InternalServerError naming KMS where a retry may help), nothing reaches the table in
plaintext, fds return to the baseline and the next request succeeds."""
import socket
import time
import unittest

import botocore.exceptions

import faultkit as fk
import peers as h
from faultkit import TABLE, item
from faultproxy import FaultProxy


KMS_TIMEOUT_MS = 2000
KMS_ATTEMPTS = 2

class KmsFaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            cls.fp = FaultProxy(cls.moto.port)
            cls.key = h.boto3_client(cls.moto.url, "kms").create_key()["KeyMetadata"]["Arn"]
            fk.create_table(cls.moto.url)
            env = dict(h.proxy_env(), AWS_ENDPOINT_URL_KMS=cls.fp.url)
            config = fk.table_config("kms", {"kms": {"type": "aws-kms", "key_id": cls.key}})
            # Shorter than the defaults (10 s, 3 attempts), which the throttling test counts.
            config["kms"] = {"response_timeout_ms": KMS_TIMEOUT_MS, "max_attempts": KMS_ATTEMPTS}
            cls.proxy = h.start_dynaseal(cls.moto.url, env=env, config=config)
            app = fk.client(cls.proxy)
            for pk in ("warm-up", "r-deny", "r-throttle", "r-500", "r-stall", "r-json", "r-http"):
                app.put_item(TableName=TABLE, Item=item(pk))
            app.get_item(TableName=TABLE, Key={"pk": {"S": "warm-up"}})
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
        self.fp.reset()
        fk.assert_fds_back(self, self.proxy, self.base)
        fk.assert_alive_and_serving(self, self.proxy)
        fk.assert_no_plaintext(self, self.moto.url)

    def write_fails(self, pk, status, code, *parts):
        """The messages name the key, or (KMS unreachable) the KMS endpoint."""
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.app.put_item(TableName=TABLE, Item=item(pk))
        msg = fk.assert_error(self, cm.exception, status, code, *parts)
        self.assertTrue(self.key in msg or self.fp.url in msg, msg)
        # Failed closed: nothing was written, in plaintext or otherwise.
        self.assertNotIn("Item", h.boto3_client(self.moto.url).get_item(TableName=TABLE, Key={"pk": {"S": pk}}))
        return cm.exception, msg

    def read_fails(self, pk, status, code, *parts):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.app.get_item(TableName=TABLE, Key={"pk": {"S": pk}})
        msg = fk.assert_error(self, cm.exception, status, code, *parts)
        self.assertTrue(self.key in msg or self.fp.url in msg, msg)
        return cm.exception, msg

    def test_denying(self):
        self.fp.set("status", status=400, type="AccessDeniedException", json_version="1.1",
                    message="User is not authorized to perform kms:GenerateDataKey")
        exc, _ = self.write_fails("w-deny", 400, "AccessDeniedException", "kms:GenerateDataKey",
                                  "key policy or the IAM policy")
        self.assertEqual(self.fp.faulted, 1, "an access denial is not retried")
        exc, _ = self.read_fails("r-deny", 400, "AccessDeniedException", "kms:Decrypt")
        self.after_fault()

    def test_throttling(self):
        self.fp.set("status", status=400, type="ThrottlingException", json_version="1.1",
                    message="Rate exceeded")
        exc, _ = self.write_fails("w-throttle", 400, "ThrottlingException", "KMS is throttling GenerateDataKey")
        fk.assert_retryable(self, exc)
        self.assertEqual(self.fp.faulted, KMS_ATTEMPTS, "dynaseal's own attempts (kms.max_attempts)")
        exc, _ = self.read_fails("r-throttle", 400, "ThrottlingException", "KMS is throttling Decrypt")
        fk.assert_retryable(self, exc)
        # KMS throttles as many calls more as dynaseal attempts: they fail, boto3's retry passes.
        self.fp.set("status", n=KMS_ATTEMPTS, status=400, type="ThrottlingException", json_version="1.1",
                    message="Rate exceeded")
        fk.client(self.proxy, attempts=2).put_item(TableName=TABLE, Item=item("w-throttle-retried"))
        self.assertEqual(self.fp.mode, "pass")
        self.after_fault()

    def test_internal_error(self):
        self.fp.set("status", status=500, type="KMSInternalException", json_version="1.1", message="oops")
        exc, _ = self.write_fails("w-500", 503, "ServiceUnavailableException", "KMS answered 500",
                                  "retry the request")
        fk.assert_retryable(self, exc)
        exc, _ = self.read_fails("r-500", 503, "ServiceUnavailableException", "KMS answered 500")
        self.after_fault()

    def test_timing_out(self):
        # KMS calls time out after kms.response_timeout_ms, kms.max_attempts times.
        self.fp.set("stall")
        exc, _ = self.write_fails("w-stall", 503, "ServiceUnavailableException", "KMS at %s" % self.fp.url,
                                  "no response from", "retry the request")
        fk.assert_retryable(self, exc)
        self.assertEqual(self.fp.faulted, KMS_ATTEMPTS, "dynaseal's own attempts (kms.max_attempts)")
        self.after_fault()

    def test_json_that_is_not_kms(self):
        self.fp.set("garbage_body", json_version="1.1", body=b'{"CiphertextBlob": 12, "Plaintext": "%%%"}')
        exc, _ = self.write_fails("w-json", 502, "InternalServerError", "KMS GenerateDataKey",
                                  "lacks a field or has one that is not valid base64")
        fk.assert_retryable(self, exc)
        self.fp.set("garbage_body", json_version="1.1", body=b"<html>not json")
        exc, _ = self.read_fails("r-json", 502, "InternalServerError", "KMS Decrypt", "not JSON")
        fk.assert_retryable(self, exc)
        self.after_fault()

    def test_bytes_that_are_not_http(self):
        self.fp.set("garbage_http")
        exc, _ = self.write_fails("w-http", 503, "ServiceUnavailableException", "KMS at %s" % self.fp.url,
                                  "sent a response dynaseal could not read", "retry the request")
        fk.assert_retryable(self, exc)
        self.after_fault()

    def test_client_gone_while_kms_answers(self):
        """The application hangs up while dynaseal waits for KMS; KMS answers afterwards to
        nobody.  Several at once, for a write (GenerateDataKey) and a read (Decrypt)."""
        app = fk.client(self.proxy)
        for i in range(4):
            app.put_item(TableName=TABLE, Item=item("gone-r%d" % i))
        self.fp.set("delay", seconds=1.0)
        socks = []
        for i in range(4):
            for req in (fk.raw_request("PutItem", '{"TableName":"%s","Item":{"pk":{"S":"gone-w%d"},'
                                       '"secret":{"S":"%s"}}}' % (TABLE, i, fk.MARKER)),
                        fk.raw_request("GetItem", '{"TableName":"%s","Key":{"pk":{"S":"gone-r%d"}}}'
                                       % (TABLE, i))):
                s = fk.connect(self.proxy.port)
                s.sendall(req)
                socks.append(s)
        time.sleep(0.3)  # the KMS calls are under way
        for n, s in enumerate(socks):   # half hang up with a FIN, half with an RST
            if n % 4 >= 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        deadline = time.time() + 20
        while self.fp.requests < 8 and time.time() < deadline:
            time.sleep(0.1)
        self.assertGreaterEqual(self.fp.requests, 8, "every request was waiting for KMS")
        time.sleep(1.5)  # the delayed KMS answers arrive for nobody
        log = self.proxy.log_text()
        self.assertIn("client closed with op=PutItem in flight", log)
        self.assertIn("client closed with op=GetItem in flight", log)
        self.assertIn("Connection reset by peer", log)
        self.after_fault()


if __name__ == "__main__":
    unittest.main()
