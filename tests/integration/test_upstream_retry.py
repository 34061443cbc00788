"""A pooled upstream connection that turns out to be closed is retried once, on a fresh
connection, when no byte of a response had arrived: the application never sees it.  The
stand-in upstream answers the first request of each connection and closes the connection when
a second one arrives on it, as a server closing an idle keep-alive connection at the moment it
is reused does (no local DynamoDB does this on demand)."""
import json
import socket
import threading
import time
import unittest
import zlib

import peers as h


class OneRequestPerConnection:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.answered = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        with c:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, rest = data.split(b"\r\n\r\n", 1)
            n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
            while len(rest) < n:
                rest += c.recv(65536)
            body = json.dumps({"TableNames": ["t%d" % self.connections]}).encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
                      b"x-amz-crc32: %d\r\nContent-Length: %d\r\n\r\n" % (zlib.crc32(body), len(body)) + body)
            self.answered += 1
            # Keep the connection open until the next request arrives, then drop it unanswered.
            c.recv(65536)

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


class UpstreamRetryTest(unittest.TestCase):
    def test_closed_pooled_connection_is_retried(self):
        up = OneRequestPerConnection()
        proxy = h.start_dynaseal("http://127.0.0.1:%d" % up.port, workers=1)
        try:
            d = h.boto3_client(proxy.url)
            for _ in range(5):
                self.assertEqual(len(d.list_tables()["TableNames"]), 1)
            # Every request after the first found its pooled connection closed and was retried
            # (the stand-in counts an answer just after sending it).
            deadline = time.time() + 2
            while up.answered < 5 and time.time() < deadline:
                time.sleep(0.01)
            self.assertEqual(up.answered, 5)
            self.assertGreaterEqual(up.connections, 5)
        finally:
            proxy.stop()
            up.close()


if __name__ == "__main__":
    unittest.main()
