#!/usr/bin/env bash
# Format v1 against format v2, side by side in one run (issue 13): the same generated
# appliance state sealed by a v1 appliance (a keystore as written before v2) and by a v2
# appliance that keeps its restore key, then, for each file: `keepsake inspect` (integrity
# with no secret: signatures and the whole-file hash or the chunk tree), `keepsake verify`
# (decrypt, decompress, every file against the manifest) and `keepsake extract`. Rounds
# alternate v1 and v2 so both see the same noisy machine; the table shows medians.
#
# Usage: bench/format_bench.sh [path/to/keepsake]      Env: DB_MIB=1024 FILES=2000 RUNS=3
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel)"
KS="${1:-$ROOT/build/keepsake}"
DB_MIB="${DB_MIB:-1024}"
FILES="${FILES:-2000}"
RUNS="${RUNS:-3}"
DATA_DIR="$ROOT/bench/.data"
STATE="$DATA_DIR/state-$DB_MIB-$FILES"
PY=/usr/bin/python3  # Debian's, with python3-nacl

[[ -x "$KS" ]] || { echo "format_bench: no keepsake binary at $KS" >&2; exit 1; }
mkdir -p "$DATA_DIR"
[[ -d "$STATE" ]] || python3 "$ROOT/tools/gen_state.py" --out "$STATE" --db-mib "$DB_MIB" --files "$FILES" >/dev/null
WORK="$(mktemp -d "$DATA_DIR/format-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
echo "bench dms for the format comparison" >"$WORK/dms"

# A v1 keystore, as `dms set` wrote it before format v2 (docs/FORMAT.md Appendix A): the
# domain's signing seed and KEK, derived from the DMS as §4.1 says.
mkdir -m 700 "$WORK/v1"
"$PY" - "$WORK/dms" "$WORK/v1/keystore.json" <<'PYEOF'
import hashlib, json, os, sys
import nacl.bindings as s
dms = open(sys.argv[1], "rb").read().split(b"\n")[0]
salt = os.urandom(16)
root = s.crypto_pwhash_alg(32, dms, salt, 1, 8 * 1024, s.crypto_pwhash_ALG_ARGON2ID13)
def sub(i):
    return hashlib.blake2b(b"", digest_size=32, key=root, salt=i.to_bytes(8, "little") + bytes(8),
                           person=b"KSdomain" + bytes(8)).digest()
pk, _ = s.crypto_sign_seed_keypair(sub(1))
fp = hashlib.blake2b(pk, digest_size=32).hexdigest()[:32]
doc = {"version": 1, "salt": salt.hex(), "kdf": {"alg": "argon2id13", "opslimit": 1, "memlimit_kib": 8},
       "public_key": pk.hex(), "fingerprint": ":".join(fp[i:i + 4] for i in range(0, 32, 4)),
       "signing_seed": __import__("base64").b64encode(sub(1)).decode(),
       "kek": __import__("base64").b64encode(sub(2)).decode()}
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, json.dumps(doc, indent=2).encode())
PYEOF
"$KS" --state-dir "$WORK/v2" dms set --dms-file "$WORK/dms" --kdf-ops 1 --kdf-mem-kib 8 --test-weak-kdf \
    --keep-restore-key >/dev/null

declare -A T
run() {  # name, command...: appends elapsed seconds to T[name]
    local name=$1; shift
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    T[$name]+="$(echo "$end - $start" | bc) "
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for round in $(seq "$RUNS"); do
    for v in v1 v2; do
        rm -rf "$WORK/out-$v" "$WORK/x-$v"; mkdir "$WORK/out-$v"
        run "backup-$v" "$KS" --state-dir "$WORK/$v" backup --source "$STATE" --out "$WORK/out-$v"
        f=$(ls "$WORK/out-$v"/*.ksb)
        run "inspect-$v" "$KS" --state-dir "$WORK/$v" inspect "$f"
        run "verify-$v" "$KS" --state-dir "$WORK/$v" verify "$f"
        run "extract-$v" "$KS" --state-dir "$WORK/$v" extract "$f" --to "$WORK/x-$v"
        echo "round $round $v: $(stat -c %s "$f") bytes" >&2
    done
done
bytes=$(du -sb "$STATE" | cut -f1)
printf "input %d MiB; median of %d runs (s), and MiB/s of input\n" $((bytes >> 20)) "$RUNS"
printf "%-10s %10s %10s %10s %10s\n" step v1 v2 v1-MiB/s v2-MiB/s
for step in backup inspect verify extract; do
    a=$(median "${T[$step-v1]}"); b=$(median "${T[$step-v2]}")
    printf "%-10s %10.2f %10.2f %10.0f %10.0f\n" "$step" "$a" "$b" "$(echo "$bytes / 1048576 / $a" | bc -l)" \
        "$(echo "$bytes / 1048576 / $b" | bc -l)"
done
