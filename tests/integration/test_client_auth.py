"""Client authentication: with "clients" configured, dynaseal verifies each application's own
SigV4 signature and its table permissions, and answers as DynamoDB would: a wrong signature,
an unknown key, a stale date and a forbidden table each get their error."""
import datetime
import http.client
import json
import os
import subprocess
import unittest
from unittest import mock

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import peers as h

ONE_KEY, ONE_SECRET = "AKIDAPPONE0000000000", "app-one-secret-0123456789"
ALL_KEY, ALL_SECRET = "AKIDAPPALL0000000000", "app-all-secret-9876543210"


def signed_raw(port, key, secret, target, body, when=None):
    """Sends a request signed by botocore (optionally as of `when`); returns (status, json)."""
    url = "http://127.0.0.1:%d/" % port
    req = AWSRequest(method="POST", url=url, data=body.encode(), headers={
        "X-Amz-Target": "DynamoDB_20120810." + target, "Content-Type": "application/x-amz-json-1.0"})
    signer = botocore.auth.SigV4Auth(Credentials(key, secret), "dynamodb", h.REGION)
    if when is not None:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            signer.add_auth(req)
    else:
        signer.add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/", body=body.encode(), headers=dict(req.headers))
    r = conn.getresponse()
    out = r.status, json.loads(r.read() or b"{}")
    conn.close()
    return out


class ClientAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ddb = h.start_dynalite()
        try:
            secret_file = os.path.join(cls.ddb.workdir, "one.secret")
            with open(secret_file, "w") as f:
                f.write(ONE_SECRET + "\n")
            os.environ["DYNASEAL_TEST_ALL_SECRET"] = ALL_SECRET
            env = dict(h.proxy_env(), DYNASEAL_TEST_ALL_SECRET=ALL_SECRET)
            cls.proxy = h.start_dynaseal(cls.ddb.url, env=env, config={"clients": {
                ONE_KEY: {"secret_file": secret_file, "tables": ["allowed"]},
                ALL_KEY: {"secret_env": "DYNASEAL_TEST_ALL_SECRET", "tables": ["*"]}}})
            raw = h.boto3_client(cls.ddb.url)
            for t in ("allowed", "other"):
                raw.create_table(TableName=t, BillingMode="PAY_PER_REQUEST",
                                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
                raw.get_waiter("table_exists").wait(TableName=t, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "ddb"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def client(self, key, secret):
        return h.boto3_client(self.proxy.url, key=key, secret=secret)

    def error(self, fn):
        with self.assertRaises(Exception) as cm:
            fn()
        return cm.exception.response["Error"]

    def test_right_key_is_accepted(self):
        one = self.client(ONE_KEY, ONE_SECRET)
        one.put_item(TableName="allowed", Item={"pk": {"S": "a"}})
        self.assertEqual(one.get_item(TableName="allowed", Key={"pk": {"S": "a"}})["Item"], {"pk": {"S": "a"}})
        self.assertIn("other", self.client(ALL_KEY, ALL_SECRET).list_tables()["TableNames"])
        env = h.client_env(self.proxy.url)
        env.update(AWS_ACCESS_KEY_ID=ONE_KEY, AWS_SECRET_ACCESS_KEY=ONE_SECRET)
        r = subprocess.run(["aws", "dynamodb", "get-item", "--table-name", "allowed", "--key", '{"pk":{"S":"a"}}'],
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_wrong_signature(self):
        e = self.error(lambda: self.client(ONE_KEY, "not-the-secret").list_tables())
        self.assertEqual(e["Code"], "InvalidSignatureException")
        self.assertIn("does not match the signature you provided", e["Message"])

    def test_unknown_key(self):
        e = self.error(lambda: self.client("AKIDSTRANGER00000000", "x").list_tables())
        self.assertEqual(e["Code"], "UnrecognizedClientException")
        self.assertIn("security token included in the request is invalid", e["Message"])

    def test_missing_signature(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=10)
        conn.request("POST", "/", body=b"{}", headers={"X-Amz-Target": "DynamoDB_20120810.ListTables",
                                                      "Content-Type": "application/x-amz-json-1.0"})
        r = conn.getresponse()
        doc = json.loads(r.read())
        self.assertEqual(r.status, 400)
        self.assertIn("MissingAuthenticationTokenException", doc["__type"])

    def test_stale_date(self):
        old = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=16)
        status, doc = signed_raw(self.proxy.port, ONE_KEY, ONE_SECRET, "ListTables", "{}", when=old)
        self.assertEqual(status, 400)
        self.assertIn("InvalidSignatureException", doc["__type"])
        self.assertIn("Signature expired", doc["message"])
        status, doc = signed_raw(self.proxy.port, ONE_KEY, ONE_SECRET, "ListTables", "{}")
        self.assertEqual(status, 200, doc)

    def test_forbidden_table(self):
        one = self.client(ONE_KEY, ONE_SECRET)
        e = self.error(lambda: one.put_item(TableName="other", Item={"pk": {"S": "x"}}))
        self.assertEqual(e["Code"], "AccessDeniedException")
        self.assertIn("dynamodb:PutItem on resource: table other", e["Message"])
        e = self.error(lambda: one.batch_get_item(RequestItems={
            "allowed": {"Keys": [{"pk": {"S": "a"}}]}, "other": {"Keys": [{"pk": {"S": "a"}}]}}))
        self.assertEqual(e["Code"], "AccessDeniedException")
        self.assertIn("table other", e["Message"])
        e = self.error(lambda: one.transact_get_items(TransactItems=[
            {"Get": {"TableName": "other", "Key": {"pk": {"S": "a"}}}}]))
        self.assertEqual(e["Code"], "AccessDeniedException")
        e = self.error(lambda: one.execute_statement(Statement='SELECT * FROM "allowed"'))
        self.assertEqual(e["Code"], "AccessDeniedException")
        self.assertIn("PartiQL", e["Message"])
        self.assertNotIn("Item", h.boto3_client(self.ddb.url).get_item(TableName="other", Key={"pk": {"S": "x"}}))

    def test_table_named_twice_is_refused(self):
        """The table checked must be the one DynamoDB acts on: a body naming two is refused."""
        body = '{"TableName":"allowed","TableName":"other","Item":{"pk":{"S":"twice"}}}'
        status, doc = signed_raw(self.proxy.port, ONE_KEY, ONE_SECRET, "PutItem", body)
        self.assertEqual(status, 400, doc)
        self.assertTrue(doc["__type"].endswith("#ValidationException"), doc)
        self.assertIn('"TableName" twice', doc["message"])
        raw = h.boto3_client(self.ddb.url)
        for t in ("allowed", "other"):
            self.assertNotIn("Item", raw.get_item(TableName=t, Key={"pk": {"S": "twice"}}))


if __name__ == "__main__":
    unittest.main()
