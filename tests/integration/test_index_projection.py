"""Query and Scan of secondary indexes that do not project the whole item (KEYS_ONLY, INCLUDE)
on an encrypted table.  Such an index entry has no aws_dbe_head or aws_dbe_foot, so dynaseal
reads each entry's item from the table (BatchGetItem), verifies and decrypts it, and answers it
cut to the attributes the entry had.  The same calls go through botocore straight to one
dynalite and through dynaseal (the table encrypted) to another: the application must observe
the same answer, success or error code and message.  dynalite is the reference (its own suite
is run against DynamoDB in its REMOTE mode).

dynaseal's upstream here is a small relay in front of the backing dynalite that records the
calls and can act between dynaseal's index read and its read of the items: an item deleted
there is left out, an item changed there fails verification."""
import http.client
import http.server
import json
import socketserver
import threading
import unittest

import peers as h
from compare import Compared, outcome

T = "idxproj"
ACTIONS = {"pk": "SIGN_ONLY", "sk": "SIGN_ONLY", "g": "SIGN_ONLY", "r": "SIGN_ONLY",
           "l": "SIGN_ONLY", "e": "ENCRYPT_AND_SIGN", "s": "SIGN_ONLY", "v": "DO_NOTHING",
           "w": "DO_NOTHING"}
# The shape of dynalite's own test table __dynalite_test_3 (its suite, test/helpers.js).
T3 = "range3"
ACTIONS3 = {"a": "SIGN_ONLY", "b": "SIGN_ONLY", "c": "SIGN_ONLY", "d": "SIGN_ONLY",
            "e": "ENCRYPT_AND_SIGN", "f": "SIGN_ONLY"}


def create_range_table(c):
    """hash a, range b; local indexes on (a, c) projecting all and (a, d) including c; global
    indexes on c projecting all and on (c, d) including e."""
    key = lambda h, r=None: [{"AttributeName": h, "KeyType": "HASH"}] + (
        [{"AttributeName": r, "KeyType": "RANGE"}] if r else [])
    c.create_table(
        TableName=T3, BillingMode="PAY_PER_REQUEST", KeySchema=key("a", "b"),
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in "abcd"],
        LocalSecondaryIndexes=[
            {"IndexName": "index1", "KeySchema": key("a", "c"), "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "index2", "KeySchema": key("a", "d"),
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["c"]}}],
        GlobalSecondaryIndexes=[
            {"IndexName": "index3", "KeySchema": key("c"), "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "index4", "KeySchema": key("c", "d"),
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["e"]}}])
    c.get_waiter("table_exists").wait(TableName=T3, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})



def make_items(pk, n, g_prefix="g"):
    """n items of partition pk: some without the LSI's key (l) or the GSIs' (g), one without e."""
    items = []
    for i in range(n):
        it = {"pk": {"S": pk}, "sk": {"S": "%02d" % i}, "r": {"S": "%02d" % ((i * 7) % n)},
              "e": {"S": "secret-e-%s-%d" % (pk, i)}, "s": {"S": "sign-%d" % i},
              "v": {"S": "v%d" % i}, "w": {"N": str(i)}}
        if i % 5 != 4:
            it["g"] = {"S": "%s%d" % (g_prefix, i % 3)}
        if i % 4 != 3:
            it["l"] = {"S": chr(ord("a") + (i * 5) % n)}
        if i == 6:
            del it["e"]
        items.append(it)
    return items


class Relay(http.server.BaseHTTPRequestHandler):
    """Forwards each call to the backing dynalite; records it; runs `hook` before a
    BatchGetItem (between dynaseal's index read and its read of the items)."""
    port = None
    seen = []
    hook = None

    def do_POST(self):
        data = self.rfile.read(int(self.headers["Content-Length"]))
        target = (self.headers.get("X-Amz-Target") or "").split(".")[-1]
        Relay.seen.append((target, json.loads(data or b"{}")))
        if target == "BatchGetItem" and Relay.hook is not None:
            Relay.hook(json.loads(data))
        conn = http.client.HTTPConnection("127.0.0.1", Relay.port, timeout=30)
        conn.request("POST", self.path, body=data, headers={
            k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")})
        r = conn.getresponse()
        body = r.read()
        conn.close()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class IndexProjectionTest(Compared):
    @classmethod
    def setUpClass(cls):
        cls.direct, cls.backing = h.start_dynalite(), h.start_dynalite()
        cls.relay = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Relay)
        cls.relay.daemon_threads = True
        Relay.port = cls.backing.port
        threading.Thread(target=cls.relay.serve_forever, daemon=True).start()
        try:
            cls.key = key = h.random_key_file(cls.backing.workdir, "idx.key")
            cls.proxy = h.start_dynaseal("http://127.0.0.1:%d" % cls.relay.server_address[1], config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                "tables": {T: {"keyring": "local", "partition_key": "pk", "sort_key": "sk",
                               "attribute_actions": ACTIONS},
                           T3: {"keyring": "local", "partition_key": "a", "sort_key": "b",
                                "attribute_actions": ACTIONS3}}})
            cls.raw = h.boto3_client(cls.backing.url)
            cls.clients = [h.boto3_client(cls.direct.url), h.boto3_client(cls.proxy.url)]
            for c in cls.clients:
                c.create_table(
                    TableName=T, BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                          for n in ("pk", "sk", "l", "g", "r")],
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                               {"AttributeName": "sk", "KeyType": "RANGE"}],
                    LocalSecondaryIndexes=[{
                        "IndexName": "lsi_keys", "Projection": {"ProjectionType": "KEYS_ONLY"},
                        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                      {"AttributeName": "l", "KeyType": "RANGE"}]}],
                    GlobalSecondaryIndexes=[{
                        "IndexName": "gsi_keys", "Projection": {"ProjectionType": "KEYS_ONLY"},
                        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}, {
                        "IndexName": "gsi_incl",
                        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["e", "s", "v"]},
                        "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                      {"AttributeName": "r", "KeyType": "RANGE"}]}])
                c.get_waiter("table_exists").wait(TableName=T, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
                create_range_table(c)
                for pk in ("p0", "p1"):
                    c.batch_write_item(RequestItems={T: [{"PutRequest": {"Item": it}}
                                                         for it in make_items(pk, 12)]})
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        Relay.hook = None
        super().tearDownClass()
        cls.relay.shutdown()
        cls.relay.server_close()

    def write_both(self, items):
        for c in self.clients:
            for i in range(0, len(items), 25):
                c.batch_write_item(RequestItems={T: [{"PutRequest": {"Item": it}} for it in items[i:i + 25]]})

    def delete_both(self, items, clients=None):
        for c in clients or self.clients:
            for i in range(0, len(items), 25):
                c.batch_write_item(RequestItems={T: [{"DeleteRequest": {"Key": {k: it[k] for k in ("pk", "sk")}}}
                                                     for it in items[i:i + 25]]})

    def pages(self, name, op, **kw):
        """Every page of a paginated read (Limit, ExclusiveStartKey), each the same both ways."""
        start, n = None, 0
        while True:
            args = dict(kw, **({"ExclusiveStartKey": start} if start else {}))
            got = self.same("%s, page %d" % (name, n), lambda c: getattr(c, op)(TableName=T, **args))
            self.assertEqual(got[0], "ok", got)
            page = json.loads(got[1])
            start = page.get("LastEvaluatedKey")
            n += 1
            if not start:
                return n

    def entries(self, name, call):
        """The same answer both ways, and one with items (not an empty comparison)."""
        got = self.same(name, call)
        self.assertEqual(got[0], "ok", got)
        self.assertTrue(json.loads(got[1]).get("Items"), (name, got))
        return json.loads(got[1])

    def test_query_keys_only_lsi(self):
        for fwd in (True, False):
            for consistent in (True, False):
                got = self.entries("lsi forward=%s consistent=%s" % (fwd, consistent), lambda c: c.query(
                    TableName=T, IndexName="lsi_keys", KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": "p0"}}, ScanIndexForward=fwd,
                    ConsistentRead=consistent))
                self.assertEqual(sorted(got["Items"][0]), ["l", "pk", "sk"])
        self.assertGreater(self.pages("lsi pages", "query", IndexName="lsi_keys", Limit=2,
                                      KeyConditionExpression="pk = :p AND l > :l",
                                      ExpressionAttributeValues={":p": {"S": "p1"}, ":l": {"S": "b"}}), 2)
        # What the index does not hold is not answered (dynalite reads LSIs as DynamoDB reads
        # GSIs here); Select ALL_ATTRIBUTES reads the whole item.
        self.entries("lsi projection", lambda c: c.query(
            TableName=T, IndexName="lsi_keys", KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p0"}}, ProjectionExpression="l, e, w"))
        got = self.entries("lsi ALL_ATTRIBUTES", lambda c: c.query(
            TableName=T, IndexName="lsi_keys", KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p0"}}, Select="ALL_ATTRIBUTES"))
        self.assertIn("e", got["Items"][0])

    def test_query_keys_only_gsi(self):
        for fwd in (True, False):
            got = self.entries("gsi forward=%s" % fwd, lambda c: c.query(
                TableName=T, IndexName="gsi_keys", KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": "g1"}}, ScanIndexForward=fwd))
            self.assertEqual(sorted(got["Items"][0]), ["g", "pk", "sk"])
            self.assertGreater(self.pages("gsi pages forward=%s" % fwd, "query", IndexName="gsi_keys",
                                          Limit=3, KeyConditionExpression="g = :g", ScanIndexForward=fwd,
                                          ExpressionAttributeValues={":g": {"S": "g2"}}), 2)
        for kw in ({"ConsistentRead": True}, {"Select": "ALL_ATTRIBUTES"}):
            got = self.same("gsi %s" % kw, lambda c, k=kw: c.query(
                TableName=T, IndexName="gsi_keys", KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": "g1"}}, **k))
            self.assertEqual(got[0], "ValidationException", got)

    def test_query_include_gsi(self):
        base = dict(IndexName="gsi_incl", KeyConditionExpression="g = :g AND r > :r")
        vals = {":g": {"S": "g0"}, ":r": {"S": "02"}}
        for fwd in (True, False):
            got = self.entries("include forward=%s" % fwd, lambda c: c.query(
                TableName=T, ScanIndexForward=fwd, ExpressionAttributeValues=vals, **base))
            self.assertIn("secret-e-", json.dumps(got))         # decrypted from the item
            self.assertNotIn("w", got["Items"][0])
            self.assertGreater(self.pages("include pages forward=%s" % fwd, "query", Limit=2,
                                          ScanIndexForward=fwd, ExpressionAttributeValues=vals, **base), 2)
        self.entries("projection", lambda c: c.query(
            TableName=T, ProjectionExpression="e, v, w, sk", ExpressionAttributeValues=vals, **base))
        self.entries("AttributesToGet", lambda c: c.query(
            TableName=T, IndexName="gsi_incl", Select="SPECIFIC_ATTRIBUTES", AttributesToGet=["e", "pk", "w"],
            KeyConditions={"g": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "g1"}]}}))
        self.entries("SPECIFIC_ATTRIBUTES", lambda c: c.query(
            TableName=T, Select="SPECIFIC_ATTRIBUTES", ProjectionExpression="#e, s",
            ExpressionAttributeNames={"#e": "e"}, ExpressionAttributeValues=vals, **base))
        # A filter on the encrypted attribute is applied by dynaseal on the decrypted items.
        got = self.entries("filter on e", lambda c: c.query(
            TableName=T, FilterExpression="begins_with(e, :x)", ExpressionAttributeValues=dict(
                vals, **{":x": {"S": "secret-e-p1-"}}), **base))
        self.assertLess(got["Count"], got["ScannedCount"])
        self.entries("filter on e, Limit", lambda c: c.query(
            TableName=T, FilterExpression="e <> :x", Limit=3, ExpressionAttributeValues=dict(
                vals, **{":x": {"S": "secret-e-p0-3"}}), **base))
        self.entries("filter on s", lambda c: c.query(
            TableName=T, FilterExpression="s <> :x", ExpressionAttributeValues=dict(
                vals, **{":x": {"S": "sign-3"}}), **base))
        for kw in ({}, {"FilterExpression": "e = :x", "ExpressionAttributeValues": dict(
                vals, **{":x": {"S": "secret-e-p0-3"}})}):
            got = self.same("COUNT %s" % kw, lambda c, k=kw: c.query(
                TableName=T, Select="COUNT", **dict({"ExpressionAttributeValues": vals}, **k), **base))
            self.assertEqual(got[0], "ok", got)
            self.assertNotIn("Items", got[1])
        # A filter on what the index does not project sees nothing there, as in DynamoDB.
        got = self.same("filter on w", lambda c: c.query(
            TableName=T, FilterExpression="w >= :z", ExpressionAttributeValues=dict(
                vals, **{":z": {"N": "0"}}), **base))
        self.assertEqual(json.loads(got[1])["Count"], 0, got)

    def test_scan_of_indexes(self):
        for index in ("lsi_keys", "gsi_keys", "gsi_incl"):
            self.entries("scan " + index, lambda c, i=index: c.scan(TableName=T, IndexName=i))
            self.assertGreater(self.pages("scan pages " + index, "scan", IndexName=index, Limit=5), 2)
            got = self.same("scan COUNT " + index, lambda c, i=index: c.scan(
                TableName=T, IndexName=i, Select="COUNT"))
            self.assertEqual(got[0], "ok", got)
        self.entries("scan filter on e", lambda c: c.scan(
            TableName=T, IndexName="gsi_incl", FilterExpression="contains(e, :x)",
            ExpressionAttributeValues={":x": {"S": "-p1-"}}))

    def test_consumed_capacity_and_consistency(self):
        Relay.seen.clear()
        for rcc in ("NONE", "TOTAL", "INDEXES"):
            for index, key in (("gsi_keys", "g"), ("lsi_keys", "pk")):
                self.entries("%s %s" % (index, rcc), lambda c, i=index, k=key: c.query(
                    TableName=T, IndexName=i, KeyConditionExpression="%s = :v" % k,
                    ExpressionAttributeValues={":v": {"S": "g1" if k == "g" else "p1"}},
                    ReturnConsumedCapacity=rcc))
        reads = [b["RequestItems"][T] for t, b in Relay.seen if t == "BatchGetItem"]
        # Per (rcc, index): a GSI's items are read consistently, an LSI's as the request asked.
        self.assertEqual([r.get("ConsistentRead") for r in reads], [True, False] * 3)
        self.assertTrue(all(len(r["Keys"]) <= 100 for r in reads))

    def test_many_entries_in_batches_of_100(self):
        items = make_items("many", 500, g_prefix="m")
        self.write_both(items)
        try:
            Relay.seen.clear()
            before = h.metrics(self.proxy)
            got = self.entries("many entries", lambda c: c.query(
                TableName=T, IndexName="gsi_incl", KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": "m0"}}))
            reads = [len(b["RequestItems"][T]["Keys"]) for t, b in Relay.seen if t == "BatchGetItem"]
            self.assertGreater(got["Count"], 100)
            self.assertEqual(sum(reads), got["Count"])
            self.assertEqual(max(reads), 100)
            self.assertEqual(metric(h.metrics(self.proxy)) - metric(before), got["Count"])
        finally:
            self.delete_both(items)

    def test_dynalite_suite_scenarios(self):
        """The index reads of dynalite's own suite (test/query.js: projected attributes of a
        local index, a global range index forward, in reverse, from an ExclusiveStartKey, with
        equal values), on a table of its test table's shape, as the same calls through botocore
        (the capacity each asks for compared too)."""
        import random
        s = lambda v: {"S": v}
        a, c = s("idx%08d" % random.randrange(10 ** 8)), s("idx%08d" % random.randrange(10 ** 8))
        items = [{"a": a, "b": s("b1"), "c": s("c1"), "d": s("d1")}, {"a": a, "b": s("b2")},
                 {"a": a, "b": s("b3"), "d": s("d3"), "e": s("e3"), "f": s("f3")},
                 {"a": a, "b": s("b4"), "c": s("c4"), "d": s("d4"), "e": s("e4")}]
        ranged = [(k, b, c if k + b != "cc" else s("c"), d) for k, b, d in (
            ("a", "a", "f"), ("b", "b", "a"), ("c", "e", "b"), ("c", "d", "c"), ("c", "c", "d"),
            ("d", "a", "e"), ("e", "a", "f"))]
        items += [{"a": s(k), "b": s(b), "c": cc, "d": s(d), "e": s("a"), "f": s("a")} for k, b, cc, d in ranged]
        for cl in self.clients:
            cl.batch_write_item(RequestItems={T3: [{"PutRequest": {"Item": it}} for it in items]})
        ranged_keys = lambda i: {"a": items[4 + i]["a"], "b": items[4 + i]["b"], "c": c, "d": items[4 + i]["d"]}
        lt = {"c": {"ComparisonOperator": "EQ", "AttributeValueList": [c]},
              "d": {"ComparisonOperator": "LT", "AttributeValueList": [s("f")]}}
        eq = {"c": {"ComparisonOperator": "EQ", "AttributeValueList": [c]}}
        calls = [
            dict(IndexName="index2", ConsistentRead=True, ReturnConsumedCapacity="TOTAL",
                 KeyConditions={"a": {"ComparisonOperator": "EQ", "AttributeValueList": [a]}}),
            dict(IndexName="index2", ConsistentRead=True, ReturnConsumedCapacity="INDEXES",
                 KeyConditions={"a": {"ComparisonOperator": "EQ", "AttributeValueList": [a]}}),
            dict(IndexName="index4", KeyConditions=lt, Limit=3, ReturnConsumedCapacity="INDEXES"),
            dict(IndexName="index4", KeyConditions=lt, Limit=3, ScanIndexForward=False,
                 ReturnConsumedCapacity="INDEXES"),
            dict(IndexName="index4", KeyConditions=lt, Limit=1, ExclusiveStartKey=ranged_keys(2)),
            dict(IndexName="index4", KeyConditions=lt, Limit=1, ScanIndexForward=False,
                 ExclusiveStartKey=ranged_keys(3)),
            dict(IndexName="index3", KeyConditions=eq, Limit=2, ReturnConsumedCapacity="INDEXES",
                 ExclusiveStartKey={k: v for k, v in ranged_keys(2).items() if k != "d"}),
            dict(IndexName="index4", KeyConditions=eq, ExclusiveStartKey=ranged_keys(0),
                 ReturnConsumedCapacity="INDEXES"),
        ]
        for kw in calls:
            got = self.same("range3 %s" % kw, lambda cl, k=kw: cl.query(TableName=T3, **k))
            self.assertEqual(got[0], "ok", (kw, got))
            self.assertTrue(json.loads(got[1])["Items"], (kw, got))
        # What the local index including c answers: the keys, d and c where the item has them.
        got = json.loads(self.same("index2", lambda cl: cl.query(TableName=T3, **calls[0]))[1])
        self.assertEqual([sorted(it) for it in got["Items"]], [list("abcd"), list("abd"), list("abcd")])

    def test_plaintext_policy_allow_read(self):
        """With plaintext_policy allow-read an entry without aws_dbe_head reads as a plaintext
        item, unless it holds an encrypted attribute's ciphertext: then its item is read."""
        proxy = h.start_dynaseal("http://127.0.0.1:%d" % self.relay.server_address[1], config={
            "keyrings": {"local": {"type": "raw-aes", "key_file": self.key}},
            "tables": {T: {"keyring": "local", "partition_key": "pk", "sort_key": "sk",
                           "attribute_actions": ACTIONS, "plaintext_policy": "allow-read"}}})
        self.addCleanup(proxy.stop)
        plain = make_items("plain", 4, g_prefix="pl")
        for c in (self.clients[0], self.raw):          # written without dynaseal
            c.batch_write_item(RequestItems={T: [{"PutRequest": {"Item": it}} for it in plain]})
        self.addCleanup(self.delete_both, plain, [self.clients[0], self.raw])
        client = h.boto3_client(proxy.url)
        for index, g, reads in (("gsi_keys", "pl0", 0), ("gsi_incl", "pl0", 0), ("gsi_keys", "g1", 0),
                                ("gsi_incl", "g1", 6)):
            Relay.seen.clear()
            kw = dict(TableName=T, IndexName=index, KeyConditionExpression="g = :g",
                      ExpressionAttributeValues={":g": {"S": g}})
            got, want = outcome(lambda: client.query(**kw)), outcome(lambda: self.clients[0].query(**kw))
            self.assertEqual(got, want, (index, g))
            self.assertTrue(json.loads(got[1])["Items"], (index, g))
            keys = sum(len(b["RequestItems"][T]["Keys"]) for t, b in Relay.seen if t == "BatchGetItem")
            self.assertEqual(keys, reads, (index, g))

    def test_raw_index_holds_no_plaintext(self):
        raw = json.dumps([self.raw.scan(TableName=T, IndexName=i) for i in ("gsi_incl", "gsi_keys", "lsi_keys")],
                         default=repr)
        self.assertIn('"e": {"B": "b', raw)
        self.assertNotIn("secret-e", raw)
        direct = json.dumps(self.clients[0].scan(TableName=T, IndexName="gsi_incl"))
        self.assertIn("secret-e", direct)

    def test_item_deleted_between_index_read_and_item_read(self):
        items = make_items("race", 6, g_prefix="race")
        self.write_both(items)
        self.addCleanup(self.delete_both, items)
        gone = {"pk": {"S": "race"}, "sk": {"S": "03"}}
        self.clients[0].delete_item(TableName=T, Key=gone)

        def delete_first(body):
            Relay.hook = None
            self.raw.delete_item(TableName=T, Key=gone)
        Relay.hook = delete_first
        try:
            got = [outcome(lambda c=c: c.query(
                TableName=T, IndexName="gsi_incl", KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": "race0"}})) for c in self.clients]
        finally:
            Relay.hook = None
        direct, proxied = (json.loads(g[1]) for g in got)
        self.assertEqual(proxied["Items"], direct["Items"])
        self.assertEqual(proxied["Count"], direct["Count"])
        # DynamoDB read the entry: its ScannedCount stays.
        self.assertEqual(proxied["ScannedCount"], direct["ScannedCount"] + 1)
        self.assertNotIn(gone["sk"], [i["sk"] for i in proxied["Items"]])

    def test_item_changed_outside_fails_verification(self):
        items = make_items("tamper", 3, g_prefix="tamper")
        self.clients[1].batch_write_item(RequestItems={T: [{"PutRequest": {"Item": it}} for it in items]})
        self.addCleanup(self.delete_both, items, [self.raw])
        self.raw.update_item(TableName=T, Key={"pk": {"S": "tamper"}, "sk": {"S": "01"}},
                             UpdateExpression="SET s = :x", ExpressionAttributeValues={":x": {"S": "forged"}})
        for index in ("gsi_keys", "gsi_incl"):
            got = outcome(lambda i=index: self.clients[1].query(
                TableName=T, IndexName=i, KeyConditionExpression="g = :g",
                ExpressionAttributeValues={":g": {"S": "tamper1"}}))
            self.assertEqual(got, ("ValidationException", TAMPERED), index)
        # As a read of the table itself is refused.
        got = outcome(lambda: self.clients[1].query(
            TableName=T, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "tamper"}}))
        self.assertEqual(got, ("ValidationException", TAMPERED))
        # The entries of the other items still read.
        got = outcome(lambda: self.clients[1].query(
            TableName=T, IndexName="gsi_keys", KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "tamper0"}}))
        self.assertEqual(got[0], "ok", got)


TAMPERED = ('table "%s": attribute "aws_dbe_foot" failed verification (no recipient tag matches: a '
            'signed attribute or the header differs); the item was changed outside dynaseal or written '
            'under another configuration' % T)


def metric(text, name="dynaseal_index_item_reads_total"):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


if __name__ == "__main__":
    unittest.main()
