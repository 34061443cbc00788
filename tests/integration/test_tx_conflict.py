"""TransactWriteItems that dynaseal carries out (actions on encrypted or signed attributes)
when another writer changes an item between dynaseal's read (TransactGetItems) and its write
(TransactWriteItems).

moto runs transactions (dynalite has none), but no local DynamoDB lets a test put a write
exactly between two of dynaseal's calls.  So dynaseal's upstream here is a relay in front of
moto which, after moto answered a TransactGetItems and before dynaseal gets that answer, has a
second dynaseal (straight to moto, same keys) change the item: another application writing at
the worst moment.  The relay is checked first: boto3 through it observes what boto3 observes
from moto itself.
"""
import http.client
import http.server
import json
import socketserver
import threading
import unittest

import peers as h

T = "accounts"
ACTIONS = {"pk": "SIGN_ONLY", "email": "ENCRYPT_AND_SIGN", "age": "SIGN_ONLY", "visits": "DO_NOTHING"}


class Relay(http.server.BaseHTTPRequestHandler):
    """Forwards to moto; after a TransactGetItems's answer, runs Relay.hook while it may."""
    upstream_port = None
    hook = None
    interfere = 0
    seen = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        target = self.headers.get("X-Amz-Target", "").split(".")[-1]
        with Relay.lock:
            Relay.seen.append((target, json.loads(body)))
        conn = http.client.HTTPConnection("127.0.0.1", Relay.upstream_port, timeout=30)
        conn.request("POST", self.path, body, {k: v for k, v in self.headers.items()})
        resp = conn.getresponse()
        data = resp.read()
        if target == "TransactGetItems" and Relay.interfere > 0:
            Relay.interfere -= 1
            Relay.hook()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    def log_message(self, *args):
        pass


def plain(r):
    return {k: v for k, v in r.items() if k != "ResponseMetadata"}


class TransactConflictTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            Relay.upstream_port = cls.moto.port
            cls.relay = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Relay)
            cls.relay.daemon_threads = True
            threading.Thread(target=cls.relay.serve_forever, daemon=True).start()
            relay_url = "http://127.0.0.1:%d" % cls.relay.server_address[1]
            key = h.random_key_file(cls.moto.workdir, "tx.key")
            config = {"keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                      "tables": {T: {"keyring": "local", "partition_key": "pk", "attribute_actions": ACTIONS}}}
            cls.proxy = h.start_dynaseal(relay_url, config=config)
            cls.other = h.start_dynaseal(cls.moto.url, config=config)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "other", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()
        if hasattr(cls, "relay"):
            cls.relay.shutdown()

    def setUp(self):
        db = h.boto3_client(self.moto)
        if T in db.list_tables()["TableNames"]:
            db.delete_table(TableName=T)
        h.create_table(db, T)
        Relay.interfere, Relay.hook, Relay.seen = 0, None, []
        self.app = h.boto3_client(self.proxy)
        self.writer = h.boto3_client(self.other)
        self.writer.put_item(TableName=T, Item={"pk": {"S": "a"}, "email": {"S": "old@example.com"},
                                                "age": {"N": "1"}, "visits": {"N": "0"}})

    def item(self):
        return self.writer.get_item(TableName=T, Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]

    def conflicts(self):
        for line in h.metrics(self.proxy).splitlines():
            if line.startswith("dynaseal_rmw_conflicts_total "):
                return int(line.split()[1])
        self.fail("no dynaseal_rmw_conflicts_total in /metrics")

    def reads(self):
        return sum(1 for target, _ in Relay.seen if target == "TransactGetItems")

    def test_relay_is_transparent(self):
        via = h.boto3_client("http://127.0.0.1:%d" % self.relay.server_address[1])
        direct = h.boto3_client(self.moto)
        for c in (via, direct):
            c.put_item(TableName=T, Item={"pk": {"S": "r"}, "n": {"N": "1"}})
        key = {"pk": {"S": "r"}}
        self.assertEqual(plain(via.get_item(TableName=T, Key=key)), plain(direct.get_item(TableName=T, Key=key)))
        tx = [{"Get": {"TableName": T, "Key": key}}, {"Get": {"TableName": T, "Key": {"pk": {"S": "none"}}}}]
        self.assertEqual(plain(via.transact_get_items(TransactItems=tx)),
                         plain(direct.transact_get_items(TransactItems=tx)))
        bad = [{"ConditionCheck": {"TableName": T, "Key": key, "ConditionExpression": "attribute_not_exists(pk)"}}]
        errors = []
        for c in (via, direct):
            with self.assertRaises(c.exceptions.TransactionCanceledException) as cm:
                c.transact_write_items(TransactItems=bad)
            errors.append((cm.exception.response["Error"], cm.exception.response["CancellationReasons"]))
        self.assertEqual(errors[0], errors[1])

    def test_changed_items_are_read_again(self):
        """Three times the item changes after dynaseal read it: dynaseal's guarded write is
        cancelled each time, it reads again, and the fourth attempt commits on top of all three
        changes; the application sees one success."""
        def bump():
            self.writer.update_item(TableName=T, Key={"pk": {"S": "a"}}, UpdateExpression="SET age = age + :ten",
                                    ExpressionAttributeValues={":ten": {"N": "10"}})
        Relay.interfere, Relay.hook = 3, bump
        before = self.conflicts()
        self.app.transact_write_items(TransactItems=[
            {"Update": {"TableName": T, "Key": {"pk": {"S": "a"}}, "ConditionExpression": "email = :old",
                        "UpdateExpression": "SET email = :e, age = age + :one",
                        "ExpressionAttributeValues": {":old": {"S": "old@example.com"}, ":e": {"S": "new@example.com"},
                                                      ":one": {"N": "1"}}}}])
        item = self.item()
        self.assertEqual(item["age"], {"N": "32"})
        self.assertEqual(item["email"], {"S": "new@example.com"})
        self.assertEqual(self.reads(), 4)
        self.assertEqual(self.conflicts() - before, 3)

    def test_false_condition_read_again_when_item_changed(self):
        """The condition is false on the item read, but the item changes before the write: the
        item DynamoDB shows with the cancellation is not the one read, so dynaseal reads again
        rather than answer a failure that never held at one moment; now the condition holds."""
        def set_email():
            self.writer.update_item(TableName=T, Key={"pk": {"S": "a"}}, UpdateExpression="SET email = :n",
                                    ExpressionAttributeValues={":n": {"S": "new@example.com"}})
        Relay.interfere, Relay.hook = 1, set_email
        self.app.transact_write_items(TransactItems=[
            {"Update": {"TableName": T, "Key": {"pk": {"S": "a"}}, "ConditionExpression": "email = :n",
                        "UpdateExpression": "SET age = :v",
                        "ExpressionAttributeValues": {":n": {"S": "new@example.com"}, ":v": {"N": "7"}}}}])
        self.assertEqual(self.item()["age"], {"N": "7"})
        self.assertEqual(self.reads(), 2)

    def test_false_condition_answered_when_item_unchanged(self):
        """A false condition on an item nobody changes: one read, and DynamoDB's cancellation
        with the reason at that action, its item decrypted as asked."""
        with self.assertRaises(self.app.exceptions.TransactionCanceledException) as cm:
            self.app.transact_write_items(TransactItems=[
                {"ConditionCheck": {"TableName": T, "Key": {"pk": {"S": "a"}}, "ConditionExpression": "email = :n",
                                    "ExpressionAttributeValues": {":n": {"S": "nobody@example.com"}},
                                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
                {"Update": {"TableName": T, "Key": {"pk": {"S": "b"}}, "UpdateExpression": "ADD visits :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}}}}])
        reasons = cm.exception.response["CancellationReasons"]
        self.assertEqual([r["Code"] for r in reasons], ["ConditionalCheckFailed", "None"])
        self.assertEqual(reasons[0]["Item"]["email"], {"S": "old@example.com"})
        self.assertEqual(self.reads(), 1)
        self.assertNotIn("Item", self.writer.get_item(TableName=T, Key={"pk": {"S": "b"}}))

    def test_retries_run_out(self):
        """An item that changes after every read: after 8 attempts a 500 the SDKs retry, and the
        application's write was never applied."""
        def bump():
            self.writer.update_item(TableName=T, Key={"pk": {"S": "a"}}, UpdateExpression="SET age = age + :one",
                                    ExpressionAttributeValues={":one": {"N": "1"}})
        Relay.interfere, Relay.hook = 1000, bump
        import boto3
        from botocore.config import Config
        env = h.client_env(self.proxy)
        app = boto3.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL_DYNAMODB"], region_name=h.REGION,
                           aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                           config=Config(retries={"total_max_attempts": 1}))   # the SDK sends it once
        with self.assertRaises(Exception) as cm:
            app.transact_write_items(TransactItems=[
                {"Update": {"TableName": T, "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET email = :e",
                            "ExpressionAttributeValues": {":e": {"S": "lost@example.com"}}}}])
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], "InternalServerError")
        self.assertIn("changed under dynaseal's read-modify-write 8 times in a row", err["Message"])
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)
        self.assertEqual(self.reads(), 8)
        item = self.item()
        self.assertEqual(item["email"], {"S": "old@example.com"})
        self.assertEqual(item["age"], {"N": "9"})

    def test_token_of_a_later_attempt(self):
        """The application's ClientRequestToken goes with the first attempt; a later attempt,
        whose actions differ, carries a token derived from it."""
        def bump():
            self.writer.update_item(TableName=T, Key={"pk": {"S": "a"}}, UpdateExpression="SET age = age + :one",
                                    ExpressionAttributeValues={":one": {"N": "1"}})
        Relay.interfere, Relay.hook = 1, bump
        self.app.transact_write_items(ClientRequestToken="app-token-1", TransactItems=[
            {"Update": {"TableName": T, "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET email = :e",
                        "ExpressionAttributeValues": {":e": {"S": "t@example.com"}}}}])
        tokens = [b.get("ClientRequestToken") for t, b in Relay.seen if t == "TransactWriteItems"]
        self.assertEqual(len(tokens), 2)
        self.assertEqual(tokens[0], "app-token-1")
        self.assertRegex(tokens[1], r"^[0-9a-f]{36}$")
        self.assertEqual(self.item()["email"], {"S": "t@example.com"})

    def test_no_plaintext_upstream(self):
        """What dynaseal sends for a carried-out transaction holds no plaintext of email."""
        self.app.transact_write_items(TransactItems=[
            {"Put": {"TableName": T, "Item": {"pk": {"S": "p"}, "email": {"S": "secret-mail@example.com"}},
                     "ConditionExpression": "attribute_not_exists(email)"}},
            {"Update": {"TableName": T, "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET email = :e",
                        "ExpressionAttributeValues": {":e": {"S": "secret-two@example.com"}}}}])
        sent = json.dumps([b for _, b in Relay.seen])
        self.assertIn("TransactWriteItems", [t for t, _ in Relay.seen])
        self.assertNotIn("secret-mail", sent)
        self.assertNotIn("secret-two", sent)
        got = self.app.get_item(TableName=T, Key={"pk": {"S": "p"}})["Item"]
        self.assertEqual(got["email"], {"S": "secret-mail@example.com"})


if __name__ == "__main__":
    unittest.main()
