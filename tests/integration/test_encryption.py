"""Item encryption through dynaseal, with unmodified clients, against moto (which has
transactions): every operation round-trips; the stored items hold only ciphertext for
ENCRYPT_AND_SIGN attributes; every refusal names the attribute or parameter; tampered items
are refused; plaintext items follow plaintext_policy.

"No plaintext at rest" is checked by at_rest: every binary value of the raw items decoded and
searched as raw bytes for every leaf of the ENCRYPT_AND_SIGN values (strings, numbers,
binaries, nested): in the items each test checks, and after each test in
whatever it stored in any table."""
import json
import os
import re
import unittest
import zlib

import at_rest
import peers as h

ENCRYPTED = ("email", "ssn", "profile")
TABLES = ("users", "legacy", "signed", "plainpass")


def table_config(keyring="local", **extra):
    cfg = {"keyring": keyring, "partition_key": "pk", "sort_key": "sk",
           "attribute_actions": {"email": "ENCRYPT_AND_SIGN", "ssn": "ENCRYPT_AND_SIGN",
                                 "profile": "ENCRYPT_AND_SIGN", "name": "SIGN_ONLY",
                                 "visits": "DO_NOTHING"},
           "allowed_unsigned_attributes": ["last_seen"]}
    cfg.update(extra)
    return cfg


def full_item(pk, sk="1"):
    """An item with every attribute type, nested, unicode, in encrypted attributes."""
    return {
        "pk": {"S": pk}, "sk": {"N": sk},
        "email": {"S": "ada@example.com"},
        "ssn": {"S": "ssn-078-05-1120"},
        "name": {"S": "Ada"},
        "visits": {"N": "1"},
        "last_seen": {"N": "1700000000"},
        # Every leaf distinctive (at_rest searches for each one), numbers not normalised.
        "profile": {"M": {
            "motto": {"S": "søren ✓ 机密"}, "n": {"N": "-73910012.500"},
            "b": {"B": b"\x00\x01\xffPROFILE-BIN\xfe"},
            "t": {"BOOL": True}, "z": {"NULL": True}, "ss": {"SS": ["set-secret-b", "set-secret-a"]},
            "ns": {"NS": ["73910003", "7391.0000015"]}, "bs": {"BS": [b"\x02bin-set-2", b"\x01bin-set-1"]},
            "l": {"L": [{"S": "nested-secret-value"}, {"M": {"deep": {"L": [{"N": "-0.00073910"}]}}},
                        {"S": ""}]}}},
    }


# What full_item encrypts, the same for every key: the oracle's secrets.
SECRETS = {a: full_item("x")[a] for a in ENCRYPTED}


def canon(v):
    """A DynamoDB value with sets sorted and numbers normalised, for comparison."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k in ("SS", "BS"):
                out[k] = sorted(x)
            elif k == "NS":
                out[k] = sorted(float(n) for n in x)
            elif k == "N":
                out[k] = float(x)
            else:
                out[k] = canon(x)
        return out
    if isinstance(v, list):
        return [canon(x) for x in v]
    return v


class EncryptionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            cls.key = os.path.join(cls.moto.workdir, "local.key")
            with open(cls.key, "wb") as f:
                f.write(os.urandom(32))
            tables = {"users": table_config(), "legacy": table_config(plaintext_policy="allow-read"),
                      "signed": table_config(algorithm_suite="AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384")}
            cls.proxy = h.start_dynaseal(cls.moto.url, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": cls.key}},
                "tables": tables})
            raw = cls.raw = h.boto3_client(cls.moto.url)
            for t in ("users", "legacy", "signed", "plainpass"):
                raw.create_table(TableName=t, BillingMode="PAY_PER_REQUEST",
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
        self.app = h.boto3_client(self.proxy.url)
        self.before = self.backend()

    def tearDown(self):
        # Whatever this test stored, through dynaseal or around it, holds no secret in plaintext.
        after = self.backend()
        written = [it for k, it in after.items() if self.before.get(k) != it]
        if written:   # (a test that stored nothing leaked nothing)
            at_rest.assert_no_plaintext(self, written, SECRETS, "what %s stored" % self._testMethodName)

    def backend(self):
        """Every item of every table, read directly, by (table, pk, sk)."""
        return {(t, it["pk"]["S"], it["sk"]["N"]): it for t in TABLES
                for page in self.raw.get_paginator("scan").paginate(TableName=t) for it in page["Items"]}

    def raw_item(self, table, pk, sk="1"):
        return self.raw.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"N": sk}}).get("Item")

    def assert_ciphertext_only(self, stored):
        self.assertIn("aws_dbe_head", stored)
        self.assertIn("aws_dbe_foot", stored)
        for a in ("email", "ssn", "profile"):
            self.assertEqual(list(stored[a]), ["B"], a)
        at_rest.assert_no_plaintext(self, [stored], SECRETS)
        self.assertEqual(stored["name"], {"S": "Ada"})   # SIGN_ONLY stays readable

    def assert_no_secret_in(self, msg):
        """A refusal's message holds none of the secrets' bytes."""
        found = [n for _, forms in at_rest.needles(SECRETS) for n in forms if n in msg.encode()]
        self.assertEqual(found, [], msg)

    def assert_refused(self, fn, *needles):
        with self.assertRaises(self.app.exceptions.ClientError) as cm:
            fn()
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "ValidationException", err)
        for n in needles:
            self.assertIn(n, err["Message"])
        return err["Message"]

    def test_put_get_round_trip_every_type(self):
        item = full_item("rt")
        self.app.put_item(TableName="users", Item=item)
        got = self.app.get_item(TableName="users", Key={"pk": {"S": "rt"}, "sk": {"N": "1"}})["Item"]
        self.assertEqual(canon(got), canon(item))
        self.assert_ciphertext_only(self.raw_item("users", "rt"))
        # ReturnValues ALL_OLD on an overwrite and on a delete come back decrypted.
        old = self.app.put_item(TableName="users", Item=full_item("rt"), ReturnValues="ALL_OLD")["Attributes"]
        self.assertEqual(canon(old), canon(item))
        old = self.app.delete_item(TableName="users", Key={"pk": {"S": "rt"}, "sk": {"N": "1"}},
                                   ReturnValues="ALL_OLD")["Attributes"]
        self.assertEqual(old["ssn"], {"S": "ssn-078-05-1120"})

    def test_table_named_by_its_arn(self):
        """DynamoDB (and moto) take a table's ARN as TableName: it is the same configured
        table, encrypted on the way in and decrypted on the way out."""
        arn = self.raw.describe_table(TableName="users")["Table"]["TableArn"]
        item = full_item("by-arn")
        self.app.put_item(TableName=arn, Item=item)
        self.assert_ciphertext_only(self.raw_item("users", "by-arn"))
        got = self.app.get_item(TableName=arn, Key={"pk": {"S": "by-arn"}, "sk": {"N": "1"}})["Item"]
        self.assertEqual(canon(got), canon(item))
        got = self.app.batch_get_item(RequestItems={arn: {"Keys": [{"pk": {"S": "by-arn"}, "sk": {"N": "1"}}]}})
        self.assertEqual([canon(i) for i in next(iter(got["Responses"].values()))], [canon(item)])

    def test_aws_cli_round_trip(self):
        item = {"pk": {"S": "cli"}, "sk": {"N": "1"}, "email": {"S": "ada@example.com"}, "name": {"S": "Ada"}}
        rc, _, err = h.aws_cli(self.proxy.url, "put-item", "--table-name", "users", "--item", json.dumps(item))
        self.assertEqual(rc, 0, err)
        rc, out, err = h.aws_cli(self.proxy.url, "get-item", "--table-name", "users",
                                 "--key", json.dumps({"pk": {"S": "cli"}, "sk": {"N": "1"}}))
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["Item"], item)
        stored = self.raw_item("users", "cli")
        self.assertEqual(list(stored["email"]), ["B"])
        at_rest.assert_no_plaintext(self, [stored], {"email": item["email"]})

    def test_query_scan_batch_transactions(self):
        a = self.app
        a.batch_write_item(RequestItems={"users": [
            {"PutRequest": {"Item": full_item("q", str(i))}} for i in range(1, 6)]})
        q = a.query(TableName="users", KeyConditionExpression="pk = :p AND sk >= :s",
                    FilterExpression="#n = :n", ExpressionAttributeNames={"#n": "name"},
                    ExpressionAttributeValues={":p": {"S": "q"}, ":s": {"N": "2"}, ":n": {"S": "Ada"}})
        self.assertEqual(q["Count"], 4)
        for it in q["Items"]:
            self.assertEqual(it["ssn"], {"S": "ssn-078-05-1120"})
        # Pagination: two pages of two, then the rest.
        page = a.query(TableName="users", KeyConditionExpression="pk = :p", Limit=2,
                       ExpressionAttributeValues={":p": {"S": "q"}})
        self.assertEqual(len(page["Items"]), 2)
        page2 = a.query(TableName="users", KeyConditionExpression="pk = :p", Limit=10,
                        ExclusiveStartKey=page["LastEvaluatedKey"], ExpressionAttributeValues={":p": {"S": "q"}})
        self.assertEqual(len(page2["Items"]), 3)
        self.assertEqual(a.query(TableName="users", KeyConditionExpression="pk = :p", Select="COUNT",
                                 ExpressionAttributeValues={":p": {"S": "q"}})["Count"], 5)
        seen = []
        for seg in range(2):
            s = a.scan(TableName="users", Segment=seg, TotalSegments=2,
                       FilterExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "q"}})
            seen += [i["sk"]["N"] for i in s["Items"] if "email" in i and i["email"]["S"] == "ada@example.com"]
        self.assertEqual(sorted(seen), ["1", "2", "3", "4", "5"])
        bg = a.batch_get_item(RequestItems={"users": {
            "Keys": [{"pk": {"S": "q"}, "sk": {"N": "1"}}, {"pk": {"S": "q"}, "sk": {"N": "2"}}],
            "ProjectionExpression": "pk, sk, email"}})
        got = bg["Responses"]["users"]
        self.assertEqual(len(got), 2)
        for it in got:
            self.assertEqual(set(it), {"pk", "sk", "email"})
            self.assertEqual(it["email"], {"S": "ada@example.com"})
        a.transact_write_items(TransactItems=[
            {"Put": {"TableName": "users", "Item": full_item("tx")}},
            {"Update": {"TableName": "users", "Key": {"pk": {"S": "q"}, "sk": {"N": "1"}},
                        "UpdateExpression": "SET visits = visits + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"ConditionCheck": {"TableName": "users", "Key": {"pk": {"S": "q"}, "sk": {"N": "2"}},
                                "ConditionExpression": "attribute_exists(#n)",
                                "ExpressionAttributeNames": {"#n": "name"}}},
            {"Delete": {"TableName": "users", "Key": {"pk": {"S": "q"}, "sk": {"N": "5"}}}}])
        tg = a.transact_get_items(TransactItems=[
            {"Get": {"TableName": "users", "Key": {"pk": {"S": "tx"}, "sk": {"N": "1"}}}},
            {"Get": {"TableName": "users", "Key": {"pk": {"S": "q"}, "sk": {"N": "1"}},
                     "ProjectionExpression": "visits, ssn"}}])
        self.assertEqual(canon(tg["Responses"][0]["Item"]), canon(full_item("tx")))
        self.assertEqual(tg["Responses"][1]["Item"], {"visits": {"N": "2"}, "ssn": {"S": "ssn-078-05-1120"}})
        self.assert_ciphertext_only(self.raw_item("users", "tx"))

    def test_update_of_do_nothing_attribute(self):
        self.app.put_item(TableName="users", Item=full_item("up"))
        out = self.app.update_item(TableName="users", Key={"pk": {"S": "up"}, "sk": {"N": "1"}},
                                   UpdateExpression="SET visits = visits + :one, last_seen = :t",
                                   ExpressionAttributeValues={":one": {"N": "1"}, ":t": {"N": "5"}},
                                   ReturnValues="ALL_NEW")["Attributes"]
        self.assertEqual(out["visits"], {"N": "2"})
        self.assertEqual(out["email"], {"S": "ada@example.com"})
        # An update of a missing item creates it (an upsert), signed like any item written.
        made = self.app.update_item(TableName="users", Key={"pk": {"S": "absent"}, "sk": {"N": "1"}},
                                    UpdateExpression="SET visits = :one", ExpressionAttributeValues={":one": {"N": "1"}},
                                    ReturnValues="ALL_NEW")["Attributes"]
        self.assertEqual(made, {"pk": {"S": "absent"}, "sk": {"N": "1"}, "visits": {"N": "1"}})
        stored = self.raw_item("users", "absent")
        self.assertIn("aws_dbe_head", stored)
        self.assertIn("aws_dbe_foot", stored)
        self.assertEqual(self.app.get_item(TableName="users", Key={"pk": {"S": "absent"}, "sk": {"N": "1"}})["Item"], made)
        # A condition of the application's that is false still fails, the item shown when asked.
        with self.assertRaises(self.app.exceptions.ConditionalCheckFailedException) as cm:
            self.app.update_item(TableName="users", Key={"pk": {"S": "absent"}, "sk": {"N": "1"}},
                                 UpdateExpression="SET visits = :one", ConditionExpression="visits > :one",
                                 ExpressionAttributeValues={":one": {"N": "1"}},
                                 ReturnValuesOnConditionCheckFailure="ALL_OLD")
        self.assertEqual(cm.exception.response["Item"], made)
        self.assertEqual(cm.exception.response["Error"]["Message"], "The conditional request failed")

    def test_what_dynaseal_evaluates_is_refused_in_dynamodb_words(self):
        """Requests dynaseal carries out itself (updates of protected attributes, conditions and
        filters on encrypted ones) get DynamoDB's own refusals, word for word."""
        a = self.app
        key = {"pk": {"S": "dw"}, "sk": {"N": "1"}}
        a.put_item(TableName="users", Item=full_item("dw"))
        cases = [
            (lambda: a.update_item(TableName="users", Key=key, UpdateExpression="SET email = :e, pk = :e",
                                   ExpressionAttributeValues={":e": {"S": "x"}}),
             "One or more parameter values were invalid: Cannot update attribute pk. This attribute is "
             "part of the key"),
            (lambda: a.update_item(TableName="users", Key=key, UpdateExpression="SET email = :e",
                                   ExpressionAttributeValues={":e": {"S": "x"}, ":u": {"S": "y"}}),
             "Value provided in ExpressionAttributeValues unused in expressions: keys: {:u}"),
            (lambda: a.update_item(TableName="users", Key=key, UpdateExpression="SET email = :e",
                                   ExpressionAttributeNames={"#x": "ssn"},
                                   ExpressionAttributeValues={":e": {"S": "x"}}),
             "Value provided in ExpressionAttributeNames unused in expressions: keys: {#x}"),
            (lambda: a.update_item(TableName="users", Key=key, UpdateExpression="SET email = ssn2",
                                   ReturnValues="ALL_NEW"),
             "The provided expression refers to an attribute that does not exist in the item"),
            (lambda: a.put_item(TableName="users", Item=full_item("dw"), ConditionExpression="email = :e",
                                ExpressionAttributeValues={":e": {"S": "x"}}, ReturnValues="ALL_NEW"),
             "One or more parameter values were invalid: Return values set to invalid value"),
            (lambda: a.scan(TableName="users", FilterExpression="((email = :e))",
                            ExpressionAttributeValues={":e": {"S": "x"}}),
             "Invalid FilterExpression: The expression has redundant parentheses;"),
            (lambda: a.query(TableName="users", KeyConditionExpression="pk = :p", FilterExpression="email = :e",
                             ExpressionAttributeValues={":p": {"S": "dw"}, ":e": {"S": "x"}, ":z": {"S": "z"}}),
             "Value provided in ExpressionAttributeValues unused in expressions: keys: {:z}"),
        ]
        for call, message in cases:
            with self.subTest(message=message):
                with self.assertRaises(a.exceptions.ClientError) as cm:
                    call()
                err = cm.exception.response["Error"]
                self.assertEqual(err["Code"], "ValidationException")
                self.assertEqual(err["Message"], message)
        # None of them wrote anything.
        self.assertEqual(canon(a.get_item(TableName="users", Key=key)["Item"]), canon(full_item("dw")))

    def test_nested_projection_of_protected_attributes(self):
        """A part of an encrypted or signed map or list: dynaseal fetches and verifies the whole
        attribute and answers the part, as DynamoDB answers it for a plain table.  (Two
        elements of one list are left to the unit test of ddb_eval: moto answers only one of
        them, and drops an element that is an empty string.)"""
        key = {"pk": {"S": "np"}, "sk": {"N": "1"}}
        self.app.put_item(TableName="users", Item=full_item("np"))
        self.raw.put_item(TableName="plainpass", Item=full_item("np"))
        for proj in ("profile.motto", "profile.l[1]", "profile.l[0], profile.n", "profile.l[1], profile.ss",
                     "profile.ss, #n", "profile.l[1].deep[0]", "profile.nothere", "email, profile.b",
                     "profile.l[1].deep, visits, profile.t"):
            with self.subTest(projection=proj):
                args = {"Key": key, "ProjectionExpression": proj}
                if "#n" in proj:
                    args["ExpressionAttributeNames"] = {"#n": "name"}
                got = self.app.get_item(TableName="users", **args).get("Item")
                want = self.raw.get_item(TableName="plainpass", **args).get("Item")
                self.assertEqual(canon(got), canon(want))
                q = dict(args)
                del q["Key"]
                got = self.app.query(TableName="users", KeyConditionExpression="pk = :p",
                                     ExpressionAttributeValues={":p": {"S": "np"}}, **q)["Items"]
                want = self.raw.query(TableName="plainpass", KeyConditionExpression="pk = :p",
                                      ExpressionAttributeValues={":p": {"S": "np"}}, **q)["Items"]
                self.assertEqual(canon(got), canon(want))
        self.raw.delete_item(TableName="plainpass", Key=key)   # its plaintext twin goes

    def test_projection_is_trimmed(self):
        self.app.put_item(TableName="users", Item=full_item("pr"))
        got = self.app.get_item(TableName="users", Key={"pk": {"S": "pr"}, "sk": {"N": "1"}},
                                ProjectionExpression="#e, visits", ExpressionAttributeNames={"#e": "email"})["Item"]
        self.assertEqual(got, {"email": {"S": "ada@example.com"}, "visits": {"N": "1"}})

    def test_refusals_name_the_attribute(self):
        a = self.app
        a.put_item(TableName="users", Item=full_item("rf"))
        self.assert_refused(lambda: a.query(TableName="users", KeyConditionExpression="pk = :p AND #s = :s",
                                            ExpressionAttributeNames={"#s": "ssn"},
                                            ExpressionAttributeValues={":p": {"S": "rf"}, ":s": {"S": "1"}}),
                            "KeyConditionExpression", '"ssn"')
        # Transactions on signed and encrypted attributes are carried out (test_tx_conflict.py,
        # test_catalogue.py, test_model.py), PartiQL's ExecuteStatement too (test_partiql.py).
        # The legacy parameters are written as expressions (test_legacy_api.py): mixing the
        # two styles stays refused, as DynamoDB refuses it.
        self.assert_refused(lambda: a.put_item(TableName="users", Item=full_item("rf"),
                                               Expected={"pk": {"Exists": False}},
                                               ConditionExpression="attribute_not_exists(pk)"),
                            "Can not use both expression and non-expression parameters",
                            "Non-expression parameters: {Expected}")
        self.assert_refused(lambda: a.batch_execute_statement(Statements=[
            {"Statement": "SELECT * FROM users WHERE pk = 'x'"}]), "mandatory equality on all key attributes")
        # A statement naming the table in another letter case is refused, not trusted to name
        # another table.
        self.assert_refused(lambda: a.execute_statement(
            Statement="INSERT INTO USERS VALUE {'pk': 'rf', 'sk': 1, 'ssn': 'ssn-078-05-1120'}"),
            '"users"', 'names it "USERS"')
        bad = full_item("rf")
        bad["aws_dbe_extra"] = {"S": "x"}
        self.assert_refused(lambda: a.put_item(TableName="users", Item=bad),
                            'attribute "aws_dbe_extra" uses the reserved prefix "aws_dbe_"')
        bad = full_item("rf")
        bad["unlisted"] = {"S": "x"}
        self.assert_refused(lambda: a.put_item(TableName="users", Item=bad), "unlisted")
        bad = full_item("rf")
        bad["email"] = {"S": "ada@example.com"}
        # A condition on an encrypted attribute in a transaction is evaluated by dynaseal: false
        # here, so nothing is written.
        with self.assertRaises(a.exceptions.TransactionCanceledException):
            a.transact_write_items(TransactItems=[
                {"Put": {"TableName": "users", "Item": bad, "ConditionExpression": "attribute_not_exists(ssn)"}}])
        # Nothing refused reached the table: the stored item is the first one, unchanged.
        self.assert_ciphertext_only(self.raw_item("users", "rf"))
        # PartiQL on a table dynaseal does not encrypt passes through.
        a.execute_statement(Statement="INSERT INTO plainpass VALUE {'pk': 'p', 'sk': 1}")

    def test_more_refusals_each_named(self):
        a = self.app
        a.put_item(TableName="users", Item=full_item("rf2"))
        self.assert_refused(lambda: a.query(TableName="users", KeyConditionExpression="pk = :p AND #e = :e",
                                            ExpressionAttributeNames={"#e": "email"},
                                            ExpressionAttributeValues={":p": {"S": "rf2"}, ":e": {"S": "x"}}),
                            "KeyConditionExpression", '"email"')
        legacy = [
            ("QueryFilter", lambda: a.query(TableName="users", KeyConditionExpression="pk = :p",
                                            ExpressionAttributeValues={":p": {"S": "rf2"}},
                                            QueryFilter={"visits": {"AttributeValueList": [{"N": "1"}],
                                                                    "ComparisonOperator": "EQ"}})),
            ("ConditionalOperator", lambda: a.scan(TableName="users", ConditionalOperator="AND")),
        ]
        for name, call in legacy:
            with self.subTest(param=name):
                self.assert_refused(call, name)
        self.assert_refused(lambda: a.batch_write_item(RequestItems={"users": [
            {"PutRequest": {"Item": dict(full_item("rf3"), aws_dbe_head={"B": b"x"})}}]}),
            'attribute "aws_dbe_head" uses the reserved prefix "aws_dbe_"')
        # An expression that names a reserved attribute: refused as well, for that reason.
        self.assert_refused(lambda: a.put_item(TableName="users", Item=full_item("rf3"),
                                               ConditionExpression="attribute_not_exists(aws_dbe_foot)"),
                            'ConditionExpression references "aws_dbe_foot"',
                            "attributes starting with aws_dbe_ are reserved for the encryption format")
        self.assert_refused(lambda: a.batch_execute_statement(Statements=[
            {"Statement": "UPDATE users SET visits = 2 WHERE pk = 'rf2' AND sk = 1"},
            {"Statement": "SELECT * FROM users WHERE pk = 'rf2' AND sk = 1"}]),
            '"users"', "mixes SELECT with writes")
        self.assertIsNone(self.raw_item("users", "rf3"))
        self.assert_ciphertext_only(self.raw_item("users", "rf2"))

    @h.proxy_only
    def test_ambiguous_json_is_refused(self):
        """Bodies that JSON parsers read differently (a key twice, a byte that is not UTF-8)
        are refused: dynaseal must not check one request and have DynamoDB act on another.  An
        escaped NUL is no such body: it is carried as DynamoDB carries it."""
        import http.client
        cases = [
            (b'{"TableName":"plainpass","TableName":"users","Item":{"pk":{"S":"dup1"},"sk":{"N":"1"},'
             b'"ssn":{"S":"PLAIN-DUP-1"}}}', "ValidationException", 'repeats the JSON key "TableName"'),
            (b'{"TableName":"users","Item":{"pk":{"S":"dup2"},"sk":{"N":"1"},"ssn":{"S":"x"},'
             b'"ssn":{"S":"PLAIN-DUP-2"}}}', "ValidationException", 'repeats the JSON key "ssn"'),
            (b'{"TableName":"users","Item":{"pk":{"S":"dup3"},"sk":{"N":"1"},'
             b'"ssn":{"S":"PLAIN\xff-DUP-3"}}}', "SerializationException", "which is not UTF-8"),
        ]
        for body, kind, needle in cases:
            conn = http.client.HTTPConnection("127.0.0.1", self.proxy.port, timeout=10)
            conn.request("POST", "/", body=body, headers=dict(h.SDK_SIGNATURE, **{
                "X-Amz-Target": "DynamoDB_20120810.PutItem",
                "Content-Type": "application/x-amz-json-1.0"}))
            r = conn.getresponse()
            doc = json.loads(r.read())
            conn.close()
            self.assertEqual(r.status, 400, doc)
            self.assertTrue(doc["__type"].endswith("#" + kind), doc)
            self.assertIn(needle, doc.get("message", doc.get("Message")))
        for table in ("users", "plainpass"):
            for pk in ("dup1", "dup2", "dup3"):
                self.assertIsNone(self.raw_item(table, pk), (table, pk))
        a = self.app
        item = {"pk": {"S": "nul\u0000"}, "sk": {"N": "1"}, "ssn": {"S": "PLAIN\u0000-NUL-4"}}
        a.put_item(TableName="users", Item=item)
        self.assertEqual(a.get_item(TableName="users", Key={"pk": item["pk"], "sk": item["sk"]})["Item"], item)
        stored = self.raw_item("users", "nul\u0000")
        self.assertEqual(list(stored["ssn"]), ["B"])
        at_rest.assert_no_plaintext(self, [stored], {"ssn": item["ssn"]})

    def test_condition_failure_items_are_decrypted(self):
        """ReturnValuesOnConditionCheckFailure=ALL_OLD: DynamoDB returns the item as it stands in
        the error (PutItem: `Item`; TransactWriteItems: `CancellationReasons[i].Item`).  moto
        (5.x) does both: asked directly it returns the stored ciphertext (checked first, so this
        test fails, rather than skips, if a backend stops returning the item); through dynaseal
        the same item comes back whole and decrypted."""
        a = self.app
        a.put_item(TableName="users", Item=full_item("cc"))
        want = canon(full_item("cc"))

        def put(client):
            client.put_item(TableName="users", Item=full_item("cc"), ConditionExpression="attribute_not_exists(pk)",
                            ReturnValuesOnConditionCheckFailure="ALL_OLD")

        def transact(client):
            client.transact_write_items(TransactItems=[{"Put": {
                "TableName": "users", "Item": full_item("cc"), "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}])

        stored = self.raw_item("users", "cc")
        with self.assertRaises(self.raw.exceptions.ConditionalCheckFailedException) as cm:
            put(self.raw)
        self.assertEqual(cm.exception.response["Item"], stored)      # the backend's own answer
        with self.assertRaises(self.raw.exceptions.TransactionCanceledException) as cm:
            transact(self.raw)
        self.assertEqual(cm.exception.response["CancellationReasons"][0]["Item"], stored)

        with self.assertRaises(a.exceptions.ConditionalCheckFailedException) as cm:
            put(a)
        self.assertEqual(canon(cm.exception.response["Item"]), want)
        with self.assertRaises(a.exceptions.TransactionCanceledException) as cm:
            transact(a)
        reasons = cm.exception.response["CancellationReasons"]
        self.assertEqual(len(reasons), 1)
        self.assertEqual(reasons[0]["Code"], "ConditionalCheckFailed")
        self.assertEqual(canon(reasons[0]["Item"]), want)

    def test_ecdsa_suite_round_trip(self):
        self.app.put_item(TableName="signed", Item=full_item("ec"))
        got = self.app.get_item(TableName="signed", Key={"pk": {"S": "ec"}, "sk": {"N": "1"}})["Item"]
        self.assertEqual(canon(got), canon(full_item("ec")))
        stored = self.raw_item("signed", "ec")
        self.assert_ciphertext_only(stored)
        # The footer carries the DER ECDSA P-384 signature after the recipient tag.
        self.assertGreater(len(stored["aws_dbe_foot"]["B"]), 48 + 90)

    def test_tampered_items_are_refused(self):
        a = self.app
        for pk in ("t1", "t2"):
            a.put_item(TableName="users", Item=full_item(pk))
        one, two = self.raw_item("users", "t1"), self.raw_item("users", "t2")
        key1 = {"pk": {"S": "t1"}, "sk": {"N": "1"}}

        def stored(item):
            self.raw.put_item(TableName="users", Item=item)

        # Each tampered item, and the reason its refusal must give (crypto/item/item_crypt.c).
        no_tag = 'attribute "aws_dbe_foot" failed verification (no recipient tag matches'
        cases = []
        flipped = dict(one)
        b = bytearray(one["ssn"]["B"])
        b[-1] ^= 1
        flipped["ssn"] = {"B": bytes(b)}
        cases.append(("flipped", flipped, no_tag))
        swapped = dict(one)
        swapped["ssn"], swapped["email"] = one["email"], one["ssn"]
        cases.append(("swapped", swapped, no_tag))
        moved = dict(one)
        moved["ssn"] = two["ssn"]
        cases.append(("moved", moved, no_tag))
        signed = dict(one)
        signed["name"] = {"S": "Eve"}
        cases.append(("signed", signed, no_tag))
        headless = dict(one)
        del headless["aws_dbe_head"]
        cases.append(("headless", headless, "the item has no aws_dbe_head attribute: it is not encrypted, "
                                            "or its header was removed"))
        footless = dict(one)
        del footless["aws_dbe_foot"]
        cases.append(("footless", footless, "the item has no aws_dbe_foot attribute: its signature was removed"))
        refused = 0
        for name, c, reason in cases:
            with self.subTest(case=name):
                stored(c)
                msg = self.assert_refused(lambda: a.get_item(TableName="users", Key=key1), 'table "users"', reason)
                self.assert_no_secret_in(msg)
                refused += 1
        self.assertEqual(refused, len(cases))
        # A changed allowed-unsigned attribute is fine.
        ok = dict(one)
        ok["last_seen"] = {"N": "42"}
        stored(ok)
        self.assertEqual(a.get_item(TableName="users", Key=key1)["Item"]["last_seen"], {"N": "42"})

    def test_metrics_count_items_and_refusals(self):
        def counters():
            text = h.metrics(self.proxy)
            return {n: float(v) for n, v in re.findall(
                r"^(dynaseal_(?:items_encrypted|items_decrypted|item_failures|refused)_total) (\S+)$", text, re.M)}
        before = counters()
        self.app.batch_write_item(RequestItems={"users": [
            {"PutRequest": {"Item": full_item("m", str(i))}} for i in range(1, 4)]})
        self.app.query(TableName="users", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "m"}})
        with self.assertRaises(self.app.exceptions.ClientError):
            self.app.query(TableName="users", KeyConditionExpression="pk = :p AND ssn = :s",
                           ExpressionAttributeValues={":p": {"S": "m"}, ":s": {"S": "x"}})
        after = counters()
        self.assertEqual(after["dynaseal_items_encrypted_total"] - before["dynaseal_items_encrypted_total"], 3)
        self.assertEqual(after["dynaseal_items_decrypted_total"] - before["dynaseal_items_decrypted_total"], 3)
        self.assertEqual(after["dynaseal_refused_total"] - before["dynaseal_refused_total"], 1)

    def raw_call(self, target, body):
        """A request the SDKs would not send (they drop unknown parameters): raw HTTP."""
        from test_wire import assert_own_error, ddb_request, exchange
        status, headers, resp = exchange(self.proxy.port, ddb_request(target, json.dumps(body)))
        return assert_own_error(self, status, headers, resp, 400, "ValidationException")

    def test_unknown_parameters_and_encrypted_keys_refused(self):
        key = {"pk": {"S": "unk"}, "sk": {"N": "1"}}
        item = dict(key, ssn={"S": "ssn-078-05-1120"}, email={"S": "ada@example.com"}, name={"S": "Ada"})
        # A parameter DynamoDB does not define for the operation would carry its contents to
        # AWS unexamined (an Item sent with UpdateItem, in plaintext): refused, named.
        update = {"TableName": "users", "Key": key, "UpdateExpression": "SET visits = :v",
                  "ExpressionAttributeValues": {":v": {"N": "1"}}}
        msg = self.raw_call("UpdateItem", dict(update, Item=item))
        self.assertIn('UpdateItem has the parameter "Item"', msg)
        self.assertIn('table "users"', msg)
        msg = self.raw_call("PutItem", {"TableName": "users", "Item": item, "Extra": {"ssn": "x"}})
        self.assertIn('PutItem has the parameter "Extra"', msg)
        msg = self.raw_call("TransactWriteItems", {"TransactItems": [
            {"Put": {"TableName": "users", "Item": item}, "Shadow": {"Item": item}}]})
        self.assertIn('TransactItems[0] has the parameter "Shadow"', msg)
        msg = self.raw_call("BatchWriteItem", {"RequestItems": {"users": [
            {"PutRequest": {"Item": item, "Copy": item}}]}})
        self.assertIn('RequestItems PutRequest has the parameter "Copy"', msg)
        # RequestItems as a list (its entries have no table name): refused, and the proxy,
        # which once read a NULL name there, still serves.
        # DynamoDB's deserializer refuses it first, in its own words.
        from test_wire import ddb_request, exchange
        for op in ("BatchWriteItem", "BatchGetItem"):
            status, headers, resp = exchange(self.proxy.port, ddb_request(
                op, json.dumps({"RequestItems": [{"PutRequest": {"Item": item}}]})))
            self.assertEqual((status, json.loads(resp)), (400, {
                "__type": "com.amazon.coral.service#SerializationException",
                "Message": "Unrecognized collection type java.util.Map<java.lang.String, %s>" % (
                    "com.amazonaws.dynamodb.v20120810.KeysAndAttributes" if op == "BatchGetItem" else
                    "java.util.List<com.amazonaws.dynamodb.v20120810.WriteRequest>")}))
            self.assertEqual(int(headers["x-amz-crc32"]), zlib.crc32(resp))
        # Parts of the wrong shape that would carry an item along unexamined: refused too.
        msg = self.raw_call("BatchGetItem", {"RequestItems": {"users": [{"PutRequest": {"Item": item}}]}})
        self.assertIn("BatchGetItem RequestItems must be a map of parameters", msg)
        msg = self.raw_call("BatchWriteItem", {"RequestItems": {"users": {"PutRequest": {"Item": item}}}})
        self.assertIn("must map it to a list of write requests", msg)
        msg = self.raw_call("TransactWriteItems", {"TransactItems": {"a": {"Put": {"TableName": "users", "Item": item}}}})
        self.assertIn("TransactWriteItems: TransactItems must be a list", msg)
        self.assertIsNone(self.app.get_item(TableName="users", Key=key).get("Item"))
        # A key never holds an encrypted attribute: refused instead of sent in plaintext, in
        # the words DynamoDB has for such a key.
        self.assert_refused(lambda: self.app.get_item(TableName="users", Key=dict(key, ssn={"S": "ssn-078-05-1120"})),
                            "The provided key element does not match the schema")
        self.assert_refused(lambda: self.app.batch_write_item(RequestItems={"users": [
            {"DeleteRequest": {"Key": dict(key, email={"S": "ada@example.com"})}}]}),
            "The provided key element does not match the schema")
        self.assert_refused(lambda: self.app.query(TableName="users", KeyConditionExpression="pk = :p",
                                                   ExpressionAttributeValues={":p": {"S": "unk"}},
                                                   ExclusiveStartKey=dict(key, ssn={"S": "ssn-078-05-1120"})),
                            "The provided starting key is invalid: The provided key element does not match the schema")
        for call in (lambda: self.app.get_item(TableName="users", Key=dict(key, ssn={"S": "x"})),
                     lambda: self.app.get_item(TableName="plainpass", Key=dict(key, ssn={"S": "x"}))):
            with self.assertRaises(Exception) as cm:
                call()
            self.assertEqual(cm.exception.response["Error"]["Message"],
                             "The provided key element does not match the schema")
        # An item without its key: DynamoDB's words, per operation (for BatchWriteItem as
        # dynalite, which follows DynamoDB, words it; moto says "Missing the key" there too, so
        # its pass-through table is not compared).
        no_key = {"pk": {"S": "nokey"}, "email": {"S": "x@example.com"}}
        for call, words, tables in (
                (lambda t: self.app.put_item(TableName=t, Item=no_key),
                 "One or more parameter values were invalid: Missing the key sk in the item",
                 ("users", "plainpass")),
                (lambda t: self.app.batch_write_item(RequestItems={t: [{"PutRequest": {"Item": no_key}}]}),
                 "The provided key element does not match the schema", ("users",))):
            for table in tables:
                with self.assertRaises(Exception) as cm:
                    call(table)
                self.assertEqual(cm.exception.response["Error"]["Message"], words, table)
        # A key of the wrong shape is refused whole (and no partly built state is kept).
        msg = self.raw_call("PutItem", {"TableName": "users", "Item": dict(item, sk={"K": "1"})})
        self.assertIn('table "users"', msg)
        # Nothing of it reached the table.
        self.assertIsNone(self.raw_item("users", "unk"))
        # The same update without the stray parameter is accepted (and creates the item).
        self.app.update_item(**update)
        self.assertIn("aws_dbe_foot", self.raw_item("users", key["pk"]["S"], key["sk"]["N"]))
        # The same parameters on a table dynaseal does not encrypt pass through to DynamoDB.
        self.assertEqual(self.app.get_item(TableName="plainpass", Key=key).get("Item"), None)

    def test_plaintext_policy(self):
        plain = {"pk": {"S": "pl"}, "sk": {"N": "1"}, "email": {"S": "old@example.com"}}
        self.raw.put_item(TableName="users", Item=plain)
        self.raw.put_item(TableName="legacy", Item=plain)
        key = {"pk": {"S": "pl"}, "sk": {"N": "1"}}
        self.assert_refused(lambda: self.app.get_item(TableName="users", Key=key),
                            'table "users": an item has no aws_dbe_head, so it was not written through dynaseal',
                            'set plaintext_policy to "allow-read"')
        self.assertEqual(self.app.get_item(TableName="legacy", Key=key)["Item"], plain)


if __name__ == "__main__":
    unittest.main()
