#!/usr/bin/env python3
"""Integration tests of tools/verify_backup.py, the independent verifier of the sealed backup
file written from docs/FORMAT.md alone, against backups made by the real `keepsake` binary.

The binary writes format v2 (FORMAT.md §12) for every new domain; format v1 is read from the
published vector tests/vectors/v1 (an appliance whose keystore predates v2 still writes it).
The verifier must accept every genuine backup (without a secret, with the domain's public
key, with the DMS, agreeing with `keepsake extract` and `keepsake decrypt`), refuse every
damaged copy with exit 4 (flipped bytes, truncations, appended data, reordered, dropped or
foreign chunks, a header from another backup; every single-byte flip and every truncation of
a small backup), and refuse a wrong DMS, a foreign public key or a revoked signer with exit 3.
A few files are also re-sealed with the domain's keys by a writer that follows FORMAT.md
(FORGE below; v2 with a device key of its own that the domain key certifies): `keepsake` must
accept the faithful one, and both must refuse the signed-but-inconsistent ones with the same
exit code.

The test appliances are write-only (`keepsake dms set` without --keep-restore-key): the
binary needs --dms-file to open their backups (`keepsake verify FILE` without it checks
integrity only).

The verifier needs Debian 12's python3-nacl and python3-zstandard for /usr/bin/python3; this
file itself needs only the standard library. Without them the tests fail (scripts/install-deps.sh
installs them), or skip when KEEPSAKE_TEST_REQUIRE is not set at all (a developer machine).

Binary: env KEEPSAKE_BIN (ctest sets it), else <repository>/build/keepsake (fixtures/paths.py).
Run: python3 tests/integration/test_python_verifier.py -v
"""

import hashlib
import json
import os
import random
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from files import sha256_of  # noqa: E402
from paths import KEEPSAKE_BIN, REPO, generate_state  # noqa: E402

from exit_codes import EXIT_AUTH, EXIT_CORRUPT, EXIT_FAILURE, EXIT_IO, EXIT_OK, EXIT_USAGE  # noqa: E402,F401

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, where python3-nacl and python3-zstandard live
VERIFIER = os.path.join(REPO, "tools", "verify_backup.py")
TOOLS = os.path.dirname(VERIFIER)

DMS = "python verifier domain secret"
OTHER_DMS = "another verifier domain secret"
WRONG_DMS = "python verifier domain secreT"
NFC_DMS = "verifier cl\u00e9 secr\u00e8te"           # é, è precomposed (NFC)
NFD_DMS = "verifier cle\u0301 secre\u0300te"          # the same text decomposed (NFD)
SMALL_FILE_SIZE = 700
BIG_CHUNK_SIZE = 1048576    # the big backup's chunks: three of them


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------

def run_keepsake(*args, timeout=60):
    env = dict(os.environ)
    for var in ("KEEPSAKE_STATE_DIR", "KEEPSAKE_APPLIANCE_ROOT"):
        env.pop(var, None)
    return subprocess.run([KEEPSAKE_BIN] + [str(a) for a in args], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, errors="replace", timeout=timeout)


def run_verifier(path, *args, timeout=60):
    return subprocess.run([SYSTEM_PYTHON, VERIFIER, str(path)] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, errors="replace", timeout=timeout)


def run_system_python(code, *args, timeout=60):
    """Runs `code` with /usr/bin/python3, the verifier's directory importable."""
    return subprocess.run([SYSTEM_PYTHON, "-c", code, TOOLS] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, errors="replace", timeout=timeout)


def ok(proc, what):
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}): {proc.stdout}{proc.stderr}"
    return proc.stdout


def write_secret(path, secret, newline="\n"):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write((secret + newline).encode("utf-8"))
    return path


def new_domain(state, dms_file):
    ok(run_keepsake("--state-dir", state, "dms", "set", "--dms-file", dms_file, "--kdf-ops", "1",
                    "--kdf-mem-kib", "8", "--test-weak-kdf"), "dms set")
    return state


def backup(state, source, out, *extra):
    os.makedirs(out, exist_ok=True)
    path = ok(run_keepsake("--state-dir", state, "backup", "--source", source, "--out", out, *extra),
              "backup").strip()
    assert os.path.isfile(path), f"backup printed {path!r}, which is not a file"
    return path


def appliance_backup(state, root, out):
    os.makedirs(out, exist_ok=True)
    path = ok(run_keepsake("--state-dir", state, "--appliance-root", root, "backup", "--out", out),
              "appliance backup").strip()
    assert os.path.isfile(path), f"backup printed {path!r}, which is not a file"
    return path


def join_domain(state, backup_file, dms_file):
    """A second appliance of a backup's domain, with its own certified device key (§12.2)."""
    ok(run_keepsake("--state-dir", state, "dms", "join", "--backup", backup_file, "--dms-file", dms_file), "dms join")
    return state


def device_key(state):
    with open(os.path.join(state, "keystore.json")) as f:
        device = json.load(f)["device"]
    return device["public_key"], device["device_id"], device["certified_at"]


def public_key(state, path):
    details = json.loads(ok(run_keepsake("--state-dir", state, "inspect", path, "--json"), "inspect"))
    return details["domain"]["public_key"]


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Layout:
    """Where the parts of a sealed file are (FORMAT.md §2), from its framing alone."""

    def __init__(self, data):
        self.header_len = struct.unpack_from("<I", data, 12)[0]
        self.body = 80 + self.header_len
        self.chunks = []  # (offset, 4 + len)
        pos = self.body
        while data[pos:pos + 4] != b"KSTR":
            n = struct.unpack_from("<I", data, pos)[0]
            self.chunks.append((pos, 4 + n))
            pos += 4 + n
        self.trailer = pos
        assert len(data) == self.trailer + 120, "the file does not end with its trailer"
        self.version = struct.unpack_from("<H", data, 8)[0]

    def chunk(self, data, i):
        offset, size = self.chunks[i]
        return data[offset:offset + size]

    def header_json(self, data):
        return json.loads(data[16:16 + self.header_len])


def tree_of(root):
    """path -> (type, size, sha256 or symlink target) of everything under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", None, os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", None, None)
            else:
                out[rel] = ("file", st.st_size, sha256_of(full))
    return out


def tree_of_members(members):
    """The same view of the verifier's --json "members"."""
    return {m["path"]: (m["type"], m.get("size"), m.get("sha256", m.get("target"))) for m in members}


def no_control_characters(text):
    return not any(ord(c) < 0x20 and c != "\n" or 0x7F <= ord(c) <= 0x9F for c in text)


def deps_missing():
    """Why /usr/bin/python3 cannot run the verifier, or None."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} not found"
    proc = subprocess.run([SYSTEM_PYTHON, "-c", "import nacl.bindings, zstandard"], capture_output=True, text=True)
    if proc.returncode != 0:
        return f"{SYSTEM_PYTHON} cannot import nacl and zstandard: {proc.stderr.strip().splitlines()[-1]}"
    return None


# A writer of sealed files from FORMAT.md, with the domain's keys derived from its DMS (§4.1,
# §12.2). argv: tools dir, a JSON list of requests. For each, it opens `source` (v1: §4.3,
# §4.4; v2: §12.2, §12.5), optionally edits the tar (`tar`: `edit` one member's content, `add` members before
# or after the manifest, `drop_manifest`, `tail_zeros` after its end; the manifest is left as
# it is), then seals it again in the source's version into `out` with a fresh file key, and
# edits the header last (`header`: values set at dotted keys). v1 (§2, §4): `zst_suffix`
# (hex) after the zstd frame, `no_final` (every chunk TAG_MESSAGE), `count_delta` (the
# trailer's chunk count). v2 (§12): signed by a device key of the writer's own, certified by
# the domain key (or, `certifier_dms`, by another DMS's) for `signer_device_id` (default the
# header's device id); the tar cut into pieces of `cuts` bytes first, then chunk_size
# (`pad_to_chunk`: zeros after the tar up to a whole chunk), each compressed into one frame
# (`no_checksum`, `no_content_size`); `frame_prefix`/`frame_suffix` (hex) around frame i,
# `frame_xor_last` the mask applied to frame i's last byte (its content checksum),
# `frame_size` zeros after frame i up to n bytes, `last_frame` an extra last chunk ("empty
# plaintext" or "empty frame"); `no_final` (no chunk sealed as last), `count_delta`.
FORGE = r'''
import base64, copy, hashlib, io, json, os, struct, sys, tarfile
sys.path.insert(0, sys.argv[1])
import verify_backup as vb
import nacl.bindings as s
import zstandard


def forge(req):
    data = open(req["source"], "rb").read()
    version, H = struct.unpack_from("<HxxI", data, 8)
    prefix, header = data[:16], data[16:16 + H]
    doc = json.loads(header)
    fields = vb.check_header_fields_s3_2(doc, version)
    dms = vb.dms_bytes_s4_1(req["dms"].encode())
    ad = hashlib.sha256(prefix + header).digest()
    pos, plain = 80 + H, []
    if version == 1:
        _, sk, kek = vb.derive_domain_keys_s4_1(dms, fields)
        state = vb.open_body_stream_s4_4(vb.unwrap_file_key_s4_3(kek, fields["wrapped_file_key"], fields["backup_id"]),
                                         fields["stream_header"])
    else:
        _, domain_sk, box_pk, box_sk = vb.derive_domain_keys_s12_2(dms, fields)
        file_key = vb.open_sealed_file_key_s12_2(box_pk, box_sk, fields["sealed_file_key"])
    while data[pos:pos + 4] != b"KSTR":
        n = struct.unpack_from("<I", data, pos)[0]
        c = data[pos + 4:pos + 4 + n]
        if version == 1:
            plain.append(s.crypto_secretstream_xchacha20poly1305_pull(state, c, ad)[0])
        else:
            plain.append(zstandard.ZstdDecompressor().decompress(vb.open_chunk_s12_5(file_key, c, ad, len(plain))[0]))
        pos += 4 + n
    if version == 1:
        tar = zstandard.ZstdDecompressor().decompressobj().decompress(b"".join(plain))
    else:
        tar = b"".join(plain)

    ops = req.get("tar")
    if ops:
        src = tarfile.open(fileobj=io.BytesIO(tar))
        items = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]
        manifest = [items.pop()]
        if ops.get("drop_manifest"):
            manifest = []
        edit = ops.get("edit", {})
        for i, (m, content) in enumerate(items):
            if m.name in edit:  # a file's content, or a symlink's target
                m = copy.copy(m)
                if m.issym():
                    m.linkname = edit[m.name]
                else:
                    content = edit[m.name].encode()
                    m.size = len(content)
                items[i] = (m, content)
        before, after = [], []
        types = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                 "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE}
        for add in ops.get("add", []):
            m = tarfile.TarInfo(add["path"])
            m.type = types[add["type"]]
            m.linkname = add.get("link", "")
            content = add.get("content", "").encode() if add["type"] == "file" else None
            m.size = len(content or b"")
            (after if add.get("after_manifest") else before).append((m, content))
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as dst:
            for m, content in items + before + manifest + after:
                dst.addfile(m, io.BytesIO(content) if content is not None else None)
        tar = out.getvalue() + bytes(ops.get("tail_zeros", 0))
    size = doc["encryption"]["chunk_size"]
    if req.get("pad_to_chunk"):
        tar += bytes(-len(tar) % size)

    def b64(b):
        return base64.b64encode(b).decode()

    def edit_header():
        for dotted, value in req.get("header", {}).items():
            obj, *path = [doc] + dotted.split(".")
            for key in path[:-1]:
                obj = obj[int(key)] if isinstance(obj, list) else obj[key]
            obj[path[-1]] = value
        return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()

    if version == 1:
        zst = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(tar)
        zst += bytes.fromhex(req.get("zst_suffix", ""))
        file_key = s.crypto_secretstream_xchacha20poly1305_keygen()
        nonce = os.urandom(24)
        doc["encryption"]["wrapped_file_key"] = b64(nonce + s.crypto_aead_xchacha20poly1305_ietf_encrypt(
            file_key, b"keepsake-file-key-v1:" + doc["backup_id"].encode(), nonce, kek))
        state = s.crypto_secretstream_xchacha20poly1305_state()
        doc["encryption"]["stream_header"] = b64(s.crypto_secretstream_xchacha20poly1305_init_push(state, file_key))
        header = edit_header()
        prefix = b"KSBACKUP" + struct.pack("<HHI", 1, 0, len(header))
        sign_key = sk
        sig = s.crypto_sign(prefix + header, sk)[:64]
        ad = hashlib.sha256(prefix + header).digest()
        pieces = [zst[i:i + size] for i in range(0, len(zst), size)]
        body = b""
        for i, piece in enumerate(pieces):
            tag = s.crypto_secretstream_xchacha20poly1305_TAG_FINAL if i == len(pieces) - 1 and \
                not req.get("no_final") else s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
            c = s.crypto_secretstream_xchacha20poly1305_push(state, piece, ad, tag)
            body += struct.pack("<I", len(c)) + c
        tree_hash = hashlib.sha256(prefix + header + sig + body).digest()
    else:
        pieces, rest = [], tar
        for n in req.get("cuts", []):
            pieces, rest = pieces + [rest[:n]], rest[n:]
        pieces += [rest[i:i + size] for i in range(0, len(rest), size)]
        cctx = zstandard.ZstdCompressor(level=3, write_checksum=not req.get("no_checksum"),
                                        write_content_size=not req.get("no_content_size"))
        frames = [cctx.compress(p) for p in pieces]
        for i, prefix_hex in req.get("frame_prefix", {}).items():
            frames[int(i)] = bytes.fromhex(prefix_hex) + frames[int(i)]
        for i, suffix_hex in req.get("frame_suffix", {}).items():
            frames[int(i)] += bytes.fromhex(suffix_hex)
        for i, mask in req.get("frame_xor_last", {}).items():  # the content checksum's last byte
            frames[int(i)] = frames[int(i)][:-1] + bytes([frames[int(i)][-1] ^ mask])
        for i, n in req.get("frame_size", {}).items():  # zeros after frame i, up to n bytes
            frames[int(i)] += bytes(n - len(frames[int(i)]))
        if req.get("last_frame") == "empty plaintext":
            frames.append(b"")
        elif req.get("last_frame") == "empty frame":
            frames.append(cctx.compress(b""))
        # A device key of the forger's own, certified by the domain key (FORMAT.md §12.2).
        certifier = domain_sk
        if "certifier_dms" in req:
            certifier = vb.derive_domain_keys_s12_2(vb.dms_bytes_s4_1(req["certifier_dms"].encode()), fields)[1]
        device_pk, sign_key = s.crypto_sign_keypair()
        device_id = req.get("signer_device_id", doc["device"]["device_id"])
        doc["signer"] = {"device_id": device_id, "public_key": device_pk.hex(), "key_epoch": 1,
                         "certified_at": doc["created_at"]}
        message = (b"keepsake-device-certificate-v2" + fields["public_key"] + device_pk + struct.pack("<I", 1)
                   + doc["created_at"].encode() + bytes([len(device_id.encode())]) + device_id.encode())
        doc["signer"]["certificate"] = b64(s.crypto_sign(message, certifier)[:64])
        file_key = os.urandom(32)
        doc["encryption"]["sealed_file_key"] = b64(s.crypto_box_seal(file_key, box_pk))
        header = edit_header()
        prefix = b"KSBACKUP" + struct.pack("<HHI", 2, 0, len(header))
        sig = s.crypto_sign(prefix + header, sign_key)[:64]
        ad = hashlib.sha256(prefix + header).digest()
        tree, body = hashlib.sha256(b"keepsake-chunk-tree-v2" + ad), b""
        for i, frame in enumerate(frames):
            last = i == len(frames) - 1 and not req.get("no_final")
            nonce = struct.pack("<Q", i) + bytes(15) + bytes([last])
            c = s.crypto_aead_xchacha20poly1305_ietf_encrypt(frame, ad, nonce, file_key)
            tree.update(hashlib.sha256(c).digest())
            body += struct.pack("<I", len(c)) + c
        pieces = frames
        tree_hash = tree.digest()
    trailer = b"KSTRAILR" + struct.pack("<QQ", len(pieces) + req.get("count_delta", 0), len(body)) + tree_hash
    with open(req["out"], "wb") as f:
        f.write(prefix + header + sig + body + trailer + s.crypto_sign(trailer, sign_key)[:64])


for req in json.loads(sys.argv[2]):
    forge(req)
'''

# Every single-byte flip (two masks) and every truncation of a file, each verified in one
# /usr/bin/python3 process by the verifier's module (a subprocess per variant would take
# minutes). argv: tools dir, file, DMS file or "". Prints {"variants", "bad": [...]}: every
# variant that was not refused with exit 4, with what happened instead.
SWEEP = r'''
import io, json, sys, traceback
sys.path.insert(0, sys.argv[1])
import verify_backup as vb
data = open(sys.argv[2], "rb").read()
dms = vb.read_dms_file_s4_1(sys.argv[3]) if sys.argv[3] else None
bad, variants = [], 0

def check(kind, pos, blob):
    global variants
    variants += 1
    try:
        vb.verify_backup(io.BytesIO(blob), dms=dms)
    except vb.VerifyError as e:
        if e.code != vb.EXIT_DAMAGED:
            bad.append([kind, pos, f"exit {e.code}: {e.message}"])
        return
    except Exception:
        bad.append([kind, pos, "crashed: " + traceback.format_exc(limit=4)])
        return
    bad.append([kind, pos, "accepted"])

for pos in range(len(data)):
    for mask in (0x01, 0x80):
        blob = bytearray(data)
        blob[pos] ^= mask
        check(f"flip {mask:#04x}", pos, bytes(blob))
for n in range(len(data)):
    check("cut", n, data[:n])
print(json.dumps({"variants": variants, "bad": bad}))
'''


# The verdicts of the verifier's module on several files, in one /usr/bin/python3 process.
# argv: tools dir, DMS file or "", files. Prints [[exit code, message], ...].
VERDICTS = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
import verify_backup as vb
dms = vb.read_dms_file_s4_1(sys.argv[2]) if sys.argv[2] else None
out = []
for path in sys.argv[3:]:
    try:
        vb.verify_backup(path, dms=dms)
        out.append([0, "accepted"])
    except vb.VerifyError as e:
        out.append([e.code, e.message])
print(json.dumps(out))
'''


# --------------------------------------------------------------------------------------
# the module's backups, made once
# --------------------------------------------------------------------------------------

class Fixture:
    pass


F = Fixture()


def build_tree(root, rng, big=True):
    os.makedirs(os.path.join(root, "etc", "cluster", "nodes.d"))
    os.makedirs(os.path.join(root, "caf\u00e9 \u00e0 la cr\u00e8me", "\u65e5\u672c"))
    files = {
        "empty.bin": b"",
        "readme.txt": b"hello\n",
        "etc/cluster/nodes.conf": b"node1\nnode2\n",
        "etc/cluster/nodes.d/n3.conf": b"node3\n",
        "caf\u00e9 \u00e0 la cr\u00e8me/\u65e5\u672c/na\u00efve.txt": "na\u00efve \u65e5\u672c\n".encode(),
    }
    if big:
        files["data/big.bin"] = rng.randbytes(2_500_000 + 123)  # more than two 1 MiB chunks
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)
    os.symlink("etc/cluster/nodes.conf", os.path.join(root, "nodes-link"))
    os.symlink("../../readme.txt", os.path.join(root, "etc", "cluster", "readme-link"))
    os.chmod(os.path.join(root, "etc", "cluster", "nodes.conf"), 0o640)


def setUpModule():
    reason = deps_missing()
    if reason is not None:
        reason += "; run scripts/install-deps.sh (as root) to install python3-nacl and python3-zstandard"
        if "KEEPSAKE_TEST_REQUIRE" in os.environ:
            raise RuntimeError(reason)
        print(f"SKIP: python verifier tests: {reason}", file=sys.stderr)
        raise unittest.SkipTest(reason)
    if not (os.path.isfile(KEEPSAKE_BIN) and os.access(KEEPSAKE_BIN, os.X_OK)):
        raise RuntimeError(f"keepsake binary not found or not executable: {KEEPSAKE_BIN} (set KEEPSAKE_BIN)")
    if not os.path.isfile(VERIFIER):
        raise RuntimeError(f"verifier not found: {VERIFIER}")
    F.tmp = tempfile.TemporaryDirectory(prefix="ks-pyverify-")
    base = F.tmp.name
    rng = random.Random(20261206)
    F.dms_file = write_secret(os.path.join(base, "dms"), DMS)
    F.dms_file_crlf = write_secret(os.path.join(base, "dms-crlf"), DMS, "\r\n")
    F.wrong_dms_file = write_secret(os.path.join(base, "wrong.dms"), WRONG_DMS)
    F.other_dms_file = write_secret(os.path.join(base, "other.dms"), OTHER_DMS)
    F.state = new_domain(os.path.join(base, "state"), F.dms_file)
    F.other_state = new_domain(os.path.join(base, "other-state"), F.other_dms_file)
    # The big backup: every kind of entry, three chunks.
    F.source = os.path.join(base, "src")
    build_tree(F.source, rng)
    F.big = backup(F.state, F.source, os.path.join(base, "out"), "--chunk-size", BIG_CHUNK_SIZE)
    # The small one: a few hundred bytes of content, for the sweeps.
    F.small_source = os.path.join(base, "small")
    os.makedirs(os.path.join(F.small_source, "d"))
    with open(os.path.join(F.small_source, "d", "f.txt"), "wb") as f:
        f.write(rng.randbytes(SMALL_FILE_SIZE))  # incompressible: the body needs several 1 KiB chunks
    os.symlink("d/f.txt", os.path.join(F.small_source, "l"))
    F.small = backup(F.state, F.small_source, os.path.join(base, "out-small"), "--chunk-size", "1024")
    F.other = backup(F.other_state, F.small_source, os.path.join(base, "out-other"))
    F.public_key = public_key(F.state, F.big)
    F.other_public_key = public_key(F.other_state, F.other)


def tearDownModule():
    F.tmp.cleanup()


class VerifierTestCase(unittest.TestCase):

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="ks-pyverify-t-")
        self.addCleanup(self._tmp.cleanup)
        self.tmp = self._tmp.name

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def write(self, name, data):
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def assertVerdict(self, proc, code, prefix):
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, code, f"{proc.args[2:]}: expected exit {code}, got {proc.returncode}: {out}")
        self.assertTrue(proc.stdout.startswith(prefix), f"stdout does not start with {prefix!r}: {out!r}")
        self.assertTrue(no_control_characters(out), f"raw control characters in the output: {out!r}")

    def assertAccepted(self, path, *args):
        proc = run_verifier(path, *args)
        self.assertVerdict(proc, EXIT_OK, "OK: ")
        return proc

    def assertDamaged(self, path, *args, what=""):
        proc = run_verifier(path, *args)
        self.assertEqual(proc.returncode, EXIT_CORRUPT,
                         f"{what}: expected exit 4 (damaged), got {proc.returncode}: {proc.stdout}{proc.stderr}")
        self.assertVerdict(proc, EXIT_CORRUPT, "DAMAGED: ")
        return proc

    def verdict_json(self, path, *args):
        proc = run_verifier(path, "--json", *args)
        self.assertTrue(no_control_characters(proc.stdout), proc.stdout)
        return proc.returncode, json.loads(proc.stdout)

    def verdicts(self, paths, dms_file=""):
        """[(exit code, message)] of the verifier's module for each file, in one process."""
        proc = run_system_python(VERDICTS, dms_file, *paths)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return [tuple(v) for v in json.loads(proc.stdout)]

    def keepsake_verify(self, path, state=None, dms_file=None):
        """`keepsake verify` with the DMS: a write-only appliance opens nothing without it."""
        return run_keepsake("--state-dir", state or F.state, "verify", path, "--dms-file", dms_file or F.dms_file)


# --------------------------------------------------------------------------------------
# genuine backups are accepted
# --------------------------------------------------------------------------------------

class GenuineBackupTest(VerifierTestCase):

    def test_fresh_backups_are_format_v2(self):
        for path in (F.big, F.small, F.other):
            self.assertEqual(Layout(read(path)).version, 2, path)

    def test_accepted_without_a_secret(self):
        for path in (F.big, F.small, F.other):
            with self.subTest(path=os.path.basename(path)):
                proc = self.assertAccepted(path)
                self.assertNotIn("\n", proc.stdout.rstrip("\n"))
                self.assertIn("(format v2)", proc.stdout)

    def test_accepted_with_the_domain_public_key(self):
        self.assertAccepted(F.big, "--public-key", F.public_key)
        self.assertAccepted(F.small, "--public-key", F.public_key.upper())
        self.assertAccepted(F.other, "--public-key", F.other_public_key)

    def test_accepted_with_the_dms(self):
        self.assertAccepted(F.big, "--dms-file", F.dms_file, "--public-key", F.public_key)
        self.assertAccepted(F.small, "--dms-file", F.dms_file)
        self.assertAccepted(F.other, "--dms-file", F.other_dms_file)

    def test_the_dms_file_is_its_first_line_without_crlf(self):
        self.assertAccepted(F.small, "--dms-file", F.dms_file_crlf)
        path = self.write("two-lines.dms", (DMS + "\nsecond line, not part of it\n").encode())
        self.assertAccepted(F.small, "--dms-file", path)

    def test_the_dms_is_nfc_normalised(self):
        state = new_domain(self.path("nfc-state"), write_secret(self.path("nfc.dms"), NFC_DMS))
        path = backup(state, F.small_source, self.path("out"))
        self.assertAccepted(path, "--dms-file", write_secret(self.path("nfd.dms"), NFD_DMS))

    def test_content_agrees_with_keepsake_extract_and_the_source(self):
        code, verdict = self.verdict_json(F.big, "--dms-file", F.dms_file)
        self.assertEqual(code, EXIT_OK, verdict)
        self.assertEqual(verdict["verdict"], "ok")
        self.assertTrue(verdict["content_checked"])
        members = tree_of_members(verdict["members"])
        out = self.path("extracted")
        ok(run_keepsake("--state-dir", F.state, "extract", F.big, "--to", out, "--dms-file", F.dms_file), "extract")
        self.assertEqual(members, tree_of(out))
        self.assertEqual(members, tree_of(F.source))
        # Every kind of entry is there: empty, large (3 chunks), non-ASCII, nested, symlinks.
        self.assertEqual(members["empty.bin"], ("file", 0, hashlib.sha256(b"").hexdigest()))
        self.assertEqual(members["data/big.bin"][1], 2_500_123)
        self.assertEqual(members["nodes-link"], ("symlink", None, "etc/cluster/nodes.conf"))
        self.assertIn("caf\u00e9 \u00e0 la cr\u00e8me/\u65e5\u672c/na\u00efve.txt", members)
        self.assertEqual(verdict["chunks"], 3)

    def test_the_tar_is_the_one_keepsake_decrypt_writes(self):
        # `keepsake decrypt` writes the chunks' frames one after the other (§12.5): the tar in
        # them is the stream the verifier read, byte for byte.
        _, verdict = self.verdict_json(F.small, "--dms-file", F.dms_file)
        out = self.path("small.tar.zst")
        ok(run_keepsake("--state-dir", F.state, "decrypt", F.small, "-o", out, "--dms-file", F.dms_file), "decrypt")
        proc = run_system_python("import hashlib, sys, zstandard\n"
                                 "r = zstandard.ZstdDecompressor().stream_reader(open(sys.argv[2], 'rb'), "
                                 "read_across_frames=True)\n"
                                 "print(hashlib.sha256(r.read()).hexdigest())", out)
        self.assertEqual(ok(proc, "decompressing").strip(), verdict["tar_sha256"])

    def test_json_carries_the_header_fields(self):
        code, verdict = self.verdict_json(F.big)
        self.assertEqual(code, EXIT_OK, verdict)
        details = json.loads(ok(run_keepsake("--state-dir", F.state, "inspect", F.big, "--json"), "inspect"))
        for key in ("backup_id", "created_at", "file_name", "components", "device", "domain", "compression",
                    "encryption", "format", "format_version", "signer"):
            self.assertEqual(verdict["header"][key], details[key], key)
        self.assertFalse(verdict["content_checked"])
        self.assertIsNone(verdict["tar_sha256"])
        self.assertNotIn("chain", verdict["header"])  # a --source backup has no place in a chain
        self.assertEqual(verdict["file_size"], os.path.getsize(F.big))
        data = read(F.big)
        self.assertEqual(verdict["header_sha256"],
                         hashlib.sha256(data[:16 + Layout(data).header_len]).hexdigest())
        self.assertEqual(verdict["trailer"]["chunk_root"], data[-96:-64].hex())
        self.assertEqual(verdict["header"]["signer"]["public_key"], device_key(F.state)[0])

    def test_a_write_only_appliance_and_the_verifier_agree(self):
        # Without the DMS the binary checks integrity only; with it, everything (§12.6).
        proc = run_keepsake("--state-dir", F.state, "verify", F.small)
        self.assertEqual(proc.returncode, EXIT_OK, proc.stderr)
        self.assertIn("INTACT", proc.stdout)
        self.assertEqual(self.keepsake_verify(F.small).returncode, EXIT_OK)
        self.assertEqual(self.verdicts([F.small, F.big]), [(EXIT_OK, "accepted")] * 2)
        self.assertEqual(self.verdicts([F.small, F.big], F.dms_file), [(EXIT_OK, "accepted")] * 2)

    def test_a_backup_of_a_joined_appliance_is_accepted(self):
        # Another appliance of the domain signs with its own key, certified by the domain key.
        state = join_domain(self.path("joined"), F.small, F.dms_file)
        path = backup(state, F.small_source, self.path("out"))
        self.assertAccepted(path, "--public-key", F.public_key, "--dms-file", F.dms_file)
        _, verdict = self.verdict_json(path)
        self.assertEqual(verdict["header"]["signer"]["public_key"], device_key(state)[0])
        self.assertNotEqual(device_key(state)[0], device_key(F.state)[0])
        self.assertEqual(self.keepsake_verify(path).returncode, EXIT_OK)


class ApplianceChainTest(VerifierTestCase):
    """Two appliance backups in a row: the header's optional `chain` (FORMAT.md §3.2)."""

    def test_two_appliance_backups_are_chained_and_verify(self):
        root = generate_state(self.path("root"), db_mib=1, files=10, seed=2)
        state = new_domain(self.path("state"), F.dms_file)
        first = appliance_backup(state, root, self.path("out"))
        second = appliance_backup(state, root, self.path("out"))  # within the same second: "-2"
        self.assertNotEqual(first, second)
        for path in (first, second):
            self.assertAccepted(path)
            self.assertAccepted(path, "--dms-file", F.dms_file)
        a, b = read(first), read(second)
        ha, hb = Layout(a).header_json(a), Layout(b).header_json(b)
        self.assertGreater(len(ha["components"]), 1)
        if "chain" not in ha and "chain" not in hb and "KEEPSAKE_TEST_REQUIRE" not in os.environ:
            self.skipTest(f"{KEEPSAKE_BIN} writes no 'chain' in appliance backups (built before it existed?)")
        self.assertEqual(ha["chain"]["sequence"], 1)
        self.assertNotIn("previous_header_sha256", ha["chain"])
        self.assertEqual(hb["chain"]["sequence"], 2)
        self.assertEqual(hb["chain"]["previous_header_sha256"],
                         hashlib.sha256(a[:16 + Layout(a).header_len]).hexdigest())
        _, verdict = self.verdict_json(first)
        self.assertEqual(verdict["header"]["chain"], ha["chain"])


# --------------------------------------------------------------------------------------
# damaged copies are refused
# --------------------------------------------------------------------------------------

def flipped(data, pos, mask=0x01):
    out = bytearray(data)
    out[pos] ^= mask
    return bytes(out)


class TamperedCopyTest(VerifierTestCase):

    @classmethod
    def setUpClass(cls):
        cls.data = read(F.big)
        cls.layout = Layout(cls.data)
        assert len(cls.layout.chunks) == 3, cls.layout.chunks
        cls.small = read(F.small)
        cls.small_layout = Layout(cls.small)

    def variants(self):
        """name -> damaged copy of the big backup."""
        d, lay = self.data, self.layout
        h, t = lay.header_len, lay.trailer
        (c0, n0), (c1, n1), (c2, n2) = lay.chunks
        return {
            "prefix magic flipped": flipped(d, 0),
            "prefix version flipped": flipped(d, 8),
            "prefix reserved flipped": flipped(d, 10),
            "prefix header_len flipped": flipped(d, 12),
            "header JSON flipped": flipped(d, 16 + h // 2),
            "header JSON last byte flipped": flipped(d, 16 + h - 1),
            "header signature flipped": flipped(d, 16 + h + 10),
            "first chunk length flipped": flipped(d, c0 + 2, 0x80),  # 8 MiB more or less
            "first chunk length low byte flipped": flipped(d, c0),
            "first chunk ciphertext flipped": flipped(d, c0 + 4 + 100),
            "middle of the body flipped": flipped(d, (lay.body + t) // 2),
            "last chunk MAC flipped": flipped(d, t - 1),
            "trailer magic flipped": flipped(d, t),
            "trailer chunk_count flipped": flipped(d, t + 8),
            "trailer body_len flipped": flipped(d, t + 16),
            "trailer chunk_root flipped": flipped(d, t + 40),
            "trailer signature flipped": flipped(d, t + 100),
            "cut in the prefix": d[:10],
            "cut in the header": d[:16 + h // 2],
            "cut in the header signature": d[:16 + h + 30],
            "cut in a chunk": d[:c1 + 1000],
            "cut inside a chunk length": d[:c1 + 2],
            "cut at a chunk boundary": d[:c1],
            "cut after the final chunk": d[:t],
            "cut inside the trailer": d[:t + 60],
            "cut one byte short": d[:-1],
            "empty file": b"",
            "byte appended": d + b"\0",
            "trailer repeated": d + d[t:],
            "chunks 0 and 1 swapped": d[:c0] + d[c1:c1 + n1] + d[c0:c0 + n0] + d[c2:],
            "chunk 1 dropped": d[:c1] + d[c2:],
            "final chunk dropped": d[:c2] + d[t:],
            "chunk 1 repeated": d[:c2] + d[c1:c1 + n1] + d[c2:],
            "header of another backup": self.small[:self.small_layout.body] + d[lay.body:],
            "body of another backup": d[:lay.body] + self.small[self.small_layout.body:],
            "trailer of another backup": d[:t] + self.small[self.small_layout.trailer:],
        }

    # What the verifier names for some of them: the check meant for that damage (FORMAT.md §6,
    # §12.5, §12.6).
    EXPECTED = {
        "prefix magic flipped": "no KSBACKUP magic",
        "prefix version flipped": "format version",
        "prefix reserved flipped": "reserved bytes are not zero",
        "header JSON flipped": "header",
        "header signature flipped": "header signature is invalid",
        "first chunk length flipped": "chunk 0: length",
        "trailer magic flipped": "chunk 3: length",  # no magic where a chunk length is due
        "trailer signature flipped": "trailer signature is invalid",
        "trailer chunk_root flipped": "trailer signature is invalid",
        "cut in the header": "ends inside its header",
        "cut in the header signature": "ends inside the header signature",
        "cut in a chunk": "ends inside chunk 1",
        "cut at a chunk boundary": "truncated",
        "cut inside the trailer": "ends inside the trailer",
        "byte appended": "appended",
        "chunks 0 and 1 swapped": "chunk tree in the trailer does not match",
        "chunk 1 dropped": "chunk tree in the trailer does not match",
        "final chunk dropped": "chunk tree in the trailer does not match",
        "header of another backup": "chunk 0: length",  # its chunk_size is 1 KiB
        "body of another backup": "chunk tree in the trailer does not match",
    }
    # With the DMS the chunks are opened as they come (§12.5, step 16).
    EXPECTED_WITH_DMS = {
        "first chunk ciphertext flipped": "chunk 0 failed authentication",
        "chunks 0 and 1 swapped": "chunk 0 failed authentication",
        "chunk 1 dropped": "chunk 1 failed authentication",
        "chunk 1 repeated": "chunk 2 failed authentication",
        "final chunk dropped": "chunk tree in the trailer does not match",  # checked before step 13
        "cut at a chunk boundary": "truncated",
        "cut after the final chunk": "ends inside the trailer",
        "body of another backup": "chunk 0 failed authentication",
        "trailer chunk_root flipped": "trailer signature is invalid",
        "byte appended": "appended",
    }

    def test_every_damaged_copy_is_refused_without_a_secret(self):
        variants = self.variants()
        paths = [self.write(f"copy-{i}.ksb", data) for i, data in enumerate(variants.values())]
        for (name, _), (code, message) in zip(variants.items(), self.verdicts(paths)):
            with self.subTest(name):
                self.assertEqual(code, EXIT_CORRUPT, f"{name}: {message}")
                self.assertIn(self.EXPECTED.get(name, ""), message)
        # The command line says so too, without control characters.
        self.assertIn("chunk tree in the trailer does not match",
                      self.assertDamaged(self.write("swapped.ksb", variants["chunks 0 and 1 swapped"])).stdout)

    def test_damaged_bodies_are_refused_with_the_dms(self):
        variants = self.variants()
        names = list(self.EXPECTED_WITH_DMS) + ["header of another backup", "middle of the body flipped"]
        paths = [self.write(f"copy-{i}.ksb", variants[name]) for i, name in enumerate(names)]
        for name, path, (code, message) in zip(names, paths, self.verdicts(paths, F.dms_file)):
            with self.subTest(name):
                self.assertEqual(code, EXIT_CORRUPT, f"{name}: {message}")
                self.assertIn(self.EXPECTED_WITH_DMS.get(name, ""), message)
                keepsake = self.keepsake_verify(path)
                self.assertEqual(keepsake.returncode, EXIT_CORRUPT, f"keepsake verify: {keepsake.stderr}")
                self.assertIn(message, keepsake.stderr)  # the same words as the binary's
        self.assertDamaged(paths[0], "--dms-file", F.dms_file)

    def test_a_damaged_file_is_named_without_its_control_characters(self):
        proc = self.assertDamaged(self.write("evil\x1b[2J\x9b31m.ksb", self.data[:100]))
        self.assertIn("\\x1b[2J", proc.stdout)
        code, verdict = self.verdict_json(self.path("evil\x1b[2J\x9b31m.ksb"))
        self.assertEqual((code, verdict["verdict"]), (EXIT_CORRUPT, "damaged"))
        self.assertIsNone(verdict["header"])  # never shown before its signature verified

    def sweep(self, path, dms_file=""):
        proc = run_system_python(SWEEP, path, dms_file, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        result = json.loads(proc.stdout)
        size = len(read(path))
        self.assertEqual(result["variants"], 3 * size)
        self.assertEqual(result["bad"], [], f"{len(result['bad'])} of {result['variants']} damaged copies of a "
                                           f"{size}-byte backup were not refused with exit 4")

    def test_every_flipped_byte_and_every_truncation_of_a_small_backup_is_refused(self):
        self.assertLess(len(self.small), 4096)
        self.assertGreater(len(self.small_layout.chunks), 1)  # 1 KiB chunks: chunk boundaries too
        self.sweep(F.small)

    def test_every_flipped_byte_and_every_truncation_is_refused_with_the_dms_too(self):
        self.sweep(F.small, F.dms_file)


class SignedButInconsistentTest(VerifierTestCase):
    """Files re-sealed with the domain's keys (FORGE): the signatures are valid, so only the
    checks behind them can refuse. `keepsake verify` is asked too: a disagreement means
    FORMAT.md and the binary differ."""

    def forge_many(self, requests, source=None, dms=DMS):
        """The files FORGE writes for `requests` (source F.small unless a request names one;
        "big" is F.big, whose 1 MiB chunks make long tails cheap)."""
        full = []
        for request in requests:
            self.forged = getattr(self, "forged", 0) + 1
            named = request.get("source") or source or F.small
            full.append(dict(request, out=self.path(f"forged-{self.forged}.ksb"), dms=dms,
                             source={"big": F.big}.get(named, named)))
        proc = run_system_python(FORGE, json.dumps(full))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return [request["out"] for request in full]

    def forge(self, source=None, dms=DMS, **request):
        return self.forge_many([request], source, dms)[0]

    def test_a_faithful_reseal_is_accepted_by_both(self):
        path = self.forge()
        self.assertAccepted(path, "--dms-file", F.dms_file, "--public-key", F.public_key)
        proc = self.keepsake_verify(path)
        self.assertEqual(proc.returncode, EXIT_OK, proc.stderr)
        # Signed by the writer's own device key, which the domain key certified (§12.2).
        self.assertNotEqual(Layout(read(path)).header_json(read(path))["signer"]["public_key"],
                            device_key(F.state)[0])

    def test_a_control_character_in_a_signed_header_field_is_refused(self):
        path = self.forge(header={"device.hostname": "vm\x1b]0;pwned\x07"})
        proc = self.assertDamaged(path)
        self.assertIn("'device.hostname': contains a control character", proc.stdout)
        self.assertEqual(self.keepsake_verify(path).returncode, EXIT_CORRUPT)

    def test_header_components_that_the_body_does_not_hold_are_refused(self):
        data = read(F.small)
        components = Layout(data).header_json(data)["components"]
        components[0]["bytes"] += 1
        path = self.forge(header={"components": components})
        self.assertAccepted(path)  # the framing and both signatures are fine ...
        proc = self.assertDamaged(path, "--dms-file", F.dms_file)  # ... the content is not
        self.assertIn("component 'tree'", proc.stdout)
        self.assertEqual(self.keepsake_verify(path).returncode, EXIT_CORRUPT)

    def test_a_trailer_that_miscounts_the_chunks_is_refused(self):
        path = self.forge(count_delta=1)
        proc = self.assertDamaged(path)
        self.assertIn("trailer does not match the body", proc.stdout)
        self.assertEqual(run_keepsake("--state-dir", F.state, "inspect", path).returncode, EXIT_CORRUPT)

    def test_a_body_without_a_final_chunk_is_refused_with_the_dms(self):
        path = self.forge(no_final=True)
        # Without a key it cannot be seen (FORMAT.md §6, "Integrity without a secret").
        self.assertAccepted(path)
        proc = self.assertDamaged(path, "--dms-file", F.dms_file)
        self.assertIn("without the final chunk", proc.stdout)
        self.assertEqual(self.keepsake_verify(path).returncode, EXIT_CORRUPT)

    def test_a_member_that_does_not_match_the_manifest_is_refused(self):
        path = self.forge(tar={"edit": {"d/f.txt": "x" * SMALL_FILE_SIZE}})  # the same size
        proc = self.assertDamaged(path, "--dms-file", F.dms_file)
        self.assertIn("'d/f.txt' does not match its manifest entry", proc.stdout)
        self.assertEqual(self.keepsake_verify(path).returncode, EXIT_CORRUPT)

    def check_both(self, cases, source=None, dms=DMS, dms_file=None, state=None):
        """Each case: name -> (request, (exit without a secret, message or ""), (exit with the
        DMS, message)). The binary must give the second exit code with the DMS, and the same
        message (where the verifier says "this verifier", the binary says "this build")."""
        paths = self.forge_many([request for request, _, _ in cases.values()], source, dms)
        without, with_dms = self.verdicts(paths), self.verdicts(paths, dms_file or F.dms_file)
        for (name, (_, (code, message), (dms_code, dms_message))), path, got, got_dms in \
                zip(cases.items(), paths, without, with_dms):
            with self.subTest(name):
                self.assertEqual(got[0], code, f"{name}, without a secret: {got}")
                self.assertIn(message, got[1])
                self.assertEqual(got_dms[0], dms_code, f"{name}, with the DMS: {got_dms}")
                self.assertIn(dms_message, got_dms[1])
                keepsake = self.keepsake_verify(path, state, dms_file)
                self.assertEqual(keepsake.returncode, dms_code, f"{name}: keepsake verify: {keepsake.stderr}")
                if dms_code != EXIT_OK:
                    self.assertIn(got_dms[1].replace("this verifier", "this build"), keepsake.stderr)

    ACCEPTED = (EXIT_OK, ""), (EXIT_OK, "")

    # Damage to the content behind valid signatures, each refused with the DMS (FORMAT.md
    # §5, §6 steps 23-25): the request to FORGE, then what the verifier names.
    CONTENT_DAMAGE = {
        "a second zstd frame in a chunk": ({"frame_suffix": {"0": "28b52ffd2000010000"}},
                                           "chunk 0: unexpected data after its compressed frame"),
        "a byte after a chunk's frame": ({"frame_suffix": {"1": "00"}},
                                         "chunk 1: unexpected data after its compressed frame"),
        "a skippable frame before a chunk's frame": ({"frame_prefix": {"1": "502a4d1800000000"}},
                                                     "chunk 1: unexpected data after its compressed frame"),
        "a chunk that is not a zstd frame": ({"frame_prefix": {"2": "00000000"}},
                                             "chunk 2: compressed data: Unknown frame descriptor"),
        "a frame whose content checksum is wrong": ({"frame_xor_last": {"1": 1}},
                                                    "chunk 1: compressed data: Restored data doesn't match checksum"),
        "more than 1 MiB after the tar's end": ({"tar": {"tail_zeros": 2 << 20}, "source": "big"},
                                                "unexpected data after the end of the tar stream"),
        "no manifest": ({"tar": {"drop_manifest": True}}, "the backup has no manifest"),
        "a member after the manifest": ({"tar": {"add": [{"path": "late", "type": "dir", "after_manifest": True}]}},
                                        "follows the manifest"),
        "a member the manifest does not list": ({"tar": {"add": [{"path": "unlisted", "type": "dir"}]}},
                                                "entries that its manifest does not list"),
        "a '..' path": ({"tar": {"add": [{"path": "d/../x", "type": "dir"}]}}, "unsafe tar member"),
        "an absolute path": ({"tar": {"add": [{"path": "/etc/x", "type": "dir"}]}}, "unsafe tar member"),
        "a member twice": ({"tar": {"add": [{"path": "d", "type": "dir"}]}}, "appears twice"),
        "a hard link": ({"tar": {"add": [{"path": "hard", "type": "hardlink", "link": "d/f.txt"}]}}, "'hard'"),
        "a FIFO": ({"tar": {"add": [{"path": "fifo", "type": "fifo"}]}}, "unsupported type"),
        "a symlink target changed": ({"tar": {"edit": {"l": "d"}}}, "'l' does not match its manifest entry"),
        # §12.5: one whole frame per chunk, holding exactly chunk_size bytes (the last 1..chunk_size).
        "a chunk short of chunk_size": ({"cuts": [1000]}, "chunk 0 holds 1000 bytes, not the 1024 of a chunk"),
        "a chunk over chunk_size": ({"cuts": [1100]}, "chunk 0 holds more than the 1024 bytes of a chunk"),
        "an empty last chunk": ({"pad_to_chunk": True, "last_frame": "empty plaintext"},
                                "compressed data ends inside its frame"),
        "a last chunk whose frame holds nothing": ({"pad_to_chunk": True, "last_frame": "empty frame"},
                                                   "holds 0 bytes, not the 1024 of a chunk"),
        # §12.1: ZSTD_COMPRESSBOUND(1024) + 16 = 1107 is the longest chunk: one that long passes
        # the framing and fails in zstd.
        "a chunk exactly at the length bound": ({"frame_size": {"0": 1091}},
                                                "chunk 0: unexpected data after its compressed frame"),
    }

    def test_content_damage_behind_valid_signatures_is_refused(self):
        self.check_both({name: (request, (EXIT_OK, ""), (EXIT_CORRUPT, message))
                         for name, (request, message) in self.CONTENT_DAMAGE.items()})

    def test_what_section_12_allows_is_accepted_by_both(self):
        # A reader does not require the content checksum (§5.1) nor the content size in the
        # frame header; zeros after the tar up to a whole chunk are data after its end (§5.2).
        self.check_both({"frames without a content checksum": ({"no_checksum": True},) + self.ACCEPTED,
                         "frames without a content size": ({"no_content_size": True},) + self.ACCEPTED,
                         "a tar padded to whole chunks": ({"pad_to_chunk": True},) + self.ACCEPTED})

    def test_inconsistent_signers_and_keys_are_refused(self):
        other_box = Layout(read(F.other)).header_json(read(F.other))["domain"]["box_public_key"]
        damaged = lambda message: ((EXIT_CORRUPT, message),) * 2  # noqa: E731
        self.check_both({
            "a chunk one byte over the length bound": ({"frame_size": {"0": 1092}},)
            + damaged("chunk 0: length 1108 is out of range"),
            "signer.device_id is not device.device_id": ({"signer_device_id": "another-device"},)
            + damaged("'signer.device_id': is not device.device_id"),
            "a certificate by another domain's key": ({"certifier_dms": OTHER_DMS},)
            + damaged("the device certificate is not signed by the domain key the header names"),
            "signer.key_epoch is not domain.key_epoch": ({"header": {"signer.key_epoch": 2}},)
            + damaged("'signer.key_epoch': differs from domain.key_epoch"),
            "key epoch 2": ({"header": {"signer.key_epoch": 2, "domain.key_epoch": 2}},)
            + damaged("key epoch 2 is not supported"),
            # Sealed to the domain's box key, but the header names another one (§12.6 step 10).
            "a box public key that is not the domain's": ({"header": {"domain.box_public_key": other_box}},
                                                          (EXIT_OK, ""),
                                                          (EXIT_AUTH, "is sealed to a key that is not domain")),
        })

    def test_format_v1_files_written_from_the_specification(self):
        # The published v1 vector, opened and re-sealed in v1 (§2, §4): a faithful copy is
        # accepted by both, a signed-but-inconsistent one refused by both.
        vector = os.path.join(VECTOR_DIRS[1], "backup.ksb")
        dms_file = os.path.join(VECTOR_DIRS[1], "dms.txt")
        with open(dms_file, encoding="utf-8") as f:
            dms = f.readline().rstrip("\n")
        state = self.path("v1-reader")
        self.check_both({
            "a faithful v1 reseal": ({},) + self.ACCEPTED,
            "a v1 body without a final chunk": ({"no_final": True}, (EXIT_OK, ""),
                                                (EXIT_CORRUPT, "without the final chunk")),
            "bytes after the v1 zstd frame": ({"zst_suffix": "00"}, (EXIT_OK, ""),
                                              (EXIT_CORRUPT, "unexpected data after the end of the compressed frame")),
            "a member the v1 manifest does not list": ({"tar": {"add": [{"path": "unlisted", "type": "dir"}]}},
                                                       (EXIT_OK, ""),
                                                       (EXIT_CORRUPT, "entries that its manifest does not list")),
        }, source=vector, dms=dms, dms_file=dms_file, state=state)
        self.assertEqual(Layout(read(self.forge(source=vector, dms=dms))).version, 1)


# --------------------------------------------------------------------------------------
# wrong keys, revoked signers, usage
# --------------------------------------------------------------------------------------

class KeyAndUsageTest(VerifierTestCase):

    def test_a_wrong_dms_is_refused_with_exit_3(self):
        proc = run_verifier(F.big, "--dms-file", F.wrong_dms_file)
        self.assertVerdict(proc, EXIT_AUTH, "UNAUTHENTICATED: ")
        self.assertIn("wrong Domain Master Secret", proc.stdout)
        self.assertVerdict(run_verifier(F.other, "--dms-file", F.dms_file), EXIT_AUTH, "UNAUTHENTICATED: ")

    def test_a_foreign_public_key_is_refused_with_exit_3(self):
        self.assertVerdict(run_verifier(F.big, "--public-key", F.other_public_key), EXIT_AUTH, "UNAUTHENTICATED: ")
        self.assertVerdict(run_verifier(F.other, "--public-key", F.public_key), EXIT_AUTH, "UNAUTHENTICATED: ")
        code, verdict = self.verdict_json(F.big, "--public-key", F.other_public_key)
        self.assertEqual((code, verdict["verdict"]), (EXIT_AUTH, "unauthenticated"))

    def test_usage_errors_exit_2(self):
        self.assertEqual(subprocess.run([SYSTEM_PYTHON, VERIFIER], capture_output=True).returncode, EXIT_USAGE)
        self.assertEqual(run_verifier(F.big, "--public-key", "abcd").returncode, EXIT_USAGE)
        self.assertEqual(run_verifier(self.path("missing.ksb")).returncode, EXIT_USAGE)
        self.assertEqual(run_verifier(F.big, "--dms-file", self.path("missing.dms")).returncode, EXIT_USAGE)
        bad_dms = self.write("bad.dms", b"secret with a \x1b control character\n")
        self.assertEqual(run_verifier(F.big, "--dms-file", bad_dms).returncode, EXIT_USAGE)
        self.assertEqual(run_verifier(F.big, "--revocations", self.path("missing.json")).returncode, EXIT_USAGE)
        not_a_list = self.write("not-a-list.json", b'{"list": "[]", "signature": "\x1b"}')
        proc = run_verifier(F.big, "--revocations", not_a_list)
        self.assertEqual(proc.returncode, EXIT_USAGE)
        self.assertTrue(no_control_characters(proc.stdout + proc.stderr), proc.stderr)


class RevocationTest(VerifierTestCase):
    """A domain-signed revocation list (FORMAT.md §12.4), made by `keepsake device revoke`:
    appliance A revokes appliance B's key, first from 2099 on, then from 2000 on."""

    @classmethod
    def setUpClass(cls):
        cls._dir = tempfile.TemporaryDirectory(prefix="ks-pyverify-rev-")
        base = cls._dir.name
        cls.a = new_domain(os.path.join(base, "a"), F.dms_file)
        cls.a_backup = backup(cls.a, F.small_source, os.path.join(base, "out-a"))
        cls.b = join_domain(os.path.join(base, "b"), cls.a_backup, F.dms_file)
        cls.b_backup = backup(cls.b, F.small_source, os.path.join(base, "out-b"))
        cls.domain_key = public_key(cls.a, cls.a_backup)
        key, device_id, _ = device_key(cls.b)
        cls.lists = []
        for refuse_from in ("2099-01-01T00:00:00Z", "2000-01-01T00:00:00Z"):
            ok(run_keepsake("--state-dir", cls.a, "device", "revoke", "--device-key", key, "--device-id", device_id,
                            "--refuse-from", refuse_from, "--dms-file", F.dms_file), "device revoke")
            cls.lists.append(os.path.join(base, f"revocations-{len(cls.lists) + 1}.json"))
            shutil.copy(os.path.join(cls.a, "revocations.json"), cls.lists[-1])

    @classmethod
    def tearDownClass(cls):
        cls._dir.cleanup()

    def test_a_signer_revoked_from_before_the_backup_is_refused_by_both(self):
        for args in ((), ("--dms-file", F.dms_file), ("--public-key", self.domain_key)):
            proc = run_verifier(self.b_backup, "--revocations", self.lists[1], *args)
            self.assertVerdict(proc, EXIT_AUTH, "UNAUTHENTICATED: ")
            self.assertIn("whose key the domain revoked for backups made from 2000-01-01T00:00:00Z on", proc.stdout)
        keepsake = run_keepsake("--state-dir", self.a, "verify", self.b_backup)  # list 2 is installed on A
        self.assertEqual(keepsake.returncode, EXIT_AUTH, keepsake.stderr)
        message = run_verifier(self.b_backup, "--revocations", self.lists[1]).stdout.split(": ", 2)[2].strip()
        self.assertIn(message, keepsake.stderr)

    def test_backups_made_before_refuse_from_and_other_signers_are_accepted(self):
        proc = self.assertAccepted(self.b_backup, "--revocations", self.lists[0], "--dms-file", F.dms_file)
        self.assertIn("not revoked by revocation list 1", proc.stdout)
        self.assertAccepted(self.a_backup, "--revocations", self.lists[1], "--public-key", self.domain_key)
        self.assertAccepted(self.b_backup)  # no list given: nothing is revoked

    def test_a_list_that_is_not_the_domains_is_refused_with_exit_3(self):
        # A list of another domain than --public-key's, a forged one, one for another domain's backup.
        self.assertVerdict(run_verifier(self.b_backup, "--revocations", self.lists[1], "--public-key", F.public_key),
                           EXIT_AUTH, "UNAUTHENTICATED: ")
        with open(self.lists[1]) as f:
            doc = json.load(f)
        doc["list"] = doc["list"].replace("2000-01-01", "2001-01-01")
        forged = self.write("forged.json", json.dumps(doc).encode())
        proc = run_verifier(self.b_backup, "--revocations", forged)
        self.assertVerdict(proc, EXIT_AUTH, "UNAUTHENTICATED: ")
        self.assertIn("the revocation list is not signed by this domain", proc.stdout)
        self.assertVerdict(run_verifier(F.small, "--revocations", self.lists[1]), EXIT_AUTH, "UNAUTHENTICATED: ")


# --------------------------------------------------------------------------------------
# the published vectors (tests/vectors/v1 and v2, made by tests/vectors/make_v1.sh and
# make_v2.sh): both readers find in them exactly what expected.json states
# --------------------------------------------------------------------------------------

VECTOR_DIRS = {1: os.path.join(REPO, "tests", "vectors", "v1"), 2: os.path.join(REPO, "tests", "vectors", "v2")}

# argv: tools dir, expected.json, DMS file. The keys the DMS derives (§4.1, §12.2), and
# whether the stated device certificate verifies under the derived domain key (v2).
DERIVE = r"""
import base64, json, struct, sys
sys.path.insert(0, sys.argv[1])
import verify_backup as v
expected = json.load(open(sys.argv[2]))
dms = v.dms_bytes_s4_1(v.read_dms_file_s4_1(sys.argv[3]))
d = expected["domain"]
fields = {"salt": bytes.fromhex(d["salt"]), "opslimit": d["kdf"]["opslimit"], "memlimit_kib": d["kdf"]["memlimit_kib"]}
public_key, _, kek = v.derive_domain_keys_s4_1(dms, fields)
out = {"public_key": public_key.hex(), "kek_base64": base64.b64encode(kek).decode(),
       "fingerprint": v.domain_fingerprint_s4_2(public_key)}
if expected["format_version"] == 2:
    _, _, box_public, box_secret = v.derive_domain_keys_s12_2(dms, fields)
    out.update(box_public_key=box_public.hex(), restore_key_base64=base64.b64encode(box_secret).decode())
    s = expected["signer"]
    signer = {"public_key": public_key, "signer_public_key": bytes.fromhex(s["public_key"]),
              "signer_key_epoch": s["key_epoch"], "certified_at": s["certified_at"], "signer_device_id": s["device_id"]}
    out["certificate_verifies"] = v.verify_signature_s4_5(
        public_key, v.device_certificate_message_s12_2(signer), base64.b64decode(s["certificate_base64"]))
    out["device_fingerprint"] = v.domain_fingerprint_s4_2(bytes.fromhex(s["public_key"]))
print(json.dumps(out))
"""


class PublishedVector:
    """The tests of a published vector; a test case per format version (VERSION)."""
    VERSION = None

    def setUp(self):
        super().setUp()
        self.dir = VECTOR_DIRS[self.VERSION]
        with open(os.path.join(self.dir, "expected.json")) as f:
            self.expected = json.load(f)
        self.backup = os.path.join(self.dir, "backup.ksb")
        self.dms_file = os.path.join(self.dir, self.expected["dms_file"])
        self.data = read(self.backup)
        self.layout = Layout(self.data)

    def test_the_bytes_hold_the_stated_digests(self):
        e = self.expected
        self.assertEqual(self.layout.version, e["format_version"])
        self.assertEqual(len(self.data), e["file_size"])
        self.assertEqual(hashlib.sha256(self.data).hexdigest(), e["whole_file_sha256"])
        self.assertEqual(hashlib.sha256(self.data[:16 + e["header_len"]]).hexdigest(), e["header_sha256"])

    def derived(self):
        proc = run_system_python(DERIVE, os.path.join(self.dir, "expected.json"), self.dms_file)
        return json.loads(ok(proc, "deriving the vector's keys"))

    def test_the_python_verifier_finds_exactly_the_stated_content(self):
        code, j = self.verdict_json(self.backup, "--dms-file", self.dms_file,
                                    "--public-key", self.expected["domain"]["public_key"])
        self.assertEqual(code, EXIT_OK, j)
        self.assertEqual(j["header_sha256"], self.expected["header_sha256"])
        self.assertEqual(j["header"]["backup_id"], self.expected["backup_id"])
        self.assertEqual(j["header"]["file_name"], self.expected["file_name"])
        self.assertEqual(tree_of_members(j["members"]), tree_of_members(self.expected["members"]))
        return j

    def test_keepsake_finds_exactly_the_stated_content(self):
        # A fresh appliance: no keystore, only the vector's DMS.
        state = self.path("state")
        ok(run_keepsake("--state-dir", state, "verify", self.backup, "--dms-file", self.dms_file), "keepsake verify")
        inspect = json.loads(ok(run_keepsake("--state-dir", state, "inspect", self.backup, "--json"), "inspect"))
        self.assertEqual(inspect["domain"]["public_key"], self.expected["domain"]["public_key"])
        self.assertEqual(inspect["domain"]["fingerprint"], self.expected["domain"]["fingerprint"])
        self.assertEqual(inspect["integrity"]["state"], "intact")
        target = self.path("extracted")
        ok(run_keepsake("--state-dir", state, "extract", self.backup, "--to", target, "--dms-file", self.dms_file),
           "keepsake extract")
        self.assertEqual(tree_of(target), tree_of_members(self.expected["members"]))
        return state, inspect

    def tampered(self):
        """name -> tampered copy of the vector."""
        d = self.data
        return {f"flip at {offset}": flipped(d, offset)
                for offset in (10, 16 + self.expected["header_len"] // 2, len(d) // 2 + 400, len(d) - 1)}

    def test_a_tampered_copy_of_the_vector_is_refused_by_both(self):
        variants = self.tampered()
        paths = [self.write(f"tampered-{i}.ksb", data) for i, data in enumerate(variants.values())]
        without, with_dms = self.verdicts(paths), self.verdicts(paths, self.dms_file)
        state = self.path("state")
        for name, path, got, got_dms in zip(variants, paths, without, with_dms):
            with self.subTest(name):
                self.assertEqual(got[0], EXIT_CORRUPT, f"{name}, without a secret: {got}")
                self.assertEqual(got_dms[0], EXIT_CORRUPT, f"{name}, with the DMS: {got_dms}")
                proc = run_keepsake("--state-dir", state, "verify", path, "--dms-file", self.dms_file)
                self.assertEqual(proc.returncode, EXIT_CORRUPT, f"{name}: {proc.stdout}{proc.stderr}")
                self.assertIn(got_dms[1], proc.stderr)  # both name the same check
        self.assertDamaged(paths[0])


class PublishedVectorV1Test(PublishedVector, VerifierTestCase):
    VERSION = 1

    def test_the_bytes_hold_the_stated_digests(self):
        super().test_the_bytes_hold_the_stated_digests()
        e = self.expected
        self.assertEqual(hashlib.sha256(self.data[:-120]).hexdigest(), e["trailer_file_hash"])
        self.assertEqual(self.data[-120 + 24:-120 + 56].hex(), e["trailer_file_hash"])  # the trailer carries it

    def test_the_dms_derives_the_stated_keys_in_python(self):
        got = self.derived()
        d = self.expected["domain"]
        keys = ("public_key", "kek_base64", "fingerprint")
        self.assertEqual({k: got[k] for k in keys}, {k: d[k] for k in keys})

    def test_the_vector_is_accepted_without_a_secret_and_with_the_public_key(self):
        self.assertAccepted(self.backup)
        self.assertAccepted(self.backup, "--public-key", self.expected["domain"]["public_key"])


class PublishedVectorV2Test(PublishedVector, VerifierTestCase):
    VERSION = 2

    def test_the_bytes_hold_the_stated_digests(self):
        super().test_the_bytes_hold_the_stated_digests()
        e, lay = self.expected, self.layout
        self.assertEqual(len(lay.chunks), e["chunk_count"])
        self.assertEqual([size - 4 for _, size in lay.chunks], e["chunk_lengths"])
        leaves = [hashlib.sha256(lay.chunk(self.data, i)[4:]).hexdigest() for i in range(len(lay.chunks))]
        self.assertEqual(leaves, e["chunk_leaves"])
        root = hashlib.sha256(b"keepsake-chunk-tree-v2" + bytes.fromhex(e["header_sha256"])
                              + b"".join(bytes.fromhex(leaf) for leaf in leaves)).hexdigest()
        self.assertEqual(root, e["trailer_chunk_root"])
        self.assertEqual(self.data[-96:-64].hex(), root)  # the trailer carries it (§12.5)
        self.assertEqual(struct.unpack_from("<QQ", self.data, len(self.data) - 112), (e["chunk_count"], e["body_len"]))

    def test_the_dms_derives_the_stated_keys_in_python(self):
        got = self.derived()
        d, s = self.expected["domain"], self.expected["signer"]
        self.assertEqual((got["public_key"], got["fingerprint"]), (d["public_key"], d["fingerprint"]))
        self.assertEqual((got["box_public_key"], got["restore_key_base64"]),
                         (d["box_public_key"], d["restore_key_base64"]))
        self.assertTrue(got["certificate_verifies"])
        self.assertEqual(got["device_fingerprint"], s["fingerprint"])

    def test_the_vector_is_accepted_without_a_secret_and_with_the_public_key(self):
        for args in ((), ("--public-key", self.expected["domain"]["public_key"])):
            code, j = self.verdict_json(self.backup, *args)
            self.assertEqual(code, EXIT_OK, j)
            self.assertEqual(j["trailer"], {"chunk_count": self.expected["chunk_count"],
                                            "body_len": self.expected["body_len"],
                                            "chunk_root": self.expected["trailer_chunk_root"]})
        self.assertAccepted(self.backup, "--public-key", self.expected["domain"]["public_key"])
        self.assertAccepted(self.backup, "--dms-file", self.dms_file)

    def test_the_python_verifier_finds_exactly_the_stated_content(self):
        j = super().test_the_python_verifier_finds_exactly_the_stated_content()
        e = self.expected
        self.assertEqual(j["tar_sha256"], e["tar_sha256"])
        signer = j["header"]["signer"]
        self.assertEqual({k: signer[k] for k in ("device_id", "public_key", "key_epoch", "certified_at")},
                         {k: e["signer"][k] for k in ("device_id", "public_key", "key_epoch", "certified_at")})
        self.assertEqual(signer["certificate"], e["signer"]["certificate_base64"])
        self.assertEqual(j["header"]["domain"]["box_public_key"], e["domain"]["box_public_key"])

    def test_keepsake_finds_exactly_the_stated_content(self):
        state, inspect = super().test_keepsake_finds_exactly_the_stated_content()
        self.assertEqual(inspect["signer"]["public_key"], self.expected["signer"]["public_key"])
        out = self.path("vector.tar.zst")
        ok(run_keepsake("--state-dir", state, "decrypt", self.backup, "-o", out, "--dms-file", self.dms_file),
           "keepsake decrypt")
        self.assertEqual(sha256_of(out), self.expected["tar_zst_sha256"])

    def tampered(self):
        d, lay = self.data, self.layout
        h, t, n = lay.header_len, lay.trailer, len(lay.chunks)
        self.assertGreaterEqual(n, 4)
        (c1, n1), (c2, n2) = lay.chunks[1], lay.chunks[2]
        body = lambda order: b"".join(lay.chunk(d, i) for i in order)  # noqa: E731
        return {
            "header flipped": flipped(d, 16 + h // 2),
            "header_sig flipped": flipped(d, 16 + h + 20),
            "a chunk length flipped": flipped(d, c2, 0x80),
            "a chunk's ciphertext flipped": flipped(d, c2 + 4 + n2 // 2),
            "the trailer's chunk_count flipped": flipped(d, t + 8),
            "the trailer's chunk_root flipped": flipped(d, t + 24),
            "the trailer's signature flipped": flipped(d, len(d) - 1),
            "cut inside a chunk": d[:c2 + 10],
            "cut at a chunk boundary": d[:c2],
            "cut inside the trailer": d[:t + 100],
            "chunks 1 and 2 swapped": d[:lay.body] + body([0, 2, 1] + list(range(3, n))) + d[t:],
            "chunk 1 dropped": d[:lay.body] + body([0] + list(range(2, n))) + d[t:],
            "the last chunk dropped": d[:lay.body] + body(range(n - 1)) + d[t:],
            "a byte appended": d + b"\0",
        }


if __name__ == "__main__":
    unittest.main()
