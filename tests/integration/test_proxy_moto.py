"""Proxy core against a signature-checking moto: unmodified clients (AWS CLI, boto3) run every
data-plane and control-plane call through dynaseal, which re-signs them with the keys of an
IAM user; the same with a wrong secret fails with moto's signature error, and with an unknown
access key with moto's unknown-key error, as the client sees them.  Under DYNASEAL_DIRECT=1 the
clients sign with those credentials themselves: the same assertions then check moto alone."""
import json
import re
import unittest
from decimal import Decimal

import peers as h


class ProxyMotoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto(auth_after=3)
        try:
            akid, secret = h.create_iam_user(cls.moto.url)
            cls.proxy = h.start_dynaseal(cls.moto.url, direct_ok=True, env=h.proxy_env(akid, secret))
            cls.bad_proxy = h.start_dynaseal(cls.moto.url, direct_ok=True, env=h.proxy_env(akid, secret + "x"))
            cls.unknown_proxy = h.start_dynaseal(cls.moto.url, direct_ok=True, env=h.proxy_env("AKIDUNKNOWN000000000", secret))
        except Exception:
            cls.moto.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("unknown_proxy", "bad_proxy", "proxy", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def ddb(self):
        return h.boto3_client(self.proxy)

    def create_table(self, client, name):
        client.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "N"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST")

    def test_boto3_every_operation(self):
        d = self.ddb()
        self.create_table(d, "orders")
        self.assertEqual(d.describe_table(TableName="orders")["Table"]["TableName"], "orders")
        self.assertIn("orders", d.list_tables()["TableNames"])
        item = {"pk": {"S": "c#1"}, "sk": {"N": "1"}, "total": {"N": "12.50"},
                "note": {"S": "ünïcødé ✓"}, "tags": {"SS": ["a", "b"]}}
        d.put_item(TableName="orders", Item=item)
        got = d.get_item(TableName="orders", Key={"pk": {"S": "c#1"}, "sk": {"N": "1"}})["Item"]
        got["tags"]["SS"].sort()
        self.assertEqual(got, item)
        upd = d.update_item(TableName="orders", Key={"pk": {"S": "c#1"}, "sk": {"N": "1"}},
                            UpdateExpression="SET #t = #t + :d", ExpressionAttributeNames={"#t": "total"},
                            ExpressionAttributeValues={":d": {"N": "1"}}, ReturnValues="UPDATED_NEW")
        self.assertEqual(Decimal(upd["Attributes"]["total"]["N"]), Decimal("13.5"))
        d.batch_write_item(RequestItems={"orders": [
            {"PutRequest": {"Item": {"pk": {"S": "c#1"}, "sk": {"N": str(i)}}}} for i in range(2, 6)]})
        q = d.query(TableName="orders", KeyConditionExpression="pk = :p AND sk > :s",
                    ExpressionAttributeValues={":p": {"S": "c#1"}, ":s": {"N": "2"}})
        self.assertEqual([i["sk"]["N"] for i in q["Items"]], ["3", "4", "5"])
        self.assertEqual(d.scan(TableName="orders")["Count"], 5)
        bg = d.batch_get_item(RequestItems={"orders": {"Keys": [
            {"pk": {"S": "c#1"}, "sk": {"N": "1"}}, {"pk": {"S": "c#1"}, "sk": {"N": "4"}}]}})
        self.assertEqual(len(bg["Responses"]["orders"]), 2)
        d.transact_write_items(TransactItems=[
            {"Put": {"TableName": "orders", "Item": {"pk": {"S": "c#2"}, "sk": {"N": "1"}}}},
            {"Delete": {"TableName": "orders", "Key": {"pk": {"S": "c#1"}, "sk": {"N": "5"}}}}])
        tg = d.transact_get_items(TransactItems=[
            {"Get": {"TableName": "orders", "Key": {"pk": {"S": "c#2"}, "sk": {"N": "1"}}}},
            {"Get": {"TableName": "orders", "Key": {"pk": {"S": "c#1"}, "sk": {"N": "5"}}}}])
        self.assertEqual(tg["Responses"][0]["Item"]["pk"], {"S": "c#2"})
        self.assertNotIn("Item", tg["Responses"][1])
        d.delete_item(TableName="orders", Key={"pk": {"S": "c#1"}, "sk": {"N": "1"}})
        self.assertNotIn("Item", d.get_item(TableName="orders", Key={"pk": {"S": "c#1"}, "sk": {"N": "1"}}))
        # An upstream error comes back as the upstream's error.
        with self.assertRaises(d.exceptions.ResourceNotFoundException):
            d.describe_table(TableName="missing-table")

    def cli(self, *args):
        rc, out, err = h.aws_cli(self.proxy, *args)
        self.assertEqual(rc, 0, err)
        return out

    def test_aws_cli_every_operation(self):
        self.cli("create-table", "--table-name", "cli-orders",
                 "--attribute-definitions", "AttributeName=pk,AttributeType=S", "AttributeName=sk,AttributeType=N",
                 "--key-schema", "AttributeName=pk,KeyType=HASH", "AttributeName=sk,KeyType=RANGE",
                 "--billing-mode", "PAY_PER_REQUEST")
        self.assertEqual(self.cli("describe-table", "--table-name", "cli-orders")["Table"]["KeySchema"][0]["AttributeName"], "pk")
        self.assertIn("cli-orders", self.cli("list-tables")["TableNames"])
        key = json.dumps({"pk": {"S": "k"}, "sk": {"N": "1"}})
        self.cli("put-item", "--table-name", "cli-orders", "--item",
                 json.dumps({"pk": {"S": "k"}, "sk": {"N": "1"}, "v": {"S": "one"}}))
        self.assertEqual(self.cli("get-item", "--table-name", "cli-orders", "--key", key)["Item"]["v"], {"S": "one"})
        out = self.cli("update-item", "--table-name", "cli-orders", "--key", key, "--update-expression", "SET v = :v",
                       "--expression-attribute-values", json.dumps({":v": {"S": "two"}}), "--return-values", "ALL_NEW")
        self.assertEqual(out["Attributes"]["v"], {"S": "two"})
        self.cli("batch-write-item", "--request-items", json.dumps({"cli-orders": [
            {"PutRequest": {"Item": {"pk": {"S": "k"}, "sk": {"N": str(i)}}}} for i in (2, 3)]}))
        q = self.cli("query", "--table-name", "cli-orders", "--key-condition-expression", "pk = :p",
                     "--expression-attribute-values", json.dumps({":p": {"S": "k"}}))
        self.assertEqual(q["Count"], 3)
        self.assertEqual(self.cli("scan", "--table-name", "cli-orders")["Count"], 3)
        bg = self.cli("batch-get-item", "--request-items", json.dumps({"cli-orders": {"Keys": [json.loads(key)]}}))
        self.assertEqual(bg["Responses"]["cli-orders"][0]["v"], {"S": "two"})
        self.cli("transact-write-items", "--transact-items", json.dumps([
            {"Put": {"TableName": "cli-orders", "Item": {"pk": {"S": "t"}, "sk": {"N": "9"}}}}]))
        tg = self.cli("transact-get-items", "--transact-items", json.dumps([
            {"Get": {"TableName": "cli-orders", "Key": {"pk": {"S": "t"}, "sk": {"N": "9"}}}}]))
        self.assertEqual(tg["Responses"][0]["Item"]["sk"], {"N": "9"})
        self.cli("delete-item", "--table-name", "cli-orders", "--key", key)
        self.assertIsNone((self.cli("get-item", "--table-name", "cli-orders", "--key", key) or {}).get("Item"))

    def assert_upstream_auth_error(self, server, code):
        """The client sees the upstream's 403 and its error code.  moto 5.2.1 answers auth
        errors of JSON services with an XML ErrorResponse, which botocore reports as Code "403"
        with the XML as message; real DynamoDB answers JSON (e.g. UnrecognizedClientException),
        which botocore reports as the code itself: accept either place, nothing else."""
        d = h.boto3_client(server)
        with self.assertRaises(d.exceptions.ClientError) as cm:
            d.list_tables()
        err = cm.exception.response
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 403, err)
        codes = {err["Error"]["Code"]} | set(re.findall(r"<Code>(\w+)</Code>", err["Error"]["Message"]))
        self.assertIn(code, codes, err)
        rc, _, stderr = h.aws_cli(server, "list-tables")
        self.assertNotEqual(rc, 0)
        self.assertTrue("An error occurred (%s)" % code in stderr
                        or ("An error occurred (403)" in stderr and "<Code>%s</Code>" % code in stderr), stderr)

    def test_wrong_secret_gets_upstream_signature_error(self):
        self.assert_upstream_auth_error(self.bad_proxy, "SignatureDoesNotMatch")

    def test_unknown_key_gets_upstream_invalid_token_error(self):
        self.assert_upstream_auth_error(self.unknown_proxy, "InvalidClientTokenId")

    def test_proxy_keys_still_work_after_refusals(self):
        # Refused calls through the other proxies leave this one's pooled connections working.
        self.assertIsInstance(self.ddb().list_tables()["TableNames"], list)


if __name__ == "__main__":
    unittest.main()
