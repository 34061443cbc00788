"""Hostile writers: items written through dynaseal are then changed in the backend directly, in
every way someone with write access to the table (but not the key) could: bit flips in
ciphertexts, headers and footers; ciphertexts swapped between items and between attributes;
an item moved to another key or copied from another table; aws_dbe_head or aws_dbe_foot
removed or transplanted; an encrypted value removed, truncated or replaced by plaintext; a
SIGN_ONLY value changed, retyped or removed; an attribute added.

It runs once for each algorithm suite: the default (0x6700, recipient tags only) and the
ECDSA P-384 one (0x6701), whose footer also carries a signature.  On the ECDSA suite the
signature itself is also tampered with while the recipient tags stay valid (bytes flipped,
replaced by another item's signature, cut off), so only the ECDSA verification can refuse it.
Before any tampering, the backend is checked to hold no plaintext of any ENCRYPT_AND_SIGN
value (at_rest).

Every tampered item is refused on every read path (GetItem; Query and Scan pages;
BatchGetItem; TransactGetItems) with status 400, `__type`
`com.amazon.coral.validate#ValidationException`, a request id, and a message that names the
table and what failed and holds no plaintext.  The refused keys are exactly the tampered keys;
every other item reads back unchanged, including those whose DO_NOTHING attribute was changed
(DO_NOTHING is outside the signature: that is the contract).

HOSTILE_SEED (default random, printed) replays a run.
"""
import base64
import http.client
import json
import os
import random
import unittest

import at_rest
import peers as h
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SEED = int(os.environ.get("HOSTILE_SEED") or random.SystemRandom().randrange(1 << 32))
ECDSA_SUITE = "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384"
# Per suite: the table tampered with, the table items are copied from, the suite (None: the
# default, not configured) and the footer's length (one 48-byte tag, then the signature).
SUITES = {"default": ("hostile", "hostile_b", None, 48),
          "ecdsa": ("hostile_ec", "hostile_ec_b", ECDSA_SUITE, 48 + 103)}
VALIDATION = "com.amazon.coral.validate#ValidationException"
ACTIONS = {"secret": "ENCRYPT_AND_SIGN", "email": "ENCRYPT_AND_SIGN", "doc": "ENCRYPT_AND_SIGN",
           "name": "SIGN_ONLY", "visits": "DO_NOTHING"}
PARTS, PER_PART = 16, 10
FOOT = 'attribute "aws_dbe_foot" failed verification'
KEY = "the item's data key does not decrypt"   # its wrapping binds the table and the item's key
NOKEY = "not encrypted with this keyring's key"
MORE, FEWER = "more signed attributes", "fewer signed attributes"
# Each kind of tampering, the number of items it is applied to, and what the refusal names.
KINDS = {
    "flip_ciphertext": (6, (FOOT,)),
    "flip_head": (4, ("aws_dbe_head", KEY, NOKEY)),
    "flip_foot": (4, (FOOT,)),
    "swap_between_items": (4, (FOOT,)),
    "swap_between_attributes": (3, (FOOT,)),
    "moved_to_other_key": (3, (KEY,)),
    "copied_from_other_table": (3, (KEY,)),
    "transplanted_head_and_foot": (3, (KEY, MORE, FEWER)),
    "removed_head": (3, ("no aws_dbe_head",)),
    "removed_foot": (3, ("no aws_dbe_foot",)),
    "removed_encrypted_attribute": (3, (FEWER,)),
    "truncated_ciphertext": (3, ('attribute "secret" failed verification',)),
    "plaintext_for_ciphertext": (3, ('attribute "email" failed verification: it should be encrypted',)),
    "sign_only_changed": (3, (FOOT,)),
    "sign_only_retyped": (2, (FOOT,)),
    "sign_only_removed": (2, (FEWER,)),
    "added_attribute": (3, (MORE,)),
    "added_encrypted_attribute": (2, (MORE,)),
}
# The ECDSA suite only: the signature tampered with, the recipient tag left valid.
SIG = FOOT + " (the ECDSA signature does not verify)"
ECDSA_KINDS = {
    "signature_flipped": (6, (SIG,)),
    "signature_from_other_item": (3, (SIG,)),
    "signature_cut": (2, (FOOT + " (wrong length)",)),
}
CONTROLS = {"do_nothing_changed": 3, "do_nothing_removed": 2, "do_nothing_added_as_string": 2}


def canon(v):
    """A JSON attribute value with sets sorted, for comparison."""
    if isinstance(v, dict):
        return {k: sorted(x) if k in ("SS", "NS", "BS") else canon(x) for k, x in v.items()}
    if isinstance(v, list):
        return [canon(x) for x in v]
    return v


def b64(b):
    return base64.b64encode(b).decode()


class App:
    """The application's side: raw HTTP/1.1 keep-alive JSON calls signed with botocore's SigV4,
    so the exact status, headers and `__type` of dynaseal's answers are visible."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.creds = Credentials(h.CLIENT_KEY, h.CLIENT_SECRET)

    def call(self, target, body):
        data = json.dumps(body).encode()
        req = AWSRequest(method="POST", url="http://127.0.0.1:%d/" % self.port, data=data, headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810." + target})
        SigV4Auth(self.creds, "dynamodb", h.REGION).add_auth(req)
        self.conn.request("POST", "/", body=data, headers=dict(req.headers.items()))
        resp = self.conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, json.loads(resp.read() or b"{}")

    def ok(self, target, body):
        status, _, out = self.call(target, body)
        if status != 200:
            raise AssertionError("%s answered %d: %s" % (target, status, out))
        return out

    def close(self):
        self.conn.close()


def key_of(pk, sk):
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def make_item(n, pk, sk, rng):
    it = dict(key_of(pk, sk))
    it["secret"] = {"S": "HSECRET-%04d ✓ søren" % n}
    it["email"] = {"S": "hostile-user-%04d@example.com" % n}
    if rng.random() < 0.8:
        it["doc"] = {"M": {"note": {"S": "HDOC-%04d 机密" % n}, "raw": {"B": b64(b"HBIN-%04d" % n)},
                           "ns": {"NS": ["73912.5", "-739101", "7391%04d" % n]},
                           "l": {"L": [{"BOOL": True}, {"NULL": True}]}}}
    it["name"] = {"S": "name %d" % n}
    if rng.random() < 0.8:
        it["visits"] = {"N": str(rng.randrange(100))}
    return it


def secrets_of(item):
    out = [item["secret"]["S"], item["email"]["S"]]
    if "doc" in item:
        out += [item["doc"]["M"]["note"]["S"], "HBIN-"]
    return out


def binary_decoded(v):
    """A JSON attribute value (binaries as base64 text) with its binaries as bytes."""
    (t, x), = v.items()
    if t == "B":
        return {"B": base64.b64decode(x)}
    if t == "BS":
        return {"BS": [base64.b64decode(b) for b in x]}
    if t == "M":
        return {"M": {k: binary_decoded(e) for k, e in x.items()}}
    if t == "L":
        return {"L": [binary_decoded(e) for e in x]}
    return v


def encrypted_values(item, label):
    """An item's ENCRYPT_AND_SIGN values, named, as at_rest takes its secrets."""
    return {"%s %s" % (label, a): binary_decoded(item[a]) for a, act in ACTIONS.items()
            if act == "ENCRYPT_AND_SIGN" and a in item}


class HostileWritersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            key = os.path.join(cls.moto.workdir, "hostile.key")
            with open(key, "wb") as f:
                f.write(os.urandom(32))
            tables = {}
            for table, other, suite, _ in SUITES.values():
                cfg = {"keyring": "local", "partition_key": "pk", "sort_key": "sk", "attribute_actions": ACTIONS}
                if suite:
                    cfg["algorithm_suite"] = suite
                tables[table] = tables[other] = cfg
            cls.proxy = h.start_dynaseal(cls.moto.url, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}}, "tables": tables})
            cls.raw = h.boto3_client(cls.moto.url)
            for t in tables:
                cls.raw.create_table(TableName=t, BillingMode="PAY_PER_REQUEST",
                                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                           {"AttributeName": "sk", "AttributeType": "N"}],
                                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                                {"AttributeName": "sk", "KeyType": "RANGE"}])
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def setUp(self):
        self.app = App(self.proxy.port)
        self.addCleanup(self.app.close)

    def stored(self, table, k):
        return self.raw.get_item(TableName=table, Key=k, ConsistentRead=True)["Item"]

    def store(self, table, item):
        self.raw.put_item(TableName=table, Item=item)

    def write_through_dynaseal(self, rng):
        """PARTS x PER_PART items in the table, and the same keys in the other table, written
        by dynaseal; returns both."""
        items, others = {}, {}
        for p in range(PARTS):
            for sk in range(PER_PART):
                n = p * PER_PART + sk
                items[("h%02d" % p, sk)] = make_item(n, "h%02d" % p, sk, rng)
        keys = list(items)
        for i in range(0, len(keys), 25):
            for j, k in enumerate(keys[i:i + 25]):
                others[k] = make_item(5000 + i + j, k[0], k[1], rng)
            for table, source in ((self.table, items), (self.other, others)):
                batch = [{"PutRequest": {"Item": source[k]}} for k in keys[i:i + 25]]
                out = self.app.ok("BatchWriteItem", {"RequestItems": {table: batch}})
                self.assertFalse(out.get("UnprocessedItems"))
        return items, others

    def check_at_rest(self, items, others):
        """The backend as dynaseal wrote it: the suite's footer on every item, and no plaintext
        of any ENCRYPT_AND_SIGN value of any item, in either table."""
        stored, secrets = [], {}
        for table, source in ((self.table, items), (self.other, others)):
            page = self.raw.scan(TableName=table, ConsistentRead=True)
            self.assertNotIn("LastEvaluatedKey", page)
            self.assertEqual(len(page["Items"]), len(source), table)
            for it in page["Items"]:
                self.assertEqual(len(it["aws_dbe_foot"]["B"]), self.foot_len, "footer length in %s" % table)
            stored += page["Items"]
            for k, it in source.items():
                secrets.update(encrypted_values(it, "%s %s/%d" % (table, k[0], k[1])))
        at_rest.assert_no_plaintext(self, stored, secrets, "%s and %s" % (self.table, self.other))

    def tamper(self, rng, items):
        """Applies every kind of tampering to its own items; returns (kind per tampered key,
        expected items after the allowed DO_NOTHING changes)."""
        keys = list(items)
        rng.shuffle(keys)
        plan = [k for k, (n, _) in self.kinds.items() for _ in range(n)] + \
               [k for k, n in CONTROLS.items() for _ in range(n)]
        self.assertLess(len(plan), len(keys) // 2, "keep at least as many untouched items as tampered ones")
        victims, donors = keys[:len(plan)], keys[len(plan):]
        tampered, expected = {}, dict(items)
        for kind, k in zip(plan, victims):
            dk = key_of(*k)
            it = self.stored(self.table, dk)
            donor = self.stored(self.table, key_of(*rng.choice(donors)))
            if kind.startswith("flip_"):
                attr = {"flip_head": "aws_dbe_head", "flip_foot": "aws_dbe_foot"}.get(
                    kind, rng.choice([a for a in ("secret", "email", "doc") if a in it]))
                b = bytearray(it[attr]["B"])
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
                it[attr] = {"B": bytes(b)}
            elif kind == "swap_between_items":
                attr = rng.choice(["secret", "email"])
                it[attr] = donor[attr]
            elif kind == "swap_between_attributes":
                it["secret"], it["email"] = it["email"], it["secret"]
            elif kind == "moved_to_other_key":
                it = dict(donor, pk=dk["pk"], sk=dk["sk"])
            elif kind == "copied_from_other_table":
                it = self.stored(self.other, dk)
            elif kind == "transplanted_head_and_foot":
                it["aws_dbe_head"], it["aws_dbe_foot"] = donor["aws_dbe_head"], donor["aws_dbe_foot"]
            elif kind == "removed_head":
                del it["aws_dbe_head"]
            elif kind == "removed_foot":
                del it["aws_dbe_foot"]
            elif kind == "removed_encrypted_attribute":
                del it[rng.choice(["secret", "email"])]
            elif kind == "truncated_ciphertext":
                it["secret"] = {"B": it["secret"]["B"][:rng.randrange(1, 18)]}
            elif kind == "plaintext_for_ciphertext":
                it["email"] = {"S": "attacker@example.com"}
            elif kind == "sign_only_changed":
                it["name"] = {"S": it["name"]["S"] + "!"}
            elif kind == "sign_only_retyped":
                it["name"] = {"B": it["name"]["S"].encode()}
            elif kind == "sign_only_removed":
                del it["name"]
            elif kind == "added_attribute":
                it["intruder"] = {"S": "added by someone else"}
            elif kind == "added_encrypted_attribute":
                it["doc"] = donor.get("doc") or {"B": os.urandom(40)}
                if "doc" in items[k]:   # the item had one: swap in a foreign one and add an attribute
                    it["intruder2"] = {"N": "1"}
            elif kind == "signature_flipped":   # a bit of the signature, after the 48-byte tag
                b = bytearray(it["aws_dbe_foot"]["B"])
                b[rng.randrange(48, len(b))] ^= 1 << rng.randrange(8)
                it["aws_dbe_foot"] = {"B": bytes(b)}
            elif kind == "signature_from_other_item":   # a valid signature, of another item
                it["aws_dbe_foot"] = {"B": it["aws_dbe_foot"]["B"][:48] + donor["aws_dbe_foot"]["B"][48:]}
            elif kind == "signature_cut":
                it["aws_dbe_foot"] = {"B": it["aws_dbe_foot"]["B"][:48]}
            elif kind == "do_nothing_changed":
                it["visits"] = {"N": "424242"}
            elif kind == "do_nothing_removed":
                it.pop("visits", None)
            elif kind == "do_nothing_added_as_string":
                it["visits"] = {"S": "now a string"}
            self.store(self.table, it)
            if kind in CONTROLS:
                exp = dict(items[k])
                exp.pop("visits", None)
                if "visits" in it:
                    exp["visits"] = it["visits"]
                expected[k] = exp
            else:
                tampered[k] = kind
        return tampered, expected

    def assert_refusal(self, status, headers, body, what, kind, all_secrets):
        self.assertEqual(status, 400, "%s of %s: %s" % (what, kind, body))
        self.assertEqual(body.get("__type"), VALIDATION, "%s of %s" % (what, kind))
        self.assertTrue(headers.get("x-amzn-requestid"), "%s of %s: no request id" % (what, kind))
        msg = body.get("message") or body.get("Message") or ""
        self.assertIn('table "%s"' % self.table, msg, "%s of %s" % (what, kind))
        self.assertTrue(any(n in msg for n in self.kinds[kind][1]), "%s of %s: %r" % (what, kind, msg))
        leaked = [s for s in all_secrets if s in msg]
        self.assertEqual(leaked, [], "plaintext in the refusal of %s" % kind)

    def test_every_tampered_item_is_refused_on_every_read_path(self):
        self.run_suite("default")

    def test_every_tampered_item_is_refused_on_every_read_path_ecdsa_suite(self):
        self.run_suite("ecdsa")

    def run_suite(self, suite):
        print("\ntest_hostile: HOSTILE_SEED=%d suite=%s" % (SEED, suite))
        self.table, self.other, algorithm, self.foot_len = SUITES[suite]
        self.kinds = dict(KINDS, **(ECDSA_KINDS if algorithm == ECDSA_SUITE else {}))
        table = self.table
        rng = random.Random("%d %s" % (SEED, suite))
        items, others = self.write_through_dynaseal(rng)
        self.check_at_rest(items, others)
        tampered, expected = self.tamper(rng, items)
        all_secrets = sorted({s for it in items.values() for s in secrets_of(it)})
        app, refused = self.app, {}

        def read(path, k, target, body, pick):
            status, headers, out = app.call(target, body)
            if k in tampered:
                self.assert_refusal(status, headers, out, path, tampered[k], all_secrets)
                refused.setdefault(path, set()).add(k)
                return
            self.assertEqual(status, 200, "%s of untampered %s: %s" % (path, k, out))
            self.assertEqual(canon(pick(out)), canon(expected[k]), "%s of %s" % (path, k))

        for k in sorted(items):
            kv = key_of(*k)
            read("GetItem", k, "GetItem", {"TableName": table, "Key": kv}, lambda o: o.get("Item"))
            read("Scan", k, "Scan", {"TableName": table, "FilterExpression": "pk = :p AND sk = :s",
                                     "ExpressionAttributeValues": {":p": kv["pk"], ":s": kv["sk"]}},
                 lambda o: (o["Items"] or [None])[0])
            read("TransactGetItems", k, "TransactGetItems",
                 {"TransactItems": [{"Get": {"TableName": table, "Key": kv}}]},
                 lambda o: o["Responses"][0].get("Item"))
            # BatchGetItem: the item among four untampered ones; one bad item refuses the batch.
            good = [g for g in sorted(expected) if g not in tampered and g != k][:4]
            status, headers, out = app.call("BatchGetItem", {"RequestItems": {table: {
                "Keys": [kv] + [key_of(*g) for g in good]}}})
            if k in tampered:
                self.assert_refusal(status, headers, out, "BatchGetItem", tampered[k], all_secrets)
                refused.setdefault("BatchGetItem", set()).add(k)
            else:
                self.assertEqual(status, 200, out)
                got = {(i["pk"]["S"], int(i["sk"]["N"])): canon(i) for i in out["Responses"][table]}
                self.assertEqual(got, {g: canon(expected[g]) for g in [k] + good})
        # Query pages of one item each: a refused page names no key, the next page goes on.
        for p in range(PARTS):
            pk, start = "h%02d" % p, None
            for sk in range(PER_PART):
                body = {"TableName": table, "KeyConditionExpression": "pk = :p", "Limit": 1,
                        "ExpressionAttributeValues": {":p": {"S": pk}}}
                if start:
                    body["ExclusiveStartKey"] = start
                read("Query", (pk, sk), "Query", body, lambda o: o["Items"][0])
                start = key_of(pk, sk)
        # A page of many items holding a tampered one is refused whole; an intact page is not.
        for path, body in (("Query page", {"TableName": table, "KeyConditionExpression": "pk = :p",
                                           "ExpressionAttributeValues": {":p": {"S": sorted(tampered)[0][0]}}}),
                           ("Scan page", {"TableName": table})):
            status, headers, out = app.call(path.split()[0], body)
            self.assertEqual((status, out.get("__type")), (400, VALIDATION), path)
        intact = [p for p in range(PARTS) if not any(k[0] == "h%02d" % p for k in tampered)]
        if intact:
            out = app.ok("Query", {"TableName": table, "KeyConditionExpression": "pk = :p",
                                   "ExpressionAttributeValues": {":p": {"S": "h%02d" % intact[0]}}})
            self.assertEqual(len(out["Items"]), PER_PART)

        n_tampered = sum(n for n, _ in self.kinds.values())
        self.assertEqual(len(tampered), n_tampered)
        for path in ("GetItem", "Scan", "TransactGetItems", "BatchGetItem", "Query"):
            self.assertEqual(refused.get(path, set()), set(tampered), path)
        self.assertIsNone(self.proxy.proc.poll(), "dynaseal exited")
        print("test_hostile: suite=%s items=%d tampered=%d (%d kinds) do_nothing_controls=%d refused %s"
              % (suite, len(items), len(tampered), len(self.kinds), sum(CONTROLS.values()),
                 " ".join("%s=%d" % (p, len(s)) for p, s in sorted(refused.items()))))


if __name__ == "__main__":
    unittest.main()
