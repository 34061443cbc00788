"""The aws-kms-hierarchical keyring and `dynaseal branch-key` against moto's KMS and DynamoDB:
the CLI creates the key store and branch keys (MPL item layout), items round-trip through
dynaseal, branch keys cost one KMS Decrypt per worker per TTL (counted in dynaseal's audit log
of KMS calls and in its own key store log lines), rotation keeps old items readable while new
items use the new version, one branch key per tenant, and a deleted tenant key makes exactly
that tenant's items unreadable with an error naming the key."""
import json
import os
import re
import threading
import unittest
import uuid

import peers as h

STORE = "dynaseal-keys"


class HierarchyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            cls.env = h.proxy_env()
            cls.env["AWS_ENDPOINT_URL_KMS"] = cls.moto.url
            cls.key_arn = h.boto3_client(cls.moto.url, "kms", "AKIDBOOT", "boot").create_key()["KeyMetadata"]["Arn"]
            cls.raw = h.boto3_client(cls.moto.url, key="AKIDRAW", secret="raw")
            for name, keys in (("docs", [("pk", "HASH")]), ("tenants", [("tenant", "HASH"), ("sk", "RANGE")])):
                cls.raw.create_table(
                    TableName=name, BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
                    KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys])
            r = cls.cli("create-store", "--table", STORE)
            assert r.returncode == 0 and r.stdout.strip() == "created", r.stderr
            cls.docs_key = cls.create_key()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "moto"):
            cls.moto.stop()

    @classmethod
    def cli(cls, *args, endpoint=True):
        return h.branch_key_cli(cls.env, cls.moto.url if endpoint else None, *args)

    @classmethod
    def create_key(cls):
        r = cls.cli("create", "--table", STORE, "--kms-key", cls.key_arn)
        assert r.returncode == 0, r.stderr
        key_id = r.stdout.strip()
        uuid.UUID(key_id)
        return key_id

    def start_proxy(self, workers=2, ttl=600):
        audit = os.path.join(h.run_dir(), "audit-%s.jsonl" % uuid.uuid4().hex[:8])
        config = {
            "keyrings": {
                "hier": {"type": "aws-kms-hierarchical", "key_store_table": STORE,
                         "kms_key_id": self.key_arn, "branch_key_id": self.docs_key, "ttl_s": ttl},
                "tenant": {"type": "aws-kms-hierarchical", "key_store_table": STORE,
                           "kms_key_id": self.key_arn, "branch_key_id_attribute": "tenant",
                           "branch_key_ids": getattr(self, "tenant_map", {"acme": self.docs_key}),
                           "ttl_s": ttl}},
            "tables": {
                "docs": {"keyring": "hier", "partition_key": "pk",
                         "attribute_actions": {"pk": "SIGN_ONLY", "body": "ENCRYPT_AND_SIGN"}},
                "tenants": {"keyring": "tenant", "partition_key": "tenant", "sort_key": "sk",
                            "attribute_actions": {"tenant": "SIGN_ONLY", "sk": "SIGN_ONLY",
                                                  "secret": "ENCRYPT_AND_SIGN"}}},
            "log": {"audit": audit},
        }
        proxy = h.start_dynaseal(self.moto.url, config=config, env=self.env, workers=workers)
        self.addCleanup(proxy.stop)
        proxy.audit = audit
        return proxy

    @staticmethod
    def kms_ops(proxy, op):
        if not os.path.exists(proxy.audit):
            return 0
        with open(proxy.audit) as f:
            return sum(1 for l in f if l.strip() and json.loads(l)["operation"] == op)

    @staticmethod
    def store_reads(proxy):
        return len(re.findall(r"read from key store", proxy.log_text()))

    def store_items(self, key_id):
        return self.raw.query(TableName=STORE, KeyConditionExpression="#k = :id",
                              ExpressionAttributeNames={"#k": "branch-key-id"},
                              ExpressionAttributeValues={":id": {"S": key_id}})["Items"]

    def active_version(self, key_id):
        item = self.raw.get_item(TableName=STORE, Key={"branch-key-id": {"S": key_id},
                                                       "type": {"S": "branch:ACTIVE"}})["Item"]
        return item["version"]["S"][len("branch:version:"):]

    def test_store_items_follow_the_mpl_layout(self):
        items = {i["type"]["S"]: i for i in self.store_items(self.docs_key)}
        version = self.active_version(self.docs_key)
        self.assertIn("branch:ACTIVE", items)
        self.assertIn("beacon:ACTIVE", items)
        self.assertIn("branch:version:" + version, items)
        for it in items.values():
            self.assertEqual(it["kms-arn"]["S"], self.key_arn)
            self.assertEqual(it["hierarchy-version"], {"N": "1"})
            self.assertRegex(it["create-time"]["S"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
            self.assertIn("B", it["enc"])
            self.assertNotIn("tablename", it)
        self.assertNotIn("version", items["beacon:ACTIVE"])
        self.assertNotIn("version", items["branch:version:" + version])

    def test_round_trip_and_one_kms_decrypt_per_worker(self):
        proxy = self.start_proxy(workers=2)
        app = h.boto3_client(proxy.url)
        for i in range(100):
            app.put_item(TableName="docs", Item={"pk": {"S": "d%d" % i}, "body": {"S": "secret %d" % i}})
        for i in range(100):
            got = app.get_item(TableName="docs", Key={"pk": {"S": "d%d" % i}})["Item"]
            self.assertEqual(got["body"], {"S": "secret %d" % i})
        raw = self.raw.get_item(TableName="docs", Key={"pk": {"S": "d7"}})["Item"]
        self.assertEqual(list(raw["body"]), ["B"])
        self.assertNotIn(b"secret 7", raw["body"]["B"])
        self.assertIn(self.docs_key.encode(), raw["aws_dbe_head"]["B"])
        decrypts = self.kms_ops(proxy, "Decrypt")
        print("\n  200 writes+reads, 2 workers: %d KMS Decrypt, %d key store reads"
              % (decrypts, self.store_reads(proxy)))
        self.assertGreaterEqual(decrypts, 1)
        self.assertLessEqual(decrypts, 2)
        self.assertEqual(self.store_reads(proxy), decrypts)
        self.assertEqual(self.kms_ops(proxy, "GenerateDataKey"), 0)

    def test_rotation_keeps_old_items_readable(self):
        key_id = self.create_key()
        self.tenant_map = {"acme": key_id}
        old = self.active_version(key_id)
        proxy = self.start_proxy(workers=1)
        app = h.boto3_client(proxy.url)
        app.put_item(TableName="tenants", Item={"tenant": {"S": "acme"}, "sk": {"S": "before"},
                                                "secret": {"S": "old data"}})
        r = self.cli("rotate", "--table", STORE, "--kms-key", self.key_arn, "--id", key_id)
        self.assertEqual(r.returncode, 0, r.stderr)
        new = r.stdout.strip()
        self.assertEqual(new, self.active_version(key_id))
        self.assertNotEqual(new, old)
        self.assertEqual(sorted(i["type"]["S"] for i in self.store_items(key_id)),
                         sorted(["beacon:ACTIVE", "branch:ACTIVE", "branch:version:" + old,
                                 "branch:version:" + new]))
        # A new dynaseal (cold cache) writes under the new version, reads both.
        proxy.stop()
        proxy = self.start_proxy(workers=1)
        app = h.boto3_client(proxy.url)
        app.put_item(TableName="tenants", Item={"tenant": {"S": "acme"}, "sk": {"S": "after"},
                                                "secret": {"S": "new data"}})
        for sk, text in (("before", "old data"), ("after", "new data")):
            got = app.get_item(TableName="tenants", Key={"tenant": {"S": "acme"}, "sk": {"S": sk}})["Item"]
            self.assertEqual(got["secret"], {"S": text})
        heads = {sk: self.raw.get_item(TableName="tenants", Key={"tenant": {"S": "acme"}, "sk": {"S": sk}})
                 ["Item"]["aws_dbe_head"]["B"] for sk in ("before", "after")}
        self.assertIn(uuid.UUID(old).bytes, heads["before"])
        self.assertNotIn(uuid.UUID(new).bytes, heads["before"])
        self.assertIn(uuid.UUID(new).bytes, heads["after"])
        self.assertNotIn(uuid.UUID(old).bytes, heads["after"])

    def test_rotate_unknown_key_fails_naming_it(self):
        r = self.cli("rotate", "--table", STORE, "--kms-key", self.key_arn, "--id", "no-such-key")
        self.assertEqual(r.returncode, 1)
        self.assertIn('branch key "no-such-key" has no ACTIVE item', r.stderr)
        r = self.cli("create", "--table", STORE)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--kms-key ARN is required", r.stderr)

    def test_cli_ignores_aws_endpoint_url_dynamodb(self):
        # Without --endpoint and DYNASEAL_UPSTREAM_ENDPOINT the CLI goes to AWS's endpoint, not
        # to AWS_ENDPOINT_URL_DYNAMODB (set to a closed port by cli()); with the variable it
        # reaches moto.
        saved = dict(self.env)
        try:
            self.env["DYNASEAL_UPSTREAM_ENDPOINT"] = self.moto.url
            r = self.cli("create-store", "--table", STORE, endpoint=False)
            self.assertEqual((r.returncode, r.stdout.strip()), (0, "exists"), r.stderr)
        finally:
            type(self).env = saved

    def test_tenants_have_their_own_keys_and_shredding_one_spares_the_other(self):
        acme, globex = self.create_key(), self.create_key()
        self.tenant_map = {"acme": acme, "globex": globex}
        proxy = self.start_proxy(workers=1)
        app = h.boto3_client(proxy.url)
        for t in ("acme", "globex"):
            app.put_item(TableName="tenants", Item={"tenant": {"S": t}, "sk": {"S": "s1"},
                                                    "secret": {"S": t + " plans"}})
        heads = {t: self.raw.get_item(TableName="tenants", Key={"tenant": {"S": t}, "sk": {"S": "s1"}})
                 ["Item"]["aws_dbe_head"]["B"] for t in ("acme", "globex")}
        self.assertIn(acme.encode(), heads["acme"])
        self.assertNotIn(globex.encode(), heads["acme"])
        self.assertIn(globex.encode(), heads["globex"])
        self.assertNotIn(acme.encode(), heads["globex"])
        # A tenant without a configured key is refused, naming the attribute.
        with self.assertRaises(app.exceptions.ClientError) as cm:
            app.put_item(TableName="tenants", Item={"tenant": {"S": "initech"}, "sk": {"S": "s1"},
                                                    "secret": {"S": "x"}})
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationException")
        self.assertIn('"tenant" has no entry in branch_key_ids', cm.exception.response["Error"]["Message"])
        # Crypto-shred globex: delete its key store items, restart dynaseal (cold cache).
        for it in self.store_items(globex):
            self.raw.delete_item(TableName=STORE, Key={"branch-key-id": it["branch-key-id"], "type": it["type"]})
        proxy.stop()
        proxy = self.start_proxy(workers=1)
        app = h.boto3_client(proxy.url)
        got = app.get_item(TableName="tenants", Key={"tenant": {"S": "acme"}, "sk": {"S": "s1"}})["Item"]
        self.assertEqual(got["secret"], {"S": "acme plans"})
        with self.assertRaises(app.exceptions.ClientError) as cm:
            app.get_item(TableName="tenants", Key={"tenant": {"S": "globex"}, "sk": {"S": "s1"}})
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "ValidationException")
        self.assertIn('branch key "%s"' % globex, err["Message"])
        self.assertIn("deleted", err["Message"])
        with self.assertRaises(app.exceptions.ClientError) as cm:
            app.put_item(TableName="tenants", Item={"tenant": {"S": "globex"}, "sk": {"S": "s2"},
                                                    "secret": {"S": "x"}})
        self.assertIn('branch key "%s" has no ACTIVE item' % globex, cm.exception.response["Error"]["Message"])
        self.assertNotIn("Item", self.raw.get_item(TableName="tenants",
                                                   Key={"tenant": {"S": "globex"}, "sk": {"S": "s2"}}))

    def test_concurrent_cold_misses_make_one_kms_call(self):
        writer = self.start_proxy(workers=1)
        app = h.boto3_client(writer.url)
        for i in range(32):
            app.put_item(TableName="docs", Item={"pk": {"S": "c%d" % i}, "body": {"S": "v%d" % i}})
        writer.stop()
        proxy = self.start_proxy(workers=1)
        clients = [h.boto3_client(proxy.url) for _ in range(32)]
        barrier = threading.Barrier(32)
        results, errors = {}, []

        def read(i):
            try:
                barrier.wait()
                results[i] = clients[i].get_item(TableName="docs", Key={"pk": {"S": "c%d" % i}})["Item"]
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=read, args=(i,)) for i in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual({i: r["body"]["S"] for i, r in results.items()}, {i: "v%d" % i for i in range(32)})
        decrypts = self.kms_ops(proxy, "Decrypt")
        print("\n  32 concurrent cold reads, 1 worker: %d KMS Decrypt" % decrypts)
        self.assertEqual(decrypts, 1)
        self.assertEqual(self.store_reads(proxy), 1)


if __name__ == "__main__":
    unittest.main()
