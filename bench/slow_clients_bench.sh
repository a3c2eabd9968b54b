#!/usr/bin/env bash
# GET /api/v1/status latency and a browser's first page load while 1000 idle or slow HTTPS
# connections are held open against keepsaked (bench/slow_clients.py), side by side with
# the same measurements without them, in one run. Target (issue 12): with 1000 idle or slow
# connections open, a browser session and GET /api/v1/status keep working, and the status
# p99 stays under 20 ms at 500 requests/s.
#
# Usage: bench/slow_clients_bench.sh [path/to/keepsaked]     (default: build/keepsaked)
# Env knobs:
#   SLOW=1000 SOURCES=20      connections held, and from how many loopback addresses
#   RATE=500 CONNS=12         wrk's offered rate and connections (bench/status_pace.lua)
#   SECONDS_PER_RUN=20        each phase
#
# The appliance is empty: what is measured is the HTTP server, not the status it reads.
# The slow connections are cut by the server at its head deadline (10 s) and reopened at
# once by the client, so about SLOW/10 TLS handshakes a second are part of the load.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel)"
KSD="${1:-$ROOT/build/keepsaked}"
SLOW="${SLOW:-1000}"
SOURCES="${SOURCES:-20}"
RATE="${RATE:-500}"
CONNS="${CONNS:-12}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-20}"
DB_MIB=0 FILES=0 RUNS=1 EXTRA=0  # recorded by bench_header; no generated state here

die() { echo "slow_clients_bench: $*" >&2; exit 1; }
[[ -x "$KSD" ]] || die "keepsaked binary not found or not executable: $KSD"
KSD="$(cd "$(dirname "$KSD")" && pwd)/$(basename "$KSD")"
KS="$KSD"
for t in wrk curl python3; do command -v "$t" >/dev/null || die "missing tool: $t (scripts/install-deps.sh)"; done
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
bench_header slow_clients_bench "$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2); SLOW=$SLOW SOURCES=$SOURCES RATE=$RATE CONNS=$CONNS SECONDS_PER_RUN=$SECONDS_PER_RUN" "$@"

bench_daemon_workdir slow_clients_bench ""
bench_start_daemon "webconf_dir = \"$ROOT/webconf\""
bench_bootstrap

DELAY_MS=$(( CONNS * 900 / RATE ))
run_wrk() {  # $1: label
    local out p50 p99 rps errors
    out="$(DELAY_MS=$DELAY_MS wrk -t2 -c"$CONNS" -d"${SECONDS_PER_RUN}s" --latency -s "$SCRIPT_DIR/status_pace.lua" \
        -H "Authorization: Bearer $TOKEN" "$URL/api/v1/status")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
    errors="$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')"
    printf '| %-34s | %8s | %8s | %9s | %s\n' "$1" "$p50" "$p99" "$rps" "${errors:--}"
}
# A browser's first visit: a new TLS connection each for the page, its script and the
# status, as curl measures them (time_total, seconds); the worst of 20 visits.
browser_visits() {
    local worst=0 t path
    for _ in $(seq 20); do
        for path in / /app.js /api/v1/status; do
            t="$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 --cacert "$CA" \
                -H "Authorization: Bearer $TOKEN" "$URL$path" || echo 10)"
            worst="$(python3 -c "print(max($worst, $t))")"
        done
        sleep 0.2
    done
    echo "$worst"
}
threads_rss() { awk '/^Threads|^VmRSS/ {printf "%s %s%s ", $1, $2, $3}' "/proc/$PID/status"; }

echo
echo "| phase                              |      p50 |      p99 |  achieved | errors"
echo "|------------------------------------|----------|----------|-----------|-------"
run_wrk "no slow connections"
base_visit="$(browser_visits)"
base_proc="$(threads_rss)"
port="${URL##*:}"
python3 "$SCRIPT_DIR/slow_clients.py" 127.0.0.1 "$port" "$CA" $(( SECONDS_PER_RUN * 2 + 20 )) \
    --connections "$SLOW" --sources "$SOURCES" >"$WORK/slow.json" &
slow_pid=$!
sleep 11  # the slow connections are open (slow_clients.py ramps up over 8 s)
run_wrk "$SLOW idle/slow connections open"
slow_visit="$(browser_visits)"
slow_proc="$(threads_rss)"
wait "$slow_pid"
echo
echo "browser visit (page + script + status, new TLS connection each), worst of 20:"
echo "  no slow connections:       ${base_visit} s   keepsaked: $base_proc"
echo "  $SLOW idle/slow open:     ${slow_visit} s   keepsaked: $slow_proc"
echo "slow connections: $(cat "$WORK/slow.json")"
