"""DynamoDB's refusals that depend on a table's secondary indexes, when dynaseal carries the
request out itself (an update of signed or encrypted attributes, a projection it widens to
whole attributes, a filter it applies to decrypted items): dynaseal learns the key schemas with
DescribeTable in the background and refuses as DynamoDB does, in its words and order.

IndexChecksTest sends the same requests straight to one dynalite and through dynaseal to
another, on the table of dynalite's own suite (key a, b; indexes keyed by c and d, which are
SIGN_ONLY; e, f, g encrypted): the application must observe the same answer, error code and
message.  LateIndexTest adds an index through dynaseal after it started (moto: dynalite cannot
add one); DescribeTableDeniedTest runs dynaseal with credentials that may not describe tables
(moto checking IAM policies): it serves as it would without the schema."""
import json
import time
import unittest

import peers as h
from compare import Compared, outcome as observed

T = "idx"
ACTIONS = {"a": "SIGN_ONLY", "b": "SIGN_ONLY", "c": "SIGN_ONLY", "d": "SIGN_ONLY",
           "e": "ENCRYPT_AND_SIGN", "f": "ENCRYPT_AND_SIGN", "g": "ENCRYPT_AND_SIGN"}
TYPE_C = ("ValidationException", "One or more parameter values were invalid: Type mismatch for "
          "Index Key c Expected: S Actual: N IndexName: index3")
SCALARS = "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: "
UNSUPPORTED = ("ValidationException",
               "The update expression attempted to update the secondary index key to unsupported type")
N1 = {":a": {"N": "1"}}

# Capacity differs (encrypted items are larger): what is compared leaves it out.
DROP = ("ResponseMetadata", "ConsumedCapacity")


def outcome(call):
    return observed(call, DROP)



def create_test_table(c, name):
    """dynalite's __dynalite_test_3, on demand: global indexes first in its order (index3 on c,
    index4 on c and d), then the local ones (index1 on c, index2 on d)."""
    ks = lambda *keys: [{"AttributeName": n, "KeyType": k} for n, k in keys]
    c.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in "abcd"],
        KeySchema=ks(("a", "HASH"), ("b", "RANGE")),
        LocalSecondaryIndexes=[
            {"IndexName": "index1", "KeySchema": ks(("a", "HASH"), ("c", "RANGE")),
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "index2", "KeySchema": ks(("a", "HASH"), ("d", "RANGE")),
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["c"]}}],
        GlobalSecondaryIndexes=[
            {"IndexName": "index3", "KeySchema": ks(("c", "HASH")), "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "index4", "KeySchema": ks(("c", "HASH"), ("d", "RANGE")),
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["e"]}}])
    c.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})


def eventually(test, expected, call, seconds=20, times=1):
    """Calls call() (a fresh client each time, so that every worker answers) until it answers
    expected `times` times in a row; fails with the last answer after `seconds`."""
    deadline, row, got = time.time() + seconds, 0, None
    while time.time() < deadline:
        got = outcome(call)
        row = row + 1 if got == expected else 0
        if row >= times:
            return
        time.sleep(0.2)
    test.assertEqual(got, expected)


class IndexChecksTest(Compared):
    DROP = DROP
    @classmethod
    def setUpClass(cls):
        cls.direct, cls.backing = h.start_dynalite(), h.start_dynalite()
        try:
            key = h.random_key_file(cls.backing.workdir, "idx.key")
            cls.proxy = h.start_dynaseal(cls.backing.url, workers=1, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                "tables": {T: {"keyring": "local", "partition_key": "a", "sort_key": "b",
                               "attribute_actions": ACTIONS}}})
            cls.clients = [h.boto3_client(cls.direct.url), h.boto3_client(cls.proxy.url)]
            for c in cls.clients:
                create_test_table(c, T)
                for b in ("1", "2"):
                    c.put_item(TableName=T, Item={
                        "a": {"S": "k"}, "b": {"S": b}, "c": {"S": "c" + b}, "d": {"S": "d" + b},
                        "e": {"N": "5"}, "f": {"S": "f"}, "g": {"S": "g"}})
        except Exception:
            cls.tearDownClass()
            raise
        # The CreateTable that went through dynaseal has it describe the table soon.
        deadline = time.time() + 20
        while outcome(lambda: cls.clients[1].get_item(TableName=T, Key=cls.key(), ProjectionExpression="d.b")) != (
                "ValidationException", SCALARS + "IndexKey: d") and time.time() < deadline:
            time.sleep(0.2)

    @staticmethod
    def key(b="1"):
        return {"a": {"S": "k"}, "b": {"S": b}}

    def same(self, name, call, expect=None):
        got = super().same(name, call)
        if expect is not None:
            self.assertEqual(got[0] if isinstance(expect, str) else got, expect, name)
        return got

    def update(self, name, expect=None, **kw):
        kw.setdefault("Key", self.key())
        return self.same(name, lambda c: c.update_item(TableName=T, ReturnValues="ALL_NEW", **kw), expect)

    def test_update_stated_type_of_an_index_key(self):
        self.update("AttributeUpdates", TYPE_C, AttributeUpdates={
            "d": {"Value": {"N": "1"}}, "c": {"Value": {"N": "2"}}})
        self.update("ADD after a nested SET", TYPE_C, UpdateExpression="set d.a = a add c :a",
                    ExpressionAttributeValues=N1)
        self.update("a sum", TYPE_C, UpdateExpression="set e = c[1], c = a + :a",
                    ExpressionAttributeValues=N1)
        self.update("before a false condition", TYPE_C, UpdateExpression="set c = :a",
                    ConditionExpression="attribute_exists(zz)", ExpressionAttributeValues=N1)
        self.update("before a value the item lacks", TYPE_C, UpdateExpression="set c = :a, e = zz",
                    ExpressionAttributeValues=N1)
        self.update("on d, named by index4", ("ValidationException", TYPE_C[1].replace(
            "Key c", "Key d").replace("index3", "index4")), UpdateExpression="set d = :a, f = :a",
            ExpressionAttributeValues=N1)
        self.update("DELETE of a set", "ValidationException", UpdateExpression="delete c :s",
                    ExpressionAttributeValues={":s": {"SS": ["x"]}})
        self.update("a key DynamoDB refuses first", ("ValidationException",
                    "The provided key element does not match the schema"), Key={"a": {"S": "k"}},
                    UpdateExpression="set c = :a", ExpressionAttributeValues=N1)
        self.update("the key's own type", "ok", UpdateExpression="set c = :s, e = :a",
                    ExpressionAttributeValues={":s": {"S": "c9"}, ":a": {"N": "7"}})

    def test_update_path_below_a_key(self):
        for expr in ("add d.b :a", "set d[1] = :a"):
            self.update(expr, ("ValidationException", SCALARS + "IndexKey: d"),
                        UpdateExpression=expr, ExpressionAttributeValues=N1)
        self.update("an operand below d", ("ValidationException", SCALARS + "IndexKey: d"),
                    UpdateExpression="set e = list_append(a, b), f = d[1]")
        self.update("an operand below the table's key", ("ValidationException", SCALARS + "Key: a"),
                    UpdateExpression="set e = a.b")

    def test_update_to_a_type_only_the_item_tells(self):
        key = self.key("2")
        self.update("e holds a number", "ok", Key=key, UpdateExpression="set e = :a",
                    ExpressionAttributeValues=N1)
        for expr in ("set c = e", "set d = e", "set f = :s, c = if_not_exists(e, :s)"):
            self.update(expr, UNSUPPORTED, Key=key, UpdateExpression=expr,
                        **({"ExpressionAttributeValues": {":s": {"S": "x"}}} if ":s" in expr else {}))
        self.update("g holds a string", "ok", Key=key, UpdateExpression="set c = g")

    def test_projection_below_an_index_key(self):
        refused = ("ValidationException", SCALARS + "IndexKey: d")
        names = {"#d": "d"}
        for proj in ("#d.b.c", "#d[0]", "e, #d.x"):
            self.same("GetItem " + proj, lambda c, p=proj: c.get_item(
                TableName=T, Key=self.key(), ProjectionExpression=p, ExpressionAttributeNames=names), refused)
            self.same("Query " + proj, lambda c, p=proj: c.query(
                TableName=T, KeyConditionExpression="a = :a", ExpressionAttributeValues={":a": {"S": "k"}},
                ProjectionExpression=p, ExpressionAttributeNames=names), refused)
            self.same("Scan " + proj, lambda c, p=proj: c.scan(
                TableName=T, ProjectionExpression=p, ExpressionAttributeNames=names), refused)
        self.same("a path below another attribute", lambda c: c.get_item(
            TableName=T, Key=self.key(), ProjectionExpression="c, e, f.x"), "ok")
        # An index the table does not have: DynamoDB says so first.
        self.same("Query on no such index", lambda c: c.query(
            TableName=T, IndexName="nope", KeyConditionExpression="a = :a",
            ExpressionAttributeValues={":a": {"S": "k"}}, ProjectionExpression="d.x"),
            ("ValidationException", "The table does not have the specified index: nope"))

    def test_filter_below_an_index_key(self):
        values = {":a": {"S": "k"}, ":b": {"N": "1"}}
        # Plain filters go to DynamoDB; those reading an encrypted attribute dynaseal applies.
        for expr in ("attribute_exists(d.c) AND c = :b", "d[1] = :b",
                     "attribute_exists(d.c) AND e = :b", "d[1] = :b OR e = :b"):
            self.same("Query " + expr, lambda c, x=expr: c.query(
                TableName=T, KeyConditionExpression="a = :a", FilterExpression=x,
                ExpressionAttributeValues=values), ("ValidationException", SCALARS + "IndexKey: d"))
            self.same("Scan " + expr, lambda c, x=expr: c.scan(
                TableName=T, FilterExpression=x, ExpressionAttributeValues={":b": values[":b"]}),
                ("ValidationException", SCALARS + "IndexKey: d"))
        self.same("Scan below the table's key", lambda c: c.scan(
            TableName=T, FilterExpression="attribute_exists(a.b) AND e = :b",
            ExpressionAttributeValues={":b": values[":b"]}), ("ValidationException", SCALARS + "Key: a"))

    def test_filter_on_a_queried_key(self):
        values = {":a": {"S": "k"}, ":b": {"N": "1"}}
        for expr in ("b = :b OR e = :b", "b[1] = :b OR e = :b"):
            self.same("Query " + expr, lambda c, x=expr: c.query(
                TableName=T, KeyConditionExpression="a = :a", FilterExpression=x,
                ExpressionAttributeValues=values), ("ValidationException", "Filter Expression can only "
                                                     "contain non-primary key attributes: Primary key attribute: b"))
        self.same("Query index4, filter on d", lambda c: c.query(
            TableName=T, IndexName="index4", KeyConditionExpression="c = :c",
            FilterExpression="d = :d OR e = :b",
            ExpressionAttributeValues={":c": {"S": "c1"}, ":d": {"S": "d1"}, ":b": {"N": "1"}}),
            ("ValidationException", "Filter Expression can only contain non-primary key attributes: "
             "Primary key attribute: d"))
        self.same("QueryFilter on the sort key", lambda c: c.query(
            TableName=T, KeyConditions={"a": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "k"}]}},
            QueryFilter={"b": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "1"}]},
                         "e": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "5"}]}}),
            ("ValidationException", "QueryFilter can only contain non-primary key attributes: "
             "Primary key attribute: b"))
        self.same("Query index3, filter on e", lambda c: c.query(
            TableName=T, IndexName="index3", KeyConditionExpression="c = :c", FilterExpression="e = :b",
            ExpressionAttributeValues={":c": {"S": "c1"}, ":b": {"N": "5"}}), "ok")


class LateIndexTest(Compared):
    """An index added through dynaseal after it learned the table: checked against soon, by
    every worker."""
    DROP = DROP

    def test_index_added_by_update_table(self):
        moto = h.start_moto()
        self.addCleanup(moto.stop)
        key = h.random_key_file(moto.workdir, "late.key")
        proxy = h.start_dynaseal(moto.url, workers=2, config={
            "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
            "tables": {"late": {"keyring": "local", "partition_key": "a",
                                "attribute_actions": {"a": "SIGN_ONLY", "c": "SIGN_ONLY",
                                                      "e": "ENCRYPT_AND_SIGN"}}}})
        self.addCleanup(proxy.stop)
        c = h.boto3_client(proxy.url)
        h.create_table(c, "late", keys=(("a", "S", "HASH"),), wait=True)
        c.put_item(TableName="late", Item={"a": {"S": "x"}, "c": {"S": "s"}, "e": {"N": "1"}})
        set_n = lambda cl: cl.update_item(TableName="late", Key={"a": {"S": "y"}},
                                          UpdateExpression="set c = :n, e = :n",
                                          ExpressionAttributeValues={":n": {"N": "2"}})
        self.assertEqual(outcome(lambda: set_n(c))[0], "ok")       # no index on c yet
        c.update_table(TableName="late",
                       AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"},
                                             {"AttributeName": "c", "AttributeType": "S"}],
                       GlobalSecondaryIndexUpdates=[{"Create": {
                           "IndexName": "by_c", "KeySchema": [{"AttributeName": "c", "KeyType": "HASH"}],
                           "Projection": {"ProjectionType": "ALL"}}}])
        fresh = lambda: h.boto3_client(proxy.url)
        eventually(self, ("ValidationException", "One or more parameter values were invalid: Type "
                          "mismatch for Index Key c Expected: S Actual: N IndexName: by_c"),
                   lambda: set_n(fresh()), times=8)
        eventually(self, UNSUPPORTED, lambda: fresh().update_item(
            TableName="late", Key={"a": {"S": "x"}}, UpdateExpression="set c = e"), times=8)
        eventually(self, ("ValidationException", SCALARS + "IndexKey: c"), lambda: fresh().get_item(
            TableName="late", Key={"a": {"S": "x"}}, ProjectionExpression="c.z"), times=8)
        got = fresh().get_item(TableName="late", Key={"a": {"S": "x"}}, ConsistentRead=True)["Item"]
        self.assertEqual(got, {"a": {"S": "x"}, "c": {"S": "s"}, "e": {"N": "1"}})


class DescribeTableDeniedTest(Compared):
    """Credentials that may do everything but describe tables: dynaseal says so in its log and
    serves as it would without the key schema (DynamoDB's own answer to what dynaseal sends)."""
    DROP = DROP

    def test_served_without_the_schema(self):
        moto = h.start_moto(auth_after=3)
        self.addCleanup(moto.stop)
        iam = h.boto3_client(moto.url, "iam", "AKIDBOOTSTRAP", "bootstrap")
        iam.create_user(UserName="nodescribe")
        k = iam.create_access_key(UserName="nodescribe")["AccessKey"]
        iam.put_user_policy(UserName="nodescribe", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["dynamodb:*"], "Resource": "*"},
                {"Effect": "Deny", "Action": ["dynamodb:DescribeTable"], "Resource": "*"}]}))
        key = h.random_key_file(moto.workdir, "denied.key")
        proxy = h.start_dynaseal(moto.url, env=h.proxy_env(k["AccessKeyId"], k["SecretAccessKey"]), config={
            "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
            "tables": {"denied": {"keyring": "local", "partition_key": "a",
                                  "attribute_actions": {"a": "SIGN_ONLY", "c": "SIGN_ONLY",
                                                        "e": "ENCRYPT_AND_SIGN"}}}})
        self.addCleanup(proxy.stop)
        c = h.boto3_client(proxy.url)
        c.create_table(TableName="denied", BillingMode="PAY_PER_REQUEST",
                       AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"},
                                             {"AttributeName": "c", "AttributeType": "S"}],
                       KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
                       GlobalSecondaryIndexes=[{"IndexName": "by_c", "Projection": {"ProjectionType": "ALL"},
                                                "KeySchema": [{"AttributeName": "c", "KeyType": "HASH"}]}])
        self.assertNotEqual(outcome(lambda: c.describe_table(TableName="denied"))[0], "ok")
        deadline = time.time() + 15
        while "may not call dynamodb:DescribeTable" not in proxy.log_text() and time.time() < deadline:
            time.sleep(0.2)
        self.assertIn('table "denied": dynaseal\'s credentials may not call dynamodb:DescribeTable',
                      proxy.log_text())
        item = {"a": {"S": "x"}, "c": {"S": "s"}, "e": {"S": "secret"}}
        c.put_item(TableName="denied", Item=item)
        self.assertEqual(c.get_item(TableName="denied", Key={"a": {"S": "x"}})["Item"], item)
        got = c.update_item(TableName="denied", Key={"a": {"S": "x"}}, UpdateExpression="set c = :s, e = :n",
                            ExpressionAttributeValues={":s": {"S": "t"}, ":n": {"N": "3"}},
                            ReturnValues="ALL_NEW")["Attributes"]
        self.assertEqual(got, {"a": {"S": "x"}, "c": {"S": "t"}, "e": {"N": "3"}})
        self.assertEqual(c.query(TableName="denied", IndexName="by_c", KeyConditionExpression="c = :s",
                                 ExpressionAttributeValues={":s": {"S": "t"}})["Items"], [got])
        # Without the schema dynaseal does not refuse in DynamoDB's words: what it writes goes
        # to DynamoDB, whose own answer comes back.
        self.assertNotEqual(outcome(lambda: c.update_item(
            TableName="denied", Key={"a": {"S": "x"}}, UpdateExpression="set c = :n",
            ExpressionAttributeValues={":n": {"N": "1"}})), (
            "ValidationException", "One or more parameter values were invalid: Type mismatch for "
            "Index Key c Expected: S Actual: N IndexName: by_c"))
