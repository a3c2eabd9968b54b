#!/usr/bin/env bash
# NFS write throughput: MIB MiB of incompressible data written through the NFS
# backend's Writer to nfs-ganesha on 127.0.0.1, once with one WRITE in flight at a time (what
# the synchronous writer did: libnfs 4.0 sends at most 3 KiB per WRITE) and once per other
# IN_FLIGHT setting, interleaved within each of RUNS rounds so that noise hits all alike; then
# the same again (DELAY_MIB MiB) with DELAY_MS of delay each way, standing in for a LAN. Each file
# is read back and checked (sha256) before it is removed.
#
# Usage: bench/nfs_bench.sh [path/to/nfs_write_bench]     (default: build/nfs_write_bench)
# Env knobs:
#   MIB=256            MiB written per run
#   RUNS=3             rounds; the table reports medians
#   IN_FLIGHT="1 32"   NfsOptions::writes_in_flight values to compare (1 = the old writer's pace)
#   DELAY_MS=0.25      one-way delay of the emulated network; 0 skips that phase
#   DELAY_MIB=64       MiB written per run with the delay (one WRITE at a time takes minutes
#                      for 256 MiB)
#
# Needs root (Ganesha's VFS FSAL) and Debian's nfs-ganesha, nfs-ganesha-vfs.
# Latency: `tc qdisc add dev lo root netem delay ...` is used when the kernel has netem, and
# lo is restored on exit, always. Where it has not (tc says "Specified qdisc kind is
# unknown"), bench/nfs_bench_server.py's user-space delay line in front of the server is
# used instead; it adds its own overhead (Python), so its round trip is reported as measured
# by the IN_FLIGHT=1 run (time per 3 KiB WRITE), not as DELAY_MS.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel)"
BIN="${1:-$ROOT/build/nfs_write_bench}"
MIB="${MIB:-256}"
RUNS="${RUNS:-3}"
IN_FLIGHT="${IN_FLIGHT:-1 32}"
DELAY_MS="${DELAY_MS:-0.25}"
DELAY_MIB="${DELAY_MIB:-64}"

die() { echo "nfs_bench: $*" >&2; exit 1; }
[[ -x "$BIN" ]] || die "driver not found or not executable: $BIN (ninja -C build nfs_write_bench)"
[[ "$(id -u)" == 0 ]] || die "needs root (nfs-ganesha's VFS FSAL opens files by handle)"
command -v python3 >/dev/null || die "missing tool: python3"

cmdline="MIB=$MIB RUNS=$RUNS IN_FLIGHT=\"$IN_FLIGHT\" DELAY_MS=$DELAY_MS DELAY_MIB=$DELAY_MIB $(printf %q "$0")"
for a in "$@"; do cmdline+=" $(printf %q "$a")"; done
echo "# nfs_bench"
echo "command:  $cmdline"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:  nproc=$(nproc), CPU: $(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo), RAM: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
echo "driver:   $BIN (built $(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC'); tree $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'))"
echo "server:   nfs-ganesha $(dpkg-query -W -f '${Version}' nfs-ganesha 2>/dev/null || echo '?') on 127.0.0.1; libnfs $(dpkg-query -W -f '${Version}' libnfs13 2>/dev/null || echo '?')"

WORK="$(mktemp -d /tmp/nfs_bench.XXXXXX)"
SERVER_PID=""
NETEM=0
cleanup() {
    if [[ "$NETEM" == 1 ]]; then
        tc qdisc del dev lo root 2>/dev/null || echo "nfs_bench: could not restore lo: check 'tc qdisc show dev lo'" >&2
    fi
    if [[ -n "$SERVER_PID" ]]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$SCRIPT_DIR/nfs_bench_server.py" "$WORK" "$DELAY_MS" >"$WORK/urls" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 300); do
    [[ "$(wc -l <"$WORK/urls")" -ge 2 ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "server did not start: $(tail -5 "$WORK/server.err")"
    sleep 0.1
done
DIRECT="$(awk '$1 == "direct" {print $2}' "$WORK/urls")"
DELAYED="$(awk '$1 == "delayed" {print $2}' "$WORK/urls")"
[[ -n "$DIRECT" && -n "$DELAYED" ]] || die "server did not start: $(tail -5 "$WORK/server.err")"

echo
echo "## loopback, no added latency ($DIRECT)"
# shellcheck disable=SC2086
"$BIN" "$DIRECT" "$MIB" "$RUNS" $IN_FLIGHT

if [[ "$DELAY_MS" != 0 ]]; then
    echo
    if [[ "$(tc qdisc show dev lo 2>/dev/null)" != *netem* ]] &&
        tc qdisc add dev lo root netem delay "${DELAY_MS}ms" 2>"$WORK/tc.err"; then
        NETEM=1
        echo "## tc netem delay ${DELAY_MS}ms on lo (both directions: round trip $(awk "BEGIN {print 2 * $DELAY_MS}") ms)"
        URL="$DIRECT"
    else
        echo "## delay line ${DELAY_MS} ms each way (tc netem unavailable: $(tr -d '\n' <"$WORK/tc.err"))"
        URL="$DELAYED"
    fi
    # shellcheck disable=SC2086
    "$BIN" "$URL" "$DELAY_MIB" "$RUNS" $IN_FLIGHT
    if [[ "$NETEM" == 1 ]]; then
        tc qdisc del dev lo root
        NETEM=0
    fi
fi
echo
echo "MB/s = 10^6 bytes per second of NewWriter + Appends (1 MiB each) + Commit."
