"""Requests DynamoDB answers in its own way, sent straight to one dynalite and through dynaseal
(with the table encrypted) to another: the application must observe the same answer, success or
error code and message.  dynalite is the reference here: it reproduces DynamoDB's validation
order and wording (its own suite is run against DynamoDB in its REMOTE mode).  The cases are
those dynalite's suite found dynaseal answering otherwise: an update with nothing to update,
operands in parentheses, empty legacy filters, legacy key conditions DynamoDB validates, keys
that do not match the schema, items without their key, a RequestItems of the wrong type."""
import json
import re
import unittest

import peers as h
from compare import Compared, outcome

T = "fidelity"
ACTIONS = {"pk": "SIGN_ONLY", "sk": "SIGN_ONLY", "n": "SIGN_ONLY", "e": "ENCRYPT_AND_SIGN",
           "m": "ENCRYPT_AND_SIGN", "v": "DO_NOTHING"}



class FidelityTest(Compared):
    @classmethod
    def setUpClass(cls):
        cls.direct, cls.backing = h.start_dynalite(), h.start_dynalite()
        try:
            key = h.random_key_file(cls.backing.workdir, "fid.key")
            cls.proxy = h.start_dynaseal(cls.backing.url, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                "tables": {T: {"keyring": "local", "partition_key": "pk", "sort_key": "sk",
                               "attribute_actions": ACTIONS}}})
            cls.clients = [h.boto3_client(cls.direct.url), h.boto3_client(cls.proxy.url)]
            for c in cls.clients:
                h.create_table(c, T, keys=(("pk", "S", "HASH"), ("sk", "N", "RANGE")), wait=True)
                c.put_item(TableName=T, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "5"},
                                              "e": {"S": "abc"}, "m": {"M": {"x": {"N": "2"}}},
                                              "v": {"L": [{"N": "1"}, {"N": "2"}]}})
        except Exception:
            cls.tearDownClass()
            raise

    def test_update_with_nothing_to_update(self):
        key = {"pk": {"S": "new"}, "sk": {"N": "7"}}
        self.assertEqual(self.same("creates the key", lambda c: c.update_item(
            TableName=T, Key=key, ReturnValues="ALL_OLD"))[0], "ok")
        self.same("again, on the item", lambda c: c.update_item(TableName=T, Key=key, ReturnValues="ALL_NEW"))
        got = self.same("reads back", lambda c: c.get_item(TableName=T, Key=key, ConsistentRead=True))
        self.assertIn('"pk"', got[1])
        raw = h.boto3_client(self.backing.url).get_item(TableName=T, Key=key, ConsistentRead=True)["Item"]
        self.assertIn("aws_dbe_foot", raw)     # written through dynaseal: signed

    def test_operands_in_parentheses(self):
        key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
        one = {":one": {"N": "1"}}
        # Not compared: "SET n = (n) + (:one)", which dynalite's parser refuses (it commits to
        # "(n)" as the whole value) and DynamoDB's documentation does not settle; dynaseal
        # accepts it as the sum it spells.
        for expr in ("SET n = ((n) + (:one))", "SET n = (n + :one)",
                     "SET e = (e)", "SET n = ((n))", "SET n = (n - :one), e = ((e))"):
            self.same(expr, lambda c, x=expr: c.update_item(
                TableName=T, Key=key, UpdateExpression=x, ReturnValues="ALL_NEW",
                **({"ExpressionAttributeValues": one} if ":one" in expr else {})))
        # Syntax errors are not compared: dynalite words them as its own parser does.
        for expr in ("(size(e)) = :three", "((size(e)) = :three)", "(e) = :abc", "e = (:abc)",
                     "(n) BETWEEN (:one) AND :three", "(n) IN (:one, :three)",
                     "(size(m)) > :one AND (e = :abc)"):
            values = {":three": {"N": "3"}, ":abc": {"S": "abc"}, ":one": {"N": "1"}}
            used = {k: v for k, v in values.items() if k in expr}
            self.same(expr, lambda c, x=expr, u=used: c.scan(
                TableName=T, FilterExpression=x, ExpressionAttributeValues=u))

    def test_expression_size_limit(self):
        """DynamoDB's limit on an expression is 4,096 bytes as sent (Developer Guide,
        "Constraints": expression parameters); one byte more is refused with "Expression size
        has exceeded the maximum allowed size; expression size: N".  dynalite has no such
        limit, so past it only dynaseal's answer is checked, against the documented one; at
        the limit both answer alike.  The legacy parameters are not held to it: they may mean
        longer expressions."""
        pad = lambda n, base: base + " " * (n - len(base))
        for param, base, call in (
                ("FilterExpression", "e = :abc", lambda c, x: c.scan(
                    TableName=T, FilterExpression=x, ExpressionAttributeValues={":abc": {"S": "abc"}})),
                ("ProjectionExpression", "e, n", lambda c, x: c.get_item(
                    TableName=T, Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, ProjectionExpression=x)),
                ("UpdateExpression", "SET e = :abc", lambda c, x: c.update_item(
                    TableName=T, Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, UpdateExpression=x,
                    ExpressionAttributeValues={":abc": {"S": "abc"}})),
                ("ConditionExpression", "e = :abc", lambda c, x: c.delete_item(
                    TableName=T, Key={"pk": {"S": "zz"}, "sk": {"N": "1"}}, ConditionExpression=x,
                    ExpressionAttributeValues={":abc": {"S": "abc"}}))):
            self.same(param + " of 4096 bytes", lambda c: call(c, pad(4096, base)))
            got = outcome(lambda: call(self.clients[1], pad(4097, base)))
            self.assertEqual(got, ("ValidationException", "Invalid %s: Expression size has "
                                   "exceeded the maximum allowed size; expression size: 4097" % param))
        # A ScanFilter whose expression would be longer is answered as DynamoDB answers it,
        # on encrypted attributes and on the others (dynaseal evaluates it itself rather than
        # send DynamoDB an expression over its limit; dynalite, which has none, cannot tell).
        for attrs in (("e", "n", "sk", "m", "v", "pk"), ("n", "sk", "m", "v", "pk", "q")):
            many = {a: {"ComparisonOperator": "IN", "AttributeValueList":
                        [{"S": "abc%d" % i} for i in range(99)] + [{"S": "abc"}] if a == "e" else
                        [{"N": str(i + 10)} for i in range(99)] + [{"N": "5"}]}
                    for a in attrs}
            for op in ("OR", "AND"):
                got = self.same("ScanFilter on %s (%s)" % (attrs, op), lambda c: c.scan(
                    TableName=T, ScanFilter=many, ConditionalOperator=op))
                self.assertEqual(got[0], "ok")

    def rmw_count(self, op):
        m = re.search(r'^dynaseal_rmw_total\{operation="%s"\} (\d+)' % op, h.metrics(self.proxy), re.M)
        return int(m.group(1)) if m else 0

    def test_legacy_in_of_many_values(self):
        """A legacy IN takes as many values as the request holds (dynalite's suite, run against
        DynamoDB, scans with 27,500).  Their expression is far longer than DynamoDB takes, so
        dynaseal evaluates it: a ScanFilter or QueryFilter after the read, an Expected in a
        read-modify-write (counted in dynaseal_rmw_total when it writes), on encrypted, signed and key
        attributes alike."""
        key = {"pk": {"S": "in"}, "sk": {"N": "1"}}
        for c in self.clients:
            c.put_item(TableName=T, Item=dict(key, n={"N": "7"}, e={"S": "s7"}, v={"S": "w"}))
        for attr, vals in (("e", [{"S": "s%d" % (i % 5000)} for i in range(27500)]),
                           ("n", [{"N": str(i + 3)} for i in range(27500)]),
                           ("pk", [{"S": "in"}] * 27500), ("sk", [{"N": "9"}] * 101)):
            cond = {attr: {"ComparisonOperator": "IN", "AttributeValueList": vals}}
            got = self.same("ScanFilter IN on %s" % attr, lambda c: c.scan(TableName=T, ScanFilter=cond))
            self.assertEqual(got[0], "ok")
            self.same("QueryFilter IN on %s" % attr, lambda c: c.query(
                TableName=T, KeyConditions={"pk": {"ComparisonOperator": "EQ",
                                                   "AttributeValueList": [{"S": "in"}]}},
                QueryFilter=cond) if attr not in ("pk", "sk") else c.scan(TableName=T, ScanFilter=cond,
                                                                          ConditionalOperator="OR"))
        for attr, hit in (("n", {"N": "7"}), ("e", {"S": "s7"}), ("v", {"S": "w"}), ("n", None)):
            vals = ([{"N": str(100 + i)} for i in range(999)] if attr == "n" else
                    [{"S": "y%d" % i} for i in range(999)]) + ([hit] if hit else [{"N": "99"}])
            before = self.rmw_count("PutItem")
            got = self.same("Expected IN on %s" % attr, lambda c: c.put_item(
                TableName=T, Item=dict(key, n={"N": "7"}, e={"S": "s7"}, v={"S": "w"}),
                Expected={attr: {"ComparisonOperator": "IN", "AttributeValueList": vals}},
                ReturnValues="ALL_OLD"))
            self.assertEqual(got[0], "ok" if hit else "ConditionalCheckFailedException", attr)
            # counted when written back (a condition that fails writes nothing)
            self.assertEqual(self.rmw_count("PutItem"), before + (1 if hit else 0), attr)
        # UpdateItem and DeleteItem the same way, with an unsigned attribute's AttributeUpdates
        many = [{"N": str(100 + i)} for i in range(999)]
        for hit in ({"N": "99"}, {"N": "7"}):
            expected = {"n": {"ComparisonOperator": "IN", "AttributeValueList": many + [hit]}}
            before = self.rmw_count("UpdateItem")
            got = self.same("UpdateItem, Expected IN %s" % hit, lambda c: c.update_item(
                TableName=T, Key=key, Expected=expected, ReturnValues="ALL_NEW",
                AttributeUpdates={"v": {"Action": "PUT", "Value": {"S": "w2"}}}))
            self.assertEqual(self.rmw_count("UpdateItem"), before + (hit["N"] == "7"))
            got = self.same("DeleteItem, Expected IN %s" % hit, lambda c: c.delete_item(
                TableName=T, Key=key, Expected=expected, ReturnValues="ALL_OLD"))
            self.assertEqual(got[0], "ok" if hit["N"] == "7" else "ConditionalCheckFailedException")
            self.assertEqual(self.same("after DeleteItem", lambda c: c.get_item(
                TableName=T, Key=key, ConsistentRead=True))[1] == "{}", hit["N"] == "7")
        for c in self.clients:
            c.delete_item(TableName=T, Key=key)

    def test_legacy_conditions_past_what_dynaseal_evaluates(self):
        """Conditions whose expression would pass 4 MiB are refused, naming the parameter and
        what to do (dynalite takes them: only dynaseal's answer is checked)."""
        vals = [{"N": str(i)} for i in range(400000)]
        got = outcome(lambda: self.clients[1].scan(TableName=T, ScanFilter={
            "n": {"ComparisonOperator": "IN", "AttributeValueList": vals}}))
        self.assertEqual(got[0], "ValidationException")
        self.assertRegex(got[1], r"^One or more parameter values were invalid: ScanFilter holds "
                         r"more values than dynaseal evaluates \(its conditions make an expression "
                         r"of \d+ bytes, at most 4194304\); split the request$")
        self.same("still serving", lambda c: c.get_item(TableName=T, Key={"pk": {"S": "a"},
                                                                          "sk": {"N": "1"}}))

    def test_between_bounds(self):
        """BETWEEN with both bounds given: DynamoDB refuses bounds in the wrong order or of two
        types before it reads an item; equal bounds are fine.  On an encrypted attribute
        (dynaseal evaluates the filter) and a signed one (DynamoDB does)."""
        values = {":one": {"N": "1"}, ":two": {"N": "2.0"}, ":a": {"S": "a"}, ":b": {"S": "b"},
                  ":bin": {"B": b"\x01"}}
        for expr in ("e BETWEEN :two AND :one", "e BETWEEN :b AND :a", "e BETWEEN :a AND :one",
                     "n BETWEEN :two AND :one", "n BETWEEN :one AND :bin", "n BETWEEN :one AND :one",
                     "e BETWEEN :a AND :b", "size(e) BETWEEN :two AND :one",
                     "n = :one OR (e BETWEEN :b AND :a)", "NOT e BETWEEN :one AND :two"):
            used = {k: v for k, v in values.items() if k in expr.replace(":bin", "")}
            if ":bin" in expr:
                used[":bin"] = values[":bin"]
            got = self.same(expr, lambda c, x=expr, u=used: c.scan(
                TableName=T, FilterExpression=x, ExpressionAttributeValues=u))
            if "BETWEEN :two AND :one" in expr or ":b AND :a" in expr:
                self.assertEqual(got[0], "ValidationException", expr)
                self.assertIn("requires upper bound to be greater than or equal to lower bound", got[1])
        got = self.same("condition", lambda c: c.put_item(
            TableName=T, Item={"pk": {"S": "b"}, "sk": {"N": "1"}, "e": {"S": "x"}},
            ConditionExpression="e BETWEEN :b AND :a",
            ExpressionAttributeValues={":a": {"S": "a"}, ":b": {"S": "b"}}))
        self.assertEqual(got, ("ValidationException", "Invalid ConditionExpression: The BETWEEN "
                               "operator requires upper bound to be greater than or equal to lower "
                               "bound; lower bound operand: AttributeValue: {S:b}, upper bound "
                               "operand: AttributeValue: {S:a}"))

    def test_generated_parentheses_and_projections(self):
        """FIDELITY_CASES generated filters with operands in parentheses or not (encrypted
        attributes among them, so dynaseal evaluates them), and as many projections of paths that
        may overlap or conflict: the same answer or the same refusal as DynamoDB (dynalite).
        Syntax errors are compared by code only (dynalite words them as its own parser does)."""
        import os
        import random
        rng = random.Random(int(os.environ.get("FIDELITY_SEED", "20261204")))
        values = {":three": {"N": "3"}, ":abc": {"S": "abc"}, ":one": {"N": "1"}, ":x": {"N": "2"}}
        operands = ["n", "e", "size(e)", "size(m)", "m.x", "v[0]", ":three", ":abc", ":one", ":x"]

        # Numbers only between BETWEEN's bounds: dynalite dies on a string bound there.
        numbers = ["n", "size(e)", "size(m)", "m.x", "v[0]", ":three", ":one", ":x"]

        def operand(pool=operands):
            o = rng.choice(pool)
            return "(%s)" % o if rng.random() < 0.4 else o

        def condition():
            kind = rng.random()
            if kind < 0.6:
                return "%s %s %s" % (operand(), rng.choice(["=", "<>", "<", "<=", ">", ">="]), operand())
            if kind < 0.8:
                # Two literal bounds in either order: DynamoDB refuses a lower bound above
                # the upper one, whatever the items.
                return "%s BETWEEN %s AND %s" % (operand(numbers), operand(numbers), operand(numbers))
            return "%s IN (%s, %s)" % (operand(), operand(), operand())

        cases = int(os.environ.get("FIDELITY_CASES", "150"))
        compared = 0
        for _ in range(cases):
            expr = condition()
            if rng.random() < 0.4:
                expr = "(%s) %s %s" % (expr, rng.choice(["AND", "OR"]), condition())
            used = {k: v for k, v in values.items() if k in expr}
            got = [outcome(lambda c=c: c.scan(TableName=T, FilterExpression=expr,
                                              **({"ExpressionAttributeValues": used} if used else {})))
                   for c in self.clients]
            if got[0][0] == "ValidationException" and "Syntax error" in (got[0][1] or ""):
                self.assertEqual(got[1][0], got[0][0], expr)
            else:
                self.assertEqual(got[1], got[0], expr)
                compared += 1
        paths = ["m", "m.x", "m.y", "m.x.z", "v", "v[0]", "v[1]", "v[0].a", "e", "n", "sk"]
        key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
        for _ in range(cases):
            proj = ", ".join(rng.sample(paths, rng.randint(1, 4)))
            got = [outcome(lambda c=c: c.get_item(TableName=T, Key=key, ProjectionExpression=proj))
                   for c in self.clients]
            self.assertEqual(got[1], got[0], proj)
        print("\n  %d generated filters compared whole (of %d), %d generated projections"
              % (compared, cases, cases))

    def test_legacy_key_conditions_and_empty_filters(self):
        for name, kw in (
                ("empty QueryFilter", dict(QueryFilter={}, KeyConditions={
                    "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}})),
                ("NULL on the key", dict(KeyConditions={"pk": {"ComparisonOperator": "NULL"}})),
                ("a key condition missing the key", dict(KeyConditions={
                    "sk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}})),
                ("CONTAINS on the sort key", dict(KeyConditions={
                    "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]},
                    "sk": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"N": "1"}]}})),
                ("no such index", dict(IndexName="whatever", KeyConditions={
                    "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}})),
                ("QueryFilter on the sort key", dict(
                    KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
                    QueryFilter={"sk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}})),
                ("QueryFilter on an encrypted attribute", dict(
                    KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
                    QueryFilter={"e": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "ab"}]}}))):
            self.same(name, lambda c, k=kw: c.query(TableName=T, **k))

    def test_keys_and_items_that_do_not_match_the_schema(self):
        key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
        self.same("a key with another attribute", lambda c: c.get_item(TableName=T, Key=dict(key, e={"S": "x"})))
        self.same("a key with a signed attribute", lambda c: c.delete_item(TableName=T, Key=dict(key, n={"N": "1"})))
        self.same("an item without its sort key", lambda c: c.put_item(
            TableName=T, Item={"pk": {"S": "b"}, "e": {"S": "x"}}))
        self.same("a batch item without its key", lambda c: c.batch_write_item(
            RequestItems={T: [{"PutRequest": {"Item": {"pk": {"S": "b"}, "e": {"S": "x"}}}}]}))
        # A nested projection whose names the widening to whole attributes leaves unused.
        for proj, names in (("#m.#x, #v[1], #m", {"#m": "m", "#x": "x", "#v": "v"}),
                            ("#m.#x", {"#m": "m", "#x": "x", "#u": "unused"})):
            self.same("nested projection " + proj, lambda c, p=proj, n=names: c.get_item(
                TableName=T, Key=key, ProjectionExpression=p, ExpressionAttributeNames=n))
            self.same("nested projection, query " + proj, lambda c, p=proj, n=names: c.query(
                TableName=T, KeyConditionExpression="pk = :a", ExpressionAttributeValues={":a": {"S": "a"}},
                ProjectionExpression=p, ExpressionAttributeNames=n))
        for proj in ("#k.b.c", "#k[0]", "e, sk.x"):
            self.same("a projection below a key: " + proj, lambda c, p=proj: c.get_item(
                TableName=T, Key=key, ProjectionExpression=p,
                **({"ExpressionAttributeNames": {"#k": "pk"}} if "#k" in p else {})))
        self.same("an ExclusiveStartKey with an encrypted attribute", lambda c: c.scan(
            TableName=T, ExclusiveStartKey=dict(key, e={"S": "x"})))


    def test_request_items_of_the_wrong_type(self):
        from test_wire import ddb_request, exchange
        for op in ("BatchGetItem", "BatchWriteItem"):
            for items in ([{"PutRequest": {"Item": {"pk": {"S": "a"}}}}], "23", 23, True):
                body = json.dumps({"RequestItems": items})
                got = [exchange(s.port, ddb_request(op, body)) for s in (self.direct, self.proxy)]
                self.assertEqual([(st, json.loads(b)) for st, _, b in got][1],
                                 [(st, json.loads(b)) for st, _, b in got][0], (op, items))


    def test_body_over_16_mib(self):
        """DynamoDB's limit, DynamoDB's answer: an empty chunked 413, read in full (the rest of
        the body is read and dropped before the connection closes)."""
        import socket
        body = b"a" * (16 * 1024 * 1024 + 1)
        head = ("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body)).encode()
        got = []
        for port in (self.direct.port, self.proxy.port):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.settimeout(30)
                try:
                    s.sendall(head + body)
                except OSError:
                    pass
                data = b""
                while b"\r\n0\r\n\r\n" not in data:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            status_line, _, rest = data.partition(b"\r\n")
            headers = {l.split(b":")[0].strip().lower(): l.split(b":", 1)[1].strip()
                       for l in rest.split(b"\r\n\r\n")[0].split(b"\r\n") if b":" in l}
            got.append((status_line.split()[1], headers.get(b"transfer-encoding"),
                        rest.split(b"\r\n\r\n", 1)[1]))
        self.assertEqual(got[1], got[0])
        self.assertEqual(got[0][:2], (b"413", b"chunked"))


if __name__ == "__main__":
    unittest.main()
