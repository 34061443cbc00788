"""The key cache shared through Redis (issue "Key hierarchy and caching"): two dynaseal
processes with a hierarchical keyring and one real redis-server make at most two KMS Decrypt
calls for branch keys over 1,000 writes and reads; 64 concurrent requests on a cold cache make
one; Redis killed mid-run and restarted costs no failed request; and nothing in Redis (every key
and value, read back) contains the branch key or its KMS-wrapped form usable without KMS."""
import base64
import concurrent.futures
import json
import os
import signal
import subprocess
import time
import unittest
import uuid

import peers as h

STORE = "shared-keys"


def dump_all(sock):
    """Every key in Redis with its value, over a connected socket (RESP by hand, so the test
    sees exactly what Redis holds)."""
    f = sock.makefile("rwb")

    def read():
        line = f.readline().rstrip(b"\r\n")
        if line[:1] == b"$":
            n = int(line[1:])
            return None if n < 0 else f.read(n + 2)[:-2]
        if line[:1] == b"*":
            return [read() for _ in range(int(line[1:]))]
        return line

    def cmd(*args):
        f.write(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
        f.flush()
        return read()

    return [(k, cmd(b"GET", k)) for k in cmd(b"KEYS", b"*")]


class SharedCacheTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            cls.redis = h.start_redis()
            cls.env = dict(h.proxy_env(), AWS_ENDPOINT_URL_KMS=cls.moto.url)
            cls.kms = h.boto3_client(cls.moto.url, "kms")
            cls.key_arn = cls.kms.create_key()["KeyMetadata"]["Arn"]
            cls.raw = h.boto3_client(cls.moto.url)
            cls.raw.create_table(TableName="notes", BillingMode="PAY_PER_REQUEST",
                                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(cls.env)
            for args in (["create-store", "--table", STORE],
                         ["create", "--table", STORE, "--kms-key", cls.key_arn]):
                r = subprocess.run([h.DYNASEAL, "branch-key", *args, "--endpoint", cls.moto.url],
                                   env=env, capture_output=True, text=True, timeout=60)
                assert r.returncode == 0, r.stderr
            cls.branch_id = r.stdout.strip()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("redis", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def start_proxy(self, workers=2):
        audit = os.path.join(h.run_dir(), "audit-%s.jsonl" % uuid.uuid4().hex[:8])
        proxy = h.start_dynaseal(self.moto.url, env=self.env, workers=workers, config={
            "keyrings": {"hier": {"type": "aws-kms-hierarchical", "key_store_table": STORE,
                                  "kms_key_id": self.key_arn, "branch_key_id": self.branch_id, "ttl_s": 600}},
            "tables": {"notes": {"keyring": "hier", "partition_key": "pk",
                                 "attribute_actions": {"text": "ENCRYPT_AND_SIGN"}}},
            "cache": {"redis": "redis://127.0.0.1:%d/0" % self.redis.port, "ttl_s": 600},
            "log": {"audit": audit}})
        self.addCleanup(proxy.stop)
        proxy.audit = audit
        return proxy

    @staticmethod
    def branch_key_decrypts(proxy):
        """KMS Decrypt calls for branch keys, from the audit log; the cache key's own unwrap at
        start-up (request id "cache-key") is not counted."""
        if not os.path.exists(proxy.audit):
            return 0
        with open(proxy.audit) as f:
            entries = [json.loads(l) for l in f if l.strip()]
        return sum(1 for e in entries if e["operation"] == "Decrypt" and e["request_id"] != "cache-key")

    def redis_dump(self):
        import socket
        with socket.create_connection(("127.0.0.1", self.redis.port), timeout=5) as s:
            return dump_all(s)

    def branch_key_material(self):
        """The branch key itself, unwrapped straight from the store with moto's KMS."""
        item = self.raw.get_item(TableName=STORE, Key={"branch-key-id": {"S": self.branch_id},
                                                       "type": {"S": "branch:ACTIVE"}})["Item"]
        ec = {k: v.get("S", v.get("N")) for k, v in item.items() if ("S" in v or "N" in v)}
        ec["tablename"] = STORE
        ec["branch-key-id"] = self.branch_id
        try:
            return self.kms.decrypt(CiphertextBlob=item["enc"]["B"], KeyId=self.key_arn,
                                    EncryptionContext=ec)["Plaintext"]
        except Exception:
            return None

    def test_two_replicas_share_one_kms_call(self):
        a, b = self.start_proxy(), self.start_proxy()
        apps = [h.boto3_client(a.url), h.boto3_client(b.url)]
        for i in range(500):
            apps[i % 2].put_item(TableName="notes", Item={"pk": {"S": "n%d" % i}, "text": {"S": "secret %d" % i}})
        for i in range(500):
            got = apps[(i + 1) % 2].get_item(TableName="notes", Key={"pk": {"S": "n%d" % i}})["Item"]
            self.assertEqual(got["text"], {"S": "secret %d" % i})
        total = self.branch_key_decrypts(a) + self.branch_key_decrypts(b)
        self.assertLessEqual(total, 2, "KMS Decrypt calls for branch keys across both replicas")
        self.assertGreaterEqual(total, 1)
        # Every branch key use is audited with the request it served.
        with open(a.audit) as f:
            uses = [json.loads(l) for l in f if '"branch-key"' in l]
        self.assertEqual(len(uses), 500)
        for u in uses:
            self.assertEqual((u["event"], u["key"], u["table"]), ("branch-key", self.branch_id, "notes"))
            self.assertIn(u["operation"], ("encrypt", "decrypt"))
            self.assertRegex(u["request_id"], r"^[A-Z0-9]{52}$")
        # The branch key's KMS Decrypt follows an asynchronous Redis miss: still audited with
        # the request that started the read (one in that replica's access log).
        for p in (a, b):
            with open(p.audit) as f:
                kms = [json.loads(l) for l in f if '"kms"' in l]
            log = h.tail(p.log, 10000000)
            for e in kms:
                if e["request_id"] == "cache-key":
                    continue
                self.assertEqual((e["operation"], e["table"], e["client"]), ("Decrypt", "notes", h.CLIENT_KEY))
                self.assertIn("id=" + e["request_id"], log)
        m = h.metrics(b)
        self.assertRegex(m, r'dynaseal_cache_lookups_total\{layer="redis",result="hit"\} [1-9]')
        # Redis holds sealed entries only: no branch key bytes, no plaintext.
        dump = self.redis_dump()
        self.assertTrue(dump)
        key = self.branch_key_material()
        self.assertIsNotNone(key, "the test could not unwrap the branch key to look for it")
        self.assertEqual(len(key), 32)
        for k, v in dump:
            blob = (k or b"") + (v or b"")
            self.assertNotIn(self.branch_id.encode(), blob)
            self.assertNotIn(b"secret", blob)
            self.assertNotIn(key, blob)
            self.assertNotIn(base64.b64encode(key), blob)

    def test_cold_cache_concurrency_makes_one_call(self):
        subprocess.run(["redis-cli", "-p", str(self.redis.port), "FLUSHALL"], capture_output=True)
        proxy = self.start_proxy(workers=1)
        h.boto3_client(self.moto.url)  # warm botocore imports
        seed = h.boto3_client(proxy.url)
        seed.put_item(TableName="notes", Item={"pk": {"S": "cold"}, "text": {"S": "x"}})
        proxy.stop()
        subprocess.run(["redis-cli", "-p", str(self.redis.port), "FLUSHALL"], capture_output=True)
        proxy = self.start_proxy(workers=1)
        app = h.boto3_client(proxy.url)
        with concurrent.futures.ThreadPoolExecutor(64) as ex:
            results = list(ex.map(lambda _: app.get_item(TableName="notes", Key={"pk": {"S": "cold"}})["Item"],
                                  range(64)))
        self.assertTrue(all(r["text"] == {"S": "x"} for r in results))
        self.assertEqual(self.branch_key_decrypts(proxy), 1)

    def test_redis_restart_costs_no_request(self):
        proxy = self.start_proxy()
        app = h.boto3_client(proxy.url)
        port = self.redis.port
        failures = 0
        for i in range(120):
            if i == 30:
                self.redis.stop()
            if i == 80:
                self.redis = h.Server("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                               "--save", "", "--appendonly", "no"], port)
            try:
                app.put_item(TableName="notes", Item={"pk": {"S": "r%d" % i}, "text": {"S": "v%d" % i}})
                self.assertEqual(app.get_item(TableName="notes", Key={"pk": {"S": "r%d" % i}})["Item"]["text"],
                                 {"S": "v%d" % i})
            except Exception:
                failures += 1
        self.assertEqual(failures, 0)
        self.assertIsNone(proxy.proc.poll())


class SharedCacheTlsTest(SharedCacheTest):
    """The same sharing over rediss:// (ElastiCache in-transit encryption): a redis-server
    serving TLS only, with a certificate from a test CA given as upstream.ca_file."""

    @classmethod
    def setUpClass(cls):
        from test_tls_upstream import make_pki
        super().setUpClass()
        try:
            cls.pki = os.path.join(cls.moto.workdir, "pki")
            os.makedirs(cls.pki, exist_ok=True)
            make_pki(cls.pki)
            cls.redis.stop()
            port = h.free_port()
            cls.redis = h.Server("redis-tls", [
                "redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
                "--tls-cert-file", os.path.join(cls.pki, "server.pem"),
                "--tls-key-file", os.path.join(cls.pki, "server.key"),
                "--tls-ca-cert-file", os.path.join(cls.pki, "ca.pem"), "--tls-auth-clients", "no",
                "--save", "", "--appendonly", "no"], port)
        except Exception:
            cls.tearDownClass()
            raise

    def start_proxy(self, workers=2):
        audit = os.path.join(h.run_dir(), "audit-%s.jsonl" % uuid.uuid4().hex[:8])
        proxy = h.start_dynaseal(self.moto.url, env=self.env, workers=workers, config={
            "upstream": {"ca_file": os.path.join(self.pki, "ca.pem")},
            "keyrings": {"hier": {"type": "aws-kms-hierarchical", "key_store_table": STORE,
                                  "kms_key_id": self.key_arn, "branch_key_id": self.branch_id, "ttl_s": 600}},
            "tables": {"notes": {"keyring": "hier", "partition_key": "pk",
                                 "attribute_actions": {"text": "ENCRYPT_AND_SIGN"}}},
            "cache": {"redis": "rediss://localhost:%d/0" % self.redis.port, "ttl_s": 600},
            "log": {"audit": audit}})
        self.addCleanup(proxy.stop)
        proxy.audit = audit
        return proxy

    def redis_dump(self):
        import socket
        import ssl
        ctx = ssl.create_default_context(cafile=os.path.join(self.pki, "ca.pem"))
        with socket.create_connection(("127.0.0.1", self.redis.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                return dump_all(s)

    # Cold-cache concurrency and Redis restarts are the same code over TLS: run once, above.
    test_cold_cache_concurrency_makes_one_call = None
    test_redis_restart_costs_no_request = None


if __name__ == "__main__":
    unittest.main()
