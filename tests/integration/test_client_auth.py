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


class PartialSigner(botocore.auth.SigV4Auth):
    """botocore's signer, leaving some headers out of SignedHeaders (a hand-made client)."""

    def __init__(self, creds, leave_out):
        super().__init__(creds, "dynamodb", h.REGION)
        self.leave_out = leave_out

    def headers_to_sign(self, request):
        hs = super().headers_to_sign(request)
        for name in self.leave_out:
            del hs[name]
        return hs


def signed_raw(port, key, secret, target, body, when=None, unsigned=()):
    """Sends a request signed by botocore (optionally as of `when`, and with the headers in
    `unsigned` left out of the signature); returns (status, json)."""
    url = "http://127.0.0.1:%d/" % port
    req = AWSRequest(method="POST", url=url, data=body.encode(), headers={
        "X-Amz-Target": "DynamoDB_20120810." + target, "Content-Type": "application/x-amz-json-1.0"})
    signer = PartialSigner(Credentials(key, secret), unsigned)
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


class ClientsFixture(unittest.TestCase):
    """dynalite with tables `allowed` and `other`; dynaseal with a client limited to `allowed`
    (ONE) and one that may use every table (ALL)."""

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
                h.create_table(raw, t, wait=True)
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


class ClientAuthTest(ClientsFixture):
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


ARN = "arn:aws:dynamodb:%s:123456789012:table/" % h.REGION
DENIED = "com.amazon.coral.service#AccessDeniedException"


class ClientAuthReviewTest(ClientsFixture):
    """The attacks of a security review, each performed by a client allowed only `allowed`:
    every one must now be refused before it reaches DynamoDB, and the proxy keeps serving."""

    def one(self, target, body, **kw):
        if not isinstance(body, str):
            body = json.dumps(body)
        return signed_raw(self.proxy.port, ONE_KEY, ONE_SECRET, target, body, **kw)

    def assert_denied(self, target, body, *words):
        status, doc = self.one(target, body)
        self.assertEqual(status, 400, (target, doc))
        self.assertEqual(doc.get("__type"), DENIED, (target, doc))
        self.assertIn("dynamodb:" + target, doc["message"])
        self.assertIn("clients.%s.tables" % ONE_KEY, doc["message"])
        for w in words:
            self.assertIn(w, doc["message"], (target, doc))
        return doc["message"]

    def assert_still_serving(self):
        status, doc = self.one("GetItem", {"TableName": "allowed", "Key": {"pk": {"S": "none"}}})
        self.assertEqual(status, 200, doc)

    def test_unreadable_body_is_refused(self):
        """A lone surrogate escape: cJSON cannot parse it, DynamoDB can.  It once let a client
        limited to `allowed` write to and delete any table."""
        body = '{"TableName":"other","Item":{"pk":{"S":"surrogate"},"x":{"S":"\\ud800"}}}'
        self.assert_denied("PutItem", body, "cannot read the request body")
        raw = h.boto3_client(self.ddb.url)
        self.assertNotIn("Item", raw.get_item(TableName="other", Key={"pk": {"S": "surrogate"}}))
        self.assert_denied("DeleteTable", '{"TableName":"other","x":"\\ud800"}', "cannot read")
        self.assertEqual(raw.describe_table(TableName="other")["Table"]["TableName"], "other")
        # The same body on the allowed table is refused too: it cannot be read.
        self.assert_denied("PutItem", body.replace('"other"', '"allowed"'), "cannot read")

    def test_request_items_list_does_not_crash(self):
        """RequestItems as a JSON list once reached strcmp(NULL): the process died."""
        for target in ("BatchGetItem", "BatchWriteItem"):
            self.assert_denied(target, '{"RequestItems":[{"Keys":[{"pk":{"S":"a"}}]}]}',
                               "RequestItems is not a map of table names")
            self.assert_still_serving()
        self.assertIsNone(self.proxy.proc.poll())

    def test_arn_and_control_plane_operations(self):
        """Every operation is checked where it names its tables; ARNs name their table."""
        other, allowed = ARN + "other", ARN + "allowed"
        cases = [
            ("TagResource", {"ResourceArn": other, "Tags": [{"Key": "k", "Value": "v"}]}),
            ("UntagResource", {"ResourceArn": other, "TagKeys": ["k"]}),
            ("ListTagsOfResource", {"ResourceArn": other}),
            ("PutResourcePolicy", {"ResourceArn": other, "Policy": "{}"}),
            ("GetResourcePolicy", {"ResourceArn": other + "/stream/2024-01-01T00:00:00.000"}),
            ("DeleteResourcePolicy", {"ResourceArn": other}),
            ("ExportTableToPointInTime", {"TableArn": other, "S3Bucket": "b"}),
            ("DescribeExport", {"ExportArn": other + "/export/01234567890123-abcdef01"}),
            ("DeleteBackup", {"BackupArn": other + "/backup/01489173575360-b308cd7d"}),
            ("DescribeBackup", {"BackupArn": other + "/backup/01489173575360-b308cd7d"}),
            ("RestoreTableFromBackup", {"TargetTableName": "other",
                                        "BackupArn": allowed + "/backup/01489173575360-b308cd7d"}),
            ("RestoreTableFromBackup", {"TargetTableName": "allowed",
                                        "BackupArn": other + "/backup/01489173575360-b308cd7d"}),
            ("RestoreTableToPointInTime", {"SourceTableName": "other", "TargetTableName": "allowed"}),
            ("RestoreTableToPointInTime", {"SourceTableArn": other, "TargetTableName": "allowed"}),
            ("CreateGlobalTable", {"GlobalTableName": "other", "ReplicationGroup": []}),
            ("UpdateGlobalTableSettings", {"GlobalTableName": "other"}),
            ("ImportTable", {"TableCreationParameters": {"TableName": "other"}}),
            ("DescribeTable", {"TableName": other}),
            ("UpdateTimeToLive", {"TableName": "other", "TimeToLiveSpecification": {}}),
            ("TransactWriteItems", {"TransactItems": [
                {"ConditionCheck": {"TableName": "allowed", "Key": {"pk": {"S": "a"}}}},
                {"Delete": {"TableName": other, "Key": {"pk": {"S": "a"}}}}]}),
            ("BatchWriteItem", {"RequestItems": {other: [{"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}]}}),
        ]
        for target, body in cases:
            with self.subTest(target=target, body=body):
                self.assert_denied(target, body, "on resource: table other")

    def test_requests_that_name_no_checkable_table(self):
        cases = [
            ("ListGlobalTables", {}, "does not know which tables"),
            ("DescribeStream", {"StreamArn": ARN + "other/stream/x"}, "does not know which tables"),
            ("ListBackups", {}, "TableName is missing"),
            ("ListExports", {}, "TableArn is missing"),
            ("DescribeTable", {"tableName": "other", "TableName": "allowed"}, "only in letter case"),
            ("TagResource", {"ResourceArn": "arn:aws:dynamodb:us-east-1:1:table/x:table/allowed"},
             "ARN that is not a DynamoDB table"),
            ("TagResource", {"ResourceArn": "arn:aws:s3:::table/allowed"}, "ARN that is not"),
            ("DescribeTable", {"TableName": ["allowed"]}, "TableName is not a string"),
            ("TransactGetItems", {"TransactItems": [{"Get": {"Key": {}}}]}, "TableName is missing"),
            ("TransactGetItems", {"TransactItems": {"Get": {"TableName": "allowed"}}}, "is not a list"),
            ("ImportTable", {"TableCreationParameters": {}}, "TableName is missing"),
        ]
        for target, body, words in cases:
            with self.subTest(target=target, body=body):
                self.assert_denied(target, body, words)
        self.assert_still_serving()

    def test_allowed_tables_by_name_and_arn(self):
        """The same shapes on the allowed table pass the check (DynamoDB answers them)."""
        for target, body in [("DescribeTable", {"TableName": ARN + "allowed"}),
                             ("ListTagsOfResource", {"ResourceArn": ARN + "allowed"}),
                             ("ListTables", {}),
                             ("BatchGetItem", {"RequestItems": {ARN + "allowed": {"Keys": [{"pk": {"S": "a"}}]}}})]:
            with self.subTest(target=target):
                status, doc = self.one(target, body)
                self.assertNotEqual(doc.get("__type"), DENIED, (target, doc))

    def test_signature_must_cover_host_date_and_target(self):
        """Without x-amz-target in the signature, a captured PutItem could be replayed as a
        DeleteItem within five minutes; the SDKs always sign these three."""
        body = json.dumps({"TableName": "allowed", "Key": {"pk": {"S": "a"}}})
        for name in ("x-amz-target", "host", "x-amz-date"):
            with self.subTest(unsigned=name):
                status, doc = self.one("GetItem", body, unsigned=(name,))
                self.assertEqual(status, 400, doc)
                self.assertEqual(doc["__type"], "com.amazon.coral.service#IncompleteSignatureException")
                self.assertIn("'%s' must be a 'SignedHeader'" % name, doc["message"])
        status, doc = self.one("GetItem", body)
        self.assertEqual(status, 200, doc)


if __name__ == "__main__":
    unittest.main()
