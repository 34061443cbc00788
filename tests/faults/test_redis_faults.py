"""The shared key cache's Redis misbehaving: down, slow (redis-server's own DEBUG SLEEP),
restarted, and answering garbage (faultproxy in raw mode between dynaseal and a real
redis-server).  Two dynaseal replicas with the aws-kms keyring share data keys through it: a
key one replica unwrapped is a Redis hit for the other.

Redis is an optimisation: during every fault each write and read still succeeds (the keys come
from KMS instead, and dynaseal counts the Redis errors), afterwards Redis is used again (the
other replica hits it), fds are back to the baseline, and neither the table nor Redis holds
the plaintext."""
import re
import subprocess
import threading
import time
import unittest

import faultkit as fk
import peers as h
from faultkit import TABLE, item
from faultproxy import FaultProxy


def start_redis(port):
    return h.Server("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--enable-debug-command", "yes"], port)


def counter(proxy, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), h.metrics(proxy), re.M)
    return int(m.group(1)) if m else 0


REDIS_HITS = 'dynaseal_cache_lookups_total{layer="redis",result="hit"}'
REDIS_ERRORS = "dynaseal_cache_redis_errors_total"


class RedisFaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            cls.redis_port = h.free_port()
            cls.redis = start_redis(cls.redis_port)
            cls.fp = FaultProxy(cls.redis_port, http=False)
            key = h.boto3_client(cls.moto.url, "kms").create_key()["KeyMetadata"]["Arn"]
            fk.create_table(cls.moto.url)
            env = dict(h.proxy_env(), AWS_ENDPOINT_URL_KMS=cls.moto.url)
            config = fk.table_config("kms", {"kms": {"type": "aws-kms", "key_id": key}})
            config["cache"] = {"redis": "redis://127.0.0.1:%d/0" % cls.fp.port, "ttl_s": 600}
            cls.a = h.start_dynaseal(cls.moto.url, env=env, config=config)
            cls.b = h.start_dynaseal(cls.moto.url, env=env, config=config)
            for p in (cls.a, cls.b):
                assert "cache: shared through Redis" in p.log_text(), h.tail(p.log)
            cls.round = 0
            cls.rounds("warm")
            cls.bases = [fk.baseline(cls.a), fk.baseline(cls.b)]
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("a", "b", "fp", "redis", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    @classmethod
    def rounds(cls, tag, n=6, spread=False):
        """Writes n items through a, reads them through a (KMS Decrypt, then shared) and
        through b (a Redis hit when Redis works).  Every call must succeed.  spread: each
        call on a connection of its own, so that the calls reach every worker (each has its
        own Redis link) rather than the one that accepted a single connection."""
        cls.round += 1
        pks = ["%s-%d-%d" % (tag, cls.round, i) for i in range(n)]
        fresh = {}

        def client(p):
            if spread or p not in fresh:
                fresh[p] = fk.client(p)
            return fresh[p]
        for pk in pks:
            client(cls.a).put_item(TableName=TABLE, Item=item(pk))
        for p in (cls.a, cls.b):
            for pk in pks:
                got = client(p).get_item(TableName=TABLE, Key={"pk": {"S": pk}})["Item"]
                assert got == item(pk), got

    def setUp(self):
        self.fp.reset()

    def b_hits(self, tag, n=6):
        """A round, its calls spread over the workers; returns how many of b's reads were Redis
        hits."""
        before = counter(self.b, REDIS_HITS)
        self.rounds(tag, n, spread=True)
        return counter(self.b, REDIS_HITS) - before

    def redis_used_again(self):
        """Rounds until every read of b is a Redis hit again: every link of both replicas is
        back (reconnects back off up to 5 s; a worker's link that a fault ended is found dead
        when that worker next uses it, so the calls are spread over the workers)."""
        deadline = time.time() + 30
        while self.b_hits("again") < 6:
            self.assertLess(time.time(), deadline, "Redis is not used again after the fault")
            time.sleep(0.3)

    def after_fault(self):
        self.redis_used_again()
        for p, base in zip((self.a, self.b), self.bases):
            fk.assert_fds_back(self, p, base, max_outbound=16)
            fk.assert_alive_and_serving(self, p)
        fk.assert_no_plaintext(self, self.moto.url)
        dump = subprocess.run(["redis-cli", "-p", str(self.redis_port), "--no-raw", "KEYS", "*"],
                              capture_output=True, text=True).stdout
        self.assertTrue(dump.strip())
        for k in dump.split():
            v = subprocess.run(["redis-cli", "-p", str(self.redis_port), "--no-raw", "GET", k.strip('"')],
                               capture_output=True, text=True).stdout
            self.assertNotIn(fk.MARKER, v)

    def test_hits_when_healthy(self):
        """The set-up's claim, so that the faults below can be told apart from it."""
        self.redis_used_again()
        self.assertEqual(self.b_hits("healthy"), 6)

    def test_down(self):
        self.redis.stop()
        errors = counter(self.a, REDIS_ERRORS) + counter(self.b, REDIS_ERRORS)
        self.rounds("down")
        self.assertGreater(counter(self.a, REDIS_ERRORS) + counter(self.b, REDIS_ERRORS), errors)
        self.assertTrue("unwrapped keys come from the worker's memory and KMS" in self.a.log_text())
        type(self).redis = start_redis(self.redis_port)
        self.after_fault()

    def test_restarted(self):
        """Stopped and started again between two requests: the links are dead and must be
        noticed and re-made."""
        self.redis.stop()
        type(self).redis = start_redis(self.redis_port)
        self.rounds("restarted")
        self.after_fault()

    def test_slow(self):
        # Both replicas count: which of them meets the sleeping Redis first depends on how fast
        # the build is (the sanitizer build may reach b's reads after Redis woke up).
        errors = counter(self.a, REDIS_ERRORS) + counter(self.b, REDIS_ERRORS)
        sleeper = threading.Thread(target=subprocess.run, args=(
            ["redis-cli", "-p", str(self.redis_port), "DEBUG", "SLEEP", "3"],), kwargs={"capture_output": True})
        sleeper.start()
        time.sleep(0.2)  # Redis is asleep now
        try:
            self.rounds("slow", n=4)
        finally:
            sleeper.join()
        self.assertGreater(counter(self.a, REDIS_ERRORS) + counter(self.b, REDIS_ERRORS), errors,
                           "the Redis timeouts were counted")
        self.after_fault()

    def test_garbage(self):
        errors = counter(self.b, REDIS_ERRORS)
        self.fp.set("garbage")
        self.rounds("garbage")
        self.assertGreater(counter(self.b, REDIS_ERRORS), errors)
        self.fp.reset()
        self.after_fault()


if __name__ == "__main__":
    unittest.main()
