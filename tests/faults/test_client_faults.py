"""Hostile and broken applications, over raw sockets: clients hanging up in the middle of a
request and in the middle of a large response, slow-loris clients trickling their headers
(and ones that go silent), and 10,000 connections opened at once.

dynaseal answers what HTTP still allows (408 ValidationException naming the limit to a slow
client), closes each of them, keeps serving a normal client meanwhile, raises its own fd soft
limit to the hard limit, and its fds return to the baseline afterwards; nothing reaches the
table in plaintext."""
import json
import os
import resource
import selectors
import socket
import time
import unittest

import faultkit as fk
import peers as h
from faultkit import TABLE, item

LINGER0 = b"\x01\x00\x00\x00\x00\x00\x00\x00"


def put_body(pk, size=0):
    return json.dumps({"TableName": TABLE, "Item": {"pk": {"S": pk}, "secret": {"S": fk.MARKER + "x" * size},
                                                   "owner": {"S": "o"}}})


def response_status(sock, timeout=15):
    """The status of the response on sock, or None when it closed without one."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return None, data
            data += chunk
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        return None, data
    return int(data.split()[1]), data


class ClientFaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = h.start_moto()
        try:
            fk.create_table(cls.moto.url)
            cls.proxy = h.start_dynaseal(cls.moto.url, config=dict(fk.table_config(), limits={
                "client_idle_timeout_ms": 1000, "client_request_timeout_ms": 2000}))
            app = fk.client(cls.proxy)
            for i in range(40):   # a Scan of these is a response of about 2.5 MB
                app.put_item(TableName=TABLE, Item=item("big-%d" % i) | {"secret": {"S": fk.MARKER + "x" * 60000}})
            cls.base = fk.baseline(cls.proxy)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in ("proxy", "moto"):
            if hasattr(cls, s):
                getattr(cls, s).stop()

    def after_fault(self):
        fk.assert_fds_back(self, self.proxy, self.base)
        fk.assert_alive_and_serving(self, self.proxy)
        fk.assert_no_plaintext(self, self.moto.url)

    def test_disconnect_mid_request(self):
        """Cut after the request line, inside the headers, inside the body; FIN and RST."""
        raw = fk.raw_request("PutItem", put_body("cut-mid-request", 2000))
        head_len = raw.index(b"\r\n\r\n") + 4
        for n, cut in enumerate((10, head_len // 2, head_len, head_len + 500, len(raw) - 1)):
            for rst in (False, True):
                s = fk.connect(self.proxy.port)
                s.sendall(raw[:cut])
                if rst:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
                s.close()
        self.assertNotIn("Item", h.boto3_client(self.moto.url).get_item(
            TableName=TABLE, Key={"pk": {"S": "cut-mid-request"}}))
        self.after_fault()

    def test_disconnect_mid_response(self):
        """A Scan answered with megabytes of decrypted items: the client reads a little and
        hangs up, or never reads and resets, or hangs up before the answer starts."""
        req = fk.raw_request("Scan", json.dumps({"TableName": TABLE}))
        for how in ("read-some", "rst-unread", "close-unread", "close-at-once"):
            for _ in range(3):
                s = fk.connect(self.proxy.port)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.sendall(req)
                if how == "read-some":
                    s.recv(1000)
                elif how != "close-at-once":
                    time.sleep(0.5)   # the answer is being written to a full socket
                if how == "rst-unread":
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
                s.close()
        # The same Scan read to its end is whole.
        items = [i for page in fk.client(self.proxy).get_paginator("scan").paginate(
                 TableName=TABLE, FilterExpression="begins_with(pk, :b)",
                 ExpressionAttributeValues={":b": {"S": "big-"}}) for i in page["Items"]]
        self.assertEqual(len(items), 40)
        self.assertTrue(all(i["secret"]["S"].startswith(fk.MARKER) for i in items))
        self.after_fault()

    def test_slow_loris(self):
        """60 clients: 40 trickle one header byte every 300 ms (never idle for the 1 s idle
        timeout), 20 send part of a header and go silent.  Each gets 408 and is closed, while a
        normal client is served the whole time."""
        sel = selectors.DefaultSelector()
        trickle = b"X-Slow: " + b"a" * 10000
        lorises = {}
        for i in range(60):
            s = fk.connect(self.proxy.port)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            s.setblocking(False)
            lorises[s] = {"trickle": i < 40, "sent": 0, "answer": b"", "closed": False}
            sel.register(s, selectors.EVENT_READ)
        app = fk.client(self.proxy)
        served = 0
        deadline = time.time() + 60
        while not all(v["closed"] for v in lorises.values()) and time.time() < deadline:
            for s, v in lorises.items():
                if v["trickle"] and not v["closed"] and v["sent"] < len(trickle):
                    try:
                        s.send(trickle[v["sent"]:v["sent"] + 1])
                        v["sent"] += 1
                    except OSError:
                        pass
            for key, _ in sel.select(timeout=0.3):
                v = lorises[key.fileobj]
                try:
                    chunk = key.fileobj.recv(65536)
                except OSError:
                    chunk = b""
                v["answer"] += chunk
                if not chunk:
                    v["closed"] = True
                    sel.unregister(key.fileobj)
            # A normal client meanwhile.
            app.put_item(TableName=TABLE, Item=item("loris-normal-%d" % served))
            served += 1
        sel.close()
        for s, v in lorises.items():
            s.close()
            self.assertTrue(v["closed"], "a slow client was never closed (%d bytes sent)" % v["sent"])
            self.assertTrue(v["answer"].startswith(b"HTTP/1.1 408 "), v["answer"][:200])
            body = json.loads(v["answer"].split(b"\r\n\r\n", 1)[1])
            self.assertEqual(body["__type"], "com.amazon.coral.validate#ValidationException")
            self.assertIn("limits.client_request_timeout_ms" if v["trickle"] else "limits.client_idle_timeout_ms",
                          body["message"])
        self.assertGreater(served, 0)
        self.after_fault()

    def wait_connected(self, batch):
        sel = selectors.DefaultSelector()
        for s in batch:
            sel.register(s, selectors.EVENT_WRITE)
        pending = len(batch)
        deadline = time.time() + 60
        while pending and time.time() < deadline:
            for key, _ in sel.select(timeout=1):
                sel.unregister(key.fileobj)
                err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                self.assertEqual(err, 0, "connect failed: %s" % os.strerror(err))
                pending -= 1
        sel.close()
        self.assertEqual(pending, 0, "connections never established")

    def test_ten_thousand_connections(self):
        """10,000 connections at once: all accepted, a normal request is answered meanwhile,
        a sample of them is served, and the fds come back when they close."""
        # Its own dynaseal, with the default idle timeout, started with the common default soft
        # limit (1024) as a service manager would: dynaseal must raise its own.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
        try:
            proxy = h.start_dynaseal(self.moto.url, config=fk.table_config())
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.addCleanup(proxy.stop)
        fk.assert_alive_and_serving(self, proxy, "before-10k")
        base = fk.baseline(proxy)
        fk.assert_fds_back(self, proxy, base)   # closes the client above: no connection left
        with open("/proc/%d/limits" % proxy.proc.pid) as f:
            line = [l for l in f if l.startswith("Max open files")][0].split()
        self.assertEqual(line[3], line[4], "dynaseal did not raise its fd soft limit to the hard limit")
        self.assertGreaterEqual(int(line[3]), 10100)
        self.assertGreaterEqual(hard, 10500, "the machine's hard fd limit is too low for this test")
        socks = []
        try:
            # All at once, non-blocking: they wait in the kernel's accept queues (dynaseal's
            # listen backlog) while dynaseal accepts them.
            for _ in range(10000):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", proxy.port))
                socks.append(s)
            self.wait_connected(socks)
            deadline = time.time() + 60
            while fk.census(proxy)["clients"] < 10000 and time.time() < deadline:
                time.sleep(0.2)
            self.assertEqual(fk.census(proxy)["clients"], 10000, "dynaseal did not accept them all")
            # A normal client is answered while the 10,000 are open.
            fk.assert_alive_and_serving(self, proxy, "while-10k")
            # Every 250th of them is served too.
            req = fk.raw_request("GetItem", json.dumps({"TableName": TABLE, "Key": {"pk": {"S": "while-10k"}}}))
            for s in socks[::250]:
                s.setblocking(True)
                s.sendall(req)
            for s in socks[::250]:
                status, data = response_status(s)
                self.assertEqual(status, 200, data[:300])
        finally:
            for s in socks:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
                s.close()
        fk.assert_fds_back(self, proxy, base)
        fk.assert_alive_and_serving(self, proxy)
        fk.assert_no_plaintext(self, self.moto.url)

    def test_out_of_fds_at_accept(self):
        """dynaseal under a hard limit of 150 fds and 400 connections: accept fails with
        EMFILE; it pauses accepting (a warning a second, not a busy loop), closes the idle ones
        it holds, takes the waiting ones in turn, and serves normally afterwards."""
        wrapper = os.path.join(h.run_dir(), "dynaseal-150-fds.sh")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\nulimit -n 150 || exit 1\nexec "%s" "$@"\n' % h.DYNASEAL)
        os.chmod(wrapper, 0o755)
        real, h.DYNASEAL = h.DYNASEAL, wrapper
        try:
            proxy = h.start_dynaseal(self.moto.url, config=dict(fk.table_config(), limits={
                "client_idle_timeout_ms": 1000}))
        finally:
            h.DYNASEAL = real
        self.addCleanup(proxy.stop)
        fk.assert_alive_and_serving(self, proxy, "before-emfile")
        base = fk.baseline(proxy)
        socks = [socket.create_connection(("127.0.0.1", proxy.port)) for _ in range(400)]
        try:
            # Each is accepted in turn and closed by the idle timeout: EOF on every one.
            for s in socks:
                s.settimeout(60)
                try:
                    self.assertEqual(s.recv(1), b"")
                except ConnectionResetError:
                    pass
        finally:
            for s in socks:
                s.close()
        log = proxy.log_text()
        self.assertIn("Too many open files; accepting again in 100 ms", log)
        self.assertLess(log.count(": accept: "), 200, "a busy loop on accept")
        fk.assert_fds_back(self, proxy, base)
        fk.assert_alive_and_serving(self, proxy)


if __name__ == "__main__":
    unittest.main()
