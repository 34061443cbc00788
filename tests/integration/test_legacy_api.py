"""The legacy API (Expected, ConditionalOperator, AttributeUpdates, KeyConditions, QueryFilter,
ScanFilter, AttributesToGet) on a table configured for encryption, as boto2-era and
DynamoDBMapper-era applications send it, on encrypted, signed and unsigned attributes.

Each legacy call through dynaseal is compared with what the application would see from
DynamoDB: the same call straight to a plain moto table holding the same items, and, where
moto's own legacy support departs from the documentation (its QueryFilter, Expected with OR or
BEGINS_WITH, and AttributesToGet, which it ignores), the documented expression equivalent sent straight to moto (Developer Guide,
"Legacy conditional parameters": each legacy form is written there as its expression)."""
import os
import unittest
from decimal import Decimal

import at_rest
import peers as h

ACTIONS = {"email": "ENCRYPT_AND_SIGN", "ssn": "ENCRYPT_AND_SIGN", "tags": "ENCRYPT_AND_SIGN",
           "name": "SIGN_ONLY", "age": "SIGN_ONLY", "visits": "DO_NOTHING", "version": "SIGN_ONLY"}
SECRETS = {"email": ["ada@example.com", "bob@example.org", "eve@example.net", "eve2@example.net"],
           "ssn": ["078-05-1120", "219-09-9999", "457-55-5462"], "tags": ["tag-admin", "tag-staff"]}


def item(pk, sk, email, ssn, name, age, visits, tags):
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}, "email": {"S": email}, "ssn": {"S": ssn},
            "name": {"S": name}, "age": {"N": str(age)}, "visits": {"N": str(visits)},
            "version": {"N": "1"}, "tags": {"SS": tags}}


ITEMS = [item("u", 1, "ada@example.com", "078-05-1120", "Ada", 36, 3, ["tag-admin"]),
         item("u", 2, "bob@example.org", "219-09-9999", "Bob", 41, 0, ["tag-staff"]),
         item("u", 3, "eve@example.net", "457-55-5462", "Eve", 29, 7, ["tag-admin", "tag-staff"])]


def canon(v):
    if isinstance(v, dict):
        return {k: (sorted(x) if k in ("SS", "NS", "BS") else Decimal(x).normalize() if k == "N" else canon(x))
                for k, x in v.items()}
    if isinstance(v, list):
        return [canon(x) for x in v]
    return v


class LegacyApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            key = os.path.join(cls.moto.workdir, "legacy.key")
            with open(key, "wb") as f:
                f.write(os.urandom(32))
            cls.proxy = h.start_dynaseal(cls.moto.url, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                "tables": {"enc": {"keyring": "local", "partition_key": "pk", "sort_key": "sk",
                                   "attribute_actions": ACTIONS}}})
            cls.raw = h.boto3_client(cls.moto.url)
            for t in ("enc", "plain"):
                h.create_table(cls.raw, t, keys=(("pk", "S", "HASH"), ("sk", "N", "RANGE")))
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
        for it in ITEMS:
            self.app.put_item(TableName="enc", Item=it)
            self.raw.put_item(TableName="plain", Item=it)

    def tearDown(self):
        stored = self.raw.scan(TableName="enc")["Items"]
        if stored:
            at_rest.assert_no_plaintext(self, stored, SECRETS)

    def outcome(self, client, op, table, args):
        try:
            out = getattr(client, op)(TableName=table, **args)
        except client.exceptions.ClientError as e:
            err = e.response["Error"]
            return ("ERR", err["Code"], canon(e.response.get("Item")))
        out.pop("ResponseMetadata", None)
        out.pop("ConsumedCapacity", None)
        return canon(out)

    def same(self, op, args, oracle=None, oracle_op=None):
        """op(args) through dynaseal on enc and straight on plain (or oracle, the expression
        form, when moto's legacy support departs) give the same outcome, then the same item."""
        got = self.outcome(self.app, op, "enc", args)
        want = self.outcome(self.raw, oracle_op or op, "plain", oracle if oracle is not None else args)
        self.assertEqual(got, want, "%s %s" % (op, args))
        for it in ITEMS:
            k = {"pk": it["pk"], "sk": it["sk"]}
            self.assertEqual(canon(self.app.get_item(TableName="enc", Key=k).get("Item")),
                             canon(self.raw.get_item(TableName="plain", Key=k).get("Item")),
                             "after %s %s" % (op, args))
        return got

    def test_expected(self):
        key = {"pk": {"S": "u"}, "sk": {"N": "1"}}
        new = dict(ITEMS[0], email={"S": "ada@example.com"}, visits={"N": "4"})
        # Value (equality) on an encrypted attribute: the optimistic check of old applications.
        out = self.same("put_item", {"Item": new, "Expected": {"email": {"Value": {"S": "ada@example.com"}}},
                                     "ReturnValues": "ALL_OLD"})
        self.assertEqual(out["Attributes"]["visits"], {"N": Decimal(3)})
        self.same("put_item", {"Item": new, "Expected": {"email": {"Value": {"S": "wrong@example.com"}}}})
        self.same("put_item", {"Item": new, "Expected": {"ssn": {"Exists": False}}})
        # (moto's legacy BEGINS_WITH holds whatever the prefix: the expression form is the oracle)
        for prefix in ("999", "219"):
            self.same("delete_item", {"Key": dict(key, sk={"N": "2"}),
                                      "Expected": {"ssn": {"ComparisonOperator": "BEGINS_WITH",
                                                           "AttributeValueList": [{"S": prefix}]}}},
                      oracle={"Key": dict(key, sk={"N": "2"}), "ConditionExpression": "begins_with(ssn, :p)",
                              "ExpressionAttributeValues": {":p": {"S": prefix}}})
        self.same("update_item", {"Key": key, "Expected": {
            "version": {"Value": {"N": "1"}},
            "email": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": "@example"}]}},
            "AttributeUpdates": {"version": {"Action": "ADD", "Value": {"N": "1"}},
                                 "ssn": {"Action": "PUT", "Value": {"S": "111-22-3333"}}},
            "ReturnValues": "ALL_NEW"})
        # ConditionalOperator OR: moto's own OR departs; the expression form is the oracle.
        self.same("update_item", {"Key": key, "ConditionalOperator": "OR", "Expected": {
            "email": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "nobody@example.com"}]},
            "age": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "30"}]}},
            "AttributeUpdates": {"name": {"Action": "PUT", "Value": {"S": "Ada L."}}}},
            oracle={"Key": key, "ConditionExpression": "email = :e OR age > :a",
                    "UpdateExpression": "SET #n = :n", "ExpressionAttributeNames": {"#n": "name"},
                    "ExpressionAttributeValues": {":e": {"S": "nobody@example.com"}, ":a": {"N": "30"},
                                                  ":n": {"S": "Ada L."}}})

    def test_attribute_updates(self):
        key = {"pk": {"S": "u"}, "sk": {"N": "3"}}
        for updates in ({"email": {"Action": "PUT", "Value": {"S": "eve2@example.net"}}},
                        {"tags": {"Action": "ADD", "Value": {"SS": ["tag-new1"]}}},
                        {"tags": {"Action": "DELETE", "Value": {"SS": ["tag-admin"]}}},
                        {"ssn": {"Action": "DELETE"}, "visits": {"Action": "ADD", "Value": {"N": "5"}}},
                        {"age": {"Value": {"N": "30"}}}):
            for rv in ("UPDATED_NEW", "ALL_OLD"):
                with self.subTest(updates=updates, rv=rv):
                    self.same("update_item", {"Key": key, "AttributeUpdates": updates, "ReturnValues": rv})
        # An upsert through AttributeUpdates creates a signed item.
        self.same("update_item", {"Key": {"pk": {"S": "new"}, "sk": {"N": "1"}},
                                  "AttributeUpdates": {"email": {"Value": {"S": "new@example.com"}}},
                                  "ReturnValues": "ALL_NEW"})
        self.assertIn("aws_dbe_foot", self.raw.get_item(TableName="enc", Key={"pk": {"S": "new"}, "sk": {"N": "1"}})["Item"])

    def test_reads(self):
        key_cond = {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "u"}]},
                    "sk": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "2"}]}}
        self.same("query", {"KeyConditions": key_cond})
        self.same("query", {"KeyConditions": key_cond, "AttributesToGet": ["email", "visits"]},
                  oracle={"KeyConditions": key_cond, "ProjectionExpression": "email, visits"})
        self.same("get_item", {"Key": {"pk": {"S": "u"}, "sk": {"N": "1"}}, "AttributesToGet": ["ssn", "name"]},
                  oracle={"Key": {"pk": {"S": "u"}, "sk": {"N": "1"}}, "ProjectionExpression": "ssn, #n",
                          "ExpressionAttributeNames": {"#n": "name"}})
        # QueryFilter on an encrypted attribute (moto's own QueryFilter departs: the expression
        # form is the oracle).
        qf = {"email": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": ".org"}]}}
        self.same("query", {"KeyConditions": key_cond, "QueryFilter": qf},
                  oracle={"KeyConditionExpression": "pk = :p AND sk >= :s", "FilterExpression": "contains(email, :e)",
                          "ExpressionAttributeValues": {":p": {"S": "u"}, ":s": {"N": "2"}, ":e": {"S": ".org"}}})
        self.same("scan", {"ScanFilter": {"tags": {"ComparisonOperator": "CONTAINS",
                                                   "AttributeValueList": [{"S": "tag-staff"}]},
                                          "age": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "40"}]}}},
                  oracle={"FilterExpression": "contains(tags, :t) AND age < :a",
                          "ExpressionAttributeValues": {":t": {"S": "tag-staff"}, ":a": {"N": "40"}}})
        got = self.app.batch_get_item(RequestItems={"enc": {"Keys": [{"pk": {"S": "u"}, "sk": {"N": "2"}}],
                                                            "AttributesToGet": ["email"]}})
        self.assertEqual(got["Responses"]["enc"], [{"email": {"S": "bob@example.org"}}])

    def test_refusals_in_dynamodb_words(self):
        # Both styles in one request: DynamoDB's refusal, word for word.
        got = self.outcome(self.app, "query", "enc", {
            "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "u"}},
            "QueryFilter": {"email": {"ComparisonOperator": "NOT_NULL"}}})
        self.assertEqual(got[:2], ("ERR", "ValidationException"))
        with self.assertRaises(self.app.exceptions.ClientError) as cm:
            self.app.put_item(TableName="enc", Item=ITEMS[0], ConditionExpression="attribute_exists(pk)",
                              Expected={"email": {"Exists": False}})
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "Can not use both expression and non-expression parameters in the same request: "
                         "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}")
        with self.assertRaises(self.app.exceptions.ClientError) as cm:
            self.app.update_item(TableName="enc", Key={"pk": {"S": "u"}, "sk": {"N": "1"}},
                                 AttributeUpdates={"email": {"Action": "PUT"}})
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "One or more parameter values were invalid: Only DELETE action is allowed when "
                         "no attribute value is specified")


if __name__ == "__main__":
    unittest.main()
