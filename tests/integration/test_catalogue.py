"""A catalogue of what everyday applications do, run twice and compared as the application
sees it: straight against one moto, and through dynaseal against a second moto whose table
dynaseal encrypts (email, ssn, address encrypted; name, status, age, version signed; visits
unsigned).  Four unmodified clients: boto3's client and resource, the AWS CLI, and the AWS SDK
for JavaScript v3's DocumentClient (tests/node/catalogue.mjs).  Every step must observe the
same thing (the answer without request metadata, or the error's code and message), and a raw
scan of the second moto must hold no plaintext of an encrypted attribute.

PartiQL steps are the statements moto itself runs (test_partiql.py compares the rest with
their classic equivalents, moto answering most statements with a 500).  Where moto departs from DynamoDB's documented
behaviour, the step names the departure and
dynaseal's observation is checked against the documentation instead of moto's:
  - MOTO_COUNT_ITEMS: Select COUNT answers Items too (DynamoDB: Count and ScannedCount only).
  - MOTO_ATTRIBUTES_TO_GET: a Scan with ScanFilter ignores AttributesToGet.
  - MOTO_TRANSACT_PROJECTION: TransactGetItems ignores a Get's ProjectionExpression.
  - MOTO_STATIC_TYPE: "SET age = email + :one" with a string email is refused by moto as if
    the operand were a literal ("Incorrect operand type ... operand type: S"); DynamoDB finds it
    when it reads the item: "An operand in the update expression has an incorrect data type".
  - MOTO_INSERT_OVERWRITES: a PartiQL INSERT of a key that is there replaces the item; DynamoDB
    answers DuplicateItemException ("PartiQL insert statements for DynamoDB").
  - MOTO_SIZE_MISSING: size() of an attribute an item lacks makes moto refuse the whole scan;
    for DynamoDB the comparison is false for that item.
"""
import json
import os
import subprocess
import unittest

import peers as h
from compare import Compared, outcome

TABLE = "profiles"
ACTIONS = {"pk": "SIGN_ONLY", "email": "ENCRYPT_AND_SIGN", "ssn": "ENCRYPT_AND_SIGN",
           "address": "ENCRYPT_AND_SIGN", "name": "SIGN_ONLY", "status": "SIGN_ONLY",
           "age": "SIGN_ONLY", "version": "SIGN_ONLY", "visits": "DO_NOTHING", "tags": "SIGN_ONLY"}
SECRETS = ["ada@example.com", "078-05-1120", "Baker Street", "bob@example.com", "cy@example.com",
           "ada@new.example", "999-00-1111"]


def person(pk, email, ssn, name, status, age, city, street):
    return {"pk": {"S": pk}, "email": {"S": email}, "ssn": {"S": ssn}, "name": {"S": name},
            "status": {"S": status}, "age": {"N": str(age)}, "version": {"N": "1"},
            "visits": {"N": "0"}, "address": {"M": {"city": {"S": city}, "street": {"S": street}}},
            "tags": {"SS": ["x", "y"]}}


PEOPLE = [person("u1", "ada@example.com", "078-05-1120", "Ada", "active", 36, "London", "Baker Street"),
          person("u2", "bob@example.com", "999-00-1111", "Bob", "active", 41, "Paris", "Rue Cler"),
          person("u3", "cy@example.com", "123-45-6789", "Cy", "away", 29, "Rome", "Via Appia"),
          person("u4", "di@example.com", "222-33-4444", "Di", "active", 52, "Oslo", "Karl Johans")]


def unordered_sets(v):
    """Sets in a canonical order: DynamoDB promises none for a set's elements."""
    if isinstance(v, dict):
        return {k: (sorted(x, key=str) if k in ("SS", "NS", "BS") and isinstance(x, list) else unordered_sets(x))
                for k, x in v.items()}
    if isinstance(v, list):
        return [unordered_sets(x) for x in v]
    return v


def observe(fn):
    """What the application sees: the answer without metadata, or the error's code and message."""
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - a refusal is an observation
        err = getattr(e, "response", {}).get("Error")
        if err is None:
            raise
        out = {"error": err.get("Code"), "message": err.get("Message")}
        if "Item" in getattr(e, "response", {}):
            out["Item"] = e.response["Item"]
        if "CancellationReasons" in getattr(e, "response", {}):
            out["CancellationReasons"] = e.response["CancellationReasons"]
        return unordered_sets(json.loads(json.dumps(out, default=str)))
    if isinstance(r, dict):
        r = {k: v for k, v in r.items() if k not in ("ResponseMetadata", "ConsumedCapacity")}
        for k in ("Items",):
            if k in r:
                r[k] = sorted(r[k], key=lambda i: json.dumps(i.get("pk"), sort_keys=True, default=str))
        if "Responses" in r and isinstance(r["Responses"], dict):
            r["Responses"] = {t: sorted(v, key=lambda i: json.dumps(i.get("pk"), sort_keys=True, default=str))
                              for t, v in r["Responses"].items()}
    return unordered_sets(json.loads(json.dumps(r, sort_keys=True,
                                                default=lambda v: sorted(v) if isinstance(v, set) else str(v))))


def client_steps(c):
    """The boto3 client catalogue; each step is (name, callable)."""
    T = TABLE
    k = lambda pk: {"pk": {"S": pk}}  # noqa: E731
    s = []
    for p in PEOPLE:
        s.append(("put " + p["pk"]["S"], lambda p=p: c.put_item(TableName=T, Item=p)))
    s += [
        ("get", lambda: c.get_item(TableName=T, Key=k("u1"))),
        ("get consistent projection", lambda: c.get_item(TableName=T, Key=k("u1"), ConsistentRead=True,
                                                          ProjectionExpression="email, #n, age",
                                                          ExpressionAttributeNames={"#n": "name"})),
        ("get nested projection", lambda: c.get_item(TableName=T, Key=k("u1"),
                                                     ProjectionExpression="address.city, tags")),
        ("get missing", lambda: c.get_item(TableName=T, Key=k("nobody"))),
        ("update encrypted ALL_NEW", lambda: c.update_item(
            TableName=T, Key=k("u1"), UpdateExpression="SET email = :e", ReturnValues="ALL_NEW",
            ExpressionAttributeValues={":e": {"S": "ada@new.example"}})),
        ("update signed arithmetic UPDATED_NEW", lambda: c.update_item(
            TableName=T, Key=k("u1"), UpdateExpression="SET age = age + :one", ReturnValues="UPDATED_NEW",
            ExpressionAttributeValues={":one": {"N": "1"}})),
        ("update unsigned ADD UPDATED_OLD", lambda: c.update_item(
            TableName=T, Key=k("u2"), UpdateExpression="ADD visits :one", ReturnValues="UPDATED_OLD",
            ExpressionAttributeValues={":one": {"N": "1"}})),
        ("update nested encrypted", lambda: c.update_item(
            TableName=T, Key=k("u2"), UpdateExpression="SET address.city = :c REMOVE ssn",
            ReturnValues="ALL_OLD", ExpressionAttributeValues={":c": {"S": "Lyon"}})),
        ("update set DELETE, list append", lambda: c.update_item(
            TableName=T, Key=k("u3"), UpdateExpression="DELETE tags :x SET history = list_append(if_not_exists(history, :e), :h)",
            ReturnValues="UPDATED_NEW", ExpressionAttributeValues={":x": {"SS": ["x"]}, ":e": {"L": []},
                                                                   ":h": {"L": [{"S": "moved"}]}})),
        ("upsert through update", lambda: c.update_item(
            TableName=T, Key=k("u9"), UpdateExpression="SET email = :e, #s = :s",
            ExpressionAttributeNames={"#s": "status"}, ReturnValues="ALL_NEW",
            ExpressionAttributeValues={":e": {"S": "new@example.com"}, ":s": {"S": "new"}})),
        ("upsert of unsigned only", lambda: c.update_item(
            TableName=T, Key=k("u8"), UpdateExpression="ADD visits :one", ReturnValues="ALL_NEW",
            ExpressionAttributeValues={":one": {"N": "1"}})),
        ("optimistic lock, expression, ok", lambda: c.update_item(
            TableName=T, Key=k("u4"), UpdateExpression="SET ssn = :s, version = version + :one",
            ConditionExpression="version = :v", ReturnValues="ALL_NEW",
            ExpressionAttributeValues={":s": {"S": "555-55-5555"}, ":one": {"N": "1"}, ":v": {"N": "1"}})),
        ("optimistic lock, expression, stale", lambda: c.update_item(
            TableName=T, Key=k("u4"), UpdateExpression="SET ssn = :s", ConditionExpression="version = :v",
            ExpressionAttributeValues={":s": {"S": "666-66-6666"}, ":v": {"N": "1"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD")),
        ("optimistic lock, Expected, ok", lambda: c.update_item(
            TableName=T, Key=k("u4"), Expected={"version": {"Value": {"N": "2"}}},
            AttributeUpdates={"email": {"Action": "PUT", "Value": {"S": "di@new.example"}},
                              "version": {"Action": "ADD", "Value": {"N": "1"}}}, ReturnValues="ALL_NEW")),
        ("optimistic lock, Expected, stale", lambda: c.update_item(
            TableName=T, Key=k("u4"), Expected={"version": {"Value": {"N": "2"}}},
            AttributeUpdates={"email": {"Action": "PUT", "Value": {"S": "x@example.com"}}})),
        ("condition on encrypted, true", lambda: c.put_item(
            TableName=T, Item=dict(PEOPLE[2], age={"N": "30"}), ConditionExpression="email = :e",
            ExpressionAttributeValues={":e": {"S": "cy@example.com"}}, ReturnValues="ALL_OLD")),
        ("condition on encrypted, false", lambda: c.delete_item(
            TableName=T, Key=k("u3"), ConditionExpression="begins_with(ssn, :p)",
            ExpressionAttributeValues={":p": {"S": "999"}}, ReturnValuesOnConditionCheckFailure="ALL_OLD")),
        ("attribute_exists on encrypted", lambda: c.put_item(
            TableName=T, Item=PEOPLE[0], ConditionExpression="attribute_not_exists(email)")),
        ("filter contains encrypted", lambda: c.scan(TableName=T, FilterExpression="contains(email, :d)",
                                                     ExpressionAttributeValues={":d": {"S": "example.com"}})),
        ("filter size and nested encrypted", ("MOTO_SIZE_MISSING", lambda o: o["Count"] == 2 and
                                              [i["pk"]["S"] for i in o["Items"]] == ["u3", "u4"]), lambda: c.scan(
            TableName=T, FilterExpression="size(ssn) = :n AND address.city IN (:a, :b)",
            ExpressionAttributeValues={":n": {"N": "11"}, ":a": {"S": "Rome"}, ":b": {"S": "Oslo"}})),
        ("filter select count", ("MOTO_COUNT_ITEMS", lambda o: o == {"Count": 3, "ScannedCount": 6}),
         lambda: c.scan(TableName=T, Select="COUNT", FilterExpression="attribute_exists(ssn)")),
        ("scan pages of 2 with filter", lambda: pages(c, dict(TableName=T, Limit=2,
                                                              FilterExpression="#s = :a AND begins_with(email, :b)",
                                                              ExpressionAttributeNames={"#s": "status"},
                                                              ExpressionAttributeValues={":a": {"S": "active"},
                                                                                         ":b": {"S": "b"}}))),
        ("query key", lambda: c.query(TableName=T, KeyConditionExpression="pk = :p",
                                      ExpressionAttributeValues={":p": {"S": "u2"}})),
        ("query GSI on signed attribute", lambda: c.query(
            TableName=T, IndexName="by-status", KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "away"}})),
        ("legacy QueryFilter", lambda: c.query(
            TableName=T, KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "u1"}]}},
            QueryFilter={"email": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": "new"}]}})),
        ("legacy ScanFilter AttributesToGet", ("MOTO_ATTRIBUTES_TO_GET", lambda o: o["Count"] == 3 and all(
            sorted(i) == ["email", "pk"] for i in o["Items"])), lambda: c.scan(
            TableName=T, ScanFilter={"age": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "35"}]}},
            AttributesToGet=["pk", "email"])),
        ("batch write", lambda: c.batch_write_item(RequestItems={T: [
            {"PutRequest": {"Item": person("b1", "b1@example.com", "111-11-1111", "B1", "active", 20, "Bern", "Gasse")}},
            {"DeleteRequest": {"Key": k("u8")}}]})),
        ("batch get", lambda: c.batch_get_item(RequestItems={T: {"Keys": [k("u1"), k("b1")],
                                                                 "ProjectionExpression": "pk, ssn, visits"}})),
        ("transact put and unsigned update", lambda: c.transact_write_items(TransactItems=[
            {"Put": {"TableName": T, "Item": person("t1", "t1@example.com", "777-77-7777", "T1", "away", 33, "Turin", "Po")}},
            {"Update": {"TableName": T, "Key": k("u1"), "UpdateExpression": "ADD visits :n",
                        "ExpressionAttributeValues": {":n": {"N": "5"}}}}])),
        ("transact get", ("MOTO_TRANSACT_PROJECTION", lambda o: sorted(o["Responses"][1]["Item"]) ==
                          ["email", "visits"] and o["Responses"][0]["Item"]["ssn"] == {"S": "777-77-7777"}),
         lambda: c.transact_get_items(TransactItems=[
            {"Get": {"TableName": T, "Key": k("t1")}}, {"Get": {"TableName": T, "Key": k("u1"),
                                                                 "ProjectionExpression": "email, visits"}}])),
        ("type error on encrypted", ("MOTO_STATIC_TYPE", lambda o: o == {
            "error": "ValidationException",
            "message": "An operand in the update expression has an incorrect data type"}), lambda: c.update_item(
            TableName=T, Key=k("u1"), UpdateExpression="SET age = email + :one",
            ExpressionAttributeValues={":one": {"N": "1"}})),
        ("delete ALL_OLD", lambda: c.delete_item(TableName=T, Key=k("b1"), ReturnValues="ALL_OLD")),
        ("transact update of encrypted", lambda: c.transact_write_items(TransactItems=[
            {"Update": {"TableName": T, "Key": k("u1"), "UpdateExpression": "SET email = :e, age = age + :one",
                        "ExpressionAttributeValues": {":e": {"S": "tx@example.com"}, ":one": {"N": "1"}}}},
            {"Update": {"TableName": T, "Key": k("u2"), "UpdateExpression": "ADD visits :n",
                        "ExpressionAttributeValues": {":n": {"N": "2"}}}}])),
        ("transact conditions on encrypted true", lambda: c.transact_write_items(TransactItems=[
            {"ConditionCheck": {"TableName": T, "Key": k("u4"), "ConditionExpression": "begins_with(ssn, :p)",
                                "ExpressionAttributeValues": {":p": {"S": "555"}}}},
            {"Put": {"TableName": T, "Item": person("t2", "t2@example.com", "555-55-5555", "T2", "away", 30,
                                                    "Lyon", "Rue"),
                     "ConditionExpression": "attribute_not_exists(email)"}},
            {"Update": {"TableName": T, "Key": k("u3"), "ConditionExpression": "contains(address.city, :r)",
                        "UpdateExpression": "SET #s = :s REMOVE ssn", "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":r": {"S": "Ro"}, ":s": {"S": "moved"}}}}])),
        ("transact upsert and delete", lambda: c.transact_write_items(TransactItems=[
            {"Update": {"TableName": T, "Key": k("t3"), "UpdateExpression": "SET email = :e, visits = :z",
                        "ExpressionAttributeValues": {":e": {"S": "t3@example.com"}, ":z": {"N": "0"}}}},
            {"Delete": {"TableName": T, "Key": k("t2"), "ConditionExpression": "email = :e",
                        "ExpressionAttributeValues": {":e": {"S": "t2@example.com"}}}}])),
        ("transact condition on encrypted false", lambda: c.transact_write_items(TransactItems=[
            {"Update": {"TableName": T, "Key": k("u4"), "UpdateExpression": "SET email = :e",
                        "ExpressionAttributeValues": {":e": {"S": "never@example.com"}}}},
            {"ConditionCheck": {"TableName": T, "Key": k("u1"), "ConditionExpression": "email = :e",
                                "ExpressionAttributeValues": {":e": {"S": "ada@example.com"}},
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            {"Delete": {"TableName": T, "Key": k("u2"), "ConditionExpression": "ssn = :s",
                        "ExpressionAttributeValues": {":s": {"S": "000"}}}}])),
        ("transact unsigned condition false beside encrypted", lambda: c.transact_write_items(TransactItems=[
            {"Update": {"TableName": T, "Key": k("u4"), "UpdateExpression": "SET email = :e",
                        "ExpressionAttributeValues": {":e": {"S": "never@example.com"}}}},
            {"Update": {"TableName": T, "Key": k("u2"), "UpdateExpression": "ADD visits :n",
                        "ConditionExpression": "visits > :big", "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        "ExpressionAttributeValues": {":n": {"N": "1"}, ":big": {"N": "100"}}}}])),
        ("transact upsert of unsigned only", lambda: c.transact_write_items(TransactItems=[
            {"Update": {"TableName": T, "Key": k("t4"), "UpdateExpression": "ADD visits :n",
                        "ExpressionAttributeValues": {":n": {"N": "3"}}}}])),
        ("transact reads back", lambda: c.transact_get_items(TransactItems=[
            {"Get": {"TableName": T, "Key": k(pk)}} for pk in ("u1", "u2", "u3", "u4", "t2", "t3", "t4")])),
        ("PartiQL select", lambda: c.execute_statement(Statement="SELECT * FROM \"%s\" WHERE pk = 'u1'" % T)),
        ("PartiQL insert", lambda: c.execute_statement(
            Statement="INSERT INTO \"%s\" VALUE {'pk': 'q1', 'email': 'q1@example.com', 'visits': 0}" % T)),
        ("PartiQL select after insert", lambda: c.execute_statement(
            Statement="SELECT * FROM \"%s\" WHERE pk = 'q1'" % T)),
        ("PartiQL insert duplicate", ("MOTO_INSERT_OVERWRITES", lambda o: o == {
            "error": "DuplicateItemException", "message": "Duplicate primary key exists in table"}),
         lambda: c.execute_statement(Statement="INSERT INTO \"%s\" VALUE {'pk': 'q1'}" % T)),
        ("PartiQL delete", lambda: c.execute_statement(Statement="DELETE FROM \"%s\" WHERE pk = 'q1'" % T)),
    ]
    return s


def pages(c, args):
    """Every page of a paginated scan, as the application walks them."""
    out = []
    while True:
        r = c.scan(**args)
        out.append({"Items": sorted(r["Items"], key=lambda i: i["pk"]["S"]), "Count": r["Count"],
                    "ScannedCount": r["ScannedCount"], "more": "LastEvaluatedKey" in r})
        if "LastEvaluatedKey" not in r:
            return out
        args = dict(args, ExclusiveStartKey=r["LastEvaluatedKey"])


class CatalogueTest(Compared):
    @classmethod
    def setUpClass(cls):
        cls.direct, cls.backing = h.start_moto(), h.start_moto()
        try:
            key = h.random_key_file(cls.backing.workdir, "catalogue.key")
            cls.proxy = h.start_dynaseal(cls.backing.url, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                "tables": {TABLE: {"keyring": "local", "partition_key": "pk", "attribute_actions": ACTIONS,
                                   "allowed_unsigned_attributes": ["history"]}}})
        except Exception:
            cls.tearDownClass()
            raise

    def setUp(self):
        for server in (self.direct, self.backing):
            db = h.boto3_client(server)
            if TABLE in db.list_tables()["TableNames"]:
                db.delete_table(TableName=TABLE)
            db.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "status", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            GlobalSecondaryIndexes=[{"IndexName": "by-status",
                                                     "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                                                     "Projection": {"ProjectionType": "ALL"}}])

    def compare(self, steps_direct, steps_proxy):
        """Runs each step on both sides; equal observations, or for a step naming a moto
        departure, dynaseal's observation as DynamoDB documents it."""
        seen, departures = 0, []
        for sd, sp in zip(steps_direct, steps_proxy):
            name, fd, fp = sd[0], sd[-1], sp[-1]
            want, got = observe(fd), observe(fp)
            with self.subTest(step=name):
                if len(sd) == 3:
                    departure, documented = sd[1]
                    self.assertNotEqual(want, got, "%s: the two sides now agree" % departure)
                    self.assertTrue(documented(got), "%s: %r" % (name, got))
                    departures.append(departure)
                else:
                    self.assertEqual(got, want, name)
            seen += 1
        self.assertEqual(seen, len(steps_direct))
        return departures

    def assert_no_plaintext(self):
        raw = h.boto3_client(self.backing).scan(TableName=TABLE)["Items"]
        self.assertTrue(raw)
        text = json.dumps(raw, default=lambda b: b.hex() if isinstance(b, bytes) else str(b))
        for secret in SECRETS:
            self.assertNotIn(secret, text)
        for item in raw:
            for attr in ("email", "ssn", "address"):
                if attr in item:
                    self.assertEqual(list(item[attr]), ["B"], (attr, item["pk"]))

    def test_boto3_client(self):
        steps = client_steps(h.boto3_client(self.direct))
        departures = self.compare(steps, client_steps(h.boto3_client(self.proxy)))
        self.assertEqual(sorted(departures), ["MOTO_ATTRIBUTES_TO_GET",
                                              "MOTO_COUNT_ITEMS", "MOTO_INSERT_OVERWRITES", "MOTO_SIZE_MISSING", "MOTO_STATIC_TYPE",
                                              "MOTO_TRANSACT_PROJECTION"])
        self.assertEqual(len(steps), 48)
        self.assert_no_plaintext()

    def test_boto3_resource(self):
        import boto3
        from boto3.dynamodb.conditions import Attr, Key

        def steps(target):
            env = h.client_env(target)
            res = boto3.resource("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL_DYNAMODB"], region_name=h.REGION,
                                 aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                 aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
            t = res.Table(TABLE)
            return [
                ("put", lambda: t.put_item(Item={"pk": "r1", "email": "ada@example.com", "name": "Ada",
                                                 "status": "active", "age": 36, "visits": 0,
                                                 "address": {"city": "London", "street": "Baker Street"}})),
                ("get", lambda: t.get_item(Key={"pk": "r1"})),
                ("update", lambda: t.update_item(Key={"pk": "r1"}, UpdateExpression="SET email = :e ADD visits :n",
                                                 ExpressionAttributeValues={":e": "ada@new.example", ":n": 2},
                                                 ReturnValues="ALL_NEW")),
                ("query with filter condition", lambda: t.query(KeyConditionExpression=Key("pk").eq("r1"),
                                                                FilterExpression=Attr("email").begins_with("ada@"))),
                ("scan with conditions", lambda: t.scan(FilterExpression=Attr("address.city").eq("London")
                                                        & Attr("age").between(30, 40))),
                ("conditional put fails", lambda: t.put_item(Item={"pk": "r1"},
                                                             ConditionExpression=Attr("email").not_exists())),
                ("delete", lambda: t.delete_item(Key={"pk": "r1"}, ReturnValues="ALL_OLD")),
            ]
        self.compare(steps(self.direct), steps(self.proxy))

    def test_aws_cli(self):
        def cli(target, *args):
            r = subprocess.run(["aws", "dynamodb", *args, "--output", "json"], env=h.client_env(target),
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                return {"error": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}
            return json.loads(r.stdout) if r.stdout.strip() else {}

        item = json.dumps(PEOPLE[0])
        steps = [
            ("put-item", ["put-item", "--table-name", TABLE, "--item", item]),
            ("get-item", ["get-item", "--table-name", TABLE, "--key", '{"pk":{"S":"u1"}}']),
            ("update-item", ["update-item", "--table-name", TABLE, "--key", '{"pk":{"S":"u1"}}',
                             "--update-expression", "SET ssn = :s", "--return-values", "ALL_NEW",
                             "--expression-attribute-values", '{":s":{"S":"123-00-0000"}}']),
            ("scan filter, paginated by the CLI", ["scan", "--table-name", TABLE, "--page-size", "1",
                                                   "--filter-expression", "contains(email, :d)",
                                                   "--expression-attribute-values", '{":d":{"S":"ada"}}']),
            ("conditional delete refused", ["delete-item", "--table-name", TABLE, "--key", '{"pk":{"S":"u1"}}',
                                            "--condition-expression", "ssn = :s",
                                            "--expression-attribute-values", '{":s":{"S":"nope"}}']),
        ]
        for name, args in steps:
            want, got = cli(self.direct, *args), cli(self.proxy, *args)
            with self.subTest(step=name):
                self.assertEqual(got, want)
        self.assert_no_plaintext()

    def test_javascript_document_client(self):
        script = os.path.join(h.ROOT, "tests", "node", "catalogue.mjs")

        def run(target):
            env = dict(h.client_env(target), NODE_NO_WARNINGS="1")
            r = subprocess.run(["node", script, TABLE], env=env, capture_output=True, text=True, timeout=120,
                               cwd=os.path.dirname(script))
            self.assertEqual(r.returncode, 0, r.stderr)
            return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        want, got = run(self.direct), run(self.proxy)
        self.assertEqual(len(want), 16)
        for w, g in zip(want, got):
            with self.subTest(step=w["step"]):
                if w["step"] == "type error":      # MOTO_STATIC_TYPE, above
                    self.assertNotEqual(g, w)
                    self.assertEqual(g, {"step": "type error", "error": "ValidationException", "message":
                                         "An operand in the update expression has an incorrect data type"})
                else:
                    self.assertEqual(g, w)
        self.assert_no_plaintext()


if __name__ == "__main__":
    unittest.main()
