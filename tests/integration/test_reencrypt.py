"""`dynaseal reencrypt`: a live table's items moved from one raw-AES key to another, nothing lost.

One dynalite.  Items are written through a dynaseal whose table has keyring "old" (key name
retiring-key-0001).  The config then makes "new" (current-key-0002) the table's keyring with
"old" in read_keyrings, as README "Re-encrypting under another keyring" says; a dynaseal with
that config serves 8 client threads (puts, `ADD visits :one`, `SET email = :e`) while reencrypt
runs.  Afterwards the encrypted data keys of every item's aws_dbe_head (parsed here) name only
current-key-0002, a dynaseal configured with "new" alone reads every item with its last
acknowledged values, and a second run skips every item.  Refusals with their exact messages.
"""
import json
import os
import random
import struct
import subprocess
import threading
import time
import unittest

import peers as h
from test_migrate import command_env, scan_all

ITEMS = int(os.environ.get("REENCRYPT_ITEMS", "20000"))
ACTIONS = {"email": "ENCRYPT_AND_SIGN", "name": "SIGN_ONLY", "visits": "DO_NOTHING"}
OLD, NEW = "retiring-key-0001", "current-key-0002"


def edk_key_names(head):
    """The raw-AES key names in a serialized aws_dbe_head's EDKs (header.md)."""
    p = 2 + 32
    (n,) = struct.unpack_from(">H", head, p)
    p += 2 + n                                     # encrypt legend
    (pairs,) = struct.unpack_from(">H", head, p)
    p += 2
    for _ in range(2 * pairs):                     # encryption context
        (n,) = struct.unpack_from(">H", head, p)
        p += 2 + n
    count, names = head[p], []
    p += 1
    for _ in range(count):
        fields = []
        for _ in range(3):                         # provider id, provider info, ciphertext
            (n,) = struct.unpack_from(">H", head, p)
            fields.append(head[p + 2:p + 2 + n])
            p += 2 + n
        names.append(fields[1][:-(8 + 12)].decode())   # info: key name, tag bits, IV len, IV
    return names


class ReencryptTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.servers = []
        if h.DIRECT:
            raise unittest.SkipTest("needs dynaseal")
        cls.dynalite = h.start_dynalite()
        cls.servers.append(cls.dynalite)
        d = h.run_dir()
        cls.keyrings = {
            "old": {"type": "raw-aes", "key_file": h.random_key_file(d, "old.key"), "key_name": OLD},
            "new": {"type": "raw-aes", "key_file": h.random_key_file(d, "new.key"), "key_name": NEW}}
        table = {"partition_key": "pk", "attribute_actions": ACTIONS}
        cls.before = cls.start({"move": dict(table, keyring="old")})
        cls.during = cls.start({"move": dict(table, keyring="new", read_keyrings=["old"]),
                                "wrong": dict(table, keyring="old", read_keyrings=["new"]),
                                "plain": dict(table, keyring="new", read_keyrings=["old"])})
        cls.after = cls.start({"move": dict(table, keyring="new")})
        cls.raw = h.boto3_client(cls.dynalite.url)
        for name in ("move", "wrong", "plain"):
            h.create_table(cls.raw, name, wait=True)
        cls.env = command_env()

    @classmethod
    def start(cls, tables):
        p = h.start_dynaseal(cls.dynalite.url, config={"keyrings": cls.keyrings, "tables": tables})
        cls.servers.append(p)
        return p

    @classmethod
    def tearDownClass(cls):
        for s in reversed(getattr(cls, "servers", [])):
            s.stop()

    def reencrypt(self, *args, config=None):
        r = subprocess.run([h.DYNASEAL, "reencrypt", "--config", config or self.during.config_path,
                            *args], env=self.env, capture_output=True, text=True, timeout=300)
        return r.returncode, json.loads(r.stdout) if r.stdout.strip() else None, r.stderr

    def raw_scan(self):
        return scan_all(self.raw, "move")

    def test_refusals(self):
        cases = [
            (["--table", "move"], "dynaseal reencrypt: --to-keyring is required: the keyring "
             "(under \"keyrings\") to move the table's items to"),
            (["--table", "move", "--to-keyring", "nope"], "dynaseal reencrypt: keyring \"nope\" is "
             "not defined under \"keyrings\" in %s" % self.during.config_path),
            (["--table", "wrong", "--to-keyring", "new"], "dynaseal reencrypt: table \"wrong\" "
             "writes with keyring \"old\", not \"new\": make \"new\" the table's keyring and list "
             "the keyrings its items are under now in \"read_keyrings\" (and reload dynaseal), so "
             "that new items are written under \"new\" and both are read while the items move"),
        ]
        for args, message in cases:
            status, report, err = self.reencrypt(*args)
            self.assertEqual((status, report), (2, None), err)
            self.assertEqual(err.strip().splitlines()[0], message)
        r = subprocess.run([h.DYNASEAL, "migrate", "--config", self.during.config_path, "--table",
                            "move", "--to-keyring", "new"], env=self.env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip().splitlines()[0],
                         "dynaseal migrate: --to-keyring belongs to dynaseal reencrypt")

    def test_plaintext_items_are_left_and_named(self):
        self.raw.put_item(TableName="plain", Item={"pk": {"S": "p1"}, "email": {"S": "e"}})
        status, report, err = self.reencrypt("--table", "plain", "--to-keyring", "new")
        self.assertEqual((status, report["status"], report["unprotected"], report["converted"]),
                         (1, "incomplete", 1, 0), err)
        self.assertIn('dynaseal reencrypt: table "plain": item {"pk":{"S":"p1"}} was left in '
                      'plaintext: dynaseal migrate encrypts it', err.splitlines())
        self.assertEqual(self.raw.get_item(TableName="plain", Key={"pk": {"S": "p1"}})["Item"]["email"],
                         {"S": "e"})

    def test_reencrypt_under_load_loses_nothing(self):
        c = h.boto3_client(self.before.url)
        for i in range(0, ITEMS, 25):
            req = {"move": [{"PutRequest": {"Item": {
                "pk": {"S": "k%06d" % j}, "email": {"S": "user%d@old.example" % j},
                "name": {"S": "name %d" % j}, "visits": {"N": "0"}}}} for j in range(i, min(ITEMS, i + 25))]}
            while req:
                req = c.batch_write_item(RequestItems=req).get("UnprocessedItems") or None
        self.assertTrue(all(edk_key_names(it["aws_dbe_head"]["B"]) == [OLD] for it in self.raw_scan()))

        status, check, err = self.reencrypt("--table", "move", "--to-keyring", "new", "--verify")
        self.assertEqual((status, check["protected"], check["unprotected"]), (1, 0, ITEMS), check)
        self.assertIn('dynaseal reencrypt: table "move": item {"pk":{"S":"k000000"}} is not under '
                      'the new keyring: dynaseal reencrypt moves it', err.splitlines())
        lock, done, errors = threading.Lock(), threading.Event(), []
        adds, puts, emails = {}, {}, {}

        def call(fn, **kw):
            try:
                fn(**kw)
                return True
            except Exception as e:           # noqa: a refused write is recorded, not retried
                with lock:
                    errors.append(str(e))
                return False

        def putter(n):
            cl, i = h.boto3_client(self.during.url), 0
            while not done.is_set():
                k, v = "new-%d-%d" % (n, i), "n%d.%d@new.example" % (n, i)
                i += 1
                if call(cl.put_item, TableName="move", Item={"pk": {"S": k}, "email": {"S": v},
                                                            "name": {"S": k}}):
                    with lock:
                        puts[k] = v

        def adder(n):
            cl, rnd = h.boto3_client(self.during.url), random.Random(n)
            while not done.is_set():
                k = "k%06d" % rnd.randrange(ITEMS)
                if call(cl.update_item, TableName="move", Key={"pk": {"S": k}},
                        UpdateExpression="ADD visits :one", ExpressionAttributeValues={":one": {"N": "1"}}):
                    with lock:
                        adds[k] = adds.get(k, 0) + 1

        def setter(n):
            cl, rnd, i = h.boto3_client(self.during.url), random.Random(100 + n), 0
            while not done.is_set():
                k, v = "k%06d" % (rnd.randrange(ITEMS // 2) * 2 + n), "s%d.%d@new.example" % (n, i)
                i += 1
                if call(cl.update_item, TableName="move", Key={"pk": {"S": k}},
                        UpdateExpression="SET email = :e", ExpressionAttributeValues={":e": {"S": v}}):
                    with lock:
                        emails[k] = v

        threads = [threading.Thread(target=f, args=(n,)) for f, n in
                   [(putter, 0), (putter, 1), (putter, 2), (adder, 0), (adder, 1), (adder, 2),
                    (setter, 0), (setter, 1)]]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            started = time.monotonic()
            status, report, err = self.reencrypt("--table", "move", "--to-keyring", "new",
                                                 "--page-size", "300", "--max-wcu", str(max(300, ITEMS // 8)))
            took = time.monotonic() - started
        finally:
            done.set()
            for t in threads:
                t.join()
        summary = ("%d items in %.1f s while writing: %d puts, %d ADDs, %d SETs acknowledged; report %s"
                   % (ITEMS, took, len(puts), sum(adds.values()), len(emails), json.dumps(report)))
        print("\ntest_reencrypt: " + summary)
        self.assertEqual(status, 0, summary + "\n" + err[-3000:])
        self.assertEqual(errors, [], summary)
        self.assertEqual(report["mode"], "reencrypt")
        self.assertEqual(report["failed"], 0, summary)
        self.assertEqual(report["scanned"], report["converted"] + report["skipped"], summary)
        self.assertGreater(report["converted"], ITEMS // 2, summary)

        raw = self.raw_scan()
        self.assertEqual(len(raw), ITEMS + len(puts))
        for it in raw:
            self.assertEqual(edk_key_names(it["aws_dbe_head"]["B"]), [NEW], it["pk"])
        self.assertNotIn(OLD.encode(), b"".join(it["aws_dbe_head"]["B"] for it in raw))
        seen = {it["pk"]["S"]: it for it in scan_all(h.boto3_client(self.after.url), "move")}
        self.assertEqual(len(seen), len(raw))
        for k, v in puts.items():
            self.assertEqual(seen[k]["email"], {"S": v}, k)
        for i in range(ITEMS):
            k = "k%06d" % i
            self.assertEqual(seen[k]["visits"], {"N": str(adds.get(k, 0))}, k)
            self.assertEqual(seen[k]["name"], {"S": "name %d" % i}, k)
            self.assertEqual(seen[k]["email"]["S"], emails.get(k, "user%d@old.example" % i), k)
        status, again, err = self.reencrypt("--table", "move", "--to-keyring", "new")
        self.assertEqual((status, again["converted"], again["skipped"]), (0, 0, len(raw)), err)
        status, check, err = self.reencrypt("--table", "move", "--to-keyring", "new", "--verify")
        self.assertEqual((status, check["protected"], check["unprotected"]), (0, len(raw), 0), err)


if __name__ == "__main__":
    unittest.main()
