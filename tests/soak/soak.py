#!/usr/bin/env python3
"""Soak: 256 keep-alive clients of mixed operations through dynaseal for SOAK_SECONDS, with
zero errors, bounded memory and no leaked file descriptors.

Starts dynalite (one node process holds 256 proxied connections easily; moto's threaded
server does not) and dynaseal (2 workers) on loopback, creates an encrypted table `sealed`
(email ENCRYPT_AND_SIGN, name SIGN_ONLY, visits DO_NOTHING) and a pass-through table `plain`,
then runs 256 asyncio clients, each on one raw HTTP/1.1 keep-alive connection, signing every
request with botocore's SigV4Auth.  Each client owns one partition per table and keeps a
model of it, so every GetItem, Query page and BatchGetItem answer is checked, not just its
status.  Ops: PutItem, GetItem, UpdateItem (ADD visits), Query paged with Limit,
BatchWriteItem + BatchGetItem.

Every few seconds it samples dynaseal's VmRSS and open fds (classified through
/proc/net/tcp{,6}: client sockets, upstream sockets, everything else).  Fails (exit 1) on
any request error or wrong answer, on RSS growth >= 10 % between the end of the warm-up and
the end of the load, if any other fd not open before the clients came stays open across two
samples, if the client sockets are not all open under load, if they do not all close once
the clients leave, or if more upstream sockets than the idle pool stay open.

    SOAK_SECONDS=600 DYNASEAL_BIN=bin/dynaseal python3 tests/soak/soak.py
"""
import asyncio
import json
import os
import random
import sys
import time

os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import peers as h  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

SECONDS = max(10, int(os.environ.get("SOAK_SECONDS", "600")))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "256"))
SAMPLE_S = 5.0
WARMUP_S = min(60.0, max(10.0, SECONDS * 0.1))
WORKERS = 2
POOL = 64
ITEMS = 16           # sort keys per client partition
REQ_TIMEOUT = 30.0   # per request: a stuck request is an error, never a hang

CREDS = Credentials(h.CLIENT_KEY, h.CLIENT_SECRET)


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for %d" % pid)


def tcp_table():
    """inode -> (local port, remote port) of every TCP socket in this network namespace."""
    out = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    p = line.split()
                    out[p[9]] = (int(p[1].rsplit(":", 1)[1], 16), int(p[2].rsplit(":", 1)[1], 16))
        except FileNotFoundError:
            pass
    return out


def fd_census(pid, listen_port, backend_port):
    """(total, client sockets, upstream sockets, the set of every other fd's link).  Other fds
    are files, pipes, eventfds, listeners and sockets in no TCP table -- the constant ones, and
    now and then an upstream socket created but not yet connected: a leak is an fd that is in
    two consecutive censuses and not in the first."""
    fd_dir = "/proc/%d/fd" % pid
    links = []
    for fd in os.listdir(fd_dir):
        try:
            links.append((fd, os.readlink(os.path.join(fd_dir, fd))))
        except FileNotFoundError:
            pass
    tcp = tcp_table()
    client = upstream = 0
    other = set()
    for fd, link in links:
        lp, rp = tcp.get(link[8:-1], (0, 0)) if link.startswith("socket:[") else (0, 0)
        if lp == listen_port and rp != 0:
            client += 1
        elif rp == backend_port:
            upstream += 1
        else:
            other.add(fd + " " + link)
    return len(links), client, upstream, frozenset(other)


class Client:
    """One application on one keep-alive connection, with a model of its own partitions."""

    def __init__(self, n, port, stats):
        self.n = n
        self.port = port
        self.stats = stats
        self.rng = random.Random(n)
        self.pk = "c%03d" % n
        self.model = {"sealed": {}, "plain": {}}   # table -> sk -> item (DynamoDB JSON)
        self.seq = 0
        self.reader = self.writer = None

    async def connect(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self):
        if self.writer is not None:
            self.writer.close()

    async def call(self, target, body):
        data = json.dumps(body).encode()
        url = "http://127.0.0.1:%d/" % self.port
        req = AWSRequest(method="POST", url=url, data=data, headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810." + target})
        SigV4Auth(CREDS, "dynamodb", h.REGION).add_auth(req)
        head = ["POST / HTTP/1.1", "Host: 127.0.0.1:%d" % self.port,
                "Content-Length: %d" % len(data)]
        head += ["%s: %s" % (k, v) for k, v in req.headers.items() if k.lower() != "host"]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        status, resp = await asyncio.wait_for(self._response(), REQ_TIMEOUT)
        self.stats["requests"] += 1
        if status != 200:
            raise AssertionError("%s: HTTP %d %s" % (target, status, resp[:300]))
        return json.loads(resp)

    async def _response(self):
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = None
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
            if k.strip().lower() == "connection" and v.strip().lower() == "close":
                raise AssertionError("the proxy closed a keep-alive connection")
        if length is None:
            raise AssertionError("response without Content-Length")
        return status, await self.reader.readexactly(length)

    def new_item(self, table, sk):
        self.seq += 1
        return {"pk": {"S": self.pk}, "sk": {"N": str(sk)},
                "email": {"S": "%s-%d-%d@soak.example ✓" % (self.pk, sk, self.seq)},
                "name": {"S": "n%d" % self.seq}, "visits": {"N": "0"}}

    def key(self, sk):
        return {"pk": {"S": self.pk}, "sk": {"N": str(sk)}}

    def check(self, what, got, want):
        if got != want:
            raise AssertionError("%s: got %s, want %s" % (what, json.dumps(got)[:300], json.dumps(want)[:300]))

    async def step(self):
        table = "sealed" if self.rng.random() < 0.7 else "plain"
        model = self.model[table]
        r = self.rng.random()
        sk = self.rng.randrange(ITEMS)
        if r < 0.25:
            item = self.new_item(table, sk)
            await self.call("PutItem", {"TableName": table, "Item": item})
            model[sk] = item
        elif r < 0.55:
            got = await self.call("GetItem", {"TableName": table, "Key": self.key(sk), "ConsistentRead": True})
            self.check("GetItem %s %s/%d" % (table, self.pk, sk), got.get("Item"), model.get(sk))
        elif r < 0.65 and model:
            sk = self.rng.choice(sorted(model))
            got = await self.call("UpdateItem", {
                "TableName": table, "Key": self.key(sk), "UpdateExpression": "ADD visits :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "ALL_NEW"})
            model[sk]["visits"] = {"N": str(int(model[sk]["visits"]["N"]) + 1)}
            self.check("UpdateItem %s %s/%d" % (table, self.pk, sk), got.get("Attributes"), model[sk])
        elif r < 0.82:
            items, start = [], None
            while True:
                body = {"TableName": table, "KeyConditionExpression": "pk = :p", "Limit": 5,
                        "ExpressionAttributeValues": {":p": {"S": self.pk}}, "ConsistentRead": True}
                if start:
                    body["ExclusiveStartKey"] = start
                page = await self.call("Query", body)
                items += page["Items"]
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
            self.check("Query %s %s" % (table, self.pk), items, [model[k] for k in sorted(model)])
        else:
            sks = self.rng.sample(range(ITEMS), 3)
            puts = [self.new_item(table, s) for s in sks]
            got = await self.call("BatchWriteItem", {"RequestItems": {table: [
                {"PutRequest": {"Item": it}} for it in puts]}})
            if got.get("UnprocessedItems"):
                raise AssertionError("BatchWriteItem left items unprocessed")
            for s, it in zip(sks, puts):
                model[s] = it
            want = self.rng.sample(range(ITEMS), 4)
            got = await self.call("BatchGetItem", {"RequestItems": {table: {
                "Keys": [self.key(s) for s in want], "ConsistentRead": True}}})
            if got.get("UnprocessedKeys"):
                raise AssertionError("BatchGetItem left keys unprocessed")
            answer = sorted(got["Responses"][table], key=lambda i: int(i["sk"]["N"]))
            self.check("BatchGetItem %s %s" % (table, self.pk), answer,
                       [model[s] for s in sorted(want) if s in model])


async def run_client(c, deadline, stats, errors):
    try:
        await c.connect()
        stats["connected"] += 1
        while time.monotonic() < deadline:
            await c.step()
    except Exception as e:  # every failure is counted and the first few shown
        errors.append("client %d: %s: %s" % (c.n, type(e).__name__, e))
    finally:
        c.close()


async def sampler(pid, ports, deadline, samples):
    # Only samples under load: the last one a second before the clients stop.
    while time.monotonic() + SAMPLE_S < deadline - 1:
        await asyncio.sleep(SAMPLE_S)
        samples.append((time.monotonic(), vm_rss_kib(pid)) + fd_census(pid, *ports))
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))


async def soak(proxy, backend_port):
    pid = proxy.proc.pid
    ports = (proxy.port, backend_port)
    stats = {"requests": 0, "connected": 0}
    errors, samples = [], []
    rss_idle = vm_rss_kib(pid)
    fds_start = fd_census(pid, *ports)
    t0 = time.monotonic()
    deadline = t0 + SECONDS
    clients = [Client(n, proxy.port, stats) for n in range(CLIENTS)]
    tasks = [asyncio.ensure_future(run_client(c, deadline, stats, errors)) for c in clients]
    await sampler(pid, ports, deadline, samples)
    await asyncio.wait_for(asyncio.gather(*tasks), REQ_TIMEOUT + 10)
    # The clients are gone: wait (bounded) until dynaseal has closed every client socket.
    end = fd_census(pid, *ports)
    for _ in range(100):
        if end[1] == 0:
            break
        await asyncio.sleep(0.1)
        end = fd_census(pid, *ports)
    return stats, errors, samples, rss_idle, fds_start, end, t0


def main():
    backend = proxy = None
    failures = []
    try:
        backend = h.start_dynalite()
        key = os.path.join(backend.workdir, "soak.key")
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        raw = h.boto3_client(backend.url)
        for t in ("sealed", "plain"):
            raw.create_table(TableName=t, BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                   {"AttributeName": "sk", "AttributeType": "N"}],
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                        {"AttributeName": "sk", "KeyType": "RANGE"}])
        for t in ("sealed", "plain"):
            while raw.describe_table(TableName=t)["Table"]["TableStatus"] != "ACTIVE":
                time.sleep(0.1)
        proxy = h.start_dynaseal(backend.url, workers=WORKERS, config={
            "upstream": {"pool_size": POOL},
            "log": {"level": "warn"},
            "keyrings": {"local": {"type": "raw-aes", "key_file": key}},
            "tables": {"sealed": {"keyring": "local", "partition_key": "pk", "sort_key": "sk",
                                  "attribute_actions": {"email": "ENCRYPT_AND_SIGN", "name": "SIGN_ONLY",
                                                        "visits": "DO_NOTHING"}}}})
        stats, errors, samples, rss_idle, fds_start, fds_end, t0 = asyncio.run(soak(proxy, backend.port))

        if proxy.proc.poll() is not None:
            failures.append("dynaseal exited with %s" % proxy.proc.returncode)
        if stats["connected"] != CLIENTS:
            failures.append("only %d of %d clients connected" % (stats["connected"], CLIENTS))
        for e in errors[:10]:
            print("soak: error: " + e)
        loaded = [s for s in samples if s[0] - t0 >= WARMUP_S]
        if len(loaded) < 2:
            failures.append("too few samples after the warm-up (%d)" % len(loaded))
            loaded = samples[-2:] if len(samples) >= 2 else [(t0, rss_idle) + fds_start] * 2
        for t, rss, total, cl, up, other in samples:
            print("soak: t=%4.0fs rss_kib=%d fds=%d client=%d upstream=%d other=%d"
                  % (t - t0, rss, total, cl, up, len(other)))
        rss_start, rss_end = loaded[0][1], loaded[-1][1]
        growth = 100.0 * (rss_end - rss_start) / rss_start
        if growth >= 10.0:
            failures.append("RSS grew %.1f %% after the warm-up" % growth)
        # Under load every client socket is open and nothing else changes.
        for i, s in enumerate(loaded):
            if not errors and s[3] != CLIENTS:
                failures.append("t=%.0fs: %d client sockets open, want %d" % (s[0] - t0, s[3], CLIENTS))
            kept = (s[5] & loaded[i + 1][5] if i + 1 < len(loaded) else s[5] & fds_end[3]) - fds_start[3]
            if kept:
                failures.append("t=%.0fs: new fds kept: %s" % (s[0] - t0, sorted(kept)))
        # Clients gone: their sockets closed, upstream down to the idle pool, the rest as before.
        if fds_end[1] != 0:
            failures.append("%d client sockets still open after the clients closed" % fds_end[1])
        # Idle upstream connections are kept up to pool_size, or up to the most calls each
        # worker recently had in flight (at most one per client): never more than that.
        kept_max = max(WORKERS * POOL, CLIENTS)
        if fds_end[2] > kept_max:
            failures.append("%d upstream sockets kept, at most %d allowed" % (fds_end[2], kept_max))
        if fds_end[3] - fds_start[3]:
            failures.append("fds %s after the clients left, not before" % sorted(fds_end[3] - fds_start[3]))
        print("soak: rss_idle_kib=%d fds_end_upstream_idle=%d warmup_s=%.0f samples=%d"
              % (rss_idle, fds_end[2], WARMUP_S, len(samples)))
        print("soak: seconds=%d clients=%d requests=%d errors=%d rss_start_kib=%d rss_end_kib=%d "
              "rss_growth_pct=%.1f fds_start=%d fds_end=%d"
              % (SECONDS, CLIENTS, stats["requests"], len(errors), rss_start, rss_end, growth,
                 fds_start[0], fds_end[0]))
        if errors:
            failures.append("%d clients failed" % len(errors))
    except Exception as e:
        failures.append("%s: %s" % (type(e).__name__, e))
    finally:
        for s in (proxy, backend):
            if s is not None:
                s.stop()
        if proxy is not None:
            for path, excerpt in h.SANITIZER_REPORTS:
                failures.append("sanitizer report in %s" % path)
    for f in failures:
        print("soak: FAIL: " + f)
    if failures:
        print("soak: logs kept in %s" % h.run_dir())
    else:
        h.rmtree(h.run_dir())
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
