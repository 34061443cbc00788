"""A fault-injecting TCP/HTTP proxy for the fault tests, in front of a real peer (moto_server
for DynamoDB and KMS, redis-server for the cache).

In its normal mode ("pass") it forwards the bytes of every request and response untouched,
so the protocol spoken is the real peer's own.  A test switches it, for the next `n` requests
(or until switched back), to one of these faults:

    refuse        the listening socket is closed: connections are refused (ECONNREFUSED)
    reset         forwards the request, relays `after` bytes of the response, then resets the
                  connection (SO_LINGER 0: an RST, not a FIN)
    stall         reads the request and never answers (the connection stays open)
    delay         forwards the request after `seconds`
    status        answers a canned DynamoDB/KMS-style error: `status`, `type`, `message`
    truncate      forwards, then relays the headers and `keep` bytes of the body and closes
    garbage_http  answers bytes that are not HTTP at all, then closes
    garbage_body  answers 200 with a well-framed body that is not JSON (`body`)

HTTP mode frames requests and responses by Content-Length (what the AWS SDKs, dynaseal and
moto send).  Raw mode (http=False, for Redis) pumps bytes both ways; its only fault is
"garbage": whatever the client sends is answered with bytes that are no Redis reply.
"""
import json
import socket
import threading
import time
import zlib

GARBAGE = b"\x00\xff\xfe garbage \x01\x02 not a protocol at all \r\n\r\n\x7f"


def read_head(sock, buf):
    """Reads until the end of a header block; returns (head, rest) or (None, buf) on EOF."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head + b"\r\n\r\n", rest


def header(head, name):
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == name:
            return v.strip()
    return None


def read_message(sock, buf):
    """One Content-Length framed message: (head, body, leftover); head None on a clean EOF.
    A message without Content-Length is read to the end of the connection (body_to_eof)."""
    head, rest = read_head(sock, buf)
    if head is None:
        return None, b"", rest
    n = header(head, b"content-length")
    if n is None:
        if head.startswith(b"HTTP/"):
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return head, rest, b""
                rest += chunk
        return head, b"", rest
    n = int(n)
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head, rest[:n], rest[n:]


def canned(status, type_, message, json_version="1.0", reason=None):
    """An AWS JSON-protocol error response."""
    body = json.dumps({"__type": type_, "message": message}).encode()
    return (b"HTTP/1.1 %d %s\r\nx-amzn-RequestId: FAULTPROXY\r\nx-amz-crc32: %d\r\n"
            b"Content-Type: application/x-amz-json-%s\r\nContent-Length: %d\r\n\r\n"
            % (status, (reason or "Error").encode(), zlib.crc32(body), json_version.encode(),
               len(body)) + body)


def rst_close(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    sock.close()


class FaultProxy:
    def __init__(self, target_port, http=True, port=None):
        self.target = ("127.0.0.1", target_port)
        self.http = http
        self.lock = threading.Lock()
        self.mode, self.args, self.left = "pass", {}, None
        self.requests = 0        # requests (HTTP) or client chunks (raw) seen
        self.faulted = 0         # of which a fault was applied to
        self.closed = False
        self.socks = set()       # every live socket, closed by close()
        self.lsock = None
        self.port = port or self._free_port()
        self._listen()

    @staticmethod
    def _free_port():
        import peers
        return peers.free_port()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    # -- control --------------------------------------------------------------------------

    def set(self, mode, n=None, **args):
        """Applies `mode` to the next n requests (every one when n is None)."""
        with self.lock:
            self.mode, self.args, self.left = mode, args, n
        if mode == "refuse":
            if self.lsock is not None:
                self._unlisten()
            self.drop_connections()
        elif mode != "refuse" and self.lsock is None:
            self._listen()

    def reset(self):
        """Back to pass mode, counters at zero."""
        self.set("pass")
        with self.lock:
            self.requests = self.faulted = 0

    def _take(self):
        """The action for one request: (mode, args); counts it."""
        with self.lock:
            self.requests += 1
            mode, args = self.mode, dict(self.args)
            if mode != "pass":
                self.faulted += 1
                if self.left is not None:
                    self.left -= 1
                    if self.left <= 0:
                        self.mode, self.args, self.left = "pass", {}, None
            return mode, args

    def _unlisten(self):
        # shutdown() wakes the thread blocked in accept(); close() alone would leave the
        # socket listening until that accept() returned.
        s, self.lsock = self.lsock, None
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def _listen(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(512)
        self.lsock = s
        threading.Thread(target=self._accept_loop, args=(s,), daemon=True).start()

    def _accept_loop(self, lsock):
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return       # closed: refuse mode or close()
            if self.closed:
                c.close()
                return
            self._track(c)
            threading.Thread(target=self._serve_http if self.http else self._serve_raw,
                             args=(c,), daemon=True).start()

    def _track(self, s):
        with self.lock:
            self.socks.add(s)

    def _untrack(self, *socks):
        for s in socks:
            if s is None:
                continue
            with self.lock:
                self.socks.discard(s)
            try:
                s.close()
            except OSError:
                pass

    def close(self):
        self.closed = True
        if self.lsock is not None:
            self._unlisten()
        self.drop_connections()

    def drop_connections(self):
        """Ends every connection it holds, as a peer that restarts does."""
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    stop = close

    # -- HTTP -----------------------------------------------------------------------------

    def _upstream(self):
        u = socket.create_connection(self.target, timeout=60)
        self._track(u)
        return u

    def _serve_http(self, c):
        up = None
        buf = b""
        try:
            while True:
                head, body, buf = read_message(c, buf)
                if head is None:
                    return
                mode, a = self._take()
                if mode == "stall":
                    while c.recv(65536):
                        pass
                    return
                if mode == "status":
                    c.sendall(canned(a.get("status", 500), a.get("type", "InternalServerError"),
                                     a.get("message", "injected fault"), a.get("json_version", "1.0")))
                    continue
                if mode == "garbage_http":
                    c.sendall(GARBAGE)
                    return
                if mode == "garbage_body":
                    b = a.get("body", b"<html>this is not JSON")
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-%s\r\n"
                              b"x-amz-crc32: %d\r\nContent-Length: %d\r\n\r\n"
                              % (a.get("json_version", "1.0").encode(), zlib.crc32(b), len(b)) + b)
                    continue
                if mode == "delay":
                    time.sleep(a.get("seconds", 1.0))
                if up is None:
                    up = self._upstream()
                up.sendall(head + body)
                rhead, rbody, _ = read_message(up, b"")
                if rhead is None:
                    return
                raw = rhead + rbody
                if mode == "reset":
                    c.sendall(raw[:a.get("after", len(rhead) + 10)])
                    rst_close(c)
                    return
                if mode == "truncate":
                    c.sendall(rhead + rbody[:a.get("keep", len(rbody) // 2)])
                    c.shutdown(socket.SHUT_WR)
                    return
                c.sendall(raw)
                if header(rhead, b"content-length") is None or \
                        (header(rhead, b"connection") or b"").lower() == b"close":
                    return
        except OSError:
            return
        finally:
            self._untrack(c, up)

    # -- raw TCP (Redis) ------------------------------------------------------------------

    def _serve_raw(self, c):
        try:
            up = self._upstream()
        except OSError:
            self._untrack(c)
            return

        def back():
            try:
                while True:
                    chunk = up.recv(65536)
                    if not chunk:
                        break
                    c.sendall(chunk)
            except OSError:
                pass
            self._untrack(c, up)

        threading.Thread(target=back, daemon=True).start()
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                mode, _ = self._take()
                if mode == "garbage":
                    c.sendall(GARBAGE)
                else:
                    up.sendall(chunk)
        except OSError:
            pass
        self._untrack(c, up)
