"""The AWS SDK for JavaScript v3 (client-dynamodb and the DocumentClient of lib-dynamodb),
unmodified, against dynalite through dynaseal: on an encrypted table and on a pass-through one.
The script (tests/node/app_roundtrip.mjs) asserts every result and exits non-zero on a mismatch;
under DYNASEAL_DIRECT=1 it runs the pass-through case against dynalite itself."""
import os
import subprocess
import unittest

import peers as h

SCRIPT = os.path.join(h.ROOT, "tests", "node", "app_roundtrip.mjs")


class JavaScriptSdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ddb = h.start_dynalite()
        try:
            key = os.path.join(cls.ddb.workdir, "k")
            with open(key, "wb") as f:
                f.write(os.urandom(32))
            cls.proxy = h.start_dynaseal(cls.ddb.url, direct_ok=True, config={
                "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
                "tables": {"js-users": {
                    "keyring": "local", "partition_key": "pk", "sort_key": "sk",
                    "attribute_actions": {"email": "ENCRYPT_AND_SIGN", "profile": "ENCRYPT_AND_SIGN",
                                          "name": "SIGN_ONLY", "visits": "DO_NOTHING"}}}})
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "ddb"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def run_app(self, table, encrypted):
        env = h.client_env(self.proxy)
        env["EXPECT_ENCRYPTED"] = "1" if encrypted else "0"
        env["NODE_NO_WARNINGS"] = "1"
        r = subprocess.run(["node", SCRIPT, table], env=env, capture_output=True, text=True, timeout=120,
                           cwd=os.path.dirname(SCRIPT))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("js: ok", r.stdout)

    @h.proxy_only
    def test_encrypted_table(self):
        self.run_app("js-users", True)
        raw = h.boto3_client(self.ddb.url).get_item(TableName="js-users", Key={"pk": {"S": "doc"}, "sk": {"N": "1"}})["Item"]
        self.assertEqual(list(raw["email"]), ["B"])
        self.assertEqual(list(raw["profile"]), ["B"])
        self.assertIn("aws_dbe_head", raw)
        self.assertNotIn(b"ada@example.com", raw["email"]["B"])

    def test_pass_through_table(self):
        self.run_app("js-plain", False)
        raw = h.boto3_client(self.ddb.url).get_item(TableName="js-plain", Key={"pk": {"S": "doc"}, "sk": {"N": "1"}})["Item"]
        self.assertEqual(raw["email"], {"S": "ada@example.com"})


if __name__ == "__main__":
    unittest.main()
