#!/usr/bin/env python3
"""Opens N keep-alive connections to a proxy, makes one request on each (so each is a live
HTTP/1.1 connection the proxy has served), leaves them idle, and reads the proxy's VmRSS.

Usage: idle_conns.py PORT N PID TARGET BODY_FILE [ADMIN_PORT]
Prints "IDLE conns=N rss_kib=X rss_before_kib=Y open_gauge=G".  Bounded: every socket has a
10 s timeout and everything is closed before it exits.
"""
import socket
import sys
import time
import urllib.request


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def one_response(sock):
    """Reads one HTTP response with a Content-Length body; returns its status code."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for h in lines[1:]:
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the response body")
        rest += chunk
    return status


def main():
    port, n, pid, target, body_file = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                       sys.argv[4], sys.argv[5])
    admin = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    body = open(body_file, "rb").read()
    req = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
           b"X-Amz-Target: DynamoDB_20120810." + target.encode() + b"\r\n"
           b"X-Amz-Date: 20260101T000000Z\r\n"
           b"Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCHCLIENT/20260101/us-east-1/"
           b"dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
           b"Signature=" + b"0" * 64 + b"\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    before = vm_rss_kib(pid)
    socks = []
    bad = 0
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            socks.append(s)
            s.sendall(req)
            if one_response(s) != 200:
                bad += 1
        time.sleep(1.0)
        rss = vm_rss_kib(pid)
        gauge = "-"
        if admin:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=5) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("dynaseal_connections"):
                        gauge = line.split()[-1]
        print("IDLE conns=%d rss_kib=%d rss_before_kib=%d open_gauge=%s non200=%d"
              % (len(socks), rss, before, gauge, bad))
    finally:
        for s in socks:
            s.close()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
