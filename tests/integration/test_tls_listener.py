"""An https listener (tls.cert_file, tls.key_file): the AWS CLI (--ca-bundle) and the JS SDK
(NODE_EXTRA_CA_CERTS) use dynaseal over TLS; plain http on that port gets nothing; SIGHUP loads
a renewed certificate for new connections."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest

import peers as h
from test_tls_upstream import make_pki, openssl


def served_serial(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return s.getpeercert()["serialNumber"]


class TlsListenerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ddb = h.start_dynalite()
        try:
            cls.dir = cls.ddb.workdir
            make_pki(cls.dir)
            cls.ca = os.path.join(cls.dir, "ca.pem")
            cls.proxy = h.start_dynaseal(cls.ddb.url, config={"tls": {
                "cert_file": os.path.join(cls.dir, "server.pem"), "key_file": os.path.join(cls.dir, "server.key")}})
            cls.https = "https://localhost:%d" % cls.proxy.port
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "ddb"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def test_aws_cli_over_https(self):
        env = h.client_env(self.https)
        r = subprocess.run(["aws", "dynamodb", "create-table", "--table-name", "tls-cli", "--billing-mode",
                            "PAY_PER_REQUEST", "--attribute-definitions", "AttributeName=pk,AttributeType=S",
                            "--key-schema", "AttributeName=pk,KeyType=HASH", "--ca-bundle", self.ca],
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(["aws", "dynamodb", "list-tables", "--ca-bundle", self.ca, "--output", "json"],
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("tls-cli", json.loads(r.stdout)["TableNames"])
        # Without the CA the CLI refuses the certificate.
        r = subprocess.run(["aws", "dynamodb", "list-tables"], env=env, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("SSL", r.stderr)

    def test_js_sdk_over_https(self):
        script = os.path.join(h.ROOT, "tests", "node", "app_roundtrip.mjs")
        env = h.client_env(self.https)
        env.update(NODE_EXTRA_CA_CERTS=self.ca, EXPECT_ENCRYPTED="0", NODE_NO_WARNINGS="1")
        r = subprocess.run(["node", script, "tls-js"], env=env, capture_output=True, text=True, timeout=120,
                           cwd=os.path.dirname(script))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("js: ok", r.stdout)

    def test_plain_http_gets_no_answer(self):
        with socket.create_connection(("127.0.0.1", self.proxy.port), timeout=5) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            try:
                data = s.recv(100)
            except ConnectionResetError:
                data = b""
            self.assertFalse(data.startswith(b"HTTP/1.1 200"))
        # And the listener still serves TLS afterwards.
        served_serial(self.proxy.port, self.ca)

    def test_check_needs_both_files(self):
        path = os.path.join(self.dir, "half.json")
        with open(path, "w") as f:
            json.dump({"upstream": {"endpoint": self.ddb.url, "region": "us-east-1"},
                       "tls": {"cert_file": os.path.join(self.dir, "server.pem"), "key_file": "/nonexistent.key"}}, f)
        r = subprocess.run([h.DYNASEAL, "check", "--config", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn('"tls.key_file": cannot read', r.stderr)
        with open(path, "w") as f:
            json.dump({"upstream": {"endpoint": self.ddb.url, "region": "us-east-1"},
                       "tls": {"cert_file": os.path.join(self.dir, "server.pem")}}, f)
        r = subprocess.run([h.DYNASEAL, "check", "--config", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("tls.key_file", r.stderr)

    def test_sighup_reloads_the_certificate(self):
        before = served_serial(self.proxy.port, self.ca)
        d = self.dir
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server2.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
        shutil.copy(os.path.join(d, "server2.pem"), os.path.join(d, "server.pem"))
        self.proxy.signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and served_serial(self.proxy.port, self.ca) == before:
            time.sleep(0.1)
        self.assertNotEqual(served_serial(self.proxy.port, self.ca), before)
        self.assertIn("TLS certificate reloaded", self.proxy.log_text())


if __name__ == "__main__":
    unittest.main()
