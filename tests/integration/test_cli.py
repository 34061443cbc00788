"""The command line and listening: `check` reports every problem and exits 1, `serve` refuses a
config whose upstream is itself, --version/--help, and listeners on IPv6 and on every address
a name resolves to."""
import json
import os
import socket
import subprocess
import tempfile
import time
import unittest

import peers as h


def run(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([h.DYNASEAL, *args], capture_output=True, text=True, timeout=30, env=e)


def write_config(cfg):
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(cfg, f)
    return path


class CliTest(unittest.TestCase):
    def test_version_and_help(self):
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^dynaseal \d+\.\d+\.\d+")
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        for word in ("serve", "check", "migrate", "--total-segments", "--config", "AWS_ENDPOINT_URL_DYNAMODB"):
            self.assertIn(word, r.stdout)
        r = run("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn('unknown command "frobnicate"', r.stderr)

    def test_check_reports_every_problem(self):
        path = write_config({
            "listen": "127.0.0.1:99999",
            "upstream": {"endpoint": "ftp://x", "region": "us-east-1"},
            "keyrings": {"k": {"type": "raw-aes"}},
            "tables": {"users": {"keyring": "missing", "partition_key": "pk",
                                 "attribute_actions": {"pk": "ENCRYPT_AND_SIGN", "ssn": "ENCRYPT"}}},
            "colour": "blue"})
        try:
            r = run("check", "--config", path)
            self.assertEqual(r.returncode, 1)
            lines = [l for l in r.stderr.splitlines() if l.startswith("config: ")]
            self.assertGreaterEqual(len(lines), 6, r.stderr)
            for needle in ('"listen"', '"upstream.endpoint"', '"keyrings.k.key_file"', '"tables.users.keyring"',
                           '"tables.users.attribute_actions.pk"', '"tables.users.attribute_actions.ssn"', '"colour"'):
                self.assertTrue(any(needle in l for l in lines), needle + "\n" + r.stderr)
            self.assertIn("problems", r.stderr)
        finally:
            os.unlink(path)

    def test_check_ok_and_config_from_env(self):
        path = write_config({"upstream": {"endpoint": "http://127.0.0.1:1", "region": "us-east-1"}})
        try:
            r = run("check", env={"DYNASEAL_CONFIG": path})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("OK", r.stdout)
        finally:
            os.unlink(path)
        r = run("check", env={"DYNASEAL_CONFIG": ""})
        self.assertEqual(r.returncode, 2)
        self.assertIn("--config", r.stderr)

    def test_serve_refuses_itself_as_upstream(self):
        port = h.free_port()
        path = write_config({"listen": "127.0.0.1:%d" % port,
                             "upstream": {"endpoint": "http://localhost:%d" % port, "region": "us-east-1"}})
        try:
            r = run("serve", "--config", path, env=h.proxy_env())
            self.assertEqual(r.returncode, 1)
            self.assertIn("own listen address", r.stderr)
        finally:
            os.unlink(path)

    def test_serve_without_credentials_says_what_to_set(self):
        path = write_config({"listen": "127.0.0.1:%d" % h.free_port(), "admin_listen": "127.0.0.1:0",
                             "upstream": {"endpoint": "http://127.0.0.1:1", "region": "us-east-1"}})
        env = {k: "" for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                               "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_WEB_IDENTITY_TOKEN_FILE",
                               "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")}
        # No instance metadata either (and never a link-local address from a test).
        env.update(AWS_EC2_METADATA_DISABLED="true", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
        try:
            r = run("serve", "--config", path, env=env)
            self.assertEqual(r.returncode, 1)
            self.assertIn("AWS_ACCESS_KEY_ID", r.stderr)
        finally:
            os.unlink(path)


class ListenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ddb = h.start_dynalite()

    @classmethod
    def tearDownClass(cls):
        cls.ddb.stop()

    def start(self, listen):
        """Runs dynaseal on listen; returns (process, port, workdir)."""
        port = h.free_port()
        path = write_config({"listen": listen % port, "admin_listen": "127.0.0.1:0",
                             "upstream": {"endpoint": self.ddb.url, "region": "us-east-1"}})
        log = open(path + ".log", "wb")
        env = dict(os.environ)
        env.update(h.proxy_env())
        proc = subprocess.Popen([h.DYNASEAL, "serve", "--config", path, "--workers", "2"],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        self.addCleanup(os.unlink, path)
        self.addCleanup(os.unlink, path + ".log")
        self.addCleanup(lambda: (proc.terminate(), proc.wait(timeout=10)))
        return proc, port

    def connect(self, family, addr, port):
        for _ in range(100):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(5)
            try:
                s.connect((addr, port))
                return s
            except OSError:
                s.close()
                time.sleep(0.05)
        self.fail("nothing listens on %s port %d" % (addr, port))

    def list_tables(self, s):
        with s:
            # Signed as an SDK signs (dynaseal re-signs; without clients it checks the form only).
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
                      b"Content-Type: application/x-amz-json-1.0\r\nConnection: close\r\n"
                      b"Authorization: AWS4-HMAC-SHA256 Credential=AKIDAPP/20260101/us-east-1/"
                      b"dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\n"
                      b"X-Amz-Date: 20260101T000000Z\r\n"
                      b"Content-Length: 2\r\n\r\n{}")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
        self.assertIn(b"TableNames", data)

    def test_ipv6(self):
        _, port = self.start("[::1]:%d")
        self.list_tables(self.connect(socket.AF_INET6, "::1", port))

    def test_name_listens_on_every_address(self):
        # Every address the name resolves to (127.0.0.1 and, where /etc/hosts has it, ::1).
        _, port = self.start("localhost:%d")
        addrs = {(ai[0], ai[4][0]) for ai in socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)}
        self.assertTrue(addrs)
        for family, addr in sorted(addrs):
            self.list_tables(self.connect(family, addr, port))


if __name__ == "__main__":
    unittest.main()
