#!/usr/bin/env bash
# Makes the published format-v2 test vector (tests/vectors/v2/): a small backup sealed by
# the real `keepsake` from a fixed DMS and a fixed tree, cut into 1 KiB chunks so that the
# body has many (docs/FORMAT.md §12), and expected.json with what any correct reader must
# find in it: the domain's keys (public key, fingerprint, salt, KDF cost, box public key and
# the restore key, i.e. the box secret key, as the appliance kept it), the signing device
# (id, public key, fingerprint, certificate), the digests of the signed header (the chunks'
# AD) and of the whole file, every chunk's length and leaf hash and the chunk tree root of
# the trailer, the digests of the plain .tar.zst that `keepsake decrypt` writes and of the
# tar in it, and every member with its type, size and SHA-256 or target.
#
# The device key, salt, file key and sealing are random, so a new run makes a different
# (equally valid) vector: the committed one is the reference; test_python_verifier.py checks
# both readers (C++ and tools/verify_backup.py) against it. The appliance keeps the restore
# key (--keep-restore-key) only so that expected.json can state the box secret key as the
# binary derived it; the file is the same as a write-only appliance's.
#
# Usage: tests/vectors/make_v2.sh [path/to/keepsake]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
KS="${1:-$HERE/../../build/keepsake}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
OUT="$HERE/v2"
mkdir -p "$OUT" "$WORK/tree/etc/empty" "$WORK/out"
printf 'keepsake v2 test vector domain secret\n' > "$OUT/dms.txt"
printf 'alpha = 1\nbeta = two\n' > "$WORK/tree/etc/a.conf"
printf '' > "$WORK/tree/etc/empty.txt"
printf 'caf\xc3\xa9 cr\xc3\xa8me\n' > "$WORK/tree/etc/caf$(printf '\xc3\xa9').txt"
# 3000 bytes that do not compress: the chunks that hold them are longer than 1 KiB.
python3 -c 'import hashlib, sys; sys.stdout.buffer.write(b"".join(hashlib.sha256(b"v2 vector %d" % i).digest() for i in range(94))[:3000])' > "$WORK/tree/etc/noise.bin"
ln -s a.conf "$WORK/tree/etc/link"
touch -h -d '2026-12-06 00:00:00 UTC' "$WORK/tree/etc/"* "$WORK/tree/etc" "$WORK/tree"
"$KS" --state-dir "$WORK/state" dms set --dms-file "$OUT/dms.txt" --kdf-ops 1 --kdf-mem-kib 8 --test-weak-kdf \
    --keep-restore-key >/dev/null
file="$("$KS" --state-dir "$WORK/state" backup --source "$WORK/tree" --out "$WORK/out" --chunk-size 1024)"
cp "$file" "$OUT/backup.ksb"
"$KS" --state-dir "$WORK/state" inspect "$OUT/backup.ksb" --json > "$WORK/inspect.json"
"$KS" --state-dir "$WORK/state" dms show > "$WORK/dms-show.txt"
"$KS" --state-dir "$WORK/state" decrypt "$OUT/backup.ksb" -o "$WORK/backup.tar.zst" --dms-file "$OUT/dms.txt" >/dev/null
zstd -q -d -c "$WORK/backup.tar.zst" > "$WORK/backup.tar"
python3 - "$OUT/backup.ksb" "$WORK/inspect.json" "$WORK/state/keystore.json" "$WORK/dms-show.txt" \
    "$WORK/backup.tar.zst" "$WORK/backup.tar" "$WORK/tree" > "$OUT/expected.json" <<'PY'
import hashlib, json, os, re, struct, sys
path, inspect_path, keystore_path, show_path, tar_zst_path, tar_path, tree = sys.argv[1:]
data = open(path, "rb").read()
inspect = json.load(open(inspect_path))
keystore = json.load(open(keystore_path))
show = open(show_path).read()
sha = lambda b: hashlib.sha256(b).hexdigest()
assert inspect["format_version"] == 2 and data[8:10] == b"\x02\x00", "not a format v2 file"
header_len = struct.unpack_from("<I", data, 12)[0]
# The chunks, from the framing alone (FORMAT.md §12.1): len:u32 || ciphertext, then the trailer.
chunks, pos = [], 80 + header_len
while data[pos:pos + 4] != b"KSTR":
    n = struct.unpack_from("<I", data, pos)[0]
    chunks.append(data[pos + 4:pos + 4 + n])
    pos += 4 + n
trailer = data[pos:]
assert len(trailer) == 120
chunk_count, body_len = struct.unpack_from("<QQ", trailer, 8)
assert (chunk_count, body_len) == (len(chunks), pos - 80 - header_len)
ad = hashlib.sha256(data[:16 + header_len]).digest()
leaves = [hashlib.sha256(c).digest() for c in chunks]
# §12.5: the trailer carries SHA-256("keepsake-chunk-tree-v2" || AD || leaf_0 || ...).
assert hashlib.sha256(b"keepsake-chunk-tree-v2" + ad + b"".join(leaves)).digest() == trailer[24:56], \
    "the trailer's hash is not the chunk tree of FORMAT.md §12.5"
device_key = re.search(r"^Device public key:\s+([0-9a-f]{64})$", show, re.M).group(1)
device_fp = re.search(r"^Device key:\s+([0-9a-f:]{39}) ", show, re.M).group(1)
signer = inspect["signer"]
assert signer["public_key"] == device_key == keystore["device"]["public_key"]
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
            members.append({"path": rel, "type": "file", "size": len(body), "sha256": sha(body)})
tar_zst, tar = open(tar_zst_path, "rb").read(), open(tar_path, "rb").read()
json.dump({
    "format_version": 2,
    "dms_file": "dms.txt",
    "domain": {
        "public_key": keystore["public_key"],
        "fingerprint": keystore["fingerprint"],
        "salt": keystore["salt"],
        "kdf": keystore["kdf"],
        "key_epoch": inspect["domain"]["key_epoch"],
        # The domain's X25519 key pair (sub-key 3 of the Argon2id root, crypto_box_seed_keypair):
        # the public key every file key is sealed to, and the secret one (the restore key) that
        # opens every file key of the domain.
        "box_public_key": keystore["box_public_key"],
        "restore_key_base64": keystore["restore_key"],
    },
    "signer": {
        "device_id": signer["device_id"],
        "public_key": device_key,
        "fingerprint": device_fp,
        "key_epoch": signer["key_epoch"],
        "certified_at": signer["certified_at"],
        "certificate_base64": signer["certificate"],
    },
    "backup_id": inspect["backup_id"],
    "file_name": inspect["file_name"],
    "created_at": inspect["created_at"],
    "chunk_size": inspect["encryption"]["chunk_size"],
    "header_len": header_len,
    "header_sha256": ad.hex(),
    "chunk_count": chunk_count,
    "body_len": body_len,
    "chunk_lengths": [len(c) for c in chunks],
    # SHA-256 of each chunk's ciphertext (its length field not included), in order.
    "chunk_leaves": [leaf.hex() for leaf in leaves],
    "trailer_chunk_root": trailer[24:56].hex(),
    "whole_file_sha256": sha(data),
    "file_size": len(data),
    # What `keepsake decrypt` writes: the chunks' zstd frames one after the other, and the tar.
    "tar_zst_sha256": sha(tar_zst),
    "tar_zst_size": len(tar_zst),
    "tar_sha256": sha(tar),
    "tar_size": len(tar),
    "members": sorted(members, key=lambda m: m["path"]),
}, sys.stdout, indent=2, sort_keys=True, ensure_ascii=False)
print()
PY
echo "wrote $OUT/backup.ksb ($(stat -c %s "$OUT/backup.ksb") bytes) and $OUT/expected.json"
