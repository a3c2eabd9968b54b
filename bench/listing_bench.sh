#!/usr/bin/env bash
# What the integrity check costs the listings (GET /api/v1/backups reads each backup file
# whole, with no secret, and remembers the verdict: docs/STORAGE.md): N backups of a
# DB_MIB appliance on local storage, listed three times in one run: first (every file read),
# again (every verdict remembered), and after a daemon restart (read again). Beside it, in
# the same run, `sha256sum` of the same files: the floor for reading and hashing them.
# The files are in the page cache after the first read, as they would be on an appliance
# that just wrote them; a cold NFS read adds the network's time.
#
# Usage: bench/listing_bench.sh [path/to/keepsaked]     (default: build/keepsaked)
# Env knobs: BACKUPS=4 DB_MIB=256 FILES=200
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel)"
KSD="${1:-$ROOT/build/keepsaked}"
BACKUPS="${BACKUPS:-4}"
DB_MIB="${DB_MIB:-256}"
FILES="${FILES:-200}"
RUNS=1 EXTRA=0
GEN="$ROOT/tools/gen_state.py"
DATA_DIR="$ROOT/bench/.data"
STATE="$DATA_DIR/state-$DB_MIB-$FILES"

die() { echo "listing_bench: $*" >&2; exit 1; }
[[ -x "$KSD" ]] || die "keepsaked binary not found or not executable: $KSD"
KSD="$(cd "$(dirname "$KSD")" && pwd)/$(basename "$KSD")"
KS="$KSD"
for t in curl python3 sha256sum; do command -v "$t" >/dev/null || die "missing tool: $t"; done
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
bench_header listing_bench "BACKUPS=$BACKUPS, $(sha256sum --version | head -1)" "$@"
bench_ensure_state

bench_daemon_workdir listing_bench "$STATE"
bench_start_daemon
bench_bootstrap
bench_ready_for_backups
api() { bench_api "$@"; }
api PUT /api/v1/settings '{"retention":{}}' >/dev/null  # keep them all

wait_idle() {
    local _
    for _ in $(seq 1200); do
        api GET /api/v1/status | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["state"] != "NOT RUNNING")' && return 0
        sleep 0.25
    done
    die "a backup did not finish"
}
for _ in $(seq "$BACKUPS"); do
    wait_idle
    api POST /api/v1/backups '{}' >/dev/null
    sleep 1.1  # distinct names
done
wait_idle
total="$(du -cb "$WORK"/backups/*.ksb | tail -1 | cut -f1)"

ms() { python3 -c "import time; print(int(time.monotonic() * 1000))"; }
timed_list() {  # $1 label: one table row (curl's own timing); checks every backup is listed intact
    local t verdicts
    t="$(curl -sf -o "$WORK/listing.json" -w '%{time_total}' --cacert "$CA" -H "Authorization: Bearer $TOKEN" \
        "$URL/api/v1/backups" | python3 -c 'import sys; print(int(float(sys.stdin.read()) * 1000))')"
    verdicts="$(python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["backups"]; print(" ".join(x["details"]["integrity"]["state"] for x in b))' "$WORK/listing.json")"
    [[ "$verdicts" == "$(printf 'intact %.0s' $(seq "$BACKUPS") | sed 's/ $//')" ]] || die "not all intact: $verdicts"
    printf '| %-34s | %8s | %10s |\n' "$1" "$t" "$(python3 -c "print(f'{$total / 1048576 / max($t, 1) * 1000:.0f}')")"
}
echo
echo "$BACKUPS backups, $(python3 -c "print(f'{$total / 1048576:.0f}')") MiB in all"
echo
echo "| listing                            | ms       | MiB/s read |"
echo "|------------------------------------|----------|------------|"
timed_list "first (every file read)"
timed_list "again (verdicts remembered)"
bench_start_daemon  # a restart forgets them
timed_list "after a restart (read again)"
t0="$(ms)"; sha256sum "$WORK"/backups/*.ksb >/dev/null; t1="$(ms)"
printf '| %-34s | %8s | %10s |\n' "sha256sum of the same files" "$((t1 - t0))" \
    "$(python3 -c "print(f'{$total / 1048576 / max($((t1 - t0)), 1) * 1000:.0f}')")"
