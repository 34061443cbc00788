"""The aws-kms keyring against moto's KMS with signature and IAM checks on: items round-trip
through dynaseal for every write and read path, KMS sees one GenerateDataKey per written item,
and dynaseal holding credentials without kms:Decrypt answers reads with AccessDeniedException
naming the key ARN — and writes nothing in plaintext when KMS refuses."""
import json
import os
import re
import unittest

import peers as h


def create_user(iam, name, actions):
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    return key["AccessKeyId"], key["SecretAccessKey"]


class KmsKeyringTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Seven set-up calls run before moto starts checking signatures and policies.
        cls.moto = h.start_moto(auth_after=7)
        try:
            iam = h.boto3_client(cls.moto.url, "iam", "AKIDBOOT", "boot")
            full = create_user(iam, "dynaseal", ["dynamodb:*", "kms:GenerateDataKey", "kms:Decrypt"])
            nodecrypt = create_user(iam, "nodecrypt", ["dynamodb:*", "kms:GenerateDataKey"])
            cls.key_arn = h.boto3_client(cls.moto.url, "kms", "AKIDBOOT", "boot").create_key()["KeyMetadata"]["Arn"]
            env = h.proxy_env(*full)
            env["AWS_ENDPOINT_URL_KMS"] = cls.moto.url
            cls.secret = full[1]
            cls.full = full
            config = {
                "keyrings": {"kms": {"type": "aws-kms", "key_id": cls.key_arn}},
                "tables": {"accounts": {
                    "keyring": "kms", "partition_key": "pk",
                    "attribute_actions": {"card": "ENCRYPT_AND_SIGN", "owner": "SIGN_ONLY"}}}}
            cls.audit = os.path.join(cls.moto.workdir, "audit.jsonl")
            cls.proxy = h.start_dynaseal(cls.moto.url, config=dict(config, log={"audit": cls.audit}), env=env)
            env2 = h.proxy_env(*nodecrypt)
            env2["AWS_ENDPOINT_URL_KMS"] = cls.moto.url
            cls.weak_proxy = h.start_dynaseal(cls.moto.url, config=config, env=env2)
            cls.raw = h.boto3_client(cls.moto.url, key=full[0], secret=full[1])
            cls.raw.create_table(TableName="accounts", BillingMode="PAY_PER_REQUEST",
                                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("weak_proxy", "proxy", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def kms_calls(self, proxy, op):
        text = h.tail(proxy.log, 100000)
        return len(re.findall(r"kms: %s " % op, text))

    def test_round_trip_with_kms(self):
        app = h.boto3_client(self.proxy.url)
        items = [{"pk": {"S": "acct-%d" % i}, "card": {"S": "4111-1111-1111-%04d" % i},
                  "owner": {"S": "Ada"}} for i in range(3)]
        for it in items:
            app.put_item(TableName="accounts", Item=it)
        app.transact_write_items(TransactItems=[{"Put": {"TableName": "accounts", "Item": {
            "pk": {"S": "acct-tx"}, "card": {"S": "5500-0000-0000-0004"}, "owner": {"S": "Bob"}}}}])
        for it in items:
            got = app.get_item(TableName="accounts", Key={"pk": it["pk"]})["Item"]
            self.assertEqual(got, it)
        scanned = app.scan(TableName="accounts", FilterExpression="begins_with(pk, :p)",
                           ExpressionAttributeValues={":p": {"S": "acct-"}})["Items"]
        self.assertEqual(sorted(i["card"]["S"] for i in scanned),
                         sorted([i["card"]["S"] for i in items] + ["5500-0000-0000-0004"]))
        raw = self.raw.get_item(TableName="accounts", Key={"pk": {"S": "acct-1"}})["Item"]
        self.assertEqual(list(raw["card"]), ["B"])
        self.assertNotIn(b"4111", raw["card"]["B"])
        # The head names the KMS key that protects the item's data key.
        self.assertIn(self.key_arn.encode(), raw["aws_dbe_head"]["B"])

    def test_audit_log_has_one_entry_per_kms_call_and_no_secret(self):
        app = h.boto3_client(self.proxy.url)
        before = self.audit_entries()
        app.put_item(TableName="accounts", Item={"pk": {"S": "aud"}, "card": {"S": "6011-0000-0000-0004"},
                                                  "owner": {"S": "Aud"}})
        app.get_item(TableName="accounts", Key={"pk": {"S": "aud"}})
        # Reading it again is served by the worker's key cache: no KMS call.
        for _ in range(3):
            self.assertEqual(app.get_item(TableName="accounts", Key={"pk": {"S": "aud"}})["Item"]["card"],
                             {"S": "6011-0000-0000-0004"})
        entries = self.audit_entries()[len(before):]
        self.assertEqual([(e["event"], e["operation"], e["outcome"]) for e in entries],
                         [("kms", "GenerateDataKey", "ok"), ("kms", "Decrypt", "ok")])
        for e in entries:
            self.assertEqual(e["key"], self.key_arn)
            self.assertEqual(e["table"], "accounts")
            self.assertEqual(e["client"], h.CLIENT_KEY)
            self.assertRegex(e["request_id"], r"^[A-Z0-9]{52}$")
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT")
        # The request id of each entry is the one in the access log line of its request.
        log = h.tail(self.proxy.log, 100000)
        for e in entries:
            self.assertIn("id=" + e["request_id"], log)
        with open(self.audit, "rb") as f:
            raw = f.read()
        for secret in (b"6011-0000-0000-0004", self.secret.encode()):
            self.assertNotIn(secret, raw)

    def test_concurrent_cold_reads_make_one_decrypt_per_worker_and_audit_each_request(self):
        """32 applications read one item at once on a cold dynaseal with Redis: the workers'
        single flights make at most one KMS Decrypt each (counted twice: /metrics and the audit
        trail), every read gets the item, and every KMS line names the request that caused it,
        also when the Decrypt follows an asynchronous Redis miss."""
        import threading
        redis = h.start_redis()
        audit = os.path.join(self.moto.workdir, "audit-cold.jsonl")
        env = h.proxy_env(*self.full)
        env["AWS_ENDPOINT_URL_KMS"] = self.moto.url
        proxy = h.start_dynaseal(self.moto.url, env=env, workers=2, config={
            "keyrings": {"kms": {"type": "aws-kms", "key_id": self.key_arn}},
            "cache": {"redis": "redis://127.0.0.1:%d/0" % redis.port},
            "log": {"audit": audit},
            "tables": {"accounts": {"keyring": "kms", "partition_key": "pk",
                                    "attribute_actions": {"card": "ENCRYPT_AND_SIGN", "owner": "SIGN_ONLY"}}}})
        try:
            item = {"pk": {"S": "cold"}, "card": {"S": "3782-822463-10005"}, "owner": {"S": "Cy"}}
            h.boto3_client(proxy.url).put_item(TableName="accounts", Item=item)
            apps = [h.boto3_client(proxy.url) for _ in range(32)]
            start = threading.Barrier(len(apps))
            got, errors = [], []

            def read(app):
                start.wait()
                try:
                    got.append(app.get_item(TableName="accounts", Key={"pk": item["pk"]})["Item"])
                except Exception as e:  # reported below
                    errors.append(e)
            threads = [threading.Thread(target=read, args=(a,)) for a in apps]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            self.assertEqual(errors, [])
            self.assertEqual(got, [item] * len(apps))
            decrypts = int(re.search(r'dynaseal_kms_calls_total\{api="Decrypt"\} (\d+)',
                                     h.metrics(proxy)).group(1))
            with open(audit) as f:
                entries = [json.loads(l) for l in f if l.strip()]
            reads = [e for e in entries if e["operation"] == "Decrypt" and e["table"] == "accounts"]
            # The cache key's own Decrypt (or GenerateDataKey) at start-up is dynaseal's.
            own = [e for e in entries if e["request_id"] == "cache-key"]
            self.assertLessEqual(len(own), 1)
            self.assertGreaterEqual(len(reads), 1)
            self.assertLessEqual(len(reads), 2, "%d Decrypts for 2 workers" % len(reads))
            self.assertEqual(decrypts, len(reads) + sum(1 for e in own if e["operation"] == "Decrypt"))
            log = h.tail(proxy.log, 1000000)
            for e in entries:
                if e["request_id"] == "cache-key":
                    self.assertEqual(e["client"], "dynaseal")
                    continue
                self.assertRegex(e["request_id"], r"^[A-Z0-9]{52}$")
                self.assertEqual(e["client"], h.CLIENT_KEY)
                self.assertIn("id=" + e["request_id"], log)
        finally:
            proxy.stop()
            redis.stop()

    def audit_entries(self):
        if not os.path.exists(self.audit):
            return []
        with open(self.audit) as f:
            return [json.loads(l) for l in f if l.strip()]

    def test_no_kms_decrypt_is_access_denied_naming_the_key(self):
        app = h.boto3_client(self.proxy.url)
        app.put_item(TableName="accounts", Item={"pk": {"S": "denied"}, "card": {"S": "4000-0000-0000-0002"},
                                                  "owner": {"S": "Eve"}})
        weak = h.boto3_client(self.weak_proxy.url)
        with self.assertRaises(weak.exceptions.ClientError) as cm:
            weak.get_item(TableName="accounts", Key={"pk": {"S": "denied"}})
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "AccessDeniedException")
        self.assertIn(self.key_arn, err["Message"])
        self.assertIn("kms:Decrypt", err["Message"])
        # The same credentials may still write: GenerateDataKey is allowed.
        weak.put_item(TableName="accounts", Item={"pk": {"S": "w"}, "card": {"S": "x"}, "owner": {"S": "W"}})
        self.assertEqual(list(self.raw.get_item(TableName="accounts", Key={"pk": {"S": "w"}})["Item"]["card"]), ["B"])

    def test_kms_down_fails_closed(self):
        env = h.proxy_env()
        env["AWS_ENDPOINT_URL_KMS"] = "http://127.0.0.1:%d" % h.free_port()
        proxy = h.start_dynaseal(self.moto.url, env=env, config={
            "keyrings": {"kms": {"type": "aws-kms", "key_id": self.key_arn}},
            "tables": {"accounts": {"keyring": "kms", "partition_key": "pk",
                                    "attribute_actions": {"card": "ENCRYPT_AND_SIGN", "owner": "SIGN_ONLY"}}}})
        try:
            app = h.boto3_client(proxy.url)
            with self.assertRaises(app.exceptions.ClientError) as cm:
                app.put_item(TableName="accounts", Item={"pk": {"S": "down"}, "card": {"S": "4242"},
                                                         "owner": {"S": "X"}})
            err = cm.exception.response
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 503)
            self.assertIn("KMS", err["Error"]["Message"])
            self.assertNotIn("Item", self.raw.get_item(TableName="accounts", Key={"pk": {"S": "down"}}))
            # /readyz takes the replica out of service while KMS cannot be reached.
            import urllib.error
            import urllib.request
            with self.assertRaises(urllib.error.HTTPError) as ready:
                urllib.request.urlopen("http://127.0.0.1:%d/readyz" % proxy.admin_port, timeout=5)
            self.assertEqual(ready.exception.code, 503)
            self.assertIn("KMS", ready.exception.read().decode())
        finally:
            proxy.stop()


if __name__ == "__main__":
    unittest.main()
