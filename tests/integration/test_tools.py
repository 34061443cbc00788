"""`dynaseal doctor` and `dynaseal inspect` against real peers (moto with KMS, redis-server)."""
import json
import os
import subprocess
import unittest

import peers as h


class ToolsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            cls.redis = h.start_redis()
            cls.raw = h.boto3_client(cls.moto.url)
            cls.key_arn = h.boto3_client(cls.moto.url, "kms").create_key()["KeyMetadata"]["Arn"]
            for name, keys in (("users", [("pk", "HASH")]), ("orders", [("pk", "HASH"), ("sk", "RANGE")])):
                cls.raw.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                     AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
                                     KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys])
            keyfile = os.path.join(cls.moto.workdir, "local.key")
            with open(keyfile, "wb") as f:
                f.write(os.urandom(32))
            cls.config = h.proxy_config(h.free_port(), h.free_port(), cls.moto.url, {
                "keyrings": {"local": {"type": "raw-aes", "key_file": keyfile},
                             "kms": {"type": "aws-kms", "key_id": cls.key_arn}},
                "tables": {"users": {"keyring": "local", "partition_key": "pk",
                                     "attribute_actions": {"email": "ENCRYPT_AND_SIGN"}},
                           "orders": {"keyring": "kms", "partition_key": "pk", "sort_key": "sk",
                                      "attribute_actions": {"card": "ENCRYPT_AND_SIGN"}}},
                "cache": {"redis": "redis://127.0.0.1:%d/0" % cls.redis.port}})
            cls.env = dict(h.proxy_env(), AWS_ENDPOINT_URL_KMS=cls.moto.url)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("redis", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def run_tool(self, config, *args):
        path = os.path.join(self.moto.workdir, "tool.json")
        with open(path, "w") as f:
            json.dump(config, f)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.env)
        return subprocess.run([h.DYNASEAL, args[0], "--config", path, *args[1:]], capture_output=True,
                              text=True, timeout=60, env=env)

    def test_doctor_all_good(self):
        r = self.run_tool(self.config, "doctor")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        for needle in ("ok    credentials", "ok    table users", "ok    table orders: reachable; key schema pk, sk",
                       "ok    keyring local (raw-aes)", "ok    keyring kms (aws-kms): wraps and unwraps a data key with KMS key "
                       + self.key_arn, "ok    redis", "0 problems found"):
            self.assertTrue(any(l.startswith(needle) for l in lines), needle + "\n" + r.stdout)

    def test_doctor_names_each_problem(self):
        cfg = json.loads(json.dumps(self.config))
        cfg["tables"]["users"]["sort_key"] = "sk"              # the table has none
        cfg["tables"]["missing-table"] = dict(cfg["tables"]["orders"])
        cfg["cache"]["redis"] = "redis://127.0.0.1:%d/0" % h.free_port()
        cfg["keyrings"]["kms"]["key_id"] = self.key_arn[:-4] + "ffff"   # no such key
        r = self.run_tool(cfg, "doctor")
        self.assertEqual(r.returncode, 1)
        out = r.stdout
        self.assertIn('FAIL  table users: its sort key is "(none)" but the config says "sk"', out)
        self.assertIn("FAIL  table missing-table: DescribeTable failed", out)
        self.assertIn("FAIL  keyring kms (aws-kms): cannot wrap a data key", out)
        self.assertIn("FAIL  redis: cannot connect", out)
        self.assertIn("4 problems found", out)

    def test_doctor_checks_redis_as_the_workers_connect(self):
        """doctor speaks to cache.redis with the workers' client: the password and database of
        the URL are used (a wrong password is named), and rediss:// is verified against
        upstream.ca_file (an unknown CA fails)."""
        from test_tls_upstream import make_pki
        port = h.free_port()
        locked = h.Server("redis-auth", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                         "--requirepass", "s3cret-pw", "--save", "", "--appendonly", "no"], port)
        pki = os.path.join(self.moto.workdir, "pki-doctor")
        os.makedirs(pki, exist_ok=True)
        make_pki(pki)
        tport = h.free_port()
        tls = h.Server("redis-tls", [
            "redis-server", "--port", "0", "--tls-port", str(tport), "--bind", "127.0.0.1",
            "--tls-cert-file", os.path.join(pki, "server.pem"), "--tls-key-file", os.path.join(pki, "server.key"),
            "--tls-ca-cert-file", os.path.join(pki, "ca.pem"), "--tls-auth-clients", "no",
            "--save", "", "--appendonly", "no"], tport)
        try:
            def doctor(url, ca=None):
                cfg = json.loads(json.dumps(self.config))
                cfg["cache"]["redis"] = url
                if ca:
                    cfg.setdefault("upstream", {})["ca_file"] = ca
                r = self.run_tool(cfg, "doctor")
                line = [l for l in r.stdout.splitlines() if " redis" in l[:12]]
                self.assertEqual(len(line), 1, r.stdout)
                self.assertNotIn("s3cret-pw", r.stdout + r.stderr)
                return r.returncode, line[0]
            rc, line = doctor("redis://:s3cret-pw@127.0.0.1:%d/3" % port)
            self.assertEqual((rc, line), (0, "ok    redis: 127.0.0.1:%d answers PING (plain TCP, after AUTH "
                                              "and SELECT as configured)" % port))
            rc, line = doctor("redis://:wrong-pw@127.0.0.1:%d/3" % port)
            self.assertEqual(rc, 1)
            self.assertIn("FAIL  redis: cannot connect to Redis at 127.0.0.1:%d: AUTH (check the password "
                          "in cache.redis) was refused" % port, line)
            rc, line = doctor("rediss://localhost:%d/0" % tport, ca=os.path.join(pki, "ca.pem"))
            self.assertEqual((rc, line), (0, "ok    redis: localhost:%d answers PING (TLS, certificate "
                                              "verified, after AUTH and SELECT as configured)" % tport))
            rc, line = doctor("rediss://localhost:%d/0" % tport)
            self.assertEqual(rc, 1)
            self.assertIn("FAIL  redis: cannot connect to Redis at localhost:%d:" % tport, line)
            self.assertIn("certificate verify failed", line)
        finally:
            tls.stop()
            locked.stop()

    def test_inspect_shows_stored_and_seen(self):
        proxy = h.start_dynaseal(self.moto.url, config={k: self.config[k] for k in ("keyrings", "tables")},
                                 env=self.env)
        try:
            h.boto3_client(proxy.url).put_item(TableName="orders", Item={
                "pk": {"S": "o1"}, "sk": {"S": "1"}, "card": {"S": "4111-2222"}})
        finally:
            proxy.stop()
        r = self.run_tool(self.config, "inspect", "--table", "orders", "--key", '{"pk":{"S":"o1"},"sk":{"S":"1"}}')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        card = [l for l in r.stdout.splitlines() if l.startswith("card ")]
        self.assertEqual(len(card), 1, r.stdout)
        self.assertIn('{"B":', card[0])
        self.assertIn('{"S":"4111-2222"}', card[0])
        self.assertIn("aws_dbe_head", r.stdout)
        r = self.run_tool(self.config, "inspect", "--table", "orders", "--key", '{"pk":{"S":"nope"},"sk":{"S":"1"}}')
        self.assertEqual(r.returncode, 1)
        self.assertIn("no item with that key", r.stderr)
        r = self.run_tool(self.config, "inspect", "--table", "orders", "--key", "not json")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--key is not a JSON object", r.stderr)


if __name__ == "__main__":
    unittest.main()
