#!/usr/bin/env bash
# Makes the published format-v1 test vector (tests/vectors/v1/): a small backup sealed by
# the real `keepsake` from a fixed DMS and a fixed tree, and expected.json with what any
# correct reader must find in it: the domain's keys (public key, fingerprint, salt, KDF
# cost), the digests of the signed header and of the whole file, the file key, and every
# member with its type, size and SHA-256. The file key, backup id, salt and nonces are
# random, so a new run makes a different (equally valid) vector: the committed one is the
# reference; test_python_verifier.py checks both readers (C++ and tools/verify_backup.py)
# against it.
#
# A `keepsake` that writes format v2 for a new domain (every one since v2) cannot make it: give
# the path of a release from before v2. The script stops before touching v1/ if the backup it
# made is not v1.
#
# Usage: tests/vectors/make_v1.sh [path/to/keepsake]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
KS="${1:-$HERE/../../build/keepsake}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
OUT="$HERE/v1"
mkdir -p "$OUT" "$WORK/tree/etc/empty" "$WORK/out"
printf 'keepsake test vector domain secret\n' > "$OUT/dms.txt"
printf 'alpha = 1\nbeta = two\n' > "$WORK/tree/etc/a.conf"
printf '' > "$WORK/tree/etc/empty.txt"
printf 'caf\xc3\xa9 cr\xc3\xa8me\n' > "$WORK/tree/etc/caf$(printf '\xc3\xa9').txt"
ln -s a.conf "$WORK/tree/etc/link"
touch -h -d '2026-11-26 00:00:00 UTC' "$WORK/tree/etc/"* "$WORK/tree/etc" "$WORK/tree"
"$KS" --state-dir "$WORK/state" dms set --dms-file "$OUT/dms.txt" --kdf-ops 1 --kdf-mem-kib 8 --test-weak-kdf >/dev/null
file="$("$KS" --state-dir "$WORK/state" backup --source "$WORK/tree" --out "$WORK/out")"
if [ "$(od -An -tu2 -j8 -N2 "$file" | tr -d ' ')" != 1 ]; then
    echo "make_v1.sh: $KS wrote format $(od -An -tu2 -j8 -N2 "$file" | tr -d ' '), not 1: use a release from before v2 (v1/ left as it is)" >&2
    exit 1
fi
cp "$file" "$OUT/backup.ksb"
"$KS" --state-dir "$WORK/state" inspect "$OUT/backup.ksb" --json > "$WORK/inspect.json"
python3 - "$OUT/backup.ksb" "$WORK/inspect.json" "$WORK/state/keystore.json" "$WORK/tree" > "$OUT/expected.json" <<'PY'
import base64, hashlib, json, os, struct, sys
path, inspect_path, keystore_path, tree = sys.argv[1:]
data = open(path, "rb").read()
inspect = json.load(open(inspect_path))
keystore = json.load(open(keystore_path))
header_len = struct.unpack_from("<I", data, 12)[0]
members = []
for dirpath, dirnames, filenames in os.walk(tree):
    for name in sorted(dirnames + filenames):
        full = os.path.join(dirpath, name)
        rel = os.path.relpath(full, tree)
        if os.path.islink(full):
            members.append({"path": rel, "type": "symlink", "target": os.readlink(full)})
        elif os.path.isdir(full):
            members.append({"path": rel, "type": "dir"})
        else:
            body = open(full, "rb").read()
            members.append({"path": rel, "type": "file", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()})
json.dump({
    "format_version": 1,
    "dms_file": "dms.txt",
    "domain": {
        "public_key": keystore["public_key"],
        "fingerprint": keystore["fingerprint"],
        "salt": keystore["salt"],
        "kdf": keystore["kdf"],
        # The KEK (sub-key 2 of the Argon2id root): what unwraps every file key of the domain.
        "kek_base64": keystore["kek"],
    },
    "backup_id": inspect["backup_id"],
    "file_name": inspect["file_name"],
    "header_len": header_len,
    "header_sha256": hashlib.sha256(data[:16 + header_len]).hexdigest(),
    # The trailer's file_hash: SHA-256 of every byte before the trailer.
    "trailer_file_hash": hashlib.sha256(data[:-120]).hexdigest(),
    "whole_file_sha256": hashlib.sha256(data).hexdigest(),
    "file_size": len(data),
    "members": sorted(members, key=lambda m: m["path"]),
}, sys.stdout, indent=2, sort_keys=True, ensure_ascii=False)
print()
PY
echo "wrote $OUT/backup.ksb ($(stat -c %s "$OUT/backup.ksb") bytes) and $OUT/expected.json"
