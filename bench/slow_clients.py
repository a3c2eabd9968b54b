#!/usr/bin/env python3
"""Holds many idle or slow HTTPS connections open against keepsaked, for
bench/slow_clients_bench.sh: half complete the TLS handshake and send nothing (idle), half
send a request head one header line every GAP seconds and never end it (slowloris). A
connection the server cuts is opened again at once, so the count stays up for the whole run.
Connections come from SOURCES loopback addresses (127.0.0.2, ...), a few dozen each, as
many clients would. Prints one JSON line at the end: opened, cut, and the least and most
open at once, after the ramp-up (sampled every second).

Usage: slow_clients.py HOST PORT CAFILE SECONDS [--connections 1000] [--sources 20] [--gap 5]
Standard library only."""

import argparse
import asyncio
import json
import random
import ssl
import time


async def hold(host, port, context, source, gap, until, stats):
    slow = stats["next"] % 2 == 1
    stats["next"] += 1
    # Started over the first RAMP seconds, so that the server's deadlines cut them at
    # different times, as they would among clients that did not start together.
    await asyncio.sleep(random.uniform(0, RAMP))
    while time.monotonic() < until:
        writer = None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=context, local_addr=(source, 0), server_hostname="keepsake"),
                timeout=15)
            stats["opened"] += 1
            stats["open"] += 1
            try:
                if slow:
                    writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: keepsake\r\n")
                line = 0
                while time.monotonic() < until:
                    if slow:
                        writer.write(f"X-Slow-{line}: still typing\r\n".encode())
                        await writer.drain()
                        line += 1
                    try:  # the server's cut shows as EOF here
                        data = await asyncio.wait_for(reader.read(1024), timeout=gap)
                        if not data:
                            break
                    except asyncio.TimeoutError:
                        pass
            finally:
                stats["open"] -= 1
        except (OSError, ssl.SSLError, asyncio.TimeoutError):
            pass
        finally:
            if writer is not None:
                writer.close()
        stats["cut"] += 1
        await asyncio.sleep(0.05)


RAMP = 8.0


async def sample(until, stats):
    seen = []
    while time.monotonic() < until:
        await asyncio.sleep(1)
        if time.monotonic() - stats["began"] > RAMP + 2:  # after the ramp-up
            seen.append(stats["open"])
            stats["least"] = min(seen)
            stats["most"] = max(seen)
            stats["median"] = sorted(seen)[len(seen) // 2]


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("cafile")
    ap.add_argument("seconds", type=float)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--sources", type=int, default=20)
    ap.add_argument("--gap", type=float, default=5.0)
    args = ap.parse_args()
    context = ssl.create_default_context(cafile=args.cafile)
    context.check_hostname = False
    until = time.monotonic() + args.seconds
    stats = {"next": 0, "opened": 0, "cut": 0, "open": 0, "least": 0, "most": 0, "median": 0,
             "began": time.monotonic()}
    tasks = [hold(args.host, args.port, context, f"127.0.0.{2 + i % args.sources}", args.gap, until, stats)
             for i in range(args.connections)]
    await asyncio.gather(sample(until, stats), *tasks)
    print(json.dumps({k: stats[k] for k in ("opened", "cut", "least", "median", "most")}))


if __name__ == "__main__":
    asyncio.run(main())
