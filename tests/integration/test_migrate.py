"""`dynaseal migrate`: a live table's plaintext items encrypted in place, nothing lost.

One dynalite, one dynaseal in front of it (the tables have plaintext_policy allow-read, as a
table being migrated must), and the migrate command run as a process with dynaseal's
credentials.  Items are put raw (BatchWriteItem), as an application did before dynaseal.

- Under load: MIGRATE_ITEMS plaintext items (default 20000) migrated while 8 client threads
  write through dynaseal: puts of new items, `ADD visits :one` counters (a DO_NOTHING
  attribute), `SET email = :e` (an encrypted attribute: dynaseal carries it out as a
  read-modify-write).  Afterwards every item is v3 in a raw scan (aws_dbe_head present, email
  binary, no plaintext email anywhere), every acknowledged put is read back with its value,
  every counter equals the acknowledged ADDs, every email is the last value its writer had
  acknowledged; the progress lines parse as JSON; --verify finds 0 unprotected items (and all
  of them before).
- Stopped (SIGTERM at a quarter of the segments, SIGKILL at half) and resumed: it finishes,
  and segments the checkpoint called finished are not scanned again.
- Two processes with --total-segments 2 share the work.
- --max-wcu holds the write rate.
- --dry-run changes nothing and counts plaintext, encrypted and legacy items right.
- Refusals with their exact messages.
"""
import json
import os
import random
import signal
import subprocess
import threading
import time
import unittest

import peers as h

ITEMS = int(os.environ.get("MIGRATE_ITEMS", "20000"))
ACTIONS = {"email": "ENCRYPT_AND_SIGN", "name": "SIGN_ONLY", "visits": "DO_NOTHING"}


def table_cfg(policy="allow-read"):
    return {"keyring": "local", "partition_key": "pk", "plaintext_policy": policy,
            "attribute_actions": ACTIONS}


def plain_item(i, prefix="k"):
    return {"pk": {"S": "%s%06d" % (prefix, i)}, "email": {"S": "user%d@plain.example" % i},
            "name": {"S": "name %d" % i}, "visits": {"N": "0"}}


def scan_all(client, table):
    """Every item of table, page after page."""
    items, kw = [], {}
    while True:
        page = client.scan(TableName=table, **kw)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kw = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def command_env():
    """The environment a dynaseal command runs with: dynaseal's credentials, no config path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(h.proxy_env())
    env.pop("DYNASEAL_CONFIG", None)
    return env


class MigrateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.servers = []
        if h.DIRECT:
            raise unittest.SkipTest("needs dynaseal")
        cls.dynalite = h.start_dynalite()
        cls.servers.append(cls.dynalite)
        key = h.random_key_file(h.run_dir(), "migrate.key")
        tables = {name: table_cfg() for name in ("load", "resume", "share", "dry", "slow", "ghost")}
        tables["strict"] = table_cfg("forbid")
        cls.proxy = h.start_dynaseal(cls.dynalite.url, config={
            "keyrings": {"local": {"type": "raw-aes", "key_file": key}}, "tables": tables})
        cls.servers.append(cls.proxy)
        cls.raw = h.boto3_client(cls.dynalite.url)
        for name in ("load", "resume", "share", "dry", "slow", "strict", "unconfigured"):
            h.create_table(cls.raw, name, wait=True)
        cls.env = command_env()
        cls.workdir = os.path.join(h.run_dir(), "migrate")
        os.makedirs(cls.workdir, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        for s in reversed(getattr(cls, "servers", [])):
            s.stop()

    # --- helpers ---------------------------------------------------------------------------

    def fill(self, table, n, prefix="k"):
        for i in range(0, n, 25):
            batch = [{"PutRequest": {"Item": plain_item(j, prefix)}} for j in range(i, min(n, i + 25))]
            req = {table: batch}
            while req:
                req = self.raw.batch_write_item(RequestItems=req).get("UnprocessedItems") or None

    def cmd(self, *args):
        return [h.DYNASEAL, "migrate", "--config", self.proxy.config_path, *args]

    def migrate(self, *args, check=None):
        """Runs migrate to the end: (exit status, final report or None, stderr lines)."""
        r = subprocess.run(self.cmd(*args), env=self.env, capture_output=True, text=True, timeout=170)
        report = json.loads(r.stdout) if r.stdout.strip() else None
        if check is not None:
            self.assertEqual(r.returncode, check, r.stdout + r.stderr)
        return r.returncode, report, r.stderr.splitlines()

    def raw_scan(self, table):
        return scan_all(self.raw, table)

    def assert_all_v3(self, table, expected):
        items = self.raw_scan(table)
        self.assertEqual(len(items), expected)
        text = json.dumps(items, default=str)
        self.assertNotIn("@plain.example", text, "a plaintext email is stored in %s" % table)
        for it in items:
            self.assertIn("aws_dbe_head", it, it["pk"])
            self.assertIn("B", it["email"], it["pk"])
        return items

    def read_checkpoint(self, path):
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    # --- under load ------------------------------------------------------------------------

    def test_migrate_under_load_loses_nothing(self):
        self.fill("load", ITEMS)
        status, before, _ = self.migrate("--table", "load", "--verify", "--segments", "4")
        self.assertEqual((status, before["unprotected"], before["protected"]), (1, ITEMS, 0), before)

        lock = threading.Lock()
        done = threading.Event()
        adds = {}            # key -> acknowledged ADDs
        puts = {}            # key -> acknowledged email of a new item
        emails = {}          # key -> (last acknowledged value, values tried since)
        errors = []

        def client_error(c, e):
            with lock:
                if e.response["ResponseMetadata"]["HTTPStatusCode"] < 500:
                    errors.append(e.response["Error"])

        def putter(n):
            c, i = h.boto3_client(self.proxy.url), 0
            while not done.is_set():
                k, v = "new-%d-%d" % (n, i), "new%d.%d@enc.example" % (n, i)
                i += 1
                try:
                    c.put_item(TableName="load", Item={"pk": {"S": k}, "email": {"S": v}, "name": {"S": k}})
                except c.exceptions.ClientError as e:
                    client_error(c, e)
                    continue
                with lock:
                    puts[k] = v

        def adder(n):
            c, rnd = h.boto3_client(self.proxy.url), random.Random(n)
            while not done.is_set():
                k = "k%06d" % rnd.randrange(ITEMS)
                try:
                    c.update_item(TableName="load", Key={"pk": {"S": k}}, UpdateExpression="ADD visits :one",
                                  ExpressionAttributeValues={":one": {"N": "1"}})
                except c.exceptions.ClientError as e:
                    client_error(c, e)
                    continue
                with lock:
                    adds[k] = adds.get(k, 0) + 1

        def setter(n):
            # Each setter owns the keys equal to n modulo 2: its writes to a key are in order.
            c, rnd, i = h.boto3_client(self.proxy.url), random.Random(100 + n), 0
            while not done.is_set():
                j = rnd.randrange(ITEMS // 2) * 2 + n
                k, v = "k%06d" % j, "set%d.%d@enc.example" % (n, i)
                i += 1
                with lock:
                    last, tried = emails.get(k, (None, []))
                    emails[k] = (last, tried + [v])
                try:
                    c.update_item(TableName="load", Key={"pk": {"S": k}}, UpdateExpression="SET email = :e",
                                  ExpressionAttributeValues={":e": {"S": v}})
                except c.exceptions.ClientError as e:
                    client_error(c, e)
                    continue
                with lock:
                    emails[k] = (v, [])

        threads = [threading.Thread(target=f, args=(n,)) for f, n in
                   [(putter, 0), (putter, 1), (putter, 2), (adder, 0), (adder, 1), (adder, 2),
                    (setter, 0), (setter, 1)]]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            started = time.monotonic()
            # Large pages and a write limit keep items waiting between their read and their
            # write-back, so that writers often get there first.
            status, report, lines = self.migrate("--table", "load", "--progress-interval", "0.5",
                                                 "--page-size", "500", "--max-wcu", str(max(500, ITEMS // 12)),
                                                 "--checkpoint", os.path.join(self.workdir, "load.json"))
            took = time.monotonic() - started
        finally:
            done.set()
            for t in threads:
                t.join()
        summary = ("%d items in %.1f s while writing: %d puts, %d ADDs, %d SETs acknowledged; report %s"
                   % (ITEMS, took, len(puts), sum(adds.values()),
                      sum(1 for v in emails.values() if v[0]), json.dumps(report)))
        print("\ntest_migrate: " + summary)
        self.assertEqual(status, 0, summary + "\n" + "\n".join(lines[-20:]))
        self.assertEqual(errors, [], summary)
        self.assertEqual(report["failed"], 0, summary)
        self.assertEqual(report["scanned"], report["converted"] + report["skipped"], summary)
        self.assertGreater(report["converted"], ITEMS // 2, summary)
        # Every line on stderr is a progress line, and parses.
        progress = [json.loads(line) for line in lines]
        self.assertGreaterEqual(len(progress), 2, lines)
        self.assertTrue(all(p["progress"] for p in progress))
        self.assertEqual(progress[-1]["scanned"], report["scanned"])

        items = self.assert_all_v3("load", ITEMS + len(puts))
        c = h.boto3_client(self.proxy.url)
        seen = {it["pk"]["S"]: it for it in scan_all(c, "load")}
        self.assertEqual(len(seen), len(items))
        for k, v in puts.items():
            self.assertEqual(seen[k]["email"], {"S": v}, k)
        for i in range(ITEMS):
            k = "k%06d" % i
            it = seen[k]
            self.assertEqual(it["visits"], {"N": str(adds.get(k, 0))}, k)
            self.assertEqual(it["name"], {"S": "name %d" % i}, k)
            last, tried = emails.get(k, (None, []))
            allowed = {last or "user%d@plain.example" % i} | set(tried)
            self.assertIn(it["email"]["S"], allowed, k)
        # Writers got there first (the items were re-read and written again) ...
        self.assertGreater(report["conflicts"], 0, summary)
        status, after, _ = self.migrate("--table", "load", "--verify", "--segments", "4")
        self.assertEqual((status, after["unprotected"], after["failed"]), (0, 0, 0), after)
        self.assertEqual(after["protected"], len(items))

    # --- stopped and resumed ---------------------------------------------------------------

    def run_until(self, args, checkpoint, done_segments, sig):
        """Starts migrate, sends sig once the checkpoint shows done_segments finished segments."""
        p = subprocess.Popen(self.cmd(*args), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            cp = self.read_checkpoint(checkpoint)
            if cp and sum(s["done"] for s in cp["segments"]) >= done_segments:
                p.send_signal(sig)
                break
            time.sleep(0.02)
        out, err = p.communicate(timeout=60)
        return p.returncode, out, err

    def test_stopped_and_resumed_does_not_redo_finished_segments(self):
        n = 4000
        self.fill("resume", n)
        checkpoint = os.path.join(self.workdir, "resume.json")
        args = ["--table", "resume", "--total-segments", "8", "--parallel", "2", "--page-size", "25",
                "--max-wcu", "1500", "--checkpoint", checkpoint]
        status, out, err = self.run_until(args, checkpoint, 2, signal.SIGTERM)
        self.assertEqual(status, 3, out + err)
        report = json.loads(out)
        self.assertEqual(report["status"], "interrupted")
        self.assertIn("stopping: finishing the pages in flight", err)
        status, out, err = self.run_until(args, checkpoint, 4, signal.SIGKILL)
        self.assertEqual(status, -signal.SIGKILL, out + err)
        killed = self.read_checkpoint(checkpoint)
        finished = {s["segment"]: s["counts"] for s in killed["segments"] if s["done"]}
        self.assertGreaterEqual(len(finished), 4)
        self.assertLess(len(finished), 8)

        status, report, _ = self.migrate(*args, check=0)
        self.assertEqual(report["segments_already_done"], len(finished), report)
        self.assertEqual(report["segments_done"], 8, report)
        final = self.read_checkpoint(checkpoint)
        for s in final["segments"]:
            if s["segment"] in finished:
                self.assertEqual(s["counts"], finished[s["segment"]], "segment %d was scanned again" % s["segment"])
        # This run scanned only what the finished segments did not hold (plus, at most, the
        # page each unfinished segment was on when killed).
        before = sum(c["scanned"] for c in finished.values())
        self.assertLessEqual(report["scanned"], n - before + 2 * 25)
        self.assertEqual(report["all_runs"]["failed"], 0)
        self.assertLessEqual(report["all_runs"]["converted"], n)
        self.assert_all_v3("resume", n)

    # --- two processes ---------------------------------------------------------------------

    def test_two_processes_share_the_work(self):
        n = 3000
        self.fill("share", n)
        procs = [subprocess.Popen(self.cmd("--table", "share", "--segment", str(i), "--total-segments", "2",
                                           "--checkpoint", os.path.join(self.workdir, "share-%d.json" % i)),
                                  env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(2)]
        reports = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, out + err)
            reports.append(json.loads(out))
        for r in reports:
            self.assertEqual((r["segments"], r["total_segments"], r["segments_done"]), (1, 2, 1), r)
            self.assertGreater(r["converted"], 0, r)
        self.assertEqual(sum(r["converted"] for r in reports), n, reports)
        self.assert_all_v3("share", n)

    # --- capacity limit --------------------------------------------------------------------

    def test_write_capacity_limit(self):
        n, wcu = 600, 200
        self.fill("slow", n)
        status, report, _ = self.migrate("--table", "slow", "--max-wcu", str(wcu), check=0)
        self.assertEqual(report["converted"], n)
        # One second of burst and the writes in flight (16) may go ahead of the bucket; the rest
        # at wcu units a second (unlimited, the 600 writes take about 0.5 s here).
        steady = (report["consumed_wcu"] - wcu - 16) / wcu
        self.assertGreaterEqual(report["seconds"], steady * 0.95, report)
        self.assertLessEqual(report["seconds"], steady + 3, report)

    # --- dry run ---------------------------------------------------------------------------

    def test_dry_run_changes_nothing_and_counts(self):
        self.fill("dry", 300)
        c = h.boto3_client(self.proxy.url)
        for i in range(40):
            c.put_item(TableName="dry", Item={"pk": {"S": "enc%03d" % i}, "email": {"S": "e%d@enc.example" % i}})
        for i in range(7):
            self.raw.put_item(TableName="dry", Item={"pk": {"S": "legacy%d" % i}, "email": {"B": b"\x01\x02"},
                                                     "*amzn-ddb-map-desc*": {"B": b"\x00\x00\x00\x00"},
                                                     "*amzn-ddb-map-sig*": {"B": b"\x00" * 32}})
        before = sorted(json.dumps(i, sort_keys=True, default=str) for i in self.raw_scan("dry"))
        status, report, lines = self.migrate("--table", "dry", "--dry-run", check=0)
        self.assertEqual((report["would_convert"], report["skipped"], report["legacy"], report["scanned"]),
                         (300, 40, 7, 347), report)
        after = sorted(json.dumps(i, sort_keys=True, default=str) for i in self.raw_scan("dry"))
        self.assertEqual(before, after)
        # The real run converts the same; the legacy items stay as they are and say so.
        status, report, lines = self.migrate("--table", "dry", check=1)
        self.assertEqual((report["converted"], report["skipped"], report["legacy"], report["status"]),
                         (300, 40, 7, "incomplete"), report)
        self.assertIn('dynaseal migrate: table "dry": 7 item(s) of the legacy DynamoDB Encryption Client '
                      'were left as they are: the table has no legacy block with policy "allow-read"', lines)
        status, report, _ = self.migrate("--table", "dry", "--verify", check=1)
        self.assertEqual((report["protected"], report["unprotected"], report["legacy"]), (340, 7, 7), report)

    # --- refusals --------------------------------------------------------------------------

    def refused(self, args, message, status=2):
        r = subprocess.run(self.cmd(*args), env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, status, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn(message, r.stderr.splitlines())

    def test_refusals(self):
        self.refused(["--table", "ghost"],
                     'dynaseal migrate: table "ghost" does not exist at %s' % self.dynalite.url)
        self.refused(["--table", "unconfigured"],
                     'dynaseal migrate: table "unconfigured" is not configured in %s: add it under '
                     '"tables" with its keyring and attribute actions' % self.proxy.config_path)
        self.refused(["--table", "strict"],
                     'dynaseal migrate: table "strict" does not have "plaintext_policy": "allow-read" '
                     '(or a legacy block with policy "allow-read"): set it in %s (and reload dynaseal) '
                     'so that dynaseal serves the table\'s items while they are migrated'
                     % self.proxy.config_path)
        self.refused([], "dynaseal migrate: --table is required: the table to migrate")
        self.refused(["--table", "dry", "--segments", "0"],
                     'dynaseal migrate: --segments takes a whole number from 1 to 1000000, not "0"')
        self.refused(["--table", "dry", "--segment", "1"],
                     "dynaseal migrate: --segment needs --total-segments (how many shares the table "
                     "is cut into)")
        self.refused(["--table", "dry", "--segment", "2", "--total-segments", "2"],
                     "dynaseal migrate: --segment 2 is not below --total-segments 2 (segments are "
                     "numbered from 0)")
        self.refused(["--table", "dry", "--segments", "2", "--total-segments", "2"],
                     "dynaseal migrate: --segments cannot be used with --segment or --total-segments: "
                     "use --total-segments N alone to scan all N segments here")
        self.refused(["--table", "dry", "--dry-run", "--verify"],
                     "dynaseal migrate: --dry-run and --verify cannot be used together")
        self.refused(["--table", "dry", "--max-wcu", "fast"],
                     'dynaseal migrate: --max-wcu takes a number from 0.5 to 1e+09, not "fast"')
        self.refused(["--table", "dry", "--bogus"], 'dynaseal migrate: unknown option "--bogus"')
        bad = os.path.join(self.workdir, "other.json")
        with open(bad, "w") as f:
            json.dump({"version": 1, "table": "share", "mode": "migrate", "total_segments": 1,
                       "segments": []}, f)
        self.refused(["--table", "dry", "--checkpoint", bad],
                     'dynaseal migrate: checkpoint %s is of table "share", not "dry"' % bad)
        with open(bad, "w") as f:
            f.write('{"version": 1, "table": "dry", "mode": "migrate", "total_segments": 1, '
                    '"segments": [{"segment": 3, "done": true}]}')
        self.refused(["--table", "dry", "--checkpoint", bad],
                     "dynaseal migrate: checkpoint %s is not one: segments[0].segment is not a number "
                     "from 0 to 0" % bad)


if __name__ == "__main__":
    unittest.main()
