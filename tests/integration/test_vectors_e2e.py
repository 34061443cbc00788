"""The published DB-ESDK decrypt vectors end to end: every `encrypted` item is stored directly
in the backend, then read through dynaseal (static-branch-key keyring from keys.json); positive
cases must come back equal to their `plaintext`, negative ones must be refused for the reason
their description gives (NEGATIVE_REASONS)."""
import base64
import glob
import json
import os
import unittest
from decimal import Decimal

import peers as h

VECTORS = os.environ.get("DS_VECTORS_DIR", os.path.join(h.ROOT, "..", "shared", "vectors"))
# What dynaseal's refusal must say (crypto/item/item_crypt.c) for each negative vector, by its
# description: an attribute written ENCRYPT_AND_SIGN, read with a configuration that has it
# DO_NOTHING, leaves the item with fewer signed attributes than its header lists.
NEGATIVE_REASONS = {
    "Change ENCRYPT_AND_SIGN to DO_NOTHING":
        "the item has fewer signed attributes than when it was written: a signed attribute was "
        "removed or is now allowed unsigned",
}


def ddb_value(v):
    """DynamoDB JSON from the vectors' JSON into boto3's form (bytes for B)."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "B":
                out[k] = base64.b64decode(x)
            elif k == "BS":
                out[k] = [base64.b64decode(b) for b in x]
            elif k in ("M",):
                out[k] = {a: ddb_value(y) for a, y in x.items()}
            elif k == "L":
                out[k] = [ddb_value(y) for y in x]
            else:
                out[k] = x
        return out
    return v


TYPE_TAGS = {"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "M", "L"}


def b64(x):
    return base64.b64encode(x).decode() if isinstance(x, (bytes, bytearray)) else x


def norm(v):
    """Comparable Python values from either form the vectors use: DynamoDB JSON (one-key
    objects with a type tag, as boto3 also returns) or document form (plain JSON), mixed at
    any depth.  Sets become sorted lists, numbers Decimals, binaries base64 text."""
    if isinstance(v, dict) and len(v) == 1 and next(iter(v)) in TYPE_TAGS:
        (t, x), = v.items()
        if t == "N":
            return Decimal(x)
        if t == "B":
            return b64(x)
        if t == "NULL":
            return None
        if t == "SS":
            return sorted(x)
        if t == "NS":
            return sorted(Decimal(n) for n in x)
        if t == "BS":
            return sorted(b64(b) for b in x)
        if t == "M":
            return {k: norm(y) for k, y in x.items()}
        if t == "L":
            return [norm(y) for y in x]
        return x
    if isinstance(v, dict):
        return {k: norm(y) for k, y in v.items()}
    if isinstance(v, list):
        return [norm(y) for y in v]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return Decimal(str(v))
    return v


class VectorsEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        keys = json.load(open(os.path.join(VECTORS, "dbesdk", "keys.json")))["keys"]["static-branch-key-1"]
        cls.cases = []
        configs = {}
        for f in sorted(glob.glob(os.path.join(VECTORS, "dbesdk", "decrypt_*.json"))):
            for name, t in json.load(open(f))["tests"].items():
                cfg = t.get("config", {})
                sig = json.dumps([cfg.get("attributeActionsOnEncrypt"), cfg.get("allowedUnsignedAttributes")],
                                 sort_keys=True)
                table = configs.setdefault(sig, "vectors-%d" % len(configs))
                cls.cases.append((os.path.basename(f), name, t, table, cfg))
        tables = {}
        for sig, table in configs.items():
            actions, unsigned = json.loads(sig)
            tables[table] = {"keyring": "vectors", "logical_name": "GazelleVectorTable",
                             "partition_key": "RecNum", "attribute_actions": actions}
            if unsigned:
                tables[table]["allowed_unsigned_attributes"] = unsigned
        cls.moto = h.start_moto()
        try:
            cls.proxy = h.start_dynaseal(cls.moto.url, config={
                "keyrings": {"vectors": {"type": "static-branch-key", "branch_key_id": keys["key-id"],
                                         "branch_key_version": keys["branchKeyVersion"],
                                         "branch_key": keys["branchKey"]}},
                "tables": tables})
            cls.raw = h.boto3_client(cls.moto.url)
            for table in configs.values():
                cls.raw.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                     AttributeDefinitions=[{"AttributeName": "RecNum", "AttributeType": "N"}],
                                     KeySchema=[{"AttributeName": "RecNum", "KeyType": "HASH"}])
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def test_every_vector_through_the_proxy(self):
        app = h.boto3_client(self.proxy.url)
        positive = negative = 0
        for fname, name, t, table, cfg in self.cases:
            with self.subTest(file=fname, case=name):
                item = {k: ddb_value(v) for k, v in t["encrypted"].items()}
                self.raw.put_item(TableName=table, Item=item)
                key = {"RecNum": item["RecNum"]}
                if t["type"] == "positive-decrypt":
                    got = app.get_item(TableName=table, Key=key)["Item"]
                    self.assertEqual(norm(got), norm(t["plaintext"]))
                    positive += 1
                else:
                    self.assertEqual(t["type"], "negative-decrypt")
                    self.assertIn(t.get("description"), NEGATIVE_REASONS, "a negative vector without an expected reason")
                    with self.assertRaises(app.exceptions.ClientError) as cm:
                        app.get_item(TableName=table, Key=key)
                    err = cm.exception.response["Error"]
                    self.assertEqual(err["Code"], "ValidationException")
                    self.assertIn('table "%s"' % table, err["Message"])
                    self.assertIn(NEGATIVE_REASONS[t["description"]], err["Message"])
                    negative += 1
        self.assertEqual((positive, negative), (38, 4))


if __name__ == "__main__":
    unittest.main()
