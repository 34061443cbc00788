"""BatchExecuteStatement writes (INSERT, UPDATE, DELETE) on a table dynaseal encrypts: the same
requests sent straight to moto_server and through dynaseal in front of a second moto, their
Responses compared as boto3 gives them to the application; afterwards every item read through
dynaseal equals the one read straight from the first moto, and the second moto holds no
plaintext of an encrypted value.

moto 5.2 (on this machine) departs from DynamoDB's documentation in places; there the test
follows the documentation (API reference BatchExecuteStatement, BatchStatementResponse and
BatchStatementError; Developer Guide, PartiQL INSERT and UPDATE), does not send the statement to
moto and writes the documented response itself (DOCUMENTED below):

- an INSERT of a key that exists: moto overwrites the item and answers success; documented,
  the statement fails with DuplicateItem and the item stays as it was;
- an UPDATE of an item that does not exist: moto answers success and writes nothing;
  documented, UPDATE changes an existing item: ConditionalCheckFailed;
- a WHERE with a condition besides the key, numbers written in an UPDATE's SET, '?' parameters
  in INSERT and DELETE: moto answers HTTP 500; the reference gets the same statement with the
  values written in place (the documented meaning of a parameter) where moto reads that, else
  the documented outcome;
- more than 25 statements: moto carries them out; documented, at most 25 (ValidationException
  for the whole request);
- moto gives an error's TableName only for some errors; dynaseal gives the statement's table
  with every response of a statement it read (the documented TableName of a failed statement).
"""
import json
import unittest

import at_rest
import peers as h
from compare import Compared, outcome

T = "pqb_users"
ACTIONS = {"pk": "SIGN_ONLY", "sk": "SIGN_ONLY", "email": "ENCRYPT_AND_SIGN", "n": "SIGN_ONLY",
           "v": "DO_NOTHING"}
DUPLICATE_MESSAGE = "Duplicate primary key exists in table"


def item(i):
    return {"pk": {"S": "p%d" % i}, "sk": {"S": "s"}, "email": {"S": "u%d@seed.example" % i},
            "n": {"N": str(i)}, "v": {"N": "0"}}


def key(pk):
    return {"pk": {"S": pk}, "sk": {"S": "s"}}


def plain(v):
    return json.loads(json.dumps(v, sort_keys=True, default=str))


def documented(code, message, **extra):
    """A failed statement's response as the documentation gives it."""
    err = {"Code": code, "Message": message}
    err.update(extra)
    return {"TableName": T, "Error": err}


DUPLICATE = documented("DuplicateItem", DUPLICATE_MESSAGE)
CCF = documented("ConditionalCheckFailed", "The conditional request failed")


class PartiqlBatchTest(Compared):
    @classmethod
    def setUpClass(cls):
        cls.direct, cls.backing = h.start_moto(), h.start_moto()
        try:
            keyfile = h.random_key_file(cls.backing.workdir, "pqb.key")
            config = {"keyrings": {"local": {"type": "raw-aes", "key_file": keyfile}},
                      "tables": {T: {"keyring": "local", "partition_key": "pk", "sort_key": "sk",
                                     "attribute_actions": ACTIONS}}}
            cls.proxy = h.start_dynaseal(cls.backing.url, config=config)
        except Exception:
            cls.tearDownClass()
            raise

    def setUp(self):
        for server in (self.direct, self.backing):
            db = h.boto3_client(server)
            if T in db.list_tables()["TableNames"]:
                db.delete_table(TableName=T)
            h.create_table(db, T, keys=(("pk", "S", "HASH"), ("sk", "S", "RANGE")))
        self.app = h.boto3_client(self.proxy)
        self.ref = h.boto3_client(self.direct)
        self.raw = h.boto3_client(self.backing)
        self.secrets = []
        for i in range(8):
            self.ref.put_item(TableName=T, Item=item(i))
            self.app.put_item(TableName=T, Item=item(i))
            self.secrets.append(item(i)["email"])

    @staticmethod
    def batch(client, stmts, **kw):
        """The Responses of a BatchExecuteStatement, or its error (code, message)."""
        try:
            return client.batch_execute_statement(Statements=stmts, **kw)["Responses"]
        except client.exceptions.ClientError as e:
            return (e.response["Error"]["Code"], e.response["Error"]["Message"])

    def compare(self, cases):
        """cases: (statement for dynaseal, statement for moto or None, documented response or
        None).  One request through dynaseal, one to moto with the statements it is given; the
        Responses compared in order."""
        got = self.batch(self.app, [c[0] for c in cases])
        ref = self.batch(self.ref, [c[1] for c in cases if c[1] is not None])
        self.assertIsInstance(got, list, got)
        self.assertIsInstance(ref, list, ref)
        ref = iter(ref)
        want = [next(ref) if c[1] is not None else c[2] for c in cases]
        self.assertEqual(len(got), len(cases))
        for i, (g, w) in enumerate(zip(got, want)):
            self.assertEqual(plain(g), plain(w), "Statements[%d] %s" % (i, cases[i][0]["Statement"]))
        return got

    def assert_same_items(self, pks):
        for pk in pks:
            got = self.app.get_item(TableName=T, Key=key(pk), ConsistentRead=True).get("Item")
            want = self.ref.get_item(TableName=T, Key=key(pk), ConsistentRead=True).get("Item")
            self.assertEqual(plain(got), plain(want), pk)

    def assert_no_plaintext(self):
        raw = self.raw.scan(TableName=T)["Items"]
        at_rest.assert_no_plaintext(self, raw, self.secrets)
        for it in raw:
            if "email" in it:
                self.assertEqual(list(it["email"]), ["B"], it["pk"])

    def test_writes_each_on_its_own(self):
        """INSERT of a new and an existing key, UPDATE of an encrypted, a signed and an unsigned
        attribute, of a missing item, with a false condition on an encrypted attribute, DELETE;
        with '?' parameters; failing statements beside succeeding ones."""
        S = lambda s: {"S": s}  # noqa: E731
        N = lambda n: {"N": str(n)}  # noqa: E731
        old3 = self.ref.get_item(TableName=T, Key=key("p3"))["Item"]
        self.secrets += [S("new-9@secret.example"), S("moved-2@secret.example"), S("param-10@secret.example")]
        cases = [
            ({"Statement": "INSERT INTO \"%s\" VALUE {'pk': 'p9', 'sk': 's', 'email': "
                           "'new-9@secret.example', 'v': 'nine'}" % T},) * 2 + (None,),
            ({"Statement": "INSERT INTO \"%s\" VALUE {'pk': 'p1', 'sk': 's', 'email': 'dup@x.example'}" % T},
             None, DUPLICATE),
            ({"Statement": "UPDATE \"%s\" SET email = ? WHERE pk = ? AND sk = ?" % T,
              "Parameters": [S("moved-2@secret.example"), S("p2"), S("s")]},) * 2 + (None,),
            ({"Statement": "UPDATE \"%s\" SET n = ? WHERE pk = 'p4' AND sk = 's'" % T, "Parameters": [N(44)]},) * 2
            + (None,),
            ({"Statement": "UPDATE \"%s\" SET v = ? WHERE pk = 'p5' AND sk = 's'" % T, "Parameters": [N(55)]},) * 2
            + (None,),
            ({"Statement": "UPDATE \"%s\" SET v = ? WHERE pk = 'p99' AND sk = 's'" % T, "Parameters": [N(1)]},
             None, CCF),
            ({"Statement": "UPDATE \"%s\" SET n = 3 WHERE pk = 'p3' AND sk = 's' AND email = 'nobody@x'" % T,
              "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
             None, documented("ConditionalCheckFailed", "The conditional request failed", Item=old3)),
            ({"Statement": "DELETE FROM \"%s\" WHERE pk = 'p6' AND sk = 's'" % T},) * 2 + (None,),
            ({"Statement": "DELETE FROM \"%s\" WHERE pk = 'p98' AND sk = 's'" % T},) * 2 + (None,),
            ({"Statement": "INSERT INTO \"%s\" VALUE {'pk': ?, 'sk': ?, 'email': ?}" % T,
              "Parameters": [S("p10"), S("s"), S("param-10@secret.example")]},
             {"Statement": "INSERT INTO \"%s\" VALUE {'pk': 'p10', 'sk': 's', 'email': "
                           "'param-10@secret.example'}" % T}, None),
            ({"Statement": "DELETE FROM \"%s\" WHERE pk = ? AND sk = ?" % T, "Parameters": [S("p7"), S("s")]},
             {"Statement": "DELETE FROM \"%s\" WHERE pk = 'p7' AND sk = 's'" % T}, None),
        ]
        got = self.compare(cases)
        self.assertEqual(sum("Error" in r for r in got), 3)
        self.assert_same_items(["p%d" % i for i in range(11)] + ["p98", "p99"])
        self.assertEqual(self.app.get_item(TableName=T, Key=key("p2"))["Item"]["email"], S("moved-2@secret.example"))
        self.assertEqual(self.app.get_item(TableName=T, Key=key("p1"))["Item"]["email"], item(1)["email"])
        self.assertNotIn("Item", self.app.get_item(TableName=T, Key=key("p6")))
        self.assert_no_plaintext()

    def test_twenty_five_statements(self):
        stmts = [{"Statement": "INSERT INTO \"%s\" VALUE {'pk': 'b%d', 'sk': 's', 'email': "
                               "'batch-%d@secret.example'}" % (T, i, i)} for i in range(24)]
        stmts.append({"Statement": "INSERT INTO \"%s\" VALUE {'pk': 'p0', 'sk': 's'}" % T})
        self.secrets += [{"S": "batch-%d@secret.example" % i} for i in range(24)]
        got = self.compare([(s, s, None) for s in stmts[:24]] + [(stmts[24], None, DUPLICATE)])
        self.assertEqual(len(got), 25)
        self.assert_same_items(["b%d" % i for i in range(24)] + ["p0"])
        self.assert_no_plaintext()
        # 26: the whole request refused (moto would carry them out), nothing written.
        more = [{"Statement": "DELETE FROM \"%s\" WHERE pk = 'b%d' AND sk = 's'" % (T, i)} for i in range(26)]
        self.assertEqual(self.batch(self.app, more), (
            "ValidationException", "1 validation error detected: Value at 'statements' failed to satisfy "
            "constraint: Member must have length less than or equal to 25"))
        self.assert_same_items(["b0", "b23"])

    def test_refusals(self):
        """What dynaseal refuses: one statement as that statement's error, naming the table and
        its place; reads mixed with writes as the whole request (as documented)."""
        got = self.batch(self.app, [
            {"Statement": "DELETE FROM \"%s\" WHERE pk = 'p1' AND sk = 's' RETURNING ALL OLD *" % T},
            {"Statement": "UPDATE \"%s\" SET v = 1 WHERE pk = 'p1'" % T},
            {"Statement": "DELETE FROM \"%s\" WHERE pk = 'p2' AND sk = 's'" % T},
            {"Statement": "UPDATE \"%s\" SET v = 2 WHERE pk = 'p3' AND sk = 's' AND size(email) > 0" % T}])
        self.assertEqual(plain(got), plain([
            documented("ValidationError", 'table "%s": BatchExecuteStatement Statements[0]: dynaseal does not '
                       "carry out RETURNING in a batch; send the statement with ExecuteStatement" % T),
            documented("ValidationError", "Where clause does not contain a mandatory equality on all key "
                       "attributes"),
            {"TableName": T},
            {"TableName": T}]))
        self.assertIn("Item", self.app.get_item(TableName=T, Key=key("p1")))
        self.assertNotIn("Item", self.app.get_item(TableName=T, Key=key("p2")))
        self.assertEqual(self.app.get_item(TableName=T, Key=key("p3"))["Item"]["v"], {"N": "2"})
        mixed = self.batch(self.app, [
            {"Statement": "DELETE FROM \"%s\" WHERE pk = 'p4' AND sk = 's'" % T},
            {"Statement": "SELECT * FROM \"%s\" WHERE pk = 'p5' AND sk = 's'" % T}])
        self.assertEqual(mixed, ("ValidationException", 'table "%s": BatchExecuteStatement mixes SELECT with '
                                 "writes; a list reads only or writes only" % T))
        self.assertIn("Item", self.app.get_item(TableName=T, Key=key("p4")))
        self.assert_no_plaintext()


if __name__ == "__main__":
    unittest.main()
