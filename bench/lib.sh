# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, not run). Expects DB_MIB, FILES, RUNS, EXTRA,
# KS (the private copy of keepsake), ROOT, GEN, DATA_DIR, STATE and die() to be set.

# Prints the exact command line, the machine, the load and the binary under test.
# $1: the script's name; $2: a line naming the peer tools' versions; the rest: the
# script's own arguments (as "$@" in the caller).
bench_header() {
    local name="$1" tools="$2"
    shift 2
    local cmdline="DB_MIB=$DB_MIB FILES=$FILES RUNS=$RUNS EXTRA=$EXTRA"
    [[ -n "${BENCH_TMPDIR:-}" ]] && cmdline+=" BENCH_TMPDIR=$(printf %q "$BENCH_TMPDIR")"
    cmdline+=" $(printf %q "$0")"
    local a
    for a in "$@"; do cmdline+=" $(printf %q "$a")"; done
    local cpu_model
    cpu_model="$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)"
    echo "# $name"
    echo "command:  $cmdline"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "machine:  nproc=$(nproc), CPU: ${cpu_model:-unknown}, RAM: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
    echo "keepsake: $KS (built $(date -u -r "$KS" '+%Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$KS" | cut -c1-12); tree $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'); copied before use)"
    echo "tools:    $tools"
}

# Generates the appliance state once into $STATE (cached between runs and scripts). The
# cache is only as good as the generator that made it: $STATE.generator records the
# generator's sha256, and a state made by another generator (an older tools/gen_state.py)
# is made again, so that figures always describe what the current generator makes.
bench_ensure_state() {
    mkdir -p "$DATA_DIR"
    [[ -f "$GEN" ]] || die "generator not found: $GEN"
    local gen_sum
    gen_sum="$(sha256sum "$GEN" | cut -d' ' -f1)"
    [[ -d "$STATE" && "$(cat "$STATE.generator" 2>/dev/null)" == "$gen_sum" ]] && return 0
    echo "generating state in $STATE (once; cached) ..."
    rm -rf "$STATE" "$STATE.tmp" "$STATE.generator"
    python3 "$GEN" --out "$STATE.tmp" --db-mib "$DB_MIB" --files "$FILES" --seed 1 >/dev/null
    mv "$STATE.tmp" "$STATE"
    echo "$gen_sum" > "$STATE.generator"
}

# Starts "$WORK/keepsaked" (a private copy) on $WORK/state and $WORK/appliance, listening on a
# free port, with cheap Argon2id and the extra config lines in $1; sets PID, URL and CA. A
# daemon this script started before is stopped first.
bench_start_daemon() {
    if [[ -n "${PID:-}" ]]; then kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; fi
    cat >"$WORK/keepsaked.toml" <<TOML
state_dir = "$WORK/state"
appliance_root = "$WORK/appliance"
listen = "127.0.0.1:0"
kdf_ops = 1
kdf_mem_kib = 8
test_weak_kdf = true
password_hash_ops = 1
password_hash_mem_kib = 8
${1:-}
TOML
    : >"$WORK/log"
    "$WORK/keepsaked" --config "$WORK/keepsaked.toml" >"$WORK/log" 2>&1 &
    PID=$!
    local _
    for _ in $(seq 200); do grep -q 'listening on' "$WORK/log" && break; sleep 0.05; done
    URL="$(sed -n 's/.*listening on \(https:\/\/[^ ]*\).*/\1/p' "$WORK/log" | head -1)"
    [[ -n "$URL" ]] || die "keepsaked did not start: $(cat "$WORK/log")"
    CA="$WORK/state/tls/cert.pem"
}

# bench_api METHOD PATH [JSON]: the answer's body; fails on an HTTP error. Sends $TOKEN.
bench_api() {
    curl -sf --cacert "$CA" -X "$1" -H 'Content-Type: application/json' \
        ${TOKEN:+-H "Authorization: Bearer $TOKEN"} ${3:+-d "$3"} "$URL$2"
}

# bench_login USER PASSWORD: prints the access token.
bench_login() {
    curl -sf --cacert "$CA" --data-urlencode grant_type=password --data-urlencode "username=$1" \
        --data-urlencode "password=$2" "$URL/oauth/token" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

BENCH_ADMIN_PASSWORD='benchmark admin password'

# First start, as an administrator does it: the Initial OTP User adds the account "admin",
# which logs in and removes the OTP User. Sets TOKEN (admin's).
bench_bootstrap() {
    local otp
    otp="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["password"])' "$WORK/state/otp-user.json")"
    TOKEN="$(bench_login otp-admin "$otp")"
    bench_api POST /api/v1/users "{\"username\":\"admin\",\"password\":\"$BENCH_ADMIN_PASSWORD\",\"confirmation\":\"$BENCH_ADMIN_PASSWORD\"}" >/dev/null
    TOKEN="$(bench_login admin "$BENCH_ADMIN_PASSWORD")"
    bench_api DELETE /api/v1/users/otp-admin >/dev/null
}

# Makes backups possible: a DMS, local storage in $WORK/backups, keeping only the newest
# backup (the disk stays flat however many run).
bench_ready_for_backups() {
    bench_api POST /api/v1/dms '{"dms":"benchmark domain secret","confirmation":"benchmark domain secret"}' >/dev/null
    bench_api PUT /api/v1/storage "{\"type\":\"local\",\"path\":\"$WORK/backups\"}" >/dev/null
    bench_api PUT /api/v1/settings '{"retention":{"keep_last":1}}' >/dev/null
}

# The working directory of one benchmark daemon: sets WORK (under $3, default
# ${BENCH_TMPDIR:-/tmp}) named after $1, with the binary $KSD copied in, the appliance (a
# copy of the state $2, or empty when $2 is ""), state/ and backups/. The daemon and the
# directory go when the script exits, however it exits.
bench_daemon_workdir() {
    WORK="$(mktemp -d "${3:-${BENCH_TMPDIR:-/tmp}}/$1.XXXXXX")"
    PID=""
    TOKEN=""
    trap bench_daemon_cleanup EXIT
    trap 'exit 130' INT TERM
    cp "$KSD" "$WORK/keepsaked"
    if [[ -n "$2" ]]; then cp -a "$2" "$WORK/appliance"; else mkdir "$WORK/appliance"; fi
    mkdir "$WORK/state" "$WORK/backups"
}
bench_daemon_cleanup() {
    if [[ -n "${PID:-}" ]]; then kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; fi
    rm -rf "$WORK"
}
