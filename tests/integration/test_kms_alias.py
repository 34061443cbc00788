"""KMS key aliases against moto's KMS: an aws-kms keyring named by alias writes with the key the
alias names and records that key's ARN (never the alias) in each item's EDK; re-pointing the
alias (UpdateAlias) and reloading (SIGHUP) is a rotation: new items name the new key and items
written before still read.  A process started after the move reads the old items only when the
old key is listed in previous_key_ids.  An aws-kms-hierarchical keyring whose key store key is
named by alias keeps reading its branch keys across the move.  Unknown aliases and disabled keys
stop dynaseal at start with the keyring, the alias and the reason; a reload onto a disabled key
keeps the running config; credentials without kms:DescribeKey stop it at start too; `dynaseal
doctor` prints what each alias resolves to."""
import json
import os
import signal
import struct
import subprocess
import time
import unittest

import peers as h

ALIAS = "alias/orders-key"
STORE_ALIAS = "alias/store-key"
STORE = "alias-keys"


def edk_provider_infos(head):
    """The (provider id, provider info) of each EDK of an aws_dbe_head value
    (structured-encryption/header.md: version, flavor, message id, legend, context, EDKs)."""
    pos = 2 + 32

    def field16():
        nonlocal pos
        (n,) = struct.unpack_from(">H", head, pos)
        pos += 2 + n
        return head[pos - n:pos]

    field16()                                    # encrypt legend
    (pairs,) = struct.unpack_from(">H", head, pos)
    pos += 2
    for _ in range(2 * pairs):                   # encryption context keys and values
        field16()
    count = head[pos]
    pos += 1
    out = []
    for _ in range(count):
        pid, info = field16(), field16()
        field16()                                # ciphertext
        out.append((pid.decode(), info.decode()))
    return out


class KmsAliasTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            cls.kms = h.boto3_client(cls.moto.url, "kms", "AKIDBOOT", "boot")
            cls.key_a = cls.kms.create_key()["KeyMetadata"]["Arn"]
            cls.key_b = cls.kms.create_key()["KeyMetadata"]["Arn"]
            cls.kms.create_alias(AliasName=ALIAS, TargetKeyId=cls.key_a)
            cls.kms.create_alias(AliasName=STORE_ALIAS, TargetKeyId=cls.key_a)
            cls.raw = h.boto3_client(cls.moto.url, key="AKIDRAW", secret="raw")
            for name in ("orders", "docs"):
                cls.raw.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
            cls.env = dict(h.proxy_env(), AWS_ENDPOINT_URL_KMS=cls.moto.url)
            r = cls.cli("create-store", "--table", STORE)
            assert r.returncode == 0, r.stderr
            r = cls.cli("create", "--table", STORE, "--kms-key", cls.key_a)
            assert r.returncode == 0, r.stderr
            cls.branch_key = r.stdout.strip()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "moto"):
            cls.moto.stop()

    @classmethod
    def cli(cls, *args):
        return h.branch_key_cli(cls.env, cls.moto.url, *args)

    def config(self, key_id=ALIAS, previous=None, store_key=STORE_ALIAS, store_previous=None):
        kms = {"type": "aws-kms", "key_id": key_id}
        if previous:
            kms["previous_key_ids"] = previous
        docs = {"type": "aws-kms-hierarchical", "key_store_table": STORE, "kms_key_id": store_key,
                "branch_key_id": self.branch_key, "ttl_s": 1}
        if store_previous:
            docs["previous_key_ids"] = store_previous
        return {
            "keyrings": {"orders": kms, "docs": docs},
            "tables": {
                "orders": {"keyring": "orders", "partition_key": "pk",
                           "attribute_actions": {"card": "ENCRYPT_AND_SIGN"}},
                "docs": {"keyring": "docs", "partition_key": "pk",
                         "attribute_actions": {"body": "ENCRYPT_AND_SIGN"}}}}

    def write_config(self, cfg):
        path = os.path.join(h.run_dir(), "alias-%d.json" % time.monotonic_ns())
        with open(path, "w") as f:
            json.dump(h.proxy_config(h.free_port(), h.free_port(), self.moto.url, cfg), f)
        return path

    def run_dynaseal(self, cmd, cfg, timeout=60):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.env)
        env["DYNASEAL_CONFIG"] = ""
        r = subprocess.run([h.DYNASEAL, cmd, "--config", self.write_config(cfg)],
                           capture_output=True, text=True, timeout=timeout, env=env)
        # Under SANITIZE=1 (DYNASEAL_BIN=bin/dynaseal-san) an early exit must leave no report.
        self.assertNotIn("Sanitizer", r.stderr)
        return r

    def wait_log(self, proxy, needle, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in proxy.log_text():
                return
            time.sleep(0.1)
        self.fail("%r never appeared in the log:\n%s" % (needle, h.tail(proxy.log)))

    def edk_keys(self, pk):
        head = self.raw.get_item(TableName="orders", Key={"pk": {"S": pk}})["Item"]["aws_dbe_head"]["B"]
        self.assertNotIn(b"alias/", head)
        return [info for pid, info in edk_provider_infos(head) if pid == "aws-kms"]

    def put(self, app, table, pk, value):
        attr = "card" if table == "orders" else "body"
        item = {"pk": {"S": pk}, attr: {"S": value}}
        app.put_item(TableName=table, Item=item)
        return item

    def point(self, alias, key):
        self.kms.update_alias(AliasName=alias, TargetKeyId=key)

    def test_re_pointed_alias_is_a_rotation(self):
        self.point(ALIAS, self.key_a)
        self.point(STORE_ALIAS, self.key_a)
        proxy = h.start_dynaseal(self.moto.url, config=self.config(), env=self.env)
        try:
            self.wait_log(proxy, "keyring orders: alias %s names %s" % (ALIAS, self.key_a))
            app = h.boto3_client(proxy.url)
            written = [self.put(app, "orders", "rot-a%d" % i, "4111-%04d" % i) for i in range(3)]
            docs = [self.put(app, "docs", "rot-d0", "before the move")]
            for it in written:
                self.assertEqual(self.edk_keys(it["pk"]["S"]), [self.key_a])

            # Moved but not reloaded: the keyring stays pinned to the key it resolved.
            self.point(ALIAS, self.key_b)
            self.point(STORE_ALIAS, self.key_b)
            written.append(self.put(app, "orders", "rot-pinned", "4111-9999"))
            self.assertEqual(self.edk_keys("rot-pinned"), [self.key_a])

            proxy.signal(signal.SIGHUP)
            self.wait_log(proxy, "reload: keyring orders: alias %s now names %s (was %s)"
                          % (ALIAS, self.key_b, self.key_a))
            self.wait_log(proxy, "reload: keyring docs: alias %s now names %s (was %s)"
                          % (STORE_ALIAS, self.key_b, self.key_a))
            # Workers switch to the reloaded keyrings on their own threads: wait for the first
            # item written under B, then every later one must be.
            deadline = time.time() + 10
            n = 0
            while True:
                it = self.put(app, "orders", "rot-b%d" % n, "5500-%04d" % n)
                written.append(it)
                n += 1
                if self.edk_keys(it["pk"]["S"]) == [self.key_b] or time.time() > deadline:
                    break
                time.sleep(0.1)
            for i in range(3):
                written.append(self.put(app, "orders", "rot-after%d" % i, "5500-77%02d" % i))
                self.assertEqual(self.edk_keys("rot-after%d" % i), [self.key_b])
            # The branch key, protected by A in the store, is read again after its TTL.
            time.sleep(1.5)
            docs.append(self.put(app, "docs", "rot-d1", "after the move"))

            for it in written:
                self.assertEqual(app.get_item(TableName="orders", Key={"pk": it["pk"]})["Item"], it)
            for it in docs:
                self.assertEqual(app.get_item(TableName="docs", Key={"pk": it["pk"]})["Item"], it)
            scanned = app.scan(TableName="orders", FilterExpression="begins_with(pk, :p)",
                               ExpressionAttributeValues={":p": {"S": "rot-"}})["Items"]
            self.assertEqual(sorted(i["card"]["S"] for i in scanned),
                             sorted(i["card"]["S"] for i in written))
            self.assertEqual({k for it in written for k in self.edk_keys(it["pk"]["S"])},
                             {self.key_a, self.key_b})
        finally:
            proxy.stop()

        # A new process only knows what the alias names now: items under A need previous_key_ids.
        fresh = h.start_dynaseal(self.moto.url, config=self.config(), env=self.env)
        try:
            app = h.boto3_client(fresh.url)
            with self.assertRaises(app.exceptions.ClientError) as cm:
                app.get_item(TableName="orders", Key={"pk": {"S": "rot-a0"}})
            self.assertIn("not encrypted under KMS key %s" % self.key_b,
                          cm.exception.response["Error"]["Message"])
            self.assertEqual(app.get_item(TableName="orders", Key={"pk": {"S": "rot-after0"}})["Item"]["card"],
                             {"S": "5500-7700"})
            with self.assertRaises(app.exceptions.ClientError) as cm:
                app.get_item(TableName="docs", Key={"pk": {"S": "rot-d0"}})
            self.assertIn('branch key "%s" is protected by KMS key %s, not the configured kms_key_id %s'
                          % (self.branch_key, self.key_a, self.key_b),
                          cm.exception.response["Error"]["Message"])
        finally:
            fresh.stop()
        listed = h.start_dynaseal(self.moto.url, config=self.config(previous=[self.key_a],
                                                                     store_previous=[self.key_a]),
                                  env=self.env)
        try:
            app = h.boto3_client(listed.url)
            for pk in ("rot-a0", "rot-pinned", "rot-after2"):
                self.assertIn("card", app.get_item(TableName="orders", Key={"pk": {"S": pk}})["Item"])
            self.assertEqual(app.get_item(TableName="docs", Key={"pk": {"S": "rot-d0"}})["Item"]["body"],
                             {"S": "before the move"})
        finally:
            listed.stop()

    def test_unknown_alias_stops_start_up(self):
        r = self.run_dynaseal("serve", self.config(key_id="alias/no-such-key"), timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('config: "keyrings.orders.key_id": alias "alias/no-such-key" cannot be resolved: '
                      'KMS DescribeKey on key alias/no-such-key failed: NotFoundException', r.stderr)
        arn = self.key_a.split(":key/")[0] + ":alias/no-store"
        r = self.run_dynaseal("serve", self.config(store_key=arn), timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('config: "keyrings.docs.kms_key_id": alias "%s" cannot be resolved: ' % arn, r.stderr)

    def test_disabled_key_stops_start_up_and_reload(self):
        md = self.kms.create_key()["KeyMetadata"]
        key_c = md["Arn"]
        self.kms.create_alias(AliasName="alias/disabled-key", TargetKeyId=key_c)
        self.kms.disable_key(KeyId=md["KeyId"])
        r = self.run_dynaseal("serve", self.config(key_id="alias/disabled-key"), timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('config: "keyrings.orders.key_id": alias "alias/disabled-key" names %s, which is '
                      'disabled; enable the key (kms:EnableKey) or point the alias at an enabled one'
                      % key_c, r.stderr)

        self.point(ALIAS, self.key_a)
        proxy = h.start_dynaseal(self.moto.url, config=self.config(), env=self.env)
        try:
            cfg = json.loads(open(proxy.config_path).read())
            cfg["keyrings"]["orders"]["key_id"] = "alias/disabled-key"
            with open(proxy.config_path, "w") as f:
                json.dump(cfg, f)
            proxy.signal(signal.SIGHUP)
            self.wait_log(proxy, "a KMS alias of %s cannot be used; still serving with the config "
                          "loaded before" % proxy.config_path)
            app = h.boto3_client(proxy.url)
            self.put(app, "orders", "dis-1", "4111-0001")
            self.assertEqual(self.edk_keys("dis-1"), [self.key_a])
        finally:
            proxy.stop()

    def test_doctor_prints_what_each_alias_resolves_to(self):
        self.point(ALIAS, self.key_b)
        self.point(STORE_ALIAS, self.key_a)
        r = self.run_dynaseal("doctor", self.config(previous=[self.key_a]))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("ok    keyring orders alias: %s resolves to %s (enabled); reads accept 2 key(s)"
                      % (ALIAS, self.key_b), r.stdout)
        self.assertIn("ok    keyring docs alias: %s resolves to %s (enabled); reads accept 1 key(s)"
                      % (STORE_ALIAS, self.key_a), r.stdout)
        self.assertIn("ok    keyring orders (aws-kms): wraps and unwraps a data key with KMS key %s"
                      % self.key_b, r.stdout)
        r = self.run_dynaseal("doctor", self.config(key_id="alias/no-such-key"))
        self.assertEqual(r.returncode, 1)
        self.assertIn('FAIL  kms alias: config: "keyrings.orders.key_id": alias "alias/no-such-key" '
                      'cannot be resolved: ', r.stdout)



class KmsAliasRefusedTest(unittest.TestCase):
    """moto with IAM checks on: credentials without kms:DescribeKey cannot resolve an alias, and
    dynaseal says so at start, naming the keyring, the alias and the permission."""

    def test_describe_key_refused_stops_start_up(self):
        # Five set-up calls run before moto starts checking signatures and policies.
        moto = h.start_moto(auth_after=5)
        try:
            iam = h.boto3_client(moto.url, "iam", "AKIDBOOT", "boot")
            iam.create_user(UserName="nodescribe")
            key = iam.create_access_key(UserName="nodescribe")["AccessKey"]
            iam.put_user_policy(UserName="nodescribe", PolicyName="p", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                    "dynamodb:*", "kms:GenerateDataKey", "kms:Decrypt"]}]}))
            kms = h.boto3_client(moto.url, "kms", "AKIDBOOT", "boot")
            arn = kms.create_key()["KeyMetadata"]["Arn"]
            kms.create_alias(AliasName=ALIAS, TargetKeyId=arn)
            cfg = h.proxy_config(h.free_port(), h.free_port(), moto.url, {
                "keyrings": {"orders": {"type": "aws-kms", "key_id": ALIAS}},
                "tables": {"orders": {"keyring": "orders", "partition_key": "pk"}}})
            path = os.path.join(moto.workdir, "refused.json")
            with open(path, "w") as f:
                json.dump(cfg, f)
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(h.proxy_env(key["AccessKeyId"], key["SecretAccessKey"]))
            env.update(AWS_ENDPOINT_URL_KMS=moto.url, DYNASEAL_CONFIG="")
            r = subprocess.run([h.DYNASEAL, "serve", "--config", path], capture_output=True,
                               text=True, timeout=60, env=env)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn('config: "keyrings.orders.key_id": alias "%s" cannot be resolved: '
                          "dynaseal's credentials may not call kms:DescribeKey on key %s: allow it in "
                          "the key policy or the IAM policy of dynaseal's role" % (ALIAS, ALIAS), r.stderr)
            self.assertNotIn("Sanitizer", r.stderr)
        finally:
            moto.stop()


if __name__ == "__main__":
    unittest.main()
