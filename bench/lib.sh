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
