"""Items written by the legacy DynamoDB Encryption Client, read through dynaseal from moto.

Every static and wrapped scenario of ../shared/vectors/legacy-ddbec/encrypted_item (Java's and
Python's) is put raw into moto, one table per scenario and attribute-action set (the legacy
signature covers the table name: each table's logical_name is the name the vector was written
for), and read with boto3 through dynaseal by GetItem, Query, Scan and BatchGetItem: every item
equals its plaintext.json entry.  The items the legacy client leaves untouched (actions that
take no action: no *amzn-ddb-map-* attributes) are plaintext items, which a legacy table does
not read; they are left out.  A changed byte of a stored item is refused with its exact error,
as is a legacy item on a table whose policy is forbid or that has no legacy block.  An
UpdateItem of a legacy item through dynaseal leaves a v3 item.

The AWS KMS provider: the vectors name a real AWS key, so this test builds its items the way
the legacy library does (aws-dynamodb-encryption-python, material_providers/aws_kms.py and
encrypted/item.py, rewritten here): GenerateDataKey from moto's KMS with the provider's
encryption context, HKDF-SHA256 "Encryption" and "Signing" keys, AES/CBC/PKCS5Padding
attributes in the legacy serialization, an HMAC-SHA256 signature over the string to sign."""
import base64
import copy
import hashlib
import hmac
import json
import os
import struct
import unittest

import peers as h
from test_encryption import canon
from test_vectors_e2e import ddb_value

VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared",
                       "vectors", "legacy-ddbec", "encrypted_item")
V3_ACTIONS = {a: "ENCRYPT_AND_SIGN" for a in ("stringValue", "intValue", "byteArrayValue",
                                              "stringSet", "intSet", "doubleValue", "doubleSet")}
V3_ACTIONS.update({"version": "SIGN_ONLY", "note": "DO_NOTHING", "memo": "DO_NOTHING"})
TAMPERED = ("the item was changed after the legacy client wrote it, or is read with other keys "
            "or attribute actions than it was written with")


def load(name):
    with open(os.path.join(VECTORS, name)) as f:
        return json.load(f)


def to_boto(item):
    """A vector's item (binary in base64) as boto3's low-level client takes it."""
    return {k: ddb_value(v) for k, v in item.items()}


def comparable(item):
    """An item for comparison: "version" only has to be there (Java's DynamoDBMapper counts it
    up when it saves, and the legacy client's own acceptance test skips it the same way)."""
    out = canon(item)
    if "version" in out:
        out["version"] = "present"
    return out


def pem(der_b64, kind):
    body = "\n".join(der_b64[i:i + 64] for i in range(0, len(der_b64), 64))
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (kind, body, kind)


def short(path):
    """A table name for a scenario's ciphertext file: py-static-aes-hmac-1."""
    lang, name = path.split("/")[-2:]
    return ("py-" if lang == "python" else "java-") + name[:-len(".json")]


class Scenarios:
    """The static and wrapped scenarios, their tables and the plaintext each item must read as."""

    def __init__(self):
        self.keys = load("keys.json")
        self.plain = load("plaintext.json")
        self.list = [s for s in load("scenarios.json")["scenarios"]
                     if s["provider"] in ("static", "wrapped")]

    def expected(self, logical, stored, version):
        """plaintext.json's item for a stored item (matched by key) and its action name; (None,
        None) for the few Java items plaintext.json has no entry for (the unit test skips them
        too)."""
        tdata = self.plain["items"][logical]
        for pi in tdata["items"]:
            attrs = pi["attributes"]
            if all(attrs[k] == stored[k] for k in tdata["index"].values()):
                item = copy.deepcopy(attrs)
                if not pi.get("exact"):
                    for g in self.plain["versions"].get(logical, {}).get(version, []):
                        item.update(copy.deepcopy(self.plain["attributes"][g]))
                return item, pi.get("action", "encrypt")
        return None, None

    def legacy_actions(self, action):
        d = self.plain["actions"][action]
        words = {"encrypt": "ENCRYPT_AND_SIGN", "sign": "SIGN_ONLY", "nothing": "DO_NOTHING"}
        lists = {"encrypt": "encrypt", "sign": "sign_only", "nothing": "do_nothing"}
        out = {"default": words[d["default"]]}
        for name, act in d.get("override", {}).items():
            out.setdefault(lists[act], []).append(name)
        return out


class LegacyItemsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            cls.setup_tables()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def write(cls, name, text):
        path = os.path.join(cls.moto.workdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    @classmethod
    def provider(cls, sc):
        keys = cls.sc.keys
        dec, ver = keys[sc["keys"]["decrypt"]], keys[sc["keys"]["verify"]]
        out = {"type": sc["provider"]}
        dname, vname = sc["keys"]["decrypt"], sc["keys"]["verify"]
        if dec["algorithm"] == "RSA":
            out["wrapping_key_file"] = cls.write(dname + ".pem", pem(dec["material"], "PRIVATE KEY"))
        else:
            field = "encryption_key_file" if sc["provider"] == "static" else "wrapping_key_file"
            out[field] = cls.write(dname + ".b64", dec["material"])
        if ver["type"] == "public":
            out["signing_key_file"] = cls.write(vname + ".pem", pem(ver["material"], "PUBLIC KEY"))
        else:
            out["signing_key_file"] = cls.write(vname + ".b64", ver["material"])
        out["signing_algorithm"] = ver["algorithm"]
        return out

    @classmethod
    def table(cls, name, logical, legacy, index):
        """A dynaseal table for a vector's logical table, and its moto table."""
        keys = [(index["partition"], cls.sc.plain["items"][logical]["index_types"]["partition"], "HASH")]
        if "sort" in index:
            keys.append((index["sort"], cls.sc.plain["items"][logical]["index_types"]["sort"], "RANGE"))
        h.create_table(cls.raw, name, keys)
        cfg = {"keyring": "local", "logical_name": logical, "partition_key": index["partition"],
               "attribute_actions": dict(V3_ACTIONS), "allowed_unsigned_attributes": ["note", "memo"]}
        if "sort" in index:
            cfg["sort_key"] = index["sort"]
        if legacy is not None:
            cfg["legacy"] = legacy
        return cfg

    @classmethod
    def setup_tables(cls):
        cls.sc = Scenarios()
        cls.raw = h.boto3_client(cls.moto.url, key="AKIDRAW", secret="raw")
        cls.stored = {}        # moto table -> [stored items]
        cls.want = {}          # moto table -> {key json: expected plaintext}
        cls.index = {}         # moto table -> key attribute names
        cls.unmatched = 0      # vector items plaintext.json has no entry for
        tables = {}
        for sc in cls.sc.list:
            ct = load(sc["ciphertext"][len("file://"):])
            prov = cls.provider(sc)
            for logical, items in ct.items():
                index = cls.sc.plain["items"][logical]["index"]
                for it in items:
                    if "*amzn-ddb-map-sig*" not in it:
                        continue          # left untouched by the legacy client: plaintext
                    plain, action = cls.sc.expected(logical, it, sc["version"])
                    if plain is None:
                        cls.unmatched += 1
                        continue
                    name = "%s-%s" % (short(sc["ciphertext"]), action if logical == "TableName" else "hko")
                    if name not in tables:
                        tables[name] = cls.table(name, logical, {
                            "policy": "allow-read", "provider": prov,
                            "attribute_actions": cls.sc.legacy_actions(action)}, index)
                        cls.index[name] = list(index.values())
                    cls.raw.put_item(TableName=name, Item=to_boto(it))
                    cls.stored.setdefault(name, []).append(it)
                    key = json.dumps({k: it[k] for k in index.values()}, sort_keys=True)
                    cls.want.setdefault(name, {})[key] = plain
        tkey = {"partition": "hashKey", "sort": "rangeKey"}
        tables["forbid-table"] = cls.table("forbid-table", "TableName", {"policy": "forbid"}, tkey)
        tables["no-block-table"] = cls.table("no-block-table", "TableName", None, tkey)
        tables["kms-table"] = cls.table("kms-table", "TableName", None, tkey)
        cls.kms = h.boto3_client(cls.moto.url, "kms", "AKIDBOOT", "boot")
        cls.kms_arn = cls.kms.create_key()["KeyMetadata"]["Arn"]
        tables["kms-table"]["legacy"] = {
            "policy": "allow-read", "provider": {"type": "aws-kms", "key_id": cls.kms_arn},
            "attribute_actions": {"default": "ENCRYPT_AND_SIGN", "sign_only": ["version"],
                                  "do_nothing": ["note"]}}
        key = os.path.join(cls.moto.workdir, "local.key")
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        env = h.proxy_env()
        env["AWS_ENDPOINT_URL_KMS"] = cls.moto.url
        cls.proxy = h.start_dynaseal(cls.moto.url, env=env, config={
            "keyrings": {"local": {"type": "raw-aes", "key_file": key}}, "tables": tables})

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def setUp(self):
        self.app = h.boto3_client(self.proxy.url)

    def key_of(self, table, item):
        return {k: item[k] for k in self.index[table]}

    def check(self, table, got):
        key = json.dumps({k: json.loads(json.dumps(got[k])) for k in self.index[table]}, sort_keys=True)
        want = self.want[table][key]
        self.assertEqual(comparable(self.as_json(got)), comparable(want), "%s %s" % (table, key))

    @staticmethod
    def as_json(item):
        """boto3's answer with binary back in base64, as the vectors write it."""
        def conv(v):
            if isinstance(v, dict):
                return {k: (base64.b64encode(x).decode() if k == "B" else
                            [base64.b64encode(b).decode() for b in x] if k == "BS" else conv(x))
                        for k, x in v.items()}
            if isinstance(v, list):
                return [conv(x) for x in v]
            return v
        return conv(item)

    def refused(self, fn):
        with self.assertRaises(self.app.exceptions.ClientError) as cm:
            fn()
        return cm.exception.response["Error"]

    def test_every_vector_reads_by_get_query_scan_and_batch(self):
        n_get = n_scan = n_query = n_batch = 0
        for table, items in sorted(self.stored.items()):
            for it in items:
                got = self.app.get_item(TableName=table, Key=to_boto(self.key_of(table, it)),
                                        ConsistentRead=True)["Item"]
                self.assertNotIn("*amzn-ddb-map-sig*", got)
                self.assertNotIn("*amzn-ddb-map-desc*", got)
                self.check(table, got)
                n_get += 1
            scanned = [x for p in self.app.get_paginator("scan").paginate(TableName=table)
                       for x in p["Items"]]
            self.assertEqual(len(scanned), len(items), table)
            for got in scanned:
                self.check(table, got)
                n_scan += 1
            if len(self.index[table]) == 2:
                pk = self.index[table][0]
                for v in sorted({json.dumps(it[pk]) for it in items}):
                    r = self.app.query(TableName=table, KeyConditionExpression="#p = :v",
                                       ExpressionAttributeNames={"#p": pk},
                                       ExpressionAttributeValues={":v": ddb_value(json.loads(v))})
                    for got in r["Items"]:
                        self.check(table, got)
                        n_query += 1
        # BatchGetItem across every table at once, 100 keys a request.
        keys = [(t, to_boto(self.key_of(t, it))) for t, items in sorted(self.stored.items())
                for it in items]
        for i in range(0, len(keys), 100):
            req = {}
            for t, k in keys[i:i + 100]:
                req.setdefault(t, {"Keys": [], "ConsistentRead": True})["Keys"].append(k)
            while req:
                r = self.app.batch_get_item(RequestItems=req)
                for t, got in r["Responses"].items():
                    for it in got:
                        self.check(t, it)
                        n_batch += 1
                req = r.get("UnprocessedKeys") or {}
        total = sum(len(v) for v in self.stored.values())
        ranged = sum(len(v) for t, v in self.stored.items() if len(self.index[t]) == 2)
        self.assertEqual((n_get, n_scan, n_query, n_batch), (total, total, ranged, total))
        self.assertGreaterEqual(total, 150)
        print("\nlegacy vectors read: %d items in %d tables (GetItem %d, Scan %d, Query %d, "
              "BatchGetItem %d); %d items without a plaintext.json entry left out"
              % (total, len(self.stored), n_get, n_scan, n_query, n_batch, self.unmatched))

    def put_copy(self, table, item, change):
        """Puts a changed copy of a stored legacy item under a new sort key 900; returns its key."""
        it = copy.deepcopy(item)
        change(it)
        it["rangeKey"] = {"N": "900"}
        self.raw.put_item(TableName=table, Item=to_boto(it))
        return to_boto(self.key_of(table, it))

    def flip(self, b64, at=-1):
        raw = bytearray(base64.b64decode(b64))
        raw[at] ^= 0x01
        return base64.b64encode(bytes(raw)).decode()

    def test_changed_bytes_are_refused(self):
        table = "py-static-aes-hmac-3-encrypt"
        item = next(it for it in self.stored[table] if "stringValue" in it)
        sig_msg = ('table "%s": the legacy signature (*amzn-ddb-map-sig*) does not match the '
                   'item; %s' % (table, TAMPERED))
        # Moving the item to another key changes a signed attribute: refused already.
        key = self.put_copy(table, item, lambda it: None)
        err = self.refused(lambda: self.app.get_item(TableName=table, Key=key))
        self.assertEqual((err["Code"], err["Message"]), ("ValidationException", sig_msg))
        self.raw.delete_item(TableName=table, Key=key)
        # Every byte of the signature, of an encrypted value and of a signed value.
        cases = [("*amzn-ddb-map-sig*", "B"), ("stringValue", "B"), ("intValue", "B")]
        for attr, kind in cases:
            stored = base64.b64decode(item[attr][kind])
            for i in range(len(stored)):
                def change(it, i=i, attr=attr, kind=kind):
                    it[attr][kind] = self.flip(it[attr][kind], i)
                    it["rangeKey"] = item["rangeKey"]
                tampered = copy.deepcopy(item)
                change(tampered)
                self.raw.put_item(TableName=table, Item=to_boto(tampered))
                err = self.refused(lambda: self.app.get_item(TableName=table, Key=to_boto(
                    self.key_of(table, item))))
                self.assertEqual((err["Code"], err["Message"]), ("ValidationException", sig_msg),
                                 "%s byte %d" % (attr, i))
        self.raw.put_item(TableName=table, Item=to_boto(item))
        self.check(table, self.app.get_item(TableName=table, Key=to_boto(self.key_of(table, item)))["Item"])

    def test_forbid_and_no_block_refuse_by_name(self):
        item = next(it for it in self.stored["py-static-aes-hmac-1-encrypt"])
        for table, msg in (
                ("forbid-table", 'table "forbid-table": an item was written by the legacy DynamoDB '
                 'Encryption Client and the table\'s legacy policy is "forbid"; set legacy.policy '
                 'to "allow-read" to read it'),
                ("no-block-table", 'table "no-block-table": an item was written by the legacy '
                 'DynamoDB Encryption Client (it has *amzn-ddb-map-desc* or *amzn-ddb-map-sig*) '
                 'and the table has no "legacy" block; give it one with policy "allow-read", the '
                 'provider and the attribute actions the items were written with')):
            self.raw.put_item(TableName=table, Item=to_boto(item))
            err = self.refused(lambda: self.app.get_item(TableName=table, Key=to_boto(
                {"hashKey": item["hashKey"], "rangeKey": item["rangeKey"]})))
            self.assertEqual((err["Code"], err["Message"]), ("ValidationException", msg))
            err = self.refused(lambda: self.app.scan(TableName=table))
            self.assertEqual(err["Message"], msg)

    def assert_v3(self, table, key):
        stored = self.raw.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        self.assertIn("aws_dbe_head", stored)
        self.assertIn("aws_dbe_foot", stored)
        self.assertFalse([a for a in stored if a.startswith("*amzn-ddb-map-")], stored.keys())
        return stored

    def test_update_rewrites_a_legacy_item_in_v3(self):
        try:
            self.update_each()
        finally:
            for table, items in self.stored.items():   # as stored, for the other tests
                for it in items:
                    self.raw.put_item(TableName=table, Item=to_boto(it))

    def update_each(self):
        for table in ("py-static-aes-hmac-3-encrypt", "java-wrapped-rsa-rsa-1-mixed",
                      "py-wrapped-aes-hmac-1-sign"):
            item = next(it for it in self.stored[table] if "stringValue" in it)
            key = to_boto(self.key_of(table, item))
            want = self.as_json(self.app.get_item(TableName=table, Key=key)["Item"])
            r = self.app.update_item(TableName=table, Key=key, UpdateExpression="SET stringValue = :s",
                                     ExpressionAttributeValues={":s": {"S": "rewritten"}},
                                     ReturnValues="ALL_NEW")
            want["stringValue"] = {"S": "rewritten"}
            self.assertEqual(comparable(self.as_json(r["Attributes"])), comparable(want), table)
            stored = self.assert_v3(table, key)
            self.assertEqual(list(stored["stringValue"]), ["B"])   # encrypted by v3 now
            got = self.app.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
            self.assertEqual(comparable(self.as_json(got)), comparable(want), table)
        # An update of a DO_NOTHING attribute only is forwarded on condition of a v3 item, and
        # carried out by dynaseal when it is a legacy one.
        table = "java-static-aes-hmac-2-encrypt"
        item = next(it for it in self.stored[table] if "stringValue" in it)
        key = to_boto(self.key_of(table, item))
        want = self.as_json(self.app.get_item(TableName=table, Key=key)["Item"])
        self.app.update_item(TableName=table, Key=key, UpdateExpression="SET note = :n",
                             ExpressionAttributeValues={":n": {"S": "hello"}})
        want["note"] = {"S": "hello"}
        self.assert_v3(table, key)
        got = self.app.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        self.assertEqual(comparable(self.as_json(got)), comparable(want))

    # --- the AWS KMS provider, built as aws-dynamodb-encryption-python does -----------------

    @staticmethod
    def hkdf_sha256(ikm, info, length):
        """RFC 5869 with no salt (aws_kms.py: HKDF(SHA256, salt=None, info))."""
        prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
        out, t, i = b"", b"", 1
        while len(out) < length:
            t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
            out += t
            i += 1
        return out[:length]

    @staticmethod
    def serialize(av):
        """The legacy attribute serialization (internal/formatting/serialize/attribute.py) of
        the S, N (integers) and B values this test uses."""
        (t, v), = av.items()
        if t == "S":
            data = v.encode()
            return b"\x00s" + struct.pack(">I", len(data)) + data
        if t == "N":
            data = str(int(v)).encode()
            return b"\x00n" + struct.pack(">I", len(data)) + data
        if t == "B":
            return b"\x00b" + struct.pack(">I", len(v)) + v
        raise ValueError(t)

    @staticmethod
    def serialize_desc(pairs):
        out = b"\x00\x00\x00\x00"
        for k, v in sorted(pairs.items()):
            out += struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode()
        return out

    def kms_item(self, pk, sk, attrs, table="TableName"):
        """An item as the legacy client's AwsKmsCryptographicMaterialsProvider writes it with
        actions: ENCRYPT_AND_SIGN by default, version SIGN_ONLY, note DO_NOTHING, the keys
        SIGN_ONLY."""
        from cryptography.hazmat.primitives import padding
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        item = {"hashKey": {"N": pk}, "rangeKey": {"N": sk}}
        item.update(attrs)
        ec = {"*amzn-ddb-env-alg*": "AES/256", "*amzn-ddb-sig-alg*": "HmacSHA256/256",
              "hashKey": pk, "rangeKey": sk, "*aws-kms-table*": table}
        dk = self.kms.generate_data_key(KeyId=self.kms_arn, NumberOfBytes=32, EncryptionContext=ec)
        enc_key = self.hkdf_sha256(dk["Plaintext"], b"Encryption", 32)
        sig_key = self.hkdf_sha256(dk["Plaintext"], b"Signing", 32)
        stored, sts = {}, hashlib.sha256(("TABLE>%s<TABLE" % table).encode()).digest()
        for name in sorted(item, key=lambda n: n.encode()):
            av = item[name]
            action = ("sign" if name in ("hashKey", "rangeKey", "version") else
                      "nothing" if name == "note" else "encrypt")
            if action == "encrypt":
                iv = os.urandom(16)
                p = padding.PKCS7(128).padder()
                data = p.update(self.serialize(av)) + p.finalize()
                e = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
                av = {"B": iv + e.update(data) + e.finalize()}
            stored[name] = av
            if action != "nothing":
                sts += (hashlib.sha256(name.encode()).digest() +
                        hashlib.sha256(b"ENCRYPTED" if action == "encrypt" else b"PLAINTEXT").digest() +
                        hashlib.sha256(self.serialize(av)).digest())
        stored["*amzn-ddb-map-desc*"] = {"B": self.serialize_desc({
            "amzn-ddb-env-key": base64.b64encode(dk["CiphertextBlob"]).decode(),
            "amzn-ddb-env-alg": "AES/256", "amzn-ddb-sig-alg": "HmacSHA256/256",
            "amzn-ddb-wrap-alg": "kms", "amzn-ddb-map-sym-mode": "/CBC/PKCS5Padding",
            "aws-kms-ec-attr": "*keys*"})}
        stored["*amzn-ddb-map-sig*"] = {"B": hmac.new(sig_key, sts, hashlib.sha256).digest()}
        return stored

    def test_aws_kms_provider_items_read(self):
        table = "kms-table"
        plain = {"stringValue": {"S": "kms secret ✓"}, "intValue": {"N": "4711"},
                 "byteArrayValue": {"B": b"\x00\x01kms"}, "version": {"N": "3"},
                 "note": {"S": "unsigned"}}
        for sk in ("1", "2", "3"):
            self.raw.put_item(TableName=table, Item=self.kms_item("40", sk, plain))
        for sk in ("1", "2", "3"):
            got = self.app.get_item(TableName=table, Key={"hashKey": {"N": "40"}, "rangeKey": {"N": sk}})["Item"]
            want = dict(plain, hashKey={"N": "40"}, rangeKey={"N": sk})
            self.assertEqual(got, want)
        got = self.app.query(TableName=table, KeyConditionExpression="hashKey = :h",
                             ExpressionAttributeValues={":h": {"N": "40"}})["Items"]
        self.assertEqual([g["stringValue"] for g in got], [{"S": "kms secret ✓"}] * 3)
        # Written for another table name: the data key's encryption context does not match.
        self.raw.put_item(TableName=table, Item=self.kms_item("41", "1", plain, table="OtherTable"))
        err = self.refused(lambda: self.app.get_item(
            TableName=table, Key={"hashKey": {"N": "41"}, "rangeKey": {"N": "1"}}))
        self.assertIn('table "kms-table": the legacy data key could not be decrypted', err["Message"])
        # A changed signed value.
        it = self.kms_item("42", "1", plain)
        it["version"] = {"N": "4"}
        self.raw.put_item(TableName=table, Item=it)
        err = self.refused(lambda: self.app.get_item(
            TableName=table, Key={"hashKey": {"N": "42"}, "rangeKey": {"N": "1"}}))
        self.assertEqual(err["Message"], 'table "kms-table": the legacy signature '
                         '(*amzn-ddb-map-sig*) does not match the item; ' + TAMPERED)

    def test_aws_kms_item_updated_to_v3_whole(self):
        """"memo" was encrypted by the legacy client and is DO_NOTHING in v3: the rewrite of
        an update that does not name it must still replace its legacy ciphertext."""
        table, key = "kms-table", {"hashKey": {"N": "43"}, "rangeKey": {"N": "1"}}
        plain = {"stringValue": {"S": "before"}, "memo": {"S": "memo text"}, "version": {"N": "1"},
                 "note": {"S": "n"}}
        self.raw.put_item(TableName=table, Item=self.kms_item("43", "1", plain))
        self.app.update_item(TableName=table, Key=key, UpdateExpression="SET stringValue = :s",
                             ExpressionAttributeValues={":s": {"S": "after"}})
        stored = self.assert_v3(table, key)
        self.assertEqual(stored["memo"], {"S": "memo text"})
        got = self.app.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        self.assertEqual(got, dict(plain, stringValue={"S": "after"}, **key))


if __name__ == "__main__":
    unittest.main()
