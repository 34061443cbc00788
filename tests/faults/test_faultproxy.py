"""The fault injector itself, with a real client and no dynaseal: in pass mode boto3 talks to
moto's DynamoDB and KMS through it as if directly (same answers, byte for byte); each fault
mode is what boto3 sees when it is switched on, and it reverts to pass after `n` requests."""
import unittest

import botocore.exceptions

import peers as h
from faultkit import client
from faultproxy import FaultProxy


class FaultProxyPassTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        cls.fp = FaultProxy(cls.moto.port)

    @classmethod
    def tearDownClass(cls):
        cls.fp.close()
        cls.moto.stop()

    def setUp(self):
        self.fp.reset()

    def test_pass_mode_is_transparent(self):
        self.fp.requests = self.fp.faulted = 0
        direct = h.boto3_client(self.moto.url)
        via = h.boto3_client(self.fp.url)
        via.create_table(TableName="fp", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        for i in range(20):  # keep-alive: many requests on one pooled connection
            via.put_item(TableName="fp", Item={"pk": {"S": "k%d" % i}, "v": {"B": bytes(range(i))}})
        got = via.scan(TableName="fp")["Items"]
        self.assertEqual(sorted(got, key=repr), sorted(direct.scan(TableName="fp")["Items"], key=repr))
        self.assertEqual(len(got), 20)
        kms = h.boto3_client(self.fp.url, "kms")
        key = kms.create_key()["KeyMetadata"]["Arn"]
        dk = kms.generate_data_key(KeyId=key, NumberOfBytes=32)
        self.assertEqual(h.boto3_client(self.moto.url, "kms").decrypt(
            CiphertextBlob=dk["CiphertextBlob"], KeyId=key)["Plaintext"], dk["Plaintext"])
        self.assertGreaterEqual(self.fp.requests, 24)
        self.assertEqual(self.fp.faulted, 0)

    def test_each_mode_as_a_client_sees_it(self):
        self.fp.requests = self.fp.faulted = 0
        d = client(self.fp.url)
        self.fp.set("status", n=1, status=503, type="ServiceUnavailableException", message="injected 503")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            d.list_tables()
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.assertEqual(cm.exception.response["Error"]["Code"], "ServiceUnavailableException")
        d.list_tables()  # n=1: back to pass
        self.fp.set("status", n=2, status=400, type="com.amazonaws.dynamodb.v20120810#ThrottlingException",
                    message="slow down")
        # boto3's own retries absorb two throttles: the third attempt passes.
        client(self.fp.url, attempts=3).list_tables()
        self.assertEqual(self.fp.faulted, 3)
        self.fp.set("refuse")
        with self.assertRaises(botocore.exceptions.EndpointConnectionError):
            client(self.fp.url).list_tables()
        self.fp.reset()
        for mode, args in (("reset", {}), ("truncate", {}), ("garbage_http", {})):
            self.fp.set(mode, n=1, **args)
            with self.assertRaises((botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError,
                                    botocore.exceptions.ClientError), msg=mode):
                client(self.fp.url).list_tables()
        self.fp.set("garbage_body", n=1, body=b'{"TableNames": ["tru')
        # botocore takes a body that is not JSON as an error message: DynamoDB's CRC32 check
        # passes (the injector computes it), and the client gets no table list.
        try:
            out = client(self.fp.url).list_tables()
            self.assertNotIn("TableNames", out)
        except botocore.exceptions.ClientError:
            pass
        client(self.fp.url).list_tables()


if __name__ == "__main__":
    unittest.main()
