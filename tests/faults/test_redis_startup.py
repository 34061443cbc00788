"""Redis not reachable when dynaseal starts (a sidecar that comes up before the Redis it
shares keys through, as pods and tasks often do): the replicas serve at once with the keys in
process, look for Redis in the background, and share keys through it as soon as it answers,
with no restart."""
import re
import subprocess
import time
import unittest

import faultkit as fk
import peers as h
from faultkit import TABLE, item
from test_redis_faults import REDIS_HITS, counter, start_redis


class RedisAtStartupTest(unittest.TestCase):
    def setUp(self):
        self.servers = []
        self.moto = h.start_moto()
        self.servers.append(self.moto)
        self.redis_port = h.free_port()     # nothing listens there yet
        key = h.boto3_client(self.moto.url, "kms").create_key()["KeyMetadata"]["Arn"]
        fk.create_table(self.moto.url)
        env = dict(h.proxy_env(), AWS_ENDPOINT_URL_KMS=self.moto.url)
        config = fk.table_config("kms", {"kms": {"type": "aws-kms", "key_id": key}})
        config["cache"] = {"redis": "redis://127.0.0.1:%d/0" % self.redis_port, "ttl_s": 600}
        self.a = h.start_dynaseal(self.moto.url, env=env, config=config)
        self.servers.append(self.a)
        self.b = h.start_dynaseal(self.moto.url, env=env, config=config)
        self.servers.append(self.b)

    def tearDown(self):
        for s in reversed(self.servers):
            s.stop()

    def round(self, tag, n=6):
        """Writes n items through a and reads them through a and b; returns b's Redis hits."""
        a, b = fk.client(self.a), fk.client(self.b)
        before = counter(self.b, REDIS_HITS)
        pks = ["%s-%d" % (tag, i) for i in range(n)]
        for pk in pks:
            a.put_item(TableName=TABLE, Item=item(pk))
        for c in (a, b):
            for pk in pks:
                self.assertEqual(c.get_item(TableName=TABLE, Key={"pk": {"S": pk}})["Item"], item(pk))
        return counter(self.b, REDIS_HITS) - before

    def test_redis_found_after_start(self):
        for p in (self.a, self.b):
            self.assertIn("cache: Redis is not used yet (cannot connect to Redis at 127.0.0.1:%d"
                          % self.redis_port, p.log_text())
        # Served meanwhile, each replica unwrapping its own keys.
        self.assertEqual(self.round("before"), 0)
        redis = start_redis(self.redis_port)
        self.servers.insert(1, redis)
        deadline = time.time() + 20
        while not all("cache: shared through Redis from now on" in p.log_text() for p in (self.a, self.b)):
            self.assertLess(time.time(), deadline, "Redis not taken up: " + h.tail(self.a.log))
            time.sleep(0.2)
        # Every worker adds Redis to its cache; a key a unwrapped is then a hit for b.
        deadline = time.time() + 20
        while self.round("after-%d" % int(time.time() * 1000)) < 6:
            self.assertLess(time.time(), deadline, "b does not hit Redis")
            time.sleep(0.2)
        # What Redis holds is sealed: the cache key wrapped by KMS and sealed entries.
        keys = subprocess.run(["redis-cli", "-p", str(self.redis_port), "--no-raw", "KEYS", "*"],
                              capture_output=True, text=True, check=True).stdout.split()
        self.assertTrue(any("dynaseal:v1:cache-key:" in k for k in keys), keys)
        for k in keys:
            v = subprocess.run(["redis-cli", "-p", str(self.redis_port), "--no-raw", "GET", k.strip('"')],
                               capture_output=True, text=True).stdout
            self.assertNotIn(fk.MARKER, v)
        fk.assert_no_plaintext(self, self.moto.url)
        for p in (self.a, self.b):
            fk.assert_alive_and_serving(self, p)
            self.assertEqual(len(re.findall("shared through Redis from now on", p.log_text())), 1)

    def test_stops_promptly_while_looking(self):
        """SIGTERM while the background search is waiting ends the process at once (the search
        is woken, not waited for)."""
        t0 = time.time()
        self.b.stop()
        self.servers.remove(self.b)
        self.assertLess(time.time() - t0, 10)
        self.assertIn("dynaseal stopped", open(self.b.log).read())


if __name__ == "__main__":
    unittest.main()
