#!/usr/bin/env bash
# Sealing / verifying benchmark: keepsake backup + verify against the reference
# pipeline `tar | zstd -T0 -3 | age` and its reverse, on the same generated appliance state,
# alternating in one run so both see the same (noisy, shared) machine.
#
# Usage: bench/seal_bench.sh [path/to/keepsake]        (make bench: build/keepsake)
# Env knobs:
#   DB_MIB=1024   size of the generated SQLite DB (MiB)
#   FILES=2000    number of small config files
#   RUNS=3        measured runs per command (the table shows the median)
#   EXTRA=0       1: also run diagnostic variants (keepsake --zstd-workers 1, tar|zstd
#                 without age, age -d alone) to see which stage dominates
#   BENCH_TMPDIR  where temporary outputs go (default bench/.data; NOT a tmpfs, so the
#                 outputs are written to the same kind of disk as a real backup target)
# The generated state is cached in bench/.data/state-<DB_MIB>-<FILES> (gitignored);
# everything else is deleted on exit.
# The bash -c pipeline bodies are single-quoted on purpose (arguments come in as $1..):
# shellcheck disable=SC2016
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel)"

KS="${1:-$ROOT/build/keepsake}"
DB_MIB="${DB_MIB:-1024}"
FILES="${FILES:-2000}"
RUNS="${RUNS:-3}"
EXTRA="${EXTRA:-0}"
GEN="$ROOT/tools/gen_state.py"
DATA_DIR="$ROOT/bench/.data"
STATE="$DATA_DIR/state-$DB_MIB-$FILES"
TIME=/usr/bin/time
TFMT='%e %M %U %S'   # elapsed s, max RSS KiB, user s, sys s

die() { echo "seal_bench: $*" >&2; exit 1; }

[[ -x "$KS" ]] || die "keepsake binary not found or not executable: $KS"
KS="$(cd "$(dirname "$KS")" && pwd)/$(basename "$KS")"
for t in "$TIME" tar zstd age age-keygen python3; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"

# ---- header: exact command line and machine; the state, generated once and cached ----
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
bench_header seal_bench "$(tar --version | head -1); $(zstd --version | sed 's/^\*\*\* //; s/, by.*//'); age $(age --version)" "$@"
bench_ensure_state
in_bytes="$(find "$STATE" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s}')"
in_files="$(find "$STATE" -type f | wc -l)"
in_mib="$(awk -v b="$in_bytes" 'BEGIN {printf "%.1f", b / 1048576}')"
echo "input:    $STATE: $in_files files, $in_bytes bytes ($in_mib MiB, sum of file sizes; du -sb: $(du -sb "$STATE" | cut -f1))"

# ---- scratch space ---------------------------------------------------------------------
WORK="$(mktemp -d "${BENCH_TMPDIR:-$DATA_DIR}/seal_bench.XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run a private copy of the binary: a rebuild during the run must not mix two binaries.
cp "$KS" "$WORK/keepsake"
KS="$WORK/keepsake"

KS_STATE="$WORK/ks-state"
mkdir -p "$KS_STATE" "$WORK/out"
printf 'bench-domain-master-secret\n' > "$WORK/dms"
"$KS" --state-dir "$KS_STATE" dms set --dms-file "$WORK/dms" --kdf-ops 1 --kdf-mem-kib 8 --test-weak-kdf --keep-restore-key >/dev/null
age-keygen -o "$WORK/age.key" 2>/dev/null
RECIP="$(age-keygen -y "$WORK/age.key")"

# ---- warm cache ------------------------------------------------------------------------
# Dropping the page cache is not possible reliably here (shared machine, maybe no root), so
# instead every run sees a warm cache: read the whole state once before measuring.
find "$STATE" -type f -exec cat {} + > /dev/null
echo "cache:    warm (state read once before measuring; page cache not dropped)"
echo

RESULTS="$WORK/results"   # name elapsed_s peak_rss_kib cpu_s out_bytes
: > "$RESULTS"

STAGES="$WORK/stages"     # per-stage details of pipelines, for the raw listing
: > "$STAGES"

# record NAME OUT_BYTES TIMEFILE [STAGEFILE...]: wall time = TIMEFILE's %e; CPU = its
# user+sys (wait4 accounts reaped descendants, so for a pipeline this is all stages);
# peak RSS = largest %M over all files (for a pipeline: the largest single stage).
record() {
    local name="$1" out="$2"; shift 2
    awk -v n="$name" -v o="$out" '
        NR == 1 { e = $1; c = $3 + $4 }
        { if ($2 > m) m = $2 }
        END { printf "%s %s %d %.2f %s\n", n, e, m, c, o }' "$@" >> "$RESULTS"
    if (($# > 1)); then
        shift
        local i=1 f
        for f in "$@"; do
            awk -v n="$name" -v i="$i" '{printf "  %s: stage %d: %s s wall, %d KiB RSS, %.2f s user, %.2f s sys\n", n, i, $1, $2, $3, $4}' "$f" >> "$STAGES"
            i=$((i + 1))
        done
    fi
}

# Single process, timed directly.
run_keepsake_backup() {   # NAME [extra backup args...]
    local name="$1"; shift
    local out="$WORK/out/ks"
    rm -rf "$out"; mkdir -p "$out"
    local ksb
    ksb="$("$TIME" -f "$TFMT" -o "$WORK/t.total" \
        "$KS" --state-dir "$KS_STATE" backup --source "$STATE" --out "$out" --prefix bench "$@")"
    [[ -f "$ksb" ]] || die "$name: keepsake backup did not print an existing file: $ksb"
    record "$name" "$(stat -c %s "$ksb")" "$WORK/t.total"
    LAST_KSB="$ksb"
}

run_keepsake_verify() {   # NAME KSB
    "$TIME" -f "$TFMT" -o "$WORK/t.total" \
        "$KS" --state-dir "$KS_STATE" verify "$2" > /dev/null
    record "$1" 0 "$WORK/t.total"
}

# Pipelines: the whole pipeline under one /usr/bin/time (wall), each stage under its own
# (RSS, CPU).  bash -c gets everything as positional arguments, no quoting games.
run_ref_seal() {   # NAME WITH_AGE(0/1)
    local name="$1" with_age="$2" out="$WORK/out/ref.tar.zst"
    [[ "$with_age" == 1 ]] && out+=".age"
    rm -f "$WORK"/t.s*
    if [[ "$with_age" == 1 ]]; then
        "$TIME" -f "$TFMT" -o "$WORK/t.total" bash -c 'set -euo pipefail
            T=$1 F=$2 W=$3 S=$4 R=$5 O=$6
            $T -f "$F" -o "$W/t.s1" tar -C "$S" -cf - . \
              | $T -f "$F" -o "$W/t.s2" zstd -T0 -3 -q \
              | $T -f "$F" -o "$W/t.s3" age -r "$R" > "$O"' \
            _ "$TIME" "$TFMT" "$WORK" "$STATE" "$RECIP" "$out"
        record "$name" "$(stat -c %s "$out")" "$WORK/t.total" "$WORK/t.s1" "$WORK/t.s2" "$WORK/t.s3"
    else
        "$TIME" -f "$TFMT" -o "$WORK/t.total" bash -c 'set -euo pipefail
            T=$1 F=$2 W=$3 S=$4 O=$5
            $T -f "$F" -o "$W/t.s1" tar -C "$S" -cf - . \
              | $T -f "$F" -o "$W/t.s2" zstd -T0 -3 -q > "$O"' \
            _ "$TIME" "$TFMT" "$WORK" "$STATE" "$out"
        record "$name" "$(stat -c %s "$out")" "$WORK/t.total" "$WORK/t.s1" "$WORK/t.s2"
    fi
    LAST_REF="$out"
}

run_ref_open() {   # NAME AGEFILE
    rm -f "$WORK"/t.s*
    "$TIME" -f "$TFMT" -o "$WORK/t.total" bash -c 'set -euo pipefail
        T=$1 F=$2 W=$3 K=$4 I=$5
        $T -f "$F" -o "$W/t.s1" age -d -i "$K" "$I" \
          | $T -f "$F" -o "$W/t.s2" zstd -d -q \
          | $T -f "$F" -o "$W/t.s3" tar -tf - > /dev/null' \
        _ "$TIME" "$TFMT" "$WORK" "$WORK/age.key" "$2"
    record "$1" 0 "$WORK/t.total" "$WORK/t.s1" "$WORK/t.s2" "$WORK/t.s3"
}

run_age_decrypt_only() {   # NAME AGEFILE
    "$TIME" -f "$TFMT" -o "$WORK/t.total" age -d -i "$WORK/age.key" -o /dev/null "$2"
    record "$1" 0 "$WORK/t.total"
}

# ---- measure, alternating --------------------------------------------------------------
for ((r = 1; r <= RUNS; r++)); do
    echo "run $r/$RUNS ..." >&2
    run_keepsake_backup "keepsake backup"
    run_keepsake_verify "keepsake verify" "$LAST_KSB"
    rm -rf "$WORK/out/ks"
    run_ref_seal "tar|zstd -T0 -3|age" 1
    run_ref_open "age -d|zstd -d|tar -t" "$LAST_REF"
    if [[ "$EXTRA" == 1 ]]; then
        run_age_decrypt_only "(age -d only)" "$LAST_REF"
        rm -f "$LAST_REF"
        run_keepsake_backup "(keepsake backup --zstd-workers 1)" --zstd-workers 1
        rm -rf "$WORK/out/ks"
        run_ref_seal "(tar|zstd -T0 -3, no age)" 0
        rm -f "$LAST_REF"
    fi
    rm -f "$LAST_REF"
done

# ---- table (medians) -------------------------------------------------------------------
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "Medians of $RUNS run(s); input $in_mib MiB; MiB/s = input MiB / median wall time;"
echo "peak RSS = max RSS of the process (pipelines: of the largest stage); CPU = user+sys"
echo "(pipelines: all stages together); out = output file size. '\\|' is a literal pipe."
echo
printf '| %-36s | %8s | %8s | %13s | %7s | %14s |\n' command "median s" "MiB/s" "peak RSS MiB" "CPU s" "out MiB (ratio)"
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..38})" "---------:" "---------:" "--------------:" "--------:" "----------------:"
while IFS= read -r name; do
    rows="$(awk -v n="$name" '{ k = $0; sub(/ [^ ]+ [^ ]+ [^ ]+ [^ ]+$/, "", k); if (k == n) print }' "$RESULTS")"
    secs="$(awk '{print $(NF-3)}' <<<"$rows" | median)"
    rss="$(awk '{print $(NF-2)}' <<<"$rows" | median)"
    cpu="$(awk '{print $(NF-1)}' <<<"$rows" | median)"
    outb="$(awk '{print $NF}' <<<"$rows" | median)"
    mibs="$(awk -v m="$in_mib" -v s="$secs" 'BEGIN {if (s > 0) printf "%.0f", m / s; else print "inf"}')"
    rssm="$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')"
    if awk -v b="$outb" 'BEGIN {exit !(b > 0)}'; then
        outs="$(awk -v b="$outb" -v i="$in_bytes" 'BEGIN {printf "%.1f (%.3f)", b / 1048576, b / i}')"
    else
        outs="-"
    fi
    printf '| %-36s | %8.2f | %8s | %13s | %7.2f | %14s |\n' "\`${name//|/\\|}\`" "$secs" "$mibs" "$rssm" "$cpu" "$outs"
done < <(awk '{ k = $0; sub(/ [^ ]+ [^ ]+ [^ ]+ [^ ]+$/, "", k); if (!(k in seen)) { seen[k] = 1; print k } }' "$RESULTS")

echo
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
echo "raw (name elapsed_s peak_rss_kib cpu_s out_bytes):"
sed 's/^/  /' "$RESULTS"
if [[ -s "$STAGES" ]]; then
    echo "pipeline stages (in order):"
    cat "$STAGES"
fi
