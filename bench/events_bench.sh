#!/usr/bin/env bash
# What live status updates cost keepsaked: N browser tabs on the Backup page, watching the
# status by server-sent events (GET /api/v1/events, what the Webconf does) or by polling
# GET /api/v1/status once a second (the alternative the issue allowed), side by side in one
# run; first while nothing runs, then while backups run back to back (the status changes
# every second, so every stream gets an event a second). Measured: the daemon's CPU time
# (user + system, from /proc/PID/stat) per second of wall time, and its thread count.
#
# Usage: bench/events_bench.sh [path/to/keepsaked]     (default: build/keepsaked)
# Env knobs: TABS="1 10 100" SECONDS_PER_RUN=20 DB_MIB=64 FILES=200
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel)"
KSD="${1:-$ROOT/build/keepsaked}"
TABS="${TABS:-1 10 100}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-20}"
DB_MIB="${DB_MIB:-64}"
FILES="${FILES:-200}"
RUNS=1 EXTRA=0
GEN="$ROOT/tools/gen_state.py"
DATA_DIR="$ROOT/bench/.data"
STATE="$DATA_DIR/state-$DB_MIB-$FILES"

die() { echo "events_bench: $*" >&2; exit 1; }
[[ -x "$KSD" ]] || die "keepsaked binary not found or not executable: $KSD"
KSD="$(cd "$(dirname "$KSD")" && pwd)/$(basename "$KSD")"
KS="$KSD"
for t in curl python3; do command -v "$t" >/dev/null || die "missing tool: $t"; done
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
bench_header events_bench "TABS=$TABS SECONDS_PER_RUN=$SECONDS_PER_RUN" "$@"
bench_ensure_state

bench_daemon_workdir events_bench "$STATE"
bench_start_daemon "http_client_connections = 1000"
bench_bootstrap
bench_ready_for_backups
api() { bench_api "$@"; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
hz="$(getconf CLK_TCK)"
measure() {  # $1 mode, $2 tabs, $3 label: one table row
    local before after received threads
    before="$(cpu_ticks)"
    received="$(python3 "$SCRIPT_DIR/status_watchers.py" "$1" "$2" "$SECONDS_PER_RUN" "$URL" "$CA" "$TOKEN")"
    after="$(cpu_ticks)"
    threads="$(awk '/^Threads/ {print $2}' "/proc/$PID/status")"
    printf '| %-15s | %-6s | %4s | %17s | %9s | %7s |\n' "$3" "$1" "$2" \
        "$(python3 -c "print(f'{($after - $before) * 1000 / $hz / $SECONDS_PER_RUN:.1f}')")" "$received" "$threads"
}
backups_loop() {
    local end=$(( $(date +%s) + SECONDS_PER_RUN + 1 ))
    while (( $(date +%s) < end )); do api POST /api/v1/backups '{}' >/dev/null 2>&1 || true; sleep 0.2; done
}
echo
echo "| appliance       | way    | tabs | daemon CPU (ms/s) | received  | threads |"
echo "|-----------------|--------|------|-------------------|-----------|---------|"
for n in $TABS; do
    for mode in events poll; do measure "$mode" "$n" "idle"; done
done
for n in $TABS; do
    for mode in events poll; do
        backups_loop &
        loop=$!
        measure "$mode" "$n" "backups running"
        wait "$loop"
    done
done
echo
echo "(the 'backups running' rows include the backups' own CPU, the same in both ways)"
