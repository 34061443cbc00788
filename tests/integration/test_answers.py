"""Answers from a DynamoDB that lies: every item in every answer on a configured table is
verified and decrypted, or the answer is refused -- never relayed as the upstream wrote it.

A fake DynamoDB on loopback (FakeDynamoDB) answers each operation with a body the test chose;
an unmodified boto3 client calls it through dynaseal.  Each attack is an answer real DynamoDB
would never give for the request dynaseal sent:

  - UpdateItem ReturnValues ALL_NEW / ALL_OLD: Attributes is a whole item and is verified like
    GetItem's Item (no aws_dbe_head: refused unless plaintext_policy allows plaintext reads);
  - UpdateItem UPDATED_NEW / UPDATED_OLD: Attributes holds what the update wrote, which dynaseal
    allows to be DO_NOTHING attributes only: anything else there is refused;
  - ReturnValues NONE (or absent): an answer with Attributes is refused;
  - PutItem / DeleteItem ALL_OLD, a ConditionalCheckFailedException's Item
    (ReturnValuesOnConditionCheckFailure), TransactWriteItems' CancellationReasons[i].Item;
  - answers whose shape hides an item: an item that is not a map, more transaction answers
    than requests, a BatchGetItem table nobody asked for, a 2xx other than 200, an error status
    other than 400, bytes after the JSON value, a body cJSON reads otherwise than a parser that
    detects UTF-16 (control bytes) or nests deeper.

A refusal of an item that fails verification is GetItem's: 400 ValidationException naming the
table, the operation, the parameter and aws_dbe_head.  An answer DynamoDB's API cannot give
is a 502 InternalServerError naming the table, the operation, the parameter and the attribute.
Genuinely encrypted answers (an item dynaseal itself sealed) still come back decrypted, and
the honest path is run against moto too.
"""
import http.server
import json
import os
import threading
import unittest
import zlib

import peers as h

TABLE, LEGACY = "answers", "answers_legacy"
VALIDATION = "com.amazon.coral.validate#ValidationException"
INTERNAL = "com.amazonaws.dynamodb.v20120810#InternalServerError"
CCF = "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"
CANCELED = "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
KEY = {"pk": {"S": "u1"}, "sk": {"N": "1"}}
ATTACK_SSN = "attacker-ssn-666-00-1234"
ATTACK_NAME = "Mallory the attacker"
# What an attacker wants the application to take for verified data: no aws_dbe_head.
FORGED = dict(KEY, ssn={"S": ATTACK_SSN}, name={"S": ATTACK_NAME}, visits={"N": "7"})
GENUINE = dict(KEY, ssn={"S": "078-05-1120"}, email={"S": "ada@example.com"},
               name={"S": "Ada"}, visits={"N": "1"}, last_seen={"N": "1700000000"})


def table_config(**extra):
    cfg = {"keyring": "local", "partition_key": "pk", "sort_key": "sk",
           "attribute_actions": {"ssn": "ENCRYPT_AND_SIGN", "email": "ENCRYPT_AND_SIGN",
                                 "name": "SIGN_ONLY", "visits": "DO_NOTHING"},
           "allowed_unsigned_attributes": ["last_seen"]}
    cfg.update(extra)
    return cfg


class FakeDynamoDB:
    """A DynamoDB stand-in on loopback: each operation is answered with the status and body a
    test set (default 200 `{}`), framed as DynamoDB frames it (x-amz-crc32, Content-Length);
    every request it received is kept, parsed, in `requests`."""

    def __init__(self):
        self.answers = {}
        self.requests = []
        self.paths = []                 # each request's target (path and query)
        self.port = h.free_port()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                op = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
                fake.requests.append((op, json.loads(body or b"{}")))
                fake.paths.append(self.path)
                status, out = fake.answers.get(op, (200, b"{}"))
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("x-amzn-RequestId", "FAKEDYNAMODB")
                self.send_header("x-amz-crc32", str(zlib.crc32(out)))
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def answer(self, op, body, status=200):
        """The next answers to op: body is a dict (sent as JSON) or raw bytes."""
        self.answers[op] = (status, body if isinstance(body, bytes) else json.dumps(body).encode())

    def last(self, op):
        return [b for o, b in self.requests if o == op][-1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        return 0


def app_client(target):
    """boto3 as the application builds it, one attempt per call, and the last raw answer
    (status, parsed body) kept in .raw so the exact `__type` can be checked."""
    import boto3
    from botocore.config import Config
    c = boto3.client("dynamodb", endpoint_url=target.url, region_name=h.REGION,
                     aws_access_key_id=h.CLIENT_KEY, aws_secret_access_key=h.CLIENT_SECRET,
                     config=Config(retries={"total_max_attempts": 1}))
    c.raw = {}

    def keep(http_response, **_):
        c.raw["status"] = http_response.status_code
        try:
            c.raw["body"] = json.loads(http_response.content or b"{}")
        except ValueError:
            c.raw["body"] = http_response.content
    c.meta.events.register("after-call.dynamodb", keep)
    return c


class Refusals:
    """Assertions shared by the fake-upstream and moto classes."""

    def refused(self, fn, status, type_, *needles):
        """fn fails with exactly status and __type, a message holding every needle and none of
        the attacker's values; returns the message."""
        with self.assertRaises(self.app.exceptions.ClientError) as cm:
            fn()
        self.assertEqual(self.app.raw["status"], status, self.app.raw)
        body = self.app.raw["body"]
        self.assertEqual(body.get("__type"), type_, body)
        msg = body.get("message") or body.get("Message") or ""
        self.assertEqual(cm.exception.response["Error"]["Message"], msg)
        for n in needles:
            self.assertIn(n, msg)
        for secret in (ATTACK_SSN, ATTACK_NAME, "078-05-1120"):
            self.assertNotIn(secret, msg)
        return msg


class FakeUpstreamAnswersTest(Refusals, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeDynamoDB()
        try:
            key = os.path.join(h.run_dir(), "answers.key")
            with open(key, "wb") as f:
                f.write(os.urandom(32))
            cls.proxy = h.start_dynaseal(cls.fake.url, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                "tables": {TABLE: table_config(),
                           LEGACY: table_config(plaintext_policy="allow-read")}})
            # An item dynaseal itself sealed: the Item of a PutItem it sent upstream.
            app = app_client(cls.proxy)
            app.put_item(TableName=TABLE, Item=GENUINE)
            cls.sealed = cls.fake.last("PutItem")["Item"]
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "fake"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def setUp(self):
        self.app = app_client(self.proxy)
        self.fake.answers.clear()

    def update(self, return_values, table=TABLE, expr="SET visits = :v"):
        args = dict(TableName=table, Key=KEY, UpdateExpression=expr,
                    ExpressionAttributeValues={":v": {"N": "8"}})
        if return_values is not None:
            args["ReturnValues"] = return_values
        return self.app.update_item(**args)

    # ---- UpdateItem ---------------------------------------------------------------------

    def test_update_all_new_without_head_is_refused_as_get_item_is(self):
        # The same forged item is refused as GetItem's Item and as UpdateItem's Attributes.
        self.fake.answer("GetItem", {"Item": FORGED})
        self.refused(lambda: self.app.get_item(TableName=TABLE, Key=KEY), 400, VALIDATION,
                     'table "%s"' % TABLE, "no aws_dbe_head", "plaintext_policy")
        self.fake.answer("UpdateItem", {"Attributes": FORGED})
        self.refused(lambda: self.update("ALL_NEW"), 400, VALIDATION,
                     'table "%s": UpdateItem Attributes: ' % TABLE, "no aws_dbe_head",
                     "plaintext_policy")

    def test_update_all_old_without_head_is_refused(self):
        self.fake.answer("UpdateItem", {"Attributes": FORGED})
        self.refused(lambda: self.update("ALL_OLD"), 400, VALIDATION,
                     'table "%s": UpdateItem Attributes: ' % TABLE, "no aws_dbe_head")

    def test_query_string_signature_goes_no_further(self):
        # A request signed in its query string (a presigned request): dynaseal signs in the
        # headers, and the application's own access key id and signature do not reach AWS.
        import re
        from test_wire import ddb_request, exchange
        raw = ddb_request("DescribeTable", json.dumps({"TableName": "other"}))
        raw = re.sub(rb"Authorization: [^\r]*\r\n", b"", raw)
        raw = raw.replace(b"POST / HTTP/1.1", b"POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
                          b"AKIDAPPQUERY%2F20260101%2Fus-east-1%2Fdynamodb%2Faws4_request&keep=1&"
                          b"X-Amz-Date=20260101T000000Z&X-Amz-Signature=abcdef0123&"
                          b"X-Amz-SignedHeaders=host HTTP/1.1", 1)
        status, _, _ = exchange(self.proxy.port, raw)
        self.assertEqual(status, 200)
        self.assertEqual(self.fake.paths[-1], "/?keep=1")

    def rmw_requests(self):
        return [o for o, _ in self.fake.requests if o in ("GetItem", "UpdateItem")]

    def test_update_of_encrypted_attribute_reads_a_forged_item(self):
        # dynaseal carries the update out itself: the item it reads must verify, or nothing is
        # written and the application learns why.
        before = len(self.rmw_requests())
        for stored, why in ((FORGED, "no aws_dbe_head"),
                            (dict(self.sealed, name={"S": ATTACK_NAME}), "failed verification")):
            self.fake.answer("GetItem", {"Item": stored})
            try:
                self.refused(lambda: self.update("ALL_NEW", expr="SET ssn = :v"), 400, VALIDATION,
                             'table "%s": UpdateItem\'s read of the item: ' % TABLE, why)
            finally:
                self.fake.answers.pop("GetItem", None)
        self.assertEqual(self.rmw_requests()[before:], ["GetItem", "GetItem"])   # no write

    def test_update_of_encrypted_attribute_answered_with_a_forged_item(self):
        self.fake.answer("GetItem", {"Item": self.sealed})
        self.fake.answer("UpdateItem", {"Attributes": dict(FORGED, visits={"N": "8"})})
        try:
            self.refused(lambda: self.update("ALL_NEW", expr="SET ssn = :v"), 400, VALIDATION,
                         'table "%s": UpdateItem Attributes: ' % TABLE, "no aws_dbe_head")
            sent = self.fake.last("UpdateItem")
            # What went up: the new ssn encrypted, conditioned on the foot read.
            self.assertEqual(list(sent["ExpressionAttributeValues"][":r%d" % next(
                int(k[2:]) for k, v in sent["ExpressionAttributeNames"].items() if v == "ssn")]), ["B"])
            self.assertIn(self.sealed["aws_dbe_foot"], sent["ExpressionAttributeValues"].values())
        finally:
            self.fake.answers.pop("GetItem", None)

    def test_update_of_encrypted_attribute_that_keeps_losing_races(self):
        # Every write finds the item changed: dynaseal starts over a bounded number of times,
        # then answers a 500 the SDKs retry.
        self.fake.answer("GetItem", {"Item": self.sealed})
        self.fake.answer("UpdateItem", {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                                        "message": "The conditional request failed"}, status=400)
        before = len(self.rmw_requests())
        try:
            self.refused(lambda: self.update(None, expr="SET ssn = :v"), 500, INTERNAL,
                         'table "%s"' % TABLE, "changed under dynaseal's read-modify-write", "8 times",
                         "retry")
        finally:
            self.fake.answers.pop("GetItem", None)
            self.fake.answers.pop("UpdateItem", None)
        self.assertEqual(self.rmw_requests()[before:], ["GetItem", "UpdateItem"] * 8)

    def test_update_all_new_tampered_is_refused(self):
        forged = dict(self.sealed, name={"S": ATTACK_NAME})
        self.fake.answer("UpdateItem", {"Attributes": forged})
        self.refused(lambda: self.update("ALL_NEW"), 400, VALIDATION,
                     'table "%s": UpdateItem Attributes: ' % TABLE, "failed verification")

    def test_update_updated_new_with_encrypted_attribute_is_refused(self):
        self.fake.answer("UpdateItem", {"Attributes": {"visits": {"N": "8"}, "ssn": {"S": ATTACK_SSN}}})
        self.refused(lambda: self.update("UPDATED_NEW"), 502, INTERNAL,
                     'table "%s"' % TABLE, "UpdateItem", "UPDATED_NEW", 'Attributes holds "ssn"',
                     "encrypted (ENCRYPT_AND_SIGN)", "DO_NOTHING")

    def test_update_updated_old_with_signed_attribute_is_refused(self):
        self.fake.answer("UpdateItem", {"Attributes": {"name": {"S": ATTACK_NAME}}})
        self.refused(lambda: self.update("UPDATED_OLD"), 502, INTERNAL,
                     'table "%s"' % TABLE, "UpdateItem", "UPDATED_OLD", 'Attributes holds "name"',
                     "signed (SIGN_ONLY)")

    def test_update_updated_new_with_reserved_or_unknown_attribute_is_refused(self):
        self.fake.answer("UpdateItem", {"Attributes": {"aws_dbe_head": {"B": "AAAA"}}})
        self.refused(lambda: self.update("UPDATED_NEW"), 502, INTERNAL,
                     'Attributes holds "aws_dbe_head"', "reserved")
        self.fake.answer("UpdateItem", {"Attributes": {"pk": {"S": "u2"}}})
        self.refused(lambda: self.update("UPDATED_NEW"), 502, INTERNAL,
                     'Attributes holds "pk"', "signed")
        self.fake.answer("UpdateItem", {"Attributes": {"bogus": {"S": ATTACK_SSN}}})
        self.refused(lambda: self.update("UPDATED_NEW"), 502, INTERNAL,
                     'Attributes holds "bogus"', "not in attribute_actions")

    def test_update_updated_new_with_a_whole_sealed_item_is_refused(self):
        # A genuine item is no UPDATED_NEW answer: it carries signed attributes.
        self.fake.answer("UpdateItem", {"Attributes": self.sealed})
        self.refused(lambda: self.update("UPDATED_NEW"), 502, INTERNAL, "UPDATED_NEW", "Attributes holds")

    def test_update_updated_with_do_nothing_attributes_is_relayed(self):
        attrs = {"visits": {"N": "8"}, "last_seen": {"N": "1700000001"}}
        for rv in ("UPDATED_NEW", "UPDATED_OLD"):
            self.fake.answer("UpdateItem", {"Attributes": attrs})
            self.assertEqual(self.update(rv, expr="SET visits = :v, last_seen = :v")["Attributes"], attrs)
        self.fake.answer("UpdateItem", {"Attributes": {}})
        self.assertEqual(self.update("UPDATED_NEW").get("Attributes", {}), {})

    def test_update_none_with_attributes_is_refused(self):
        for rv in (None, "NONE"):
            self.fake.answer("UpdateItem", {"Attributes": {"ssn": {"S": ATTACK_SSN}}})
            self.refused(lambda: self.update(rv), 502, INTERNAL, 'table "%s"' % TABLE,
                         "UpdateItem", 'Attributes holds "ssn"', "ReturnValues NONE")
        self.fake.answer("UpdateItem", {})
        self.assertNotIn("Attributes", self.update("NONE"))

    def test_update_attributes_not_a_map_is_refused(self):
        self.fake.answer("UpdateItem", {"Attributes": [FORGED]})
        self.refused(lambda: self.update("ALL_NEW"), 502, INTERNAL, 'table "%s"' % TABLE,
                     "UpdateItem", "Attributes", "not a map")

    def test_update_all_new_genuine_item_is_decrypted(self):
        self.fake.answer("UpdateItem", {"Attributes": dict(self.sealed, visits={"N": "8"})})
        self.assertEqual(self.update("ALL_NEW")["Attributes"], dict(GENUINE, visits={"N": "8"}))
        sent = self.fake.last("UpdateItem")
        self.assertEqual(sent["ReturnValues"], "ALL_NEW")
        self.assertIn("attribute_exists", sent["ConditionExpression"])

    def test_plaintext_allowed_table_relays_plaintext_whole_items(self):
        # plaintext_policy allow-read: UpdateItem ALL_NEW reads as GetItem does.
        plain = dict(KEY, ssn={"S": "plain-ssn"}, name={"S": "Plain"})
        self.fake.answer("GetItem", {"Item": plain})
        self.assertEqual(self.app.get_item(TableName=LEGACY, Key=KEY)["Item"], plain)
        self.fake.answer("UpdateItem", {"Attributes": plain})
        self.assertEqual(self.update("ALL_NEW", table=LEGACY)["Attributes"], plain)
        # ... but UPDATED_* still holds only DO_NOTHING attributes.
        self.fake.answer("UpdateItem", {"Attributes": {"ssn": {"S": ATTACK_SSN}}})
        self.refused(lambda: self.update("UPDATED_NEW", table=LEGACY), 502, INTERNAL,
                     'table "%s"' % LEGACY, 'Attributes holds "ssn"')

    # ---- PutItem, DeleteItem ------------------------------------------------------------

    def test_put_and_delete_all_old_without_head_are_refused(self):
        self.fake.answer("PutItem", {"Attributes": FORGED})
        self.refused(lambda: self.app.put_item(TableName=TABLE, Item=GENUINE, ReturnValues="ALL_OLD"),
                     400, VALIDATION, 'table "%s": PutItem Attributes: ' % TABLE, "no aws_dbe_head")
        self.fake.answer("DeleteItem", {"Attributes": FORGED})
        self.refused(lambda: self.app.delete_item(TableName=TABLE, Key=KEY, ReturnValues="ALL_OLD"),
                     400, VALIDATION, 'table "%s": DeleteItem Attributes: ' % TABLE, "no aws_dbe_head")

    def test_put_and_delete_none_with_attributes_are_refused(self):
        self.fake.answer("PutItem", {"Attributes": FORGED})
        self.refused(lambda: self.app.put_item(TableName=TABLE, Item=GENUINE), 502, INTERNAL,
                     'table "%s"' % TABLE, "PutItem", "Attributes holds", "ReturnValues NONE")
        self.fake.answer("DeleteItem", {"Attributes": self.sealed})
        self.refused(lambda: self.app.delete_item(TableName=TABLE, Key=KEY, ReturnValues="NONE"),
                     502, INTERNAL, "DeleteItem", "Attributes holds", "ReturnValues NONE")

    def test_put_and_delete_all_old_genuine_items_are_decrypted(self):
        self.fake.answer("PutItem", {"Attributes": self.sealed})
        out = self.app.put_item(TableName=TABLE, Item=GENUINE, ReturnValues="ALL_OLD")
        self.assertEqual(out["Attributes"], GENUINE)
        self.fake.answer("DeleteItem", {"Attributes": self.sealed})
        out = self.app.delete_item(TableName=TABLE, Key=KEY, ReturnValues="ALL_OLD")
        self.assertEqual(out["Attributes"], GENUINE)

    # ---- items inside errors ------------------------------------------------------------

    def ccf(self, item, status=400):
        self.fake.answer("PutItem", {"__type": CCF, "message": "The conditional request failed",
                                     "Item": item}, status)

    def put_if_absent(self):
        return self.app.put_item(TableName=TABLE, Item=GENUINE, ConditionExpression="attribute_not_exists(pk)",
                                 ReturnValuesOnConditionCheckFailure="ALL_OLD")

    def test_condition_check_failure_item_without_head_is_refused(self):
        self.ccf(FORGED)
        self.refused(self.put_if_absent, 400, VALIDATION,
                     'table "%s": PutItem Item (ReturnValuesOnConditionCheckFailure): ' % TABLE,
                     "no aws_dbe_head")

    def test_condition_check_failure_item_under_another_status_is_refused(self):
        # An SDK reads a modeled error's members whatever the error status.
        for status in (409, 500, 503):
            self.ccf(FORGED, status)
            self.refused(self.put_if_absent, 400, VALIDATION,
                         'table "%s": PutItem Item (ReturnValuesOnConditionCheckFailure): ' % TABLE,
                         "no aws_dbe_head")

    def test_condition_check_failure_genuine_item_is_decrypted(self):
        self.ccf(self.sealed)
        with self.assertRaises(self.app.exceptions.ConditionalCheckFailedException) as cm:
            self.put_if_absent()
        self.assertEqual(cm.exception.response["Item"], GENUINE)

    def test_cancellation_reason_item_without_head_is_refused(self):
        self.fake.answer("TransactWriteItems", {
            "__type": CANCELED, "message": "Transaction cancelled",
            "CancellationReasons": [{"Code": "None"},
                                    {"Code": "ConditionalCheckFailed", "Item": FORGED}]}, 400)
        self.refused(lambda: self.transact_write(), 400, VALIDATION,
                     'table "%s": TransactWriteItems CancellationReasons[1].Item: ' % TABLE,
                     "no aws_dbe_head")

    def test_cancellation_reason_beyond_the_request_is_refused(self):
        self.fake.answer("TransactWriteItems", {
            "__type": CANCELED, "message": "Transaction cancelled",
            "CancellationReasons": [{"Code": "None"}, {"Code": "None"},
                                    {"Code": "ConditionalCheckFailed", "Item": FORGED}]}, 400)
        self.refused(lambda: self.transact_write(), 502, INTERNAL, "TransactWriteItems",
                     "CancellationReasons[2]", "2 actions")

    def test_cancellation_reason_genuine_item_is_decrypted(self):
        self.fake.answer("TransactWriteItems", {
            "__type": CANCELED, "message": "Transaction cancelled",
            "CancellationReasons": [{"Code": "None"},
                                    {"Code": "ConditionalCheckFailed", "Item": self.sealed}]}, 400)
        with self.assertRaises(self.app.exceptions.TransactionCanceledException) as cm:
            self.transact_write()
        self.assertEqual(cm.exception.response["CancellationReasons"][1]["Item"], GENUINE)

    def test_items_in_errors_of_any_operation_are_verified_or_refused(self):
        # An SDK fills a modeled error's members by its __type, whatever the operation.
        canceled = {"__type": CANCELED, "message": "Transaction cancelled",
                    "CancellationReasons": [{"Code": "ConditionalCheckFailed", "Item": FORGED}]}
        self.fake.answer("TransactGetItems", canceled, 400)
        self.refused(lambda: self.app.transact_get_items(TransactItems=[
            {"Get": {"TableName": TABLE, "Key": KEY}}]), 400, VALIDATION,
            'table "%s": TransactGetItems CancellationReasons[0].Item: ' % TABLE, "no aws_dbe_head")
        self.fake.answer("DeleteItem", canceled, 400)
        self.refused(lambda: self.app.delete_item(TableName=TABLE, Key=KEY), 400, VALIDATION,
                     'table "%s": DeleteItem CancellationReasons[0].Item: ' % TABLE, "no aws_dbe_head")
        self.fake.answer("BatchGetItem", canceled, 400)
        self.refused(lambda: self.app.batch_get_item(RequestItems={TABLE: {"Keys": [KEY]}}),
                     502, INTERNAL, "BatchGetItem", "CancellationReasons[0]", "which table")
        self.fake.answer("BatchGetItem", {"__type": CCF, "message": "failed", "Item": FORGED}, 400)
        self.refused(lambda: self.app.batch_get_item(RequestItems={TABLE: {"Keys": [KEY]}}),
                     502, INTERNAL, "BatchGetItem", "holds an Item", "which table")
        self.fake.answer("TransactWriteItems", {"__type": CANCELED, "message": "cancelled",
                                                "CancellationReasons": {"0": {"Item": FORGED}}}, 400)
        self.refused(lambda: self.transact_write(), 502, INTERNAL, "TransactWriteItems",
                     "CancellationReasons", "not a list")

    def transact_write(self):
        return self.app.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": dict(GENUINE, pk={"S": "u2"})}},
            {"ConditionCheck": {"TableName": TABLE, "Key": KEY, "ConditionExpression": "visits = :v",
                                "ExpressionAttributeValues": {":v": {"N": "2"}},
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}])

    # ---- shapes that hide an item -------------------------------------------------------

    def test_items_that_are_not_maps_are_refused(self):
        self.fake.answer("GetItem", {"Item": [FORGED]})
        self.refused(lambda: self.app.get_item(TableName=TABLE, Key=KEY), 502, INTERNAL,
                     'table "%s"' % TABLE, "GetItem", "Item", "not a map")
        self.fake.answer("Query", {"Items": [self.sealed, "x"], "Count": 2})
        self.refused(lambda: self.app.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                                            ExpressionAttributeValues={":p": {"S": "u1"}}),
                     502, INTERNAL, "Query", "Items[1]", "not a map")
        self.fake.answer("Scan", {"Items": {"a": FORGED}})
        self.refused(lambda: self.app.scan(TableName=TABLE), 502, INTERNAL, "Scan", "Items",
                     "not a list")

    def test_keys_beside_items_hold_key_attributes_only(self):
        """LastEvaluatedKey and ItemCollectionKey carry no signature: an attribute that is not
        a key (an encrypted one above all) is refused, never handed over unverified; real keys
        pass, and with an index its (unencrypted) key attributes too."""
        query = lambda **kw: self.app.query(TableName=TABLE, KeyConditionExpression="pk = :p",
                                            ExpressionAttributeValues={":p": {"S": "u1"}}, **kw)
        self.fake.answer("Query", {"Items": [self.sealed], "Count": 1, "ScannedCount": 1,
                                   "LastEvaluatedKey": dict(KEY, ssn={"S": ATTACK_SSN})})
        self.refused(query, 502, INTERNAL, 'table "%s"' % TABLE, "LastEvaluatedKey", '"ssn"',
                     "not a key attribute")
        self.fake.answer("Query", {"Items": [self.sealed], "Count": 1, "ScannedCount": 1,
                                   "LastEvaluatedKey": dict(KEY, name={"S": "Ada"})})
        self.refused(query, 502, INTERNAL, "LastEvaluatedKey", '"name"', "not a key attribute")
        self.assertEqual(query(IndexName="by-name")["LastEvaluatedKey"], dict(KEY, name={"S": "Ada"}))
        self.fake.answer("Query", {"Items": [self.sealed], "Count": 1, "ScannedCount": 1,
                                   "LastEvaluatedKey": dict(KEY, email={"S": "x@example.com"})})
        self.refused(lambda: query(IndexName="by-email"), 502, INTERNAL, '"email"', "not a key attribute")
        self.fake.answer("Scan", {"Items": [], "Count": 0, "ScannedCount": 0,
                                  "LastEvaluatedKey": dict(KEY, pk={"M": {"S": {"S": "x"}}})})
        self.refused(lambda: self.app.scan(TableName=TABLE), 502, INTERNAL, '"pk"', "not a key value")
        self.fake.answer("Scan", {"Items": [self.sealed], "Count": 1, "ScannedCount": 1,
                                  "LastEvaluatedKey": KEY})
        self.assertEqual(self.app.scan(TableName=TABLE)["LastEvaluatedKey"], KEY)
        put = lambda: self.app.put_item(TableName=TABLE, Item=GENUINE,
                                        ReturnItemCollectionMetrics="SIZE")
        self.fake.answer("PutItem", {"ItemCollectionMetrics": {
            "ItemCollectionKey": {"pk": {"S": "u1"}, "ssn": {"S": ATTACK_SSN}},
            "SizeEstimateRangeGB": [0, 1]}})
        self.refused(put, 502, INTERNAL, "ItemCollectionKey", '"ssn"')
        self.fake.answer("PutItem", {"ItemCollectionMetrics": {
            "ItemCollectionKey": {"pk": {"S": "u1"}}, "SizeEstimateRangeGB": [0, 1]}})
        self.assertEqual(put()["ItemCollectionMetrics"]["ItemCollectionKey"], {"pk": {"S": "u1"}})
        self.fake.answer("BatchWriteItem", {"UnprocessedItems": {}, "ItemCollectionMetrics": {TABLE: [
            {"ItemCollectionKey": {"pk": {"S": "u1"}, "sk": {"N": "1"}}, "SizeEstimateRangeGB": [0, 1]}]}})
        self.refused(lambda: self.app.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": GENUINE}}]},
                                                       ReturnItemCollectionMetrics="SIZE"),
                     502, INTERNAL, "ItemCollectionKey", '"sk"')

    def test_more_transaction_answers_than_requests_are_refused(self):
        self.fake.answer("TransactGetItems", {"Responses": [{"Item": self.sealed}, {"Item": FORGED}]})
        self.refused(lambda: self.app.transact_get_items(TransactItems=[
            {"Get": {"TableName": TABLE, "Key": KEY}}]), 502, INTERNAL, "TransactGetItems",
            "Responses[1]", "1 action")

    def test_batch_get_answer_for_a_table_not_asked_is_refused(self):
        self.fake.answer("BatchGetItem", {"Responses": {"other": [], LEGACY: [FORGED]}})
        self.refused(lambda: self.app.batch_get_item(RequestItems={TABLE: {"Keys": [KEY]}}),
                     502, INTERNAL, 'table "%s"' % LEGACY, "BatchGetItem", "Responses",
                     "did not ask")

    def test_batch_get_answer_by_another_name_of_the_table_is_verified(self):
        arn = "arn:aws:dynamodb:us-east-1:123456789012:table/" + TABLE
        self.fake.answer("BatchGetItem", {"Responses": {TABLE: [FORGED]}})
        self.refused(lambda: self.app.batch_get_item(RequestItems={arn: {"Keys": [KEY]}}),
                     400, VALIDATION, 'table "%s"' % TABLE, "no aws_dbe_head")

    def test_success_status_other_than_200_is_read_as_a_success(self):
        self.fake.answer("UpdateItem", {"Attributes": {"ssn": {"S": ATTACK_SSN}}}, 201)
        self.refused(lambda: self.update("UPDATED_NEW"), 502, INTERNAL, 'Attributes holds "ssn"')

    def test_bytes_after_the_json_value_are_refused(self):
        body = json.dumps({}).encode() + b' {"Attributes": {"ssn": {"S": "%s"}}}' % ATTACK_SSN.encode()
        self.fake.answer("UpdateItem", body)
        self.refused(lambda: self.update("NONE"), 502, INTERNAL, "UpdateItem", 'table "%s"' % TABLE,
                     "after its JSON value")
        self.fake.answer("PutItem", json.dumps({"__type": CCF, "message": "failed"}).encode() +
                         b'{"Item": {}}', 400)
        self.refused(self.put_if_absent, 502, INTERNAL, "PutItem", "after its JSON value")
        # An error body cJSON cannot read that another parser may (Jackson detects UTF-16;
        # nesting deeper than cJSON's limit) is refused; a UTF-8 byte order mark cJSON skips.
        ccf = json.dumps({"__type": CCF, "message": "failed", "Item": FORGED})
        deep = ccf[:-1] + ', "x": ' + "[" * 1200 + "]" * 1200 + "}"
        for status, body in ((400, ccf.encode("utf-16")), (400, ccf.encode("utf-16-be")),
                             (500, deep.encode())):
            self.fake.answer("PutItem", body, status)
            self.refused(self.put_if_absent, 502, INTERNAL, "PutItem", "status %d" % status,
                         "starts as JSON")
        # A success in UTF-16 reads to cJSON as names cut at their first NUL byte ("Item"
        # as ""): refused as not JSON, as any success dynaseal cannot read.
        self.fake.answer("GetItem", json.dumps({"Item": {"ssn": {"S": ATTACK_SSN}}}).encode("utf-16-be"))
        self.refused(lambda: self.app.get_item(TableName=TABLE, Key=KEY), 502, INTERNAL,
                     "GetItem", "is not JSON")
        self.fake.answer("PutItem", b"\xef\xbb\xbf" + ccf.encode(), 400)
        self.refused(self.put_if_absent, 400, VALIDATION, "PutItem Item", "no aws_dbe_head")
        # An error page that is not JSON at all holds no item: relayed as it came.
        self.fake.answer("PutItem", b"<html>503 Service Unavailable</html>", 503)
        with self.assertRaises(self.app.exceptions.ClientError):
            self.put_if_absent()
        self.assertEqual(self.app.raw, {"status": 503, "body": b"<html>503 Service Unavailable</html>"})
        # Whitespace after the value is only whitespace.
        self.fake.answer("UpdateItem", b'{"Attributes": {"visits": {"N": "8"}}}\r\n ')
        self.assertEqual(self.update("UPDATED_NEW")["Attributes"], {"visits": {"N": "8"}})


class MotoAnswersTest(Refusals, unittest.TestCase):
    """The honest path: moto's answers for every ReturnValues through dynaseal."""

    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            key = os.path.join(cls.moto.workdir, "answers.key")
            with open(key, "wb") as f:
                f.write(os.urandom(32))
            cls.proxy = h.start_dynaseal(cls.moto.url, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                "tables": {TABLE: table_config()}})
            h.boto3_client(cls.moto.url).create_table(
                TableName=TABLE, BillingMode="PAY_PER_REQUEST",
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
        self.app = app_client(self.proxy)

    def test_every_return_values_of_a_write(self):
        a = self.app
        self.assertNotIn("Attributes", a.put_item(TableName=TABLE, Item=GENUINE))
        self.assertEqual(a.put_item(TableName=TABLE, Item=GENUINE, ReturnValues="ALL_OLD")["Attributes"], GENUINE)

        def update(rv, n):
            return a.update_item(TableName=TABLE, Key=KEY, UpdateExpression="SET visits = :v",
                                 ExpressionAttributeValues={":v": {"N": str(n)}}, ReturnValues=rv)
        self.assertNotIn("Attributes", update("NONE", 2))
        self.assertEqual(update("ALL_OLD", 3)["Attributes"], dict(GENUINE, visits={"N": "2"}))
        self.assertEqual(update("ALL_NEW", 4)["Attributes"], dict(GENUINE, visits={"N": "4"}))
        self.assertEqual(update("UPDATED_OLD", 5)["Attributes"], {"visits": {"N": "4"}})
        self.assertEqual(update("UPDATED_NEW", 6)["Attributes"], {"visits": {"N": "6"}})
        # An update of an encrypted attribute is carried out by dynaseal: its UPDATED_* answers
        # are cut from the whole item DynamoDB answered, verified and decrypted.
        self.assertEqual(a.update_item(TableName=TABLE, Key=KEY, UpdateExpression="SET ssn = :v",
                                       ExpressionAttributeValues={":v": {"S": "x"}},
                                       ReturnValues="UPDATED_OLD")["Attributes"], {"ssn": GENUINE["ssn"]})
        self.assertEqual(a.update_item(TableName=TABLE, Key=KEY, UpdateExpression="SET ssn = :v",
                                       ExpressionAttributeValues={":v": GENUINE["ssn"]},
                                       ReturnValues="UPDATED_NEW")["Attributes"], {"ssn": GENUINE["ssn"]})
        current = dict(GENUINE, visits={"N": "6"})
        with self.assertRaises(a.exceptions.ConditionalCheckFailedException) as cm:
            a.put_item(TableName=TABLE, Item=GENUINE, ConditionExpression="attribute_not_exists(pk)",
                       ReturnValuesOnConditionCheckFailure="ALL_OLD")
        self.assertEqual(cm.exception.response["Item"], current)
        with self.assertRaises(a.exceptions.TransactionCanceledException) as cm:
            a.transact_write_items(TransactItems=[
                {"Put": {"TableName": TABLE, "Item": GENUINE, "ConditionExpression": "attribute_not_exists(pk)",
                         "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}])
        self.assertEqual(cm.exception.response["CancellationReasons"][0].get("Item"), current)
        self.assertEqual(a.delete_item(TableName=TABLE, Key=KEY, ReturnValues="ALL_OLD")["Attributes"], current)
        self.assertNotIn("Attributes", a.delete_item(TableName=TABLE, Key=KEY, ReturnValues="ALL_OLD"))
