"""Fail-closed regressions from a security review, each performed as the attack was, against
moto through dynaseal: a PartiQL statement list dynaseal did not read, members PartiQL does not
define, and a table name that forged a line of the access log (text and JSON formats)."""
import http.client
import json
import re
import unittest

import peers as h

VALIDATION = "com.amazon.coral.validate#ValidationException"


def post(port, target, body):
    """A request as raw bytes with an SDK-shaped signature (dynaseal without clients checks
    its form only); returns (status, json)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/", body=body if isinstance(body, bytes) else body.encode(), headers=dict(
        h.SDK_SIGNATURE, **{"X-Amz-Target": "DynamoDB_20120810." + target,
                            "Content-Type": "application/x-amz-json-1.0"}))
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, json.loads(data or b"{}")


class PartiQLTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            key = h.random_key_file(cls.moto.workdir)
            cls.proxy = h.start_dynaseal(cls.moto.url, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                "tables": {"users": {"keyring": "local", "partition_key": "pk",
                                     "attribute_actions": {"ssn": "ENCRYPT_AND_SIGN"}}}})
            cls.raw = h.boto3_client(cls.moto.url)
            for t in ("users", "plain"):
                h.create_table(cls.raw, t)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def assert_refused(self, target, body, *words):
        status, doc = post(self.proxy.port, target, json.dumps(body))
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["__type"], VALIDATION, doc)
        for w in words:
            self.assertIn(w, doc["message"], doc)

    def assert_not_stored(self, pk):
        self.assertNotIn("Item", self.raw.get_item(TableName="users", Key={"pk": {"S": pk}}))

    def test_every_statement_list_is_read(self):
        """An empty Statements beside TransactStatements once hid the INSERT: moto stored ssn
        in plaintext."""
        insert = "INSERT INTO users VALUE {'pk':'t2','ssn':'999-88-7777'}"
        self.assert_refused("ExecuteTransaction",
                            {"Statements": [], "TransactStatements": [{"Statement": insert}]},
                            'member "Statements"', "does not define")
        self.assert_not_stored("t2")
        self.assert_refused("BatchExecuteStatement",
                            {"Statements": [{"Statement": "SELECT * FROM plain"}, {"Statement": insert}]},
                            'table "users"')
        self.assert_refused("ExecuteStatement", {"Statement": insert.replace("users", '"Users"')},
                            'table "users"')
        self.assert_refused("ExecuteTransaction", {"TransactStatements": [
            {"Statement": "INSERT INTO plain VALUE {'pk':'t2'}"}, {"Statement": insert}]}, 'table "users"')
        self.assert_not_stored("t2")
        # Read and carried out, the INSERT stores the item encrypted.
        status, doc = post(self.proxy.port, "ExecuteTransaction",
                           json.dumps({"TransactStatements": [{"Statement": insert}]}))
        self.assertEqual(status, 200, doc)
        stored = self.raw.get_item(TableName="users", Key={"pk": {"S": "t2"}})["Item"]
        self.assertEqual(list(stored["ssn"]), ["B"])
        self.assertNotIn("999-88-7777", json.dumps(stored, default=str))

    def test_members_partiql_does_not_define(self):
        cases = [
            ("ExecuteStatement", {"Statement": "SELECT * FROM plain", "Statements": [
                {"Statement": "INSERT INTO users VALUE {'pk':'t3','ssn':'1'}"}]}, 'member "Statements"'),
            ("BatchExecuteStatement", {"Statements": [{"Statement": "SELECT * FROM plain",
                                                        "TransactStatements": []}]},
             'Statements[0] has the member "TransactStatements"'),
            ("ExecuteTransaction", {"TransactStatements": [{"Statement": "SELECT * FROM plain",
                                                            "ConsistentRead": True}]},
             'TransactStatements[0] has the member "ConsistentRead"'),
            ("ExecuteTransaction", {"TransactStatements": {"Statement": "SELECT * FROM plain"}},
             "TransactStatements must be a list"),
            ("BatchExecuteStatement", {"Statements": ["SELECT * FROM users"]},
             "Statements[0] must be an object"),
            ("ExecuteStatement", {"Statement": ["SELECT * FROM users"]}, "Statement must be a string"),
        ]
        for target, body, words in cases:
            with self.subTest(target=target, body=body):
                self.assert_refused(target, body, words)
        self.assert_not_stored("t3")

    def test_statements_on_other_tables_pass(self):
        """PartiQL on a table dynaseal does not encrypt reaches DynamoDB as it is."""
        app = h.boto3_client(self.proxy.url)
        app.execute_statement(Statement="INSERT INTO plain VALUE {'pk':'p1','v':'x'}")
        got = app.execute_statement(Statement="SELECT * FROM plain")   # moto fails on WHERE
        self.assertEqual(got["Items"][0]["v"], {"S": "x"})


class LogForgingTest(unittest.TestCase):
    """A table name with a newline, from an unauthenticated request, once wrote a line of its
    own into the text access log."""

    FORGED = "2030-01-01T00:00:00.000Z info  conn 9 1.2.3.4: op=DeleteTable table=users status=200"

    @classmethod
    def setUpClass(cls):
        cls.ddb = h.start_dynalite()

    @classmethod
    def tearDownClass(cls):
        cls.ddb.stop()

    def attack(self, fmt):
        proxy = h.start_dynaseal(self.ddb.url, config={"log": {"format": fmt}})
        try:
            # A raw newline inside the JSON string: ddb_peek_table takes it as it is.
            body = b'{"TableName":"x\n' + self.FORGED.encode() + b'"}'
            post(proxy.port, "DescribeTable", body)
            post(proxy.port, "DescribeTable", '{"TableName":"a b=c"}')
            status, _ = post(proxy.port, "ListTables", "{}")
            self.assertEqual(status, 200)
        finally:
            proxy.stop()
        return proxy.log_text()

    def test_text_log(self):
        log = self.attack("text")
        lines = log.splitlines()
        self.assertFalse([ln for ln in lines if ln.startswith(self.FORGED[:10])], log)
        access = [ln for ln in lines if "op=DescribeTable" in ln]
        self.assertEqual(len(access), 2, log)
        self.assertIn('table="x\\x0a2030-01-01', access[0])
        self.assertIn('table="a b=c"', access[1])
        for ln in lines:
            self.assertTrue(re.match(r"^\d{4}-\d\d-\d\dT", ln), ln)

    def test_json_log(self):
        log = self.attack("json")
        for ln in log.splitlines():
            if not ln.startswith("{"):
                continue      # a line from a sanitizer or valgrind, not dynaseal's logger
            doc = json.loads(ln)
            self.assertNotIn("\n", doc["msg"].split("table=", 1)[0])
        self.assertEqual(sum(1 for ln in log.splitlines() if "op=DescribeTable" in ln), 2, log)


if __name__ == "__main__":
    unittest.main()
