#!/usr/bin/env python3
"""For bench/nfs_bench.sh: nfs-ganesha (tests/fixtures/nfs_server.py) on 127.0.0.1, and a
user-space delay line in front of it that holds every chunk of bytes DELAY_MS in each
direction (a round trip of 2 x DELAY_MS plus its own overhead), standing in for
`tc qdisc add dev lo root netem delay ...` where the kernel has no netem.

    nfs_bench_server.py TMPDIR DELAY_MS

Prints "direct <url>" and "delayed <url>", one per line, then serves until SIGTERM or SIGINT,
when it stops the server. The delay line keeps the order of the bytes and does not wait for
one chunk's answer before forwarding the next (it is a pipe with a delay, not a stop-and-wait
relay). Standard library only.
"""

import collections
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import nfs_server  # noqa: E402


def pipe(src, dst, delay):
    """Forwards src to dst, each chunk `delay` seconds after it arrived."""
    q = collections.deque()
    cv = threading.Condition()

    def reader():
        while True:
            try:
                data = src.recv(1 << 18)
            except OSError:
                data = b""
            with cv:
                q.append((time.monotonic() + delay, data))
                cv.notify()
            if not data:
                return

    def writer():
        while True:
            with cv:
                while not q:
                    cv.wait()
                due, data = q.popleft()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            # Whatever else is due by now goes in the same send.
            parts = [data]
            with cv:
                now = time.monotonic()
                while data and q and q[0][0] <= now and q[0][1]:
                    parts.append(q.popleft()[1])
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            try:
                dst.sendall(b"".join(parts))
            except OSError:
                return

    for f in (reader, writer):
        threading.Thread(target=f, daemon=True).start()


def delay_line(target_port, delay):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def accept():
        while True:
            client, _ = listener.accept()
            server = socket.create_connection(("127.0.0.1", target_port))
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pipe(client, server, delay)
            pipe(server, client, delay)

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def main():
    tmpdir, delay_ms = sys.argv[1], float(sys.argv[2])
    nfs_server.require()
    g = nfs_server.Ganesha(tmpdir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # sys.exit runs atexit: g.stop()
    g.start()
    port = delay_line(g.port, delay_ms / 1000)
    print("direct", g.url("rw"), flush=True)
    print("delayed", f"nfs://127.0.0.1:{port}/rw", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
