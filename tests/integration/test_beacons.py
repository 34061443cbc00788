"""Standard beacons (a table's "search" block) against moto's KMS and DynamoDB, with a branch key
store made by `dynaseal branch-key`: every write through dynaseal stores aws_dbe_b_<name> and
the version tag aws_dbe_v_1 beside the ciphertext, and their values equal those of an
independent implementation of the DB-ESDK's specification written here (beacon key opened
with moto's KMS from the store's beacon:ACTIVE item, HKDF-SHA512, HMAC-SHA384, truncation);
updates keep them in step with the plaintext; reads never show them; per-tenant beacon keys
differ; the beacon key costs one key store read per worker per TTL."""
import base64
import decimal
import hashlib
import hmac
import json
import os
import re
import subprocess
import unittest
import uuid

import peers as h

STORE = "dynaseal-beacon-keys"


def hkdf_sha512(ikm, info, length=64):
    """RFC 5869 with no salt (a string of zeros of the hash's length)."""
    prk = hmac.new(b"\0" * 64, ikm, hashlib.sha512).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha512).digest()
        out += block
        i += 1
    return out[:length]


def normalize_number(text):
    """DynamoDB's canonical form of a number: no exponent, no trailing zeros, no leading zeros."""
    d = decimal.Decimal(text).normalize()
    s = format(d, "f")
    return "0" if s in ("-0", "0") else s


def beacon(beacon_key, name, value, length):
    """searchable-encryption/beacons.md: the rightmost `length` bits of the first 8 bytes of
    HMAC-SHA384 under the beacon's HKDF key, as ceil(length/4) hex digits."""
    key = hkdf_sha512(beacon_key, b"AWS_DBE_SCAN_BEACON" + name.encode())
    (kind, v), = value.items()
    data = v.encode() if kind == "S" else normalize_number(v).encode() if kind == "N" else base64.b64decode(v)
    n = int.from_bytes(hmac.new(key, data, hashlib.sha384).digest()[:8], "big") & ((1 << length) - 1)
    return "%0*x" % ((length + 3) // 4, n)


class BeaconTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            cls.env = h.proxy_env()
            cls.env["AWS_ENDPOINT_URL_KMS"] = cls.moto.url
            cls.kms = h.boto3_client(cls.moto.url, "kms", "AKIDBOOT", "boot")
            cls.key_arn = cls.kms.create_key()["KeyMetadata"]["Arn"]
            cls.raw = h.boto3_client(cls.moto.url, key="AKIDRAW", secret="raw")
            h.create_table(cls.raw, "people")
            h.create_table(cls.raw, "tenants", keys=(("tenant", "S", "HASH"), ("sk", "S", "RANGE")))
            r = cls.cli("create-store", "--table", STORE)
            assert r.returncode == 0, r.stderr
            cls.key_a, cls.key_b = cls.create_key(), cls.create_key()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "moto"):
            cls.moto.stop()

    @classmethod
    def cli(cls, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(cls.env)
        env["AWS_ENDPOINT_URL_DYNAMODB"] = "http://127.0.0.1:9"
        return subprocess.run([h.DYNASEAL, "branch-key", *args, "--endpoint", cls.moto.url],
                              env=env, capture_output=True, text=True, timeout=60)

    @classmethod
    def create_key(cls):
        r = cls.cli("create", "--table", STORE, "--kms-key", cls.key_arn)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    @classmethod
    def beacon_key(cls, branch_key_id):
        """The beacon key, opened here with KMS from the store's item (branch-key-store.md:
        the encryption context is every attribute but "enc", plus the logical store name)."""
        item = cls.raw.get_item(TableName=STORE, Key={"branch-key-id": {"S": branch_key_id},
                                                      "type": {"S": "beacon:ACTIVE"}})["Item"]
        ec = {k: list(v.values())[0] for k, v in item.items() if k != "enc"}
        ec["tablename"] = STORE
        return cls.kms.decrypt(CiphertextBlob=item["enc"]["B"], EncryptionContext=ec,
                               KeyId=cls.key_arn)["Plaintext"]

    def start_proxy(self, workers=1):
        audit = os.path.join(h.run_dir(), "audit-%s.jsonl" % uuid.uuid4().hex[:8])
        config = {
            "keyrings": {
                "hier": {"type": "aws-kms-hierarchical", "key_store_table": STORE,
                         "kms_key_id": self.key_arn, "branch_key_id": self.key_a},
                "tenant": {"type": "aws-kms-hierarchical", "key_store_table": STORE,
                           "kms_key_id": self.key_arn, "branch_key_id_attribute": "tenant",
                           "branch_key_ids": {"acme": self.key_a, "globex": self.key_b}}},
            "tables": {
                "people": {"keyring": "hier", "partition_key": "pk",
                           "attribute_actions": {"pk": "SIGN_ONLY", "email": "ENCRYPT_AND_SIGN",
                                                 "zip": "ENCRYPT_AND_SIGN", "note": "ENCRYPT_AND_SIGN",
                                                 "visits": "DO_NOTHING"},
                           "search": {"keyring": "hier",
                                      "standard_beacons": [{"name": "email", "length": 16},
                                                           {"name": "zip", "length": 5}]}},
                "tenants": {"keyring": "tenant", "partition_key": "tenant", "sort_key": "sk",
                            "attribute_actions": {"tenant": "SIGN_ONLY", "sk": "SIGN_ONLY",
                                                  "email": "ENCRYPT_AND_SIGN"},
                            "search": {"keyring": "tenant",
                                       "standard_beacons": [{"name": "email", "length": 24}]}}},
            "log": {"audit": audit},
        }
        proxy = h.start_dynaseal(self.moto.url, config=config, env=self.env, workers=workers)
        self.addCleanup(proxy.stop)
        proxy.audit = audit
        return proxy

    def raw_item(self, table, key):
        return self.raw.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]

    def test_written_beacons_equal_the_specification(self):
        app = h.boto3_client(self.start_proxy().url)
        bkey = self.beacon_key(self.key_a)
        cases = [("a@example.com", "02139"), ("b@example.com", "1.230"), ("", "-0.5"),
                 ("é@例え.jp", "100"), ("a@example.com", "1.23")]
        for i, (email, z) in enumerate(cases):
            app.put_item(TableName="people", Item={"pk": {"S": "p%d" % i}, "email": {"S": email},
                                                   "zip": {"N": z}, "visits": {"N": "1"}})
        for i, (email, z) in enumerate(cases):
            raw = self.raw_item("people", {"pk": {"S": "p%d" % i}})
            self.assertEqual(raw["aws_dbe_b_email"], {"S": beacon(bkey, "email", {"S": email}, 16)})
            self.assertEqual(raw["aws_dbe_b_zip"], {"S": beacon(bkey, "zip", {"N": z}, 5)})
            self.assertEqual(len(raw["aws_dbe_b_zip"]["S"]), 2)
            self.assertEqual(raw["aws_dbe_v_1"], {"S": " "})
            self.assertEqual(list(raw["email"]), ["B"])
            if email:
                self.assertNotIn(email.encode(), raw["email"]["B"])
            got = app.get_item(TableName="people", Key={"pk": {"S": "p%d" % i}})["Item"]
            self.assertEqual(sorted(got), ["email", "pk", "visits", "zip"])
            self.assertEqual(got["email"], {"S": email})
        # Equal values, equal beacons; "1.230" and "1.23" are one number.
        rows = [self.raw_item("people", {"pk": {"S": "p%d" % i}}) for i in range(len(cases))]
        self.assertEqual(rows[0]["aws_dbe_b_email"], rows[4]["aws_dbe_b_email"])
        self.assertEqual(rows[1]["aws_dbe_b_zip"], rows[4]["aws_dbe_b_zip"])
        self.assertNotEqual(rows[0]["aws_dbe_b_email"], rows[1]["aws_dbe_b_email"])
        # An item without a beaconed attribute has no beacon, but the version tag.
        app.put_item(TableName="people", Item={"pk": {"S": "bare"}, "note": {"S": "x"}})
        raw = self.raw_item("people", {"pk": {"S": "bare"}})
        self.assertEqual(sorted(k for k in raw if k.startswith("aws_dbe_")),
                         ["aws_dbe_foot", "aws_dbe_head", "aws_dbe_v_1"])
        # Every read path leaves the reserved attributes out.
        scanned = app.scan(TableName="people", FilterExpression="begins_with(pk, :p) OR pk = :b",
                           ExpressionAttributeValues={":p": {"S": "p"}, ":b": {"S": "bare"}})["Items"]
        self.assertEqual(len(scanned), len(cases) + 1)
        for it in scanned:
            self.assertFalse([k for k in it if k.startswith("aws_dbe_")], it)

    def test_updates_keep_beacons_in_step(self):
        app = h.boto3_client(self.start_proxy().url)
        bkey = self.beacon_key(self.key_a)
        key = {"pk": {"S": "u1"}}
        app.put_item(TableName="people", Item={**key, "email": {"S": "old@example.com"}, "zip": {"N": "5"}})
        old = app.update_item(TableName="people", Key=key, UpdateExpression="SET email = :e",
                              ExpressionAttributeValues={":e": {"S": "new@example.com"}},
                              ReturnValues="ALL_OLD")["Attributes"]
        self.assertEqual(old["email"], {"S": "old@example.com"})
        self.assertNotIn("aws_dbe_b_email", old)
        raw = self.raw_item("people", key)
        self.assertEqual(raw["aws_dbe_b_email"]["S"], beacon(bkey, "email", {"S": "new@example.com"}, 16))
        self.assertEqual(raw["aws_dbe_b_zip"]["S"], beacon(bkey, "zip", {"N": "5"}, 5))
        app.update_item(TableName="people", Key=key, UpdateExpression="REMOVE email ADD zip :one",
                        ExpressionAttributeValues={":one": {"N": "1"}})
        raw = self.raw_item("people", key)
        self.assertNotIn("aws_dbe_b_email", raw)
        self.assertEqual(raw["aws_dbe_b_zip"]["S"], beacon(bkey, "zip", {"N": "6"}, 5))
        # An upsert through UpdateItem creates the item with its beacon.
        app.update_item(TableName="people", Key={"pk": {"S": "u2"}}, UpdateExpression="SET email = :e",
                        ExpressionAttributeValues={":e": {"S": "up@example.com"}})
        raw = self.raw_item("people", {"pk": {"S": "u2"}})
        self.assertEqual(raw["aws_dbe_b_email"]["S"], beacon(bkey, "email", {"S": "up@example.com"}, 16))
        self.assertEqual(raw["aws_dbe_v_1"], {"S": " "})
        # Batch and transaction writes carry beacons too.
        app.batch_write_item(RequestItems={"people": [
            {"PutRequest": {"Item": {"pk": {"S": "b1"}, "email": {"S": "batch@example.com"}}}}]})
        app.transact_write_items(TransactItems=[
            {"Put": {"TableName": "people", "Item": {"pk": {"S": "t1"}, "email": {"S": "tx@example.com"}}}}])
        for pk, email in (("b1", "batch@example.com"), ("t1", "tx@example.com")):
            self.assertEqual(self.raw_item("people", {"pk": {"S": pk}})["aws_dbe_b_email"]["S"],
                             beacon(bkey, "email", {"S": email}, 16))

    def test_tenants_get_their_own_beacon_keys(self):
        app = h.boto3_client(self.start_proxy().url)
        for tenant in ("acme", "globex"):
            app.put_item(TableName="tenants", Item={"tenant": {"S": tenant}, "sk": {"S": "1"},
                                                    "email": {"S": "same@example.com"}})
        got = {t: self.raw_item("tenants", {"tenant": {"S": t}, "sk": {"S": "1"}})["aws_dbe_b_email"]["S"]
               for t in ("acme", "globex")}
        self.assertNotEqual(got["acme"], got["globex"])
        self.assertEqual(got["acme"], beacon(self.beacon_key(self.key_a), "email", {"S": "same@example.com"}, 24))
        self.assertEqual(got["globex"], beacon(self.beacon_key(self.key_b), "email", {"S": "same@example.com"}, 24))
        # A tenant with no branch key: refused by name, nothing written.
        with self.assertRaises(Exception) as cm:
            app.put_item(TableName="tenants", Item={"tenant": {"S": "initech"}, "sk": {"S": "1"},
                                                    "email": {"S": "x@example.com"}})
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationException")
        self.assertIn("has no entry in branch_key_ids", cm.exception.response["Error"]["Message"])
        self.assertNotIn("Item", self.raw.get_item(TableName="tenants",
                                                   Key={"tenant": {"S": "initech"}, "sk": {"S": "1"}}))

    def test_a_beaconed_attribute_must_be_a_scalar(self):
        app = h.boto3_client(self.start_proxy().url)
        with self.assertRaises(Exception) as cm:
            app.put_item(TableName="people", Item={"pk": {"S": "bad"}, "email": {"L": [{"S": "a"}]}})
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "ValidationException")
        self.assertEqual(err["Message"], 'table "people": attribute "email" has a standard beacon '
                         '(search.standard_beacons), so it must be a string, number or binary; this '
                         "item's is not a string, number or binary attribute value")
        self.assertNotIn("Item", self.raw.get_item(TableName="people", Key={"pk": {"S": "bad"}}))

    def test_beacon_key_read_once_per_worker(self):
        proxy = self.start_proxy(workers=1)
        app = h.boto3_client(proxy.url)
        for i in range(200):
            app.put_item(TableName="people", Item={"pk": {"S": "c%d" % i}, "email": {"S": "e%d@x" % (i % 7)}})
        log = proxy.log_text()
        beacon_reads = len(re.findall(r"beacon key of branch key \"%s\" read from key store" % self.key_a, log))
        with open(proxy.audit) as f:
            events = [json.loads(l) for l in f if l.strip()]
        decrypts = sum(1 for e in events if e.get("operation") == "Decrypt")
        print("\n  200 writes with beacons, 1 worker: %d beacon key reads, %d KMS Decrypt" % (beacon_reads, decrypts))
        self.assertEqual(beacon_reads, 1)
        # One Decrypt for the ACTIVE branch key, one for the beacon key.
        self.assertEqual(decrypts, 2)


if __name__ == "__main__":
    unittest.main()
