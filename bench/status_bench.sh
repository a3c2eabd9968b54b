#!/usr/bin/env bash
# GET /api/v1/status latency while a backup runs: wrk against a running
# keepsaked, idle first, then while full appliance backups run back to back, in one run
# so both see the same (noisy, shared) machine. Target: p99 < 20 ms at 500 requests/s
# during a backup on the 2-core machine.
#
# Usage: bench/status_bench.sh [path/to/keepsaked]     (default: build/keepsaked)
# Env knobs:
#   DB_MIB=1024 FILES=2000   the appliance state (cached in bench/.data, shared with the others)
#   RATE=500                 requests per second to offer
#   CONNS=12                 wrk connections (each paced to RATE/CONNS requests per second)
#   SECONDS_PER_RUN=15       wrk duration of each phase
#   RUNS=1 EXTRA=0           recorded in the header only (bench/lib.sh)
#
# Requests go over HTTPS (the daemon's generated certificate) with a Bearer token, as an API
# client sends them; connections are kept alive, so TLS handshakes are not what is measured.
# Debian's wrk (4.1) has no fixed-rate mode (that is wrk2): bench/status_pace.lua paces each
# connection with wrk's delay() hook, so CONNS connections offer about RATE requests/s.
# Latency is measured per request from its send; a stall longer than the pacing delay is
# not back-filled (no coordinated-omission correction), so the table also reports the
# achieved rate: a rate well below RATE means the server fell behind.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel)"

KSD="${1:-$ROOT/build/keepsaked}"
DB_MIB="${DB_MIB:-1024}"
FILES="${FILES:-2000}"
RUNS="${RUNS:-1}"
EXTRA="${EXTRA:-0}"
RATE="${RATE:-500}"
CONNS="${CONNS:-12}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-15}"
GEN="$ROOT/tools/gen_state.py"
DATA_DIR="$ROOT/bench/.data"
STATE="$DATA_DIR/state-$DB_MIB-$FILES"

die() { echo "status_bench: $*" >&2; exit 1; }
[[ -x "$KSD" ]] || die "keepsaked binary not found or not executable: $KSD"
KSD="$(cd "$(dirname "$KSD")" && pwd)/$(basename "$KSD")"
KS="$KSD"  # bench_header describes this binary
for t in wrk curl python3; do command -v "$t" >/dev/null || die "missing tool: $t (scripts/install-deps.sh)"; done

# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
bench_header status_bench "$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2); RATE=$RATE CONNS=$CONNS SECONDS_PER_RUN=$SECONDS_PER_RUN" "$@"
bench_ensure_state

bench_daemon_workdir status_bench "$STATE" "$DATA_DIR"
start_daemon() {  # $1: job_nice (CPU priority of the backup threads)
    bench_start_daemon "job_nice = $1"
    TOKEN="$(bench_login admin "$BENCH_ADMIN_PASSWORD" 2>/dev/null || true)"
}
api() { bench_api "$@"; }
start_daemon 10
bench_bootstrap
bench_ready_for_backups

# wrk waits DELAY_MS after each answer; the pacing interval is set 10% short to make up for
# answer times and timer slack, so the offered rate is at least RATE ("achieved" shows it).
DELAY_MS=$(( CONNS * 900 / RATE ))
run_wrk() {  # $1: label
    local out
    out="$(DELAY_MS=$DELAY_MS wrk -t2 -c"$CONNS" -d"${SECONDS_PER_RUN}s" --latency -s "$SCRIPT_DIR/status_pace.lua" \
        -H "Authorization: Bearer $TOKEN" "$URL/api/v1/status")"
    printf '%s\n' "$out" >"$WORK/wrk-$1.txt"
    local p50 p99 rps errors
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
    errors="$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')"
    printf '| %-26s | %8s | %8s | %9s | %s\n' "$1" "$p50" "$p99" "$rps" "${errors:--}"
}

echo
echo "| phase                      |      p50 |      p99 |  achieved | errors"
echo "|----------------------------|----------|----------|-----------|-------"
backups_during() {  # $1: label; runs wrk while backups run back to back
    (
        end=$(( $(date +%s) + SECONDS_PER_RUN + 2 ))
        while (( $(date +%s) < end )); do
            api POST /api/v1/backups '{}' >/dev/null 2>&1 || true
            sleep 0.2
        done
    ) &
    local loop=$!
    sleep 1  # let the first backup get going
    run_wrk "$1"
    wait "$loop"
    for _ in $(seq 600); do api GET /api/v1/status | grep -q '"NOT RUNNING"' && break; sleep 0.1; done
}
run_wrk idle
backups_during "during backups (nice 10)"
done_jobs="$(api GET '/api/v1/jobs?limit=1000' | python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"]; print(sum(1 for x in j if x["result"]=="succeeded"), "succeeded of", len(j))')"
# The same with the backup threads at normal priority (job_nice = 0), for comparison.
start_daemon 0
backups_during "during backups (nice 0)"
echo
echo "backups during the nice-10 phase: $done_jobs"
