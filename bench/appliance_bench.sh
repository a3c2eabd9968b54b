#!/usr/bin/env bash
# Full appliance backup / restore benchmark: `keepsake backup` and `keepsake
# restore` of an appliance root holding an internal SQLite DB, next to restic backing up
# (first backup, fresh repository) and restoring the same state, alternating in one run so
# both see the same (noisy, shared) machine.
#
# Usage: bench/appliance_bench.sh [path/to/keepsake]     (default: build/keepsake)
# Env knobs:
#   DB_MIB=1024   size of the generated SQLite DB (MiB)
#   FILES=2000    number of small config files
#   RUNS=3        measured runs per command (the table shows the median); the order of
#                 keepsake and restic alternates from one run to the next
#   EXTRA=0       1: also run diagnostic variants (keepsake verify, keepsake restore
#                 --dry-run = verify into staging only) and count the fsync-type system
#                 calls of each command once under strace (not timed)
#   BENCH_TMPDIR  where temporary outputs go (default bench/.data; NOT a tmpfs, so backups,
#                 repositories and restores are written to the same kind of disk as the state)
# The generated state is cached in bench/.data/state-<DB_MIB>-<FILES> (gitignored; shared
# with seal_bench.sh) and never modified: the appliance root that keepsake backs up and
# restores onto is a copy of it (restore changes the root), restic backs up the cached
# state itself (same content). Everything else is deleted on exit.
#
# What is compared, and what is not the same work:
# - keepsake backup: components of the appliance root incl. a consistent snapshot of the
#   SQLite DB (read lock held while it is read), zstd -3, XChaCha20-Poly1305, signed; the
#   output file and its directory are fsynced.
# - restic backup: plain file reads (no DB consistency), content-defined chunking,
#   SHA-256, zstd (repo v2, compression auto), AES-256-CTR + Poly1305; its local backend
#   fsyncs every pack file (and directory) it stores.
# - keepsake restore: verifies the whole backup into ROOT/.keepsake/staging (fsynced),
#   then a journaled swap of the components and a rollback point (ROOT/.keepsake/rollback,
#   deleted between runs so every run does the same work).
# - restic restore: into an empty directory, no fsync of the restored files.
# To compare durability as well, `sync -f` is timed right after each command (column
# "+sync s"): for restic restore that is where its restored data reaches the disk.
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
TFMT='%e %M %U %S %O'   # elapsed s, max RSS KiB, user s, sys s, fs output (512 B blocks)

die() { echo "appliance_bench: $*" >&2; exit 1; }

[[ -x "$KS" ]] || die "keepsake binary not found or not executable: $KS"
KS="$(cd "$(dirname "$KS")" && pwd)/$(basename "$KS")"
for t in "$TIME" restic python3 sync; do
    command -v "$t" >/dev/null || die "missing tool: $t (scripts/install-deps.sh)"
done
[[ "$EXTRA" != 1 ]] || command -v strace >/dev/null || die "EXTRA=1 needs strace"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"

# ---- header: exact command line and machine; the state, generated once and cached ----
# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
bench_header appliance_bench "$(restic version | sed 's/ compiled with.*//'); $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 | sed 's/^/sqlite3 /' || true)" "$@"
bench_ensure_state
tree_stats() { find "$1" -path "$1/.keepsake" -prune -o -type f -printf '%s\n' | awk '{s += $1; n++} END {printf "%d %d\n", n, s}'; }
read -r in_files in_bytes < <(tree_stats "$STATE")
in_mib="$(awk -v b="$in_bytes" 'BEGIN {printf "%.1f", b / 1048576}')"
db_files="$(find "$STATE/db" -maxdepth 1 -type f -printf '%f (%s bytes) ' 2>/dev/null || true)"
echo "input:    $STATE: $in_files files, $in_bytes bytes ($in_mib MiB, sum of file sizes); db/: ${db_files:-none}"

# ---- scratch space ---------------------------------------------------------------------
WORK="$(mktemp -d "${BENCH_TMPDIR:-$DATA_DIR}/appliance_bench.XXXXXX")"
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run a private copy of the binary: a rebuild during the run must not mix two binaries.
cp "$KS" "$WORK/keepsake"
KS="$WORK/keepsake"

KS_STATE="$WORK/ks-state"
APPL="$WORK/appliance"          # the appliance root: a copy, restore modifies it
echo "copying the state to the appliance root $APPL (cp -a, once) ..." >&2
cp -a "$STATE" "$APPL"
mkdir -p "$KS_STATE" "$WORK/out" "$WORK/tmp"
printf 'bench-domain-master-secret\n' > "$WORK/dms"
"$KS" --state-dir "$KS_STATE" --appliance-root "$APPL" dms set --dms-file "$WORK/dms" \
    --kdf-ops 1 --kdf-mem-kib 8 --test-weak-kdf --keep-restore-key >/dev/null
printf 'bench-restic-password\n' > "$WORK/restic.pw"
export RESTIC_PASSWORD_FILE="$WORK/restic.pw"
# restic writes its pack files to TMPDIR before storing them, and keeps a local cache:
# both go to the scratch directory (same disk), fresh for every run.
RESTIC_TMP="$WORK/tmp"
RESTIC_CACHE="$WORK/restic-cache"
RESTIC_REPO="$WORK/restic-repo"
RESTIC_TARGET="$WORK/restic-restore"
restic_() { TMPDIR="$RESTIC_TMP" restic --quiet --cache-dir "$RESTIC_CACHE" --repo "$RESTIC_REPO" "$@"; }

# ---- warm cache ------------------------------------------------------------------------
# Dropping the page cache is not possible reliably here (shared machine, maybe no root), so
# instead every run sees a warm cache: the state is read once (and the copy just written).
find "$STATE" -type f -exec cat {} + > /dev/null
sync -f "$WORK"
echo "cache:    warm (state read once before measuring; page cache not dropped); sync -f before each command"
echo

RESULTS="$WORK/results"   # name elapsed_s peak_rss_kib user_s sys_s written_bytes sync_s out_bytes
: > "$RESULTS"
FSYNCS="$WORK/fsyncs"
: > "$FSYNCS"

# Untimed: flush what the previous step left dirty, so no command pays for another's writeback.
settle() { sync -f "$WORK"; }

# record NAME OUT_BYTES: from $WORK/t.total (the command) and $WORK/t.sync (sync -f right
# after it).
record() {
    local sync_s
    sync_s="$(awk '{print $1}' "$WORK/t.sync")"
    awk -v n="$1" -v o="$2" -v s="$sync_s" \
        '{printf "%s %s %d %.2f %.2f %d %s %s\n", n, $1, $2, $3, $4, $5 * 512, s, o}' \
        "$WORK/t.total" >> "$RESULTS"
}
timed_sync() { "$TIME" -f '%e' -o "$WORK/t.sync" sync -f "$WORK"; }

check_tree() {   # WHAT DIR: the restored tree must have the input's file count and bytes
    local n b
    read -r n b < <(tree_stats "$2")
    [[ "$n" == "$in_files" && "$b" == "$in_bytes" ]] \
        || die "$1: restored tree has $n files, $b bytes; expected $in_files, $in_bytes"
}

run_keepsake_backup() {   # NAME
    rm -rf "$WORK/out"; mkdir -p "$WORK/out"
    settle
    local ksb
    ksb="$("$TIME" -f "$TFMT" -o "$WORK/t.total" \
        "$KS" --state-dir "$KS_STATE" --appliance-root "$APPL" backup --out "$WORK/out")"
    timed_sync
    [[ -f "$ksb" ]] || die "$1: keepsake backup did not print an existing file: $ksb"
    record "$1" "$(stat -c %s "$ksb")"
    LAST_KSB="$ksb"
}

run_keepsake_restore() {   # NAME KSB [extra restore args...]
    local name="$1" ksb="$2"; shift 2
    rm -rf "$APPL/.keepsake/rollback"
    settle
    "$TIME" -f "$TFMT" -o "$WORK/t.total" \
        "$KS" --state-dir "$KS_STATE" --appliance-root "$APPL" restore "$@" "$ksb" > /dev/null
    timed_sync
    [[ ! -e "$APPL/.keepsake/staging" ]] || die "$name: staging left behind"
    check_tree "$name" "$APPL"
    record "$name" 0
}

run_keepsake_verify() {   # NAME KSB
    settle
    "$TIME" -f "$TFMT" -o "$WORK/t.total" \
        "$KS" --state-dir "$KS_STATE" --appliance-root "$APPL" verify "$2" > /dev/null
    timed_sync
    record "$1" 0
}

run_restic_backup() {   # NAME: first backup into a fresh repository
    rm -rf "$RESTIC_REPO" "$RESTIC_CACHE"
    restic_ init
    settle
    # from inside the state, so the snapshot holds config/, db/, ... at its top level
    (cd "$STATE" && "$TIME" -f "$TFMT" -o "$WORK/t.total" \
        env TMPDIR="$RESTIC_TMP" restic --quiet --cache-dir "$RESTIC_CACHE" --repo "$RESTIC_REPO" backup .)
    timed_sync
    record "$1" "$(du -sb "$RESTIC_REPO" | cut -f1)"
}

run_restic_restore() {   # NAME
    rm -rf "$RESTIC_TARGET"; mkdir -p "$RESTIC_TARGET"
    settle
    "$TIME" -f "$TFMT" -o "$WORK/t.total" \
        env TMPDIR="$RESTIC_TMP" restic --quiet --cache-dir "$RESTIC_CACHE" --repo "$RESTIC_REPO" \
        restore latest --target "$RESTIC_TARGET"
    timed_sync
    check_tree "$1" "$RESTIC_TARGET"
    record "$1" 0
    rm -rf "$RESTIC_TARGET"
}

keepsake_pair() {
    run_keepsake_backup "keepsake backup"
    run_keepsake_restore "keepsake restore" "$LAST_KSB"
    if [[ "$EXTRA" == 1 ]]; then
        run_keepsake_verify "(keepsake verify)" "$LAST_KSB"
        run_keepsake_restore "(keepsake restore --dry-run)" "$LAST_KSB" --dry-run
    fi
    rm -rf "$WORK/out" "$APPL/.keepsake/rollback"
}

restic_pair() {
    run_restic_backup "restic backup (first, fresh repo)"
    run_restic_restore "restic restore"
    rm -rf "$RESTIC_REPO" "$RESTIC_CACHE"
}

# ---- measure, alternating --------------------------------------------------------------
for ((r = 1; r <= RUNS; r++)); do
    echo "run $r/$RUNS (load $(cut -d' ' -f1-3 /proc/loadavg)) ..." >&2
    if ((r % 2)); then keepsake_pair; restic_pair; else restic_pair; keepsake_pair; fi
done
settle

# ---- fsync census (EXTRA=1; once, under strace, not timed) -----------------------------
count_syncs() {   # NAME COMMAND...: fsync, fdatasync, syncfs, sync_file_range calls
    local name="$1"; shift
    strace -f -qq -e trace=fsync,fdatasync,syncfs,sync_file_range,msync -o "$WORK/strace.out" "$@" > /dev/null
    printf '  %-34s %s\n' "$name:" "$(grep -oE '^[0-9]+ +(fsync|fdatasync|syncfs|sync_file_range|msync)\(' "$WORK/strace.out" \
        | awk '{print $2}' | tr -d '(' | sort | uniq -c | awk '{printf "%s %s, ", $1, $2} END {if (!NR) printf "none"}' | sed 's/, $//')" >> "$FSYNCS"
}
if [[ "$EXTRA" == 1 ]]; then
    echo "counting fsync calls (strace, not timed) ..." >&2
    rm -rf "$WORK/out"; mkdir -p "$WORK/out"
    count_syncs "keepsake backup" "$KS" --state-dir "$KS_STATE" --appliance-root "$APPL" backup --out "$WORK/out"
    rm -rf "$APPL/.keepsake/rollback"
    count_syncs "keepsake restore" "$KS" --state-dir "$KS_STATE" --appliance-root "$APPL" restore "$(ls "$WORK"/out/*.ksb)"
    rm -rf "$WORK/out" "$APPL/.keepsake/rollback" "$RESTIC_REPO" "$RESTIC_CACHE" "$RESTIC_TARGET"
    restic_ init
    (cd "$STATE" && count_syncs "restic backup" env TMPDIR="$RESTIC_TMP" restic --quiet \
        --cache-dir "$RESTIC_CACHE" --repo "$RESTIC_REPO" backup .)
    mkdir -p "$RESTIC_TARGET"
    count_syncs "restic restore" env TMPDIR="$RESTIC_TMP" restic --quiet \
        --cache-dir "$RESTIC_CACHE" --repo "$RESTIC_REPO" restore latest --target "$RESTIC_TARGET"
    rm -rf "$RESTIC_REPO" "$RESTIC_CACHE" "$RESTIC_TARGET"
fi

# ---- table (medians) -------------------------------------------------------------------
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
key() { awk '{ k = $0; sub(/( [^ ]+)( [^ ]+)( [^ ]+)( [^ ]+)( [^ ]+)( [^ ]+)( [^ ]+)$/, "", k); print k }'; }
rows_of() { awk -v n="$1" '{ k = $0; sub(/( [^ ]+)( [^ ]+)( [^ ]+)( [^ ]+)( [^ ]+)( [^ ]+)( [^ ]+)$/, "", k); if (k == n) print }' "$RESULTS"; }
col() { awk -v c="$1" '{print $(NF - 7 + c)}'; }   # 1 elapsed .. 7 out_bytes
med_of() { rows_of "$1" | col "$2" | median; }

echo "Medians of $RUNS run(s); input $in_mib MiB ($in_files files); MiB/s = input MiB / median"
echo "wall time; peak RSS = max RSS of the process; user/sys = CPU s of all threads;"
echo "written = bytes the process dirtied on disk files (getrusage ru_oublock x 512: incl."
echo "temporary files); +sync s = \`sync -f\` right after the command (data it left unsynced);"
echo "out = backup file / restic repository size."
echo
printf '| %-36s | %8s | %6s | %12s | %6s | %6s | %11s | %7s | %15s |\n' command "median s" "MiB/s" "peak RSS MiB" "user s" "sys s" "written MiB" "+sync s" "out MiB (ratio)"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..38})" "---------:" "-------:" "-------------:" "-------:" "-------:" "------------:" "--------:" "----------------:"
while IFS= read -r name; do
    secs="$(med_of "$name" 1)"; rss="$(med_of "$name" 2)"; usr="$(med_of "$name" 3)"
    sys="$(med_of "$name" 4)"; wr="$(med_of "$name" 5)"; syn="$(med_of "$name" 6)"; outb="$(med_of "$name" 7)"
    mibs="$(awk -v m="$in_mib" -v s="$secs" 'BEGIN {if (s > 0) printf "%.0f", m / s; else print "inf"}')"
    if awk -v b="$outb" 'BEGIN {exit !(b > 0)}'; then
        outs="$(awk -v b="$outb" -v i="$in_bytes" 'BEGIN {printf "%.1f (%.3f)", b / 1048576, b / i}')"
    else
        outs="-"
    fi
    printf '| %-36s | %8.2f | %6s | %12.1f | %6.2f | %6.2f | %11.0f | %7.2f | %15s |\n' "\`$name\`" "$secs" "$mibs" \
        "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" "$usr" "$sys" \
        "$(awk -v b="$wr" 'BEGIN {print b / 1048576}')" "$syn" "$outs"
done < <(key < "$RESULTS" | awk '!seen[$0]++')

# ---- targets ---------------------------------------------------------------------------
kb="$(med_of "keepsake backup" 1)"; kr="$(med_of "keepsake restore" 1)"
rb="$(med_of "restic backup (first, fresh repo)" 1)"; rr="$(med_of "restic restore" 1)"
krss="$(cat <(rows_of "keepsake backup") <(rows_of "keepsake restore") | col 2 | sort -g | tail -1)"
verdict() { if awk "BEGIN {exit !($1)}"; then echo met; else echo "NOT met"; fi; }
echo
echo "Targets (medians):"
echo "  keepsake backup >= 2x faster than restic's first backup: $(awk -v a="$rb" -v b="$kb" 'BEGIN {printf "%.2fx", a / b}') ($kb s vs $rb s): $(verdict "$rb >= 2 * $kb")"
echo "  keepsake restore no slower than restic restore: $kr s vs $rr s ($(awk -v a="$kr" -v b="$rr" 'BEGIN {printf "%+.0f %%", (a / b - 1) * 100}')): $(verdict "$kr <= $rr")"
echo "  peak RSS < 64 MiB (keepsake backup and restore, max over runs): $(awk -v k="$krss" 'BEGIN {printf "%.1f MiB", k / 1024}'): $(verdict "$krss < 65536")"

echo
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
echo "raw (name elapsed_s peak_rss_kib user_s sys_s written_bytes sync_s out_bytes), in run order:"
sed 's/^/  /' "$RESULTS"
if [[ -s "$FSYNCS" ]]; then
    echo "sync-type system calls per command (strace -f, one untimed run):"
    cat "$FSYNCS"
fi
