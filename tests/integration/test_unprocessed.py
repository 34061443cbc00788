"""BatchWriteItem's UnprocessedItems and BatchGetItem's UnprocessedKeys come back in the
application's own form, so the SDKs' retries resend plaintext items through dynaseal.

No local DynamoDB leaves items unprocessed (real DynamoDB does under throttling), so the
upstream here is a small stand-in that answers every batch call with everything unprocessed,
echoing the request's (encrypted) parts exactly as DynamoDB does."""
import http.server
import json
import os
import socketserver
import threading
import unittest
import zlib

import peers as h


class Unprocessing(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        target = self.headers["X-Amz-Target"].split(".")[-1]
        Unprocessing.seen.append((target, body))
        if target == "BatchWriteItem":
            out = {"UnprocessedItems": body["RequestItems"]}
        elif target == "BatchGetItem":
            out = {"Responses": {t: [] for t in body["RequestItems"]}, "UnprocessedKeys": body["RequestItems"]}
        else:
            out = {}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amz-crc32", str(zlib.crc32(data)))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class UnprocessedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Unprocessing)
        cls.server.daemon_threads = True
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        key = os.path.join(h.run_dir(), "unprocessed.key")
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        cls.proxy = h.start_dynaseal("http://127.0.0.1:%d" % cls.server.server_address[1], config={
            "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
            "tables": {"users": {"keyring": "local", "partition_key": "pk", "sort_key": "sk",
                                 "attribute_actions": {"ssn": "ENCRYPT_AND_SIGN", "name": "SIGN_ONLY"}}}})

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.server.shutdown()
        cls.server.server_close()

    def test_unprocessed_items_are_plaintext(self):
        items = [{"pk": {"S": "u"}, "sk": {"N": str(i)}, "ssn": {"S": "secret-%d" % i}, "name": {"S": "N%d" % i}}
                 for i in range(3)]
        request = {"users": [{"PutRequest": {"Item": it}} for it in items] +
                   [{"DeleteRequest": {"Key": {"pk": {"S": "u"}, "sk": {"N": "9"}}}}],
                   "plain-table": [{"PutRequest": {"Item": {"pk": {"S": "p"}}}}]}
        out = h.boto3_client(self.proxy.url).batch_write_item(RequestItems=request)
        self.assertEqual(out["UnprocessedItems"], request)
        # What went upstream was encrypted.
        sent = [b for t, b in Unprocessing.seen if t == "BatchWriteItem"][-1]
        stored = sent["RequestItems"]["users"][0]["PutRequest"]["Item"]
        self.assertEqual(list(stored["ssn"]), ["B"])
        self.assertIn("aws_dbe_head", stored)

    def test_unprocessed_keys_keep_the_application_projection(self):
        request = {"users": {"Keys": [{"pk": {"S": "u"}, "sk": {"N": "1"}}], "ProjectionExpression": "#n",
                             "ExpressionAttributeNames": {"#n": "name"}}}
        out = h.boto3_client(self.proxy.url).batch_get_item(RequestItems=request)
        self.assertEqual(out["UnprocessedKeys"], request)
        # Upstream got the projection extended with what verification needs.
        sent = [b for t, b in Unprocessing.seen if t == "BatchGetItem"][-1]["RequestItems"]["users"]
        self.assertIn("aws_dbe_head", sent["ExpressionAttributeNames"].values())


if __name__ == "__main__":
    unittest.main()
