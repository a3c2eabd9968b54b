#!/usr/bin/env python3
"""N Webconf tabs watching the Backup Status for SECONDS, the two ways a page can: "events"
holds GET /api/v1/events open (server-sent events; reconnects when the server ends the
stream, as EventSource does), "poll" asks GET /api/v1/status once a second on a keep-alive
connection. For bench/events_bench.sh, which measures the daemon's CPU meanwhile. Prints the
number of status answers or events received.

Usage: status_watchers.py events|poll N SECONDS URL CAFILE TOKEN     (standard library only)"""

import http.client
import ssl
import sys
import threading
import time
import urllib.parse


def main():
    mode, n, seconds, url, cafile, token = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), *sys.argv[4:7]
    target = urllib.parse.urlsplit(url)
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False
    until = time.monotonic() + seconds
    received = [0] * n
    headers = {"Authorization": f"Bearer {token}"}

    def watch(i):
        conn = None
        while time.monotonic() < until:
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection(target.hostname, target.port, context=context, timeout=70)
                if mode == "poll":
                    conn.request("GET", "/api/v1/status", headers=headers)
                    conn.getresponse().read()
                    received[i] += 1
                    time.sleep(max(0.0, min(1.0, until - time.monotonic())))
                else:
                    conn.request("GET", "/api/v1/events", headers=headers)
                    res = conn.getresponse()
                    conn.sock.settimeout(max(0.1, until - time.monotonic()))
                    while time.monotonic() < until:
                        line = res.fp.readline()
                        if not line:
                            break
                        if line.startswith(b"data:"):
                            received[i] += 1
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.1)

    threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 5)
    print(sum(received))


if __name__ == "__main__":
    main()
