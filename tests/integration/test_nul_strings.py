"""Strings holding U+0000 (JSON "\\u0000") through a configured table, sent straight to one
dynalite and through dynaseal (the table encrypted) to another, as test_fidelity does: the
application must observe the same answers.  The NUL is in the sort key, in an encrypted, a
signed and an unsigned attribute, in a string set and in an attribute name; the comparisons
dynaseal evaluates itself on the encrypted attribute (<, <=, >, >=, BETWEEN, begins_with,
contains, size) must order NUL before every other character as DynamoDB's UTF-8 byte order
does, and count it as one character.  Writes (PutItem, BatchWriteItem, UpdateItem with
ALL_NEW and a condition) read back whole; the backing table holds the sort key with its NUL
and no plaintext of the encrypted values.  Transactions, which dynalite lacks, are compared on
moto."""
import itertools
import json
import unittest

import at_rest
import peers as h
from compare import Compared

T = "nuls"
ACTIONS = {"pk": "SIGN_ONLY", "sk": "SIGN_ONLY", "e": "ENCRYPT_AND_SIGN", "es": "ENCRYPT_AND_SIGN",
           "s": "SIGN_ONLY", "u": "DO_NOTHING", "n": "SIGN_ONLY"}
# Unsigned attributes named "x_...", as "x_\u0000m" (the config itself holds no NUL).
TABLE = {"keyring": "local", "partition_key": "pk", "sort_key": "sk", "attribute_actions": ACTIONS,
         "allowed_unsigned_attribute_prefix": "x_"}
# dynalite's own suite compares "abd", "abc\u00ff", "abc", "abd\u0000" and "ab" (ÿ is 0xC3 0xBF
# in UTF-8: "abc\u00ff" sorts before "abd", "abd" before "abd\u0000").
WORDS = ["abd", "abc\u00ff", "abc", "abd\u0000", "ab", "a\u0000", "\u0000", "a\u0000b", "\u0000\u0000"]
PROBES = WORDS + ["a", "a\u0001", "abd\u0000\u0000", "b"]


def utf8_order(values):
    return sorted(values, key=lambda v: v.encode())


def item(word, i):
    return {"pk": {"S": "p"}, "sk": {"S": word}, "e": {"S": word}, "s": {"S": word},
            "u": {"S": word}, "es": {"SS": [word + "\u0000", word + "x"]}, "n": {"N": str(i)},
            "x_\u0000m": {"S": "name\u0000holder"}}


def canon(v):
    """Sets in UTF-8 order: DynamoDB gives their members in an order of its own."""
    if isinstance(v, dict):
        if len(v) == 1 and next(iter(v)) in ("SS", "NS", "BS"):
            (k, members), = v.items()
            return {k: sorted(members, key=lambda m: m.encode() if isinstance(m, str) else m)}
        return {k: canon(x) for k, x in v.items()}
    if isinstance(v, list):
        return [canon(x) for x in v]
    return v



class NulStringsTest(Compared):
    canon = staticmethod(canon)
    @classmethod
    def setUpClass(cls):
        cls.direct, cls.backing = h.start_dynalite(), h.start_dynalite()
        try:
            key = h.random_key_file(cls.backing.workdir, "nul.key")
            cls.proxy = h.start_dynaseal(cls.backing.url, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                "tables": {T: TABLE}})
            cls.clients = [h.boto3_client(cls.direct.url), h.boto3_client(cls.proxy.url)]
            cls.raw = h.boto3_client(cls.backing.url)
            for c in cls.clients:
                h.create_table(c, T, keys=(("pk", "S", "HASH"), ("sk", "S", "RANGE")), wait=True)
                for i, w in enumerate(WORDS):
                    c.put_item(TableName=T, Item=item(w, i))
        except Exception:
            cls.tearDownClass()
            raise

    def scan(self, expr, values, names=None):
        kw = {"ExpressionAttributeValues": values}
        if names:
            kw["ExpressionAttributeNames"] = names
        return self.same("%s %r" % (expr, values), lambda c: c.scan(
            TableName=T, FilterExpression=expr, ConsistentRead=True, **kw))

    def test_reads_back_whole(self):
        for w in WORDS:
            got = self.same("get %r" % w, lambda c, w=w: c.get_item(
                TableName=T, Key={"pk": {"S": "p"}, "sk": {"S": w}}, ConsistentRead=True))
            self.assertEqual(json.loads(got[1])["Item"], canon(item(w, WORDS.index(w))))
        all_keys = [{"pk": {"S": "p"}, "sk": {"S": w}} for w in WORDS]
        for c in self.clients:
            got = c.batch_get_item(RequestItems={T: {"Keys": all_keys, "ConsistentRead": True}})
            self.assertEqual(canon(sorted(got["Responses"][T], key=lambda it: it["sk"]["S"].encode())),
                             canon([item(w, WORDS.index(w)) for w in utf8_order(WORDS)]))
        got = self.same("scan", lambda c: c.scan(TableName=T, ConsistentRead=True))
        self.assertEqual(len(json.loads(got[1])["Items"]), len(WORDS))
        self.same("projection", lambda c: c.scan(TableName=T, ProjectionExpression="e, es, #n",
                                                 ExpressionAttributeNames={"#n": "x_\u0000m"}))

    def test_queries_in_utf8_order(self):
        for fwd in (True, False):
            got = self.same("query", lambda c, f=fwd: c.query(
                TableName=T, KeyConditionExpression="pk = :p", ScanIndexForward=f,
                ExpressionAttributeValues={":p": {"S": "p"}}, ConsistentRead=True))
            order = [it["sk"]["S"] for it in json.loads(got[1])["Items"]]
            self.assertEqual(order, utf8_order(WORDS)[::1 if fwd else -1])
        for v in PROBES:
            for cond in ("sk < :v", "sk >= :v", "begins_with(sk, :v)"):
                self.same("%s %r" % (cond, v), lambda c, x=cond, v=v: c.query(
                    TableName=T, KeyConditionExpression="pk = :p AND " + x,
                    FilterExpression="e >= :v OR contains(e, :nul)",
                    ExpressionAttributeValues={":p": {"S": "p"}, ":v": {"S": v},
                                               ":nul": {"S": "\u0000"}}))

    def test_comparisons_on_every_kind_of_attribute(self):
        compared = 0
        for attr, op, v in itertools.product(("e", "s", "u"), ("<", "<=", ">", ">=", "=", "<>"), PROBES):
            got = self.scan("%s %s :v" % (attr, op), {":v": {"S": v}})
            self.assertEqual(got[0], "ok")
            compared += 1
        # The encrypted attribute filtered by dynaseal itself finds what DynamoDB finds.
        got = self.scan("e < :v", {":v": {"S": "abd\u0000"}})
        self.assertEqual(sorted(it["e"]["S"] for it in json.loads(got[1])["Items"]),
                         sorted(w for w in WORDS if w.encode() < "abd\u0000".encode()))
        ordered = utf8_order(set(PROBES))
        for lo, hi in itertools.combinations(ordered, 2):
            if ordered.index(lo) % 3 == 0 or hi in ("abd\u0000", "a\u0000"):
                for attr in ("e", "u"):
                    self.scan("%s BETWEEN :lo AND :hi" % attr, {":lo": {"S": lo}, ":hi": {"S": hi}})
                    compared += 1
        for attr, v in itertools.product(("e", "s", "u"), PROBES + ["\u0000", "b", "\u0000b"]):
            self.scan("begins_with(%s, :v)" % attr, {":v": {"S": v}})
            self.scan("contains(%s, :v)" % attr, {":v": {"S": v}})
            compared += 2
        for v in PROBES:
            self.scan("contains(es, :v)", {":v": {"S": v + "\u0000"}})
            compared += 1
        for attr, n in itertools.product(("e", "u"), range(6)):
            self.scan("size(%s) = :n" % attr, {":n": {"N": str(n)}})
            self.scan("size(%s) > :n" % attr, {":n": {"N": str(n)}})
            compared += 2
        self.scan("size(es) = :two AND #n = :h", {":two": {"N": "2"}, ":h": {"S": "name\u0000holder"}},
                  {"#n": "x_\u0000m"})
        print("\n  %d filters compared" % compared)

    def test_expressions_holding_nul(self):
        # A name holding NUL given by placeholder is a name like any other.
        for name in ("e\u0000", "x_\u0000m", "\u0000"):
            self.scan("#n = :v OR attribute_exists(#n)", {":v": {"S": "name\u0000holder"}}, {"#n": name})
        # In the expression's own text it is a syntax error (compared by code: dynalite words
        # syntax errors as its own parser does).
        for expr in ("e = :v\u0000", "e\u0000 = :v", "size(e)\u0000 > :v"):
            got = [self.outcome(lambda c=c: c.scan(TableName=T, FilterExpression=expr,
                                              ExpressionAttributeValues={":v": {"S": "x"}}))
                   for c in self.clients]
            self.assertEqual(got[1][0], got[0][0], expr)
            self.assertEqual(got[0][0], "ValidationException")

    def test_legacy_scan_filter(self):
        for attr, op, v in itertools.product(("e", "u", "s"), ("LE", "LT", "GE", "GT", "EQ", "NE",
                                                              "BEGINS_WITH", "CONTAINS"), WORDS):
            self.same("%s %s %r" % (attr, op, v), lambda c, a=attr, o=op, v=v: c.scan(
                TableName=T, ScanFilter={a: {"ComparisonOperator": o, "AttributeValueList": [{"S": v}]}}))
        for attr, (lo, hi) in itertools.product(("e", "u"), itertools.combinations(utf8_order(WORDS), 2)):
            self.same("%s BETWEEN %r %r" % (attr, lo, hi), lambda c, a=attr, lo=lo, hi=hi: c.scan(
                TableName=T, ScanFilter={a: {"ComparisonOperator": "BETWEEN",
                                             "AttributeValueList": [{"S": lo}, {"S": hi}]}}))

    def test_updates_and_conditions(self):
        key = {"pk": {"S": "p"}, "sk": {"S": "up\u0000date"}}
        for c in self.clients:
            c.put_item(TableName=T, Item={**key, "e": {"S": "old\u0000"}, "u": {"S": "x"}})
        values = {":e": {"S": "new\u0000e"}, ":s": {"S": "\u0000s"}, ":u": {"S": "u\u0000"},
                  ":set": {"SS": ["\u0000", "a\u0000"]}}
        got = self.same("SET ALL_NEW", lambda c: c.update_item(
            TableName=T, Key=key, UpdateExpression="SET e = :e, s = :s, u = :u, es = :set",
            ExpressionAttributeValues=values, ReturnValues="ALL_NEW"))
        self.assertEqual(json.loads(got[1])["Attributes"]["e"], {"S": "new\u0000e"})
        self.same("UPDATED_OLD", lambda c: c.update_item(
            TableName=T, Key=key, UpdateExpression="SET e = :e ADD es :one",
            ConditionExpression="e = :cur AND begins_with(e, :pre)",
            ExpressionAttributeValues={":e": {"S": "newer\u0000"}, ":one": {"SS": ["\u0000\u0000"]},
                                       ":cur": {"S": "new\u0000e"}, ":pre": {"S": "new\u0000"}},
            ReturnValues="UPDATED_OLD"))
        # A condition on the encrypted attribute that is false: DynamoDB's refusal, word for word.
        got = self.same("condition false", lambda c: c.update_item(
            TableName=T, Key=key, UpdateExpression="SET u = :u", ConditionExpression="e < :v",
            ExpressionAttributeValues={":u": {"S": "z"}, ":v": {"S": "newer\u0000"}}))
        self.assertEqual(got[0], "ConditionalCheckFailedException")
        self.same("condition true", lambda c: c.update_item(
            TableName=T, Key=key, UpdateExpression="SET u = :u", ConditionExpression="e <= :v",
            ExpressionAttributeValues={":u": {"S": "z\u0000"}, ":v": {"S": "newer\u0000"}},
            ReturnValues="ALL_NEW"))
        self.same("read back", lambda c: c.get_item(TableName=T, Key=key, ConsistentRead=True))
        for c in self.clients:
            c.batch_write_item(RequestItems={T: [
                {"PutRequest": {"Item": item("batch\u0000%d" % i, i)}} for i in range(3)]})
        self.same("batch read back", lambda c: c.query(
            TableName=T, KeyConditionExpression="pk = :p AND begins_with(sk, :b)",
            ExpressionAttributeValues={":p": {"S": "p"}, ":b": {"S": "batch\u0000"}}))
        for c in self.clients:
            c.delete_item(TableName=T, Key=key)
            for i in range(3):
                c.delete_item(TableName=T, Key={"pk": {"S": "p"}, "sk": {"S": "batch\u0000%d" % i}})

    @h.proxy_only
    def test_backing_table_holds_no_plaintext(self):
        secret = {"pk": {"S": "p"}, "sk": {"S": "hid\u0000den"}, "e": {"S": "hidden\u0000value-1"},
                  "es": {"SS": ["secret\u0000member-1", "\u0000secret-member-2"]}, "s": {"S": "signed\u0000"}}
        self.clients[1].put_item(TableName=T, Item=secret)
        raw = self.raw.scan(TableName=T, ConsistentRead=True)["Items"]
        at_rest.assert_no_plaintext(self, raw, {"e": secret["e"], "es": secret["es"]})
        stored = self.raw.get_item(TableName=T, Key={"pk": {"S": "p"}, "sk": {"S": "hid\u0000den"}},
                                   ConsistentRead=True)["Item"]
        # Keys and signed values are stored as sent, NUL and all; the encrypted ones as binary.
        self.assertEqual(stored["s"], {"S": "signed\u0000"})
        self.assertEqual(list(stored["e"]), ["B"])
        self.assertIn("aws_dbe_foot", stored)
        self.assertEqual(canon(self.clients[1].get_item(
            TableName=T, Key={"pk": {"S": "p"}, "sk": {"S": "hid\u0000den"}}, ConsistentRead=True)["Item"]),
            canon(secret))
        self.clients[1].delete_item(TableName=T, Key={"pk": {"S": "p"}, "sk": {"S": "hid\u0000den"}})


class NulTransactionsTest(Compared):
    """Transactions (moto: dynalite has none), moto directly and dynaseal in front of another,
    with an AWS KMS keyring (moto's) and the keys in the encryption context: the sort key's NUL
    goes to KMS in the EncryptionContext of GenerateDataKey and Decrypt."""
    canon = staticmethod(canon)

    @classmethod
    def setUpClass(cls):
        cls.direct, cls.backing = h.start_moto(), h.start_moto()
        try:
            kms = h.boto3_client(cls.backing.url, "kms", "AKIDBOOT", "boot")
            env = h.proxy_env()
            env["AWS_ENDPOINT_URL_KMS"] = cls.backing.url
            actions = dict(ACTIONS, pk="SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT",
                           sk="SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT")
            cls.kms = kms
            cls.raw = h.boto3_client(cls.backing.url)
            cls.proxy = h.start_dynaseal(cls.backing.url, env=env, config={
                "keyrings": {"kms": {"type": "aws-kms", "key_id": kms.create_key()["KeyMetadata"]["Arn"]}},
                "tables": {T: dict(TABLE, keyring="kms", attribute_actions=actions)}})
            cls.clients = [h.boto3_client(cls.direct.url), h.boto3_client(cls.proxy.url)]
            for c in cls.clients:
                h.create_table(c, T, keys=(("pk", "S", "HASH"), ("sk", "S", "RANGE")))
        except Exception:
            cls.tearDownClass()
            raise

    def test_transact_write_and_get(self):
        keys = [{"pk": {"S": "t"}, "sk": {"S": w}} for w in ("a\u0000", "\u0000")]
        got = self.same("write", lambda c: c.transact_write_items(TransactItems=[
            {"Put": {"TableName": T, "Item": {**item("a\u0000", 1), "pk": {"S": "t"}},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": T, "Item": {**item("\u0000", 2), "pk": {"S": "t"}}}}]))
        self.assertEqual(got[0], "ok")
        self.same("update", lambda c: c.transact_write_items(TransactItems=[
            {"Update": {"TableName": T, "Key": keys[1], "UpdateExpression": "SET e = :e",
                        "ConditionExpression": "e = :nul",
                        "ExpressionAttributeValues": {":e": {"S": "tx\u0000e"}, ":nul": {"S": "\u0000"}}}}]))
        got = self.same("get", lambda c: c.transact_get_items(TransactItems=[
            {"Get": {"TableName": T, "Key": k}} for k in keys]))
        self.assertIn("tx\\u0000e", got[1])

    @h.proxy_only
    def test_kms_context_holds_the_nul(self):
        """The data key of an item whose sort key holds NUL opens with moto's KMS under the
        encryption context the DB-ESDK rebuilds from the item, NUL and all (encrypt-item.md,
        version 2: a string key's value is the string itself)."""
        key = {"pk": {"S": "k"}, "sk": {"S": "z\u0000"}}
        self.clients[1].put_item(TableName=T, Item={**key, "e": {"S": "kms\u0000secret"}})
        head = self.raw.get_item(TableName=T, Key=key, ConsistentRead=True)["Item"]["aws_dbe_head"]["B"]
        o = 2 + 32                                       # version, flavor, message id
        n = int.from_bytes(head[o:o + 2], "big")         # the encrypt legend
        o += 2 + n
        stored = {}
        for _ in range(int.from_bytes(head[o:o + 2], "big")):
            o += 2
            fields = []
            for _ in range(2):
                n = int.from_bytes(head[o:o + 2], "big")
                fields.append(head[o + 2:o + 2 + n].decode())
                o += 2 + n
            o -= 2
            stored[fields[0]] = fields[1]
        o += 2
        self.assertEqual(head[o], 1)                     # one encrypted data key
        o += 1
        edk = []
        for _ in range(3):                               # provider id, provider info, ciphertext
            n = int.from_bytes(head[o:o + 2], "big")
            edk.append(head[o + 2:o + 2 + n])
            o += 2 + n
        self.assertEqual(edk[0], b"aws-kms")
        blob = edk[2][32 + 16:]                          # after the sealed data key: KMS's
        ec = dict(stored, **{"aws-crypto-table-name": T, "aws-crypto-partition-name": "pk",
                             "aws-crypto-sort-name": "sk", "aws-crypto-attr.pk": "k",
                             "aws-crypto-attr.sk": "z\u0000", "aws-crypto-legend": "SS"})
        self.assertEqual(len(self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=ec)["Plaintext"]), 32)
        cut = dict(ec, **{"aws-crypto-attr.sk": "z"})
        with self.assertRaises(Exception):
            self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=cut)
