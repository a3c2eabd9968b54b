"""keepsaked's HTTP server against clients that hold connections open (issue 12, reproduced:
with cpp-httplib's pool of 16 threads, 16 connections sending a header line every few seconds
made the API unreachable: the 17th TLS handshake timed out, a health probe got no answer in
10 s). The server is event-driven now: slow and idle connections cost no thread, a request's
head must arrive within http_head_seconds, and connections are capped per client address.

Clients come from several loopback addresses (127.0.0.2, 127.0.0.3, ...): Linux routes all of
127.0.0.0/8 to lo, so each address is a separate client to the per-client cap."""

import os
import socket
import ssl
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import daemon as fixture  # noqa: E402

HEAD_SECONDS = 3
PER_CLIENT = 30


class SlowClients:
    """`count` connections from `source` that each complete the TLS handshake, then send a
    request head one line per `gap` seconds, never ending it; a connection the server cuts is
    opened again. Counts the connections opened and cut."""

    def __init__(self, daemon, source, count, gap=1.0):
        self.daemon, self.source, self.count, self.gap = daemon, source, count, gap
        self.stop = threading.Event()
        self.opened = self.cut = self.answered = 0
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(count)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(10)

    def run(self):
        host, port = self.daemon.address.rsplit(":", 1)
        context = ssl.create_default_context(cafile=self.daemon.cert_path())
        context.check_hostname = False
        while not self.stop.is_set():
            try:
                raw = socket.create_connection((host, int(port)), timeout=5, source_address=(self.source, 0))
                with context.wrap_socket(raw) as s:
                    self.opened += 1
                    s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
                    line = 0
                    while not self.stop.wait(self.gap):
                        s.sendall(f"X-Slow-{line}: still typing\r\n".encode())
                        line += 1
            except (OSError, ssl.SSLError):
                self.cut += 1
                self.stop.wait(0.2)


class HttpLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="ks-http-")
        os.makedirs(os.path.join(cls.tmp.name, "state"))
        os.makedirs(os.path.join(cls.tmp.name, "appliance"))
        cls.daemon = fixture.Daemon(cls.tmp.name, os.path.join(cls.tmp.name, "state"),
                                    os.path.join(cls.tmp.name, "appliance"),
                                    config_extra=f"http_head_seconds = {HEAD_SECONDS}\n"
                                                 f"http_client_connections = {PER_CLIENT}\n")
        cls.addClassCleanup(cls.daemon.kill)
        cls.daemon.start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.tmp.cleanup()

    def tls(self, source="127.0.0.1", timeout=5):
        host, port = self.daemon.address.rsplit(":", 1)
        context = ssl.create_default_context(cafile=self.daemon.cert_path())
        context.check_hostname = False
        raw = socket.create_connection((host, int(port)), timeout=timeout, source_address=(source, 0))
        try:
            return context.wrap_socket(raw)
        except BaseException:
            raw.close()
            raise

    def health_seconds(self, source="127.0.0.1"):
        """A fresh connection's GET /api/v1/health: the seconds it took (fails the test when
        there is no 200 within 5 s)."""
        began = time.monotonic()
        with self.tls(source) as s:
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        return time.monotonic() - began

    def test_slow_heads_from_many_clients_do_not_shut_others_out(self):
        sources = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        groups = [SlowClients(self.daemon, source, 25) for source in sources]
        for g in groups:
            g.__enter__()
        try:
            time.sleep(1.5)  # all 75 are open and typing (cpp-httplib gave up at 16)
            self.assertGreaterEqual(sum(g.opened for g in groups), 60)
            worst = max(self.health_seconds() for _ in range(10))
            self.assertLess(worst, 2.0, "a fresh client waited behind the slow ones")
        finally:
            for g in groups:
                g.__exit__()

    def test_a_head_that_never_ends_is_cut_at_its_deadline(self):
        began = time.monotonic()
        with self.tls() as s:
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
            s.settimeout(1)
            answer = b""
            while time.monotonic() - began < HEAD_SECONDS + 5:
                try:
                    s.sendall(b"X-Slow: still typing\r\n")
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
                except socket.timeout:
                    continue
                except (OSError, ssl.SSLError):
                    break
        took = time.monotonic() - began
        self.assertNotIn(b"200 OK", answer)
        self.assertGreaterEqual(took, HEAD_SECONDS - 0.5)
        self.assertLess(took, HEAD_SECONDS + 3, "the server kept a never-ending head open")

    def test_connections_from_one_client_are_capped(self):
        held = [self.tls("127.0.0.5") for _ in range(PER_CLIENT)]
        try:
            with self.assertRaises((OSError, ssl.SSLError)):
                extra = self.tls("127.0.0.5", timeout=3)
                extra.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
                if not extra.recv(4096):
                    raise ConnectionResetError("closed without an answer")
            self.assertLess(self.health_seconds("127.0.0.6"), 2.0)  # another client is served
        finally:
            for s in held:
                s.close()
        deadline = time.monotonic() + 5
        while True:  # the server sees the closes soon after
            try:
                self.health_seconds("127.0.0.5")
                break
            except (OSError, ssl.SSLError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def test_oversized_head_is_refused_with_its_reason(self):
        with self.tls() as s:
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            answer = b""
            try:
                while chunk := s.recv(4096):
                    answer += chunk
            except (OSError, ssl.SSLError):
                pass
        self.assertTrue(answer.startswith(b"HTTP/1.1 431"), answer[:200])
        self.assertIn(b"request_header_fields_too_large", answer)


if __name__ == "__main__":
    unittest.main()
