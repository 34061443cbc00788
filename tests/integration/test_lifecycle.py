"""Operating dynaseal: /metrics is Prometheus text whose counters move with traffic, /readyz
follows the upstream, SIGHUP with a broken file keeps the running config and with a good one
applies the log settings, SIGTERM lets requests in flight finish."""
import http.server
import json
import os
import re
import signal
import socketserver
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.request

import peers as h


def admin_get(proxy, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (proxy.admin_port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def parse_prometheus(text):
    """{(name, labels): value}; fails on any line that is not Prometheus text format."""
    out = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (-?[0-9.eE+-]+|\+Inf|NaN)$')
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = line_re.match(line)
        if m is None:
            raise AssertionError("not Prometheus text: %r" % line)
        out[(m.group(1), m.group(3) or "")] = float(m.group(4))
    return out


class SlowHandler(http.server.BaseHTTPRequestHandler):
    """Answers every DynamoDB call with an empty table list after a delay."""
    delay = 1.5

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(self.delay)
        body = b'{"TableNames":[]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class LifecycleTest(unittest.TestCase):
    def test_second_process_on_the_same_port_is_refused(self):
        """SO_REUSEPORT would let a second dynaseal join the first's port silently, and the
        kernel would split the applications' connections between two configs."""
        ddb = h.start_dynalite()
        first = None
        try:
            first = h.start_dynaseal(ddb.url)
            cfg = dict(first.config, admin_listen="127.0.0.1:%d" % h.free_port())
            path = os.path.join(first.workdir, "second.json")
            with open(path, "w") as f:
                json.dump(cfg, f)
            env = dict(os.environ, **h.proxy_env())
            second = subprocess.Popen([h.DYNASEAL, "serve", "--config", path], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                _, err = second.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                second.kill()
                second.communicate()
                self.fail("a second dynaseal started on port %d beside the first" % first.port)
            self.assertNotEqual(second.returncode, 0, err)
            self.assertIn("another process already listens on 127.0.0.1:%d" % first.port, err)
            self.assertIn('set another "listen" port', err)
            # The first one still serves every connection.
            self.assertIn("TableNames", h.boto3_client(first.url).list_tables())
        finally:
            if first is not None:
                first.stop()
            ddb.stop()

    def test_metrics_move_with_traffic(self):
        ddb = h.start_dynalite()
        proxy = h.start_dynaseal(ddb.url)
        try:
            before = parse_prometheus(admin_get(proxy, "/metrics")[1])
            d = h.boto3_client(proxy.url)
            for _ in range(3):
                d.list_tables()
            with self.assertRaises(d.exceptions.ResourceNotFoundException):
                d.describe_table(TableName="missing")
            status, text = admin_get(proxy, "/metrics")
            self.assertEqual(status, 200)
            after = parse_prometheus(text)
            self.assertEqual(after[("dynaseal_requests_total", 'operation="ListTables",status="2xx"')]
                             - before.get(("dynaseal_requests_total", 'operation="ListTables",status="2xx"'), 0), 3)
            self.assertEqual(after[("dynaseal_requests_total", 'operation="DescribeTable",status="4xx"')], 1)
            self.assertGreaterEqual(after[("dynaseal_request_duration_seconds_count", "")], 4)
            self.assertGreater(after[("dynaseal_response_bytes_total", "")], before[("dynaseal_response_bytes_total", "")])
            self.assertEqual(after[("dynaseal_upstream_up", "")], 1)
        finally:
            proxy.stop()
            ddb.stop()

    def test_upstream_connections_reused_under_concurrency(self):
        # Bursts of 32 concurrent calls on one worker whose pool keeps 2 idle connections:
        # connections stay open while as many calls are in flight, so the upstream sees about
        # one connection per concurrent call, not one per call beyond the 2 kept.
        ddb = h.start_dynalite()
        proxy = h.start_dynaseal(ddb.url, config={"upstream": {"pool_size": 2}}, workers=1)
        try:
            conns, rounds = 32, 12
            clients = [h.boto3_client(proxy.url) for _ in range(conns)]
            barrier = threading.Barrier(conns)
            failures = []

            def run(d):
                try:
                    for _ in range(rounds):
                        barrier.wait(timeout=30)
                        d.list_tables()
                except Exception as e:  # reported below
                    failures.append(repr(e))

            before = parse_prometheus(admin_get(proxy, "/metrics")[1])
            threads = [threading.Thread(target=run, args=(d,)) for d in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            self.assertEqual(failures, [])
            after = parse_prometheus(admin_get(proxy, "/metrics")[1])
            key = ("dynaseal_upstream_connections_opened_total", "")
            opened = after[key] - before.get(key, 0)
            calls = (after[("dynaseal_requests_total", 'operation="ListTables",status="2xx"')]
                     - before.get(("dynaseal_requests_total", 'operation="ListTables",status="2xx"'), 0))
            print("upstream: %d calls, %d connections opened" % (calls, opened))
            self.assertEqual(calls, conns * rounds)
            self.assertGreater(opened, 0)
            self.assertLessEqual(opened, 2 * conns)
        finally:
            proxy.stop()
            ddb.stop()

    def test_readyz_follows_the_upstream(self):
        ddb = h.start_dynalite()
        port = ddb.port
        proxy = h.start_dynaseal(ddb.url)
        try:
            self.assertEqual(admin_get(proxy, "/healthz")[0], 200)
            self.wait_ready(proxy, 200)
            ddb.stop()
            body = self.wait_ready(proxy, 503)
            self.assertIn("not ready", body)
            ddb = h.Server("dynalite", [os.path.join(h.NODE_BIN, "dynalite"), "--port", str(port)], port)
            self.wait_ready(proxy, 200)
            self.assertEqual(admin_get(proxy, "/healthz")[0], 200)
        finally:
            proxy.stop()
            ddb.stop()

    def wait_ready(self, proxy, want):
        deadline = time.time() + 15
        while time.time() < deadline:
            status, body = admin_get(proxy, "/readyz")
            if status == want:
                return body
            time.sleep(0.2)
        self.fail("/readyz never answered %d" % want)

    def test_sighup_keeps_old_config_when_broken(self):
        ddb = h.start_dynalite()
        proxy = h.start_dynaseal(ddb.url)
        try:
            good = open(proxy.config_path).read()
            with open(proxy.config_path, "w") as f:
                f.write('{"listen": 5, "bogus": true')
            proxy.signal(signal.SIGHUP)
            self.wait_log(proxy, "still serving with the config loaded before")
            h.boto3_client(proxy.url).list_tables()
            cfg = json.loads(good)
            cfg["log"]["level"] = "debug"
            with open(proxy.config_path, "w") as f:
                json.dump(cfg, f)
            proxy.signal(signal.SIGHUP)
            self.wait_log(proxy, "log level debug")
            h.boto3_client(proxy.url).list_tables()
            self.wait_log(proxy, " debug ")
            self.assertIsNone(proxy.proc.poll())
        finally:
            proxy.stop()
            ddb.stop()

    def test_sighup_applies_tables_and_keyrings(self):
        ddb = h.start_dynalite()
        proxy = h.start_dynaseal(ddb.url)
        try:
            raw = h.boto3_client(ddb.url)
            raw.create_table(TableName="reloaded", BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
            raw.get_waiter("table_exists").wait(TableName="reloaded", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
            app = h.boto3_client(proxy.url)
            app.put_item(TableName="reloaded", Item={"pk": {"S": "before"}, "ssn": {"S": "123"}})
            self.assertEqual(raw.get_item(TableName="reloaded", Key={"pk": {"S": "before"}})["Item"]["ssn"], {"S": "123"})
            key = os.path.join(os.path.dirname(proxy.config_path), "reload.key")
            with open(key, "wb") as f:
                f.write(os.urandom(32))
            cfg = json.loads(open(proxy.config_path).read())
            cfg["keyrings"] = {"local": {"type": "raw-aes", "key_file": key}}
            cfg["tables"] = {"reloaded": {"keyring": "local", "partition_key": "pk",
                                          "attribute_actions": {"ssn": "ENCRYPT_AND_SIGN"},
                                          "plaintext_policy": "allow-read"}}
            with open(proxy.config_path, "w") as f:
                json.dump(cfg, f)
            proxy.signal(signal.SIGHUP)
            self.wait_log(proxy, "reload: 1 table(s), 1 keyring(s)")
            deadline = time.time() + 10
            while True:
                app.put_item(TableName="reloaded", Item={"pk": {"S": "after"}, "ssn": {"S": "456"}})
                stored = raw.get_item(TableName="reloaded", Key={"pk": {"S": "after"}})["Item"]
                if list(stored["ssn"]) == ["B"] or time.time() > deadline:
                    break
                time.sleep(0.1)
            self.assertEqual(list(stored["ssn"]), ["B"])
            self.assertEqual(app.get_item(TableName="reloaded", Key={"pk": {"S": "after"}})["Item"]["ssn"], {"S": "456"})
            # The plaintext item written before still reads (allow-read).
            self.assertEqual(app.get_item(TableName="reloaded", Key={"pk": {"S": "before"}})["Item"]["ssn"], {"S": "123"})
        finally:
            proxy.stop()
            ddb.stop()

    def wait_log(self, proxy, needle):
        deadline = time.time() + 10
        while time.time() < deadline:
            if needle in proxy.log_text():
                return
            time.sleep(0.1)
        self.fail("%r never appeared in the log:\n%s" % (needle, h.tail(proxy.log)))

    def test_sigterm_finishes_requests_in_flight(self):
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SlowHandler)
        server.daemon_threads = True
        t = threading.Thread(target=server.serve_forever, daemon=True)
        t.start()
        proxy = h.start_dynaseal("http://127.0.0.1:%d" % server.server_address[1])
        result = {}
        try:
            def call():
                try:
                    result["out"] = h.boto3_client(proxy.url).list_tables()
                except Exception as e:  # reported below
                    result["err"] = e
            c = threading.Thread(target=call)
            c.start()
            time.sleep(0.5)
            proxy.signal(signal.SIGTERM)
            c.join(10)
            self.assertNotIn("err", result)
            self.assertEqual(result["out"]["TableNames"], [])
            self.assertEqual(proxy.proc.wait(10), 0)
            self.assertIn("dynaseal stopped", proxy.log_text())
        finally:
            proxy.stop()
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    unittest.main()
