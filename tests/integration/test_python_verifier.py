#!/usr/bin/env python3
"""Integration tests of tools/verify_backup.py, the independent verifier of the sealed backup
file written from docs/FORMAT.md alone, against backups made by the real `keepsake` binary.

The verifier must accept every genuine backup (without a secret, with the domain's public
key, with the DMS, agreeing with `keepsake extract`), refuse every damaged copy with exit 4
(flipped bytes, truncations, appended data, reordered, dropped or foreign chunks, a header
from another backup; every single-byte flip and every truncation of a small backup), and
refuse a wrong DMS or a foreign public key with exit 3. A few files are also re-sealed with
the domain's own keys by a writer that follows FORMAT.md (FORGE below): `keepsake` must accept
the faithful one, and both must refuse the signed-but-inconsistent ones.

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


# A writer of sealed files from FORMAT.md, with the domain's keys derived from its DMS (§4.1).
# argv: tools dir, request JSON. It decrypts `source` (§4.4), optionally edits the header
# (`header`: values set at dotted keys), the tar (`tar`: `edit` one member's content, `add`
# members before or after the manifest, `drop_manifest`, `tail_zeros` after its end; the
# manifest is left as it is), the zstd stream (`zst_suffix`, hex), the tags (`no_final`:
# every chunk TAG_MESSAGE) or the trailer's chunk count (`count_delta`), then seals it again
# (§4.3, §4.4, §2) into `out`.
FORGE = r'''
import base64, copy, hashlib, io, json, os, struct, sys, tarfile
sys.path.insert(0, sys.argv[1])
import verify_backup as vb
import nacl.bindings as s
import zstandard

req = json.loads(sys.argv[2])
data = open(req["source"], "rb").read()
H = struct.unpack_from("<I", data, 12)[0]
prefix, header = data[:16], data[16:16 + H]
doc = json.loads(header)
fields = vb.check_header_fields_s3_2(doc)
_, sk, kek = vb.derive_domain_keys_s4_1(vb.dms_bytes_s4_1(req["dms"].encode()), fields)
state = vb.open_body_stream_s4_4(vb.unwrap_file_key_s4_3(kek, fields["wrapped_file_key"], fields["backup_id"]),
                                 fields["stream_header"])
ad = hashlib.sha256(prefix + header).digest()
pos, zst = 80 + H, b""
while data[pos:pos + 4] != b"KSTR":
    n = struct.unpack_from("<I", data, pos)[0]
    zst += s.crypto_secretstream_xchacha20poly1305_pull(state, data[pos + 4:pos + 4 + n], ad)[0]
    pos += 4 + n
tar = zstandard.ZstdDecompressor().decompressobj().decompress(zst)

for dotted, value in req.get("header", {}).items():
    obj, *path = [doc] + dotted.split(".")
    for key in path[:-1]:
        obj = obj[int(key)] if isinstance(obj, list) else obj[key]
    obj[path[-1]] = value
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
    zst = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(tar)
zst += bytes.fromhex(req.get("zst_suffix", ""))

file_key = s.crypto_secretstream_xchacha20poly1305_keygen()
nonce = os.urandom(24)
wrapped = nonce + s.crypto_aead_xchacha20poly1305_ietf_encrypt(
    file_key, b"keepsake-file-key-v1:" + doc["backup_id"].encode(), nonce, kek)
state = s.crypto_secretstream_xchacha20poly1305_state()
doc["encryption"]["stream_header"] = base64.b64encode(
    s.crypto_secretstream_xchacha20poly1305_init_push(state, file_key)).decode()
doc["encryption"]["wrapped_file_key"] = base64.b64encode(wrapped).decode()
header = json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
prefix = b"KSBACKUP" + struct.pack("<HHI", 1, 0, len(header))
sig = s.crypto_sign(prefix + header, sk)[:64]
ad = hashlib.sha256(prefix + header).digest()
size = doc["encryption"]["chunk_size"]
pieces = [zst[i:i + size] for i in range(0, len(zst), size)]
body = b""
for i, piece in enumerate(pieces):
    tag = s.crypto_secretstream_xchacha20poly1305_TAG_FINAL if i == len(pieces) - 1 and \
        not req.get("no_final") else s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
    c = s.crypto_secretstream_xchacha20poly1305_push(state, piece, ad, tag)
    body += struct.pack("<I", len(c)) + c
trailer = b"KSTRAILR" + struct.pack("<QQ", len(pieces) + req.get("count_delta", 0), len(body)) + \
    hashlib.sha256(prefix + header + sig + body).digest()
with open(req["out"], "wb") as f:
    f.write(prefix + header + sig + body + trailer + s.crypto_sign(trailer, sk)[:64])
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
    # The big backup: every kind of entry, more than two chunks.
    F.source = os.path.join(base, "src")
    build_tree(F.source, rng)
    F.big = backup(F.state, F.source, os.path.join(base, "out"))
    # The small one: a few hundred bytes of content, for the sweeps.
    F.small_source = os.path.join(base, "small")
    os.makedirs(os.path.join(F.small_source, "d"))
    with open(os.path.join(F.small_source, "d", "f.txt"), "wb") as f:
        f.write(rng.randbytes(SMALL_FILE_SIZE))  # incompressible: the body needs two 1 KiB chunks
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


# --------------------------------------------------------------------------------------
# genuine backups are accepted
# --------------------------------------------------------------------------------------

class GenuineBackupTest(VerifierTestCase):

    def test_accepted_without_a_secret(self):
        for path in (F.big, F.small, F.other):
            with self.subTest(path=os.path.basename(path)):
                proc = self.assertAccepted(path)
                self.assertNotIn("\n", proc.stdout.rstrip("\n"))

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
        ok(run_keepsake("--state-dir", F.state, "extract", F.big, "--to", out), "extract")
        self.assertEqual(members, tree_of(out))
        self.assertEqual(members, tree_of(F.source))
        # Every kind of entry is there: empty, large (3 chunks), non-ASCII, nested, symlinks.
        self.assertEqual(members["empty.bin"], ("file", 0, hashlib.sha256(b"").hexdigest()))
        self.assertEqual(members["data/big.bin"][1], 2_500_123)
        self.assertEqual(members["nodes-link"], ("symlink", None, "etc/cluster/nodes.conf"))
        self.assertIn("caf\u00e9 \u00e0 la cr\u00e8me/\u65e5\u672c/na\u00efve.txt", members)
        self.assertEqual(verdict["chunks"], 3)

    def test_json_carries_the_header_fields(self):
        code, verdict = self.verdict_json(F.big)
        self.assertEqual(code, EXIT_OK, verdict)
        details = json.loads(ok(run_keepsake("--state-dir", F.state, "inspect", F.big, "--json"), "inspect"))
        for key in ("backup_id", "created_at", "file_name", "components", "device", "domain", "compression",
                    "encryption", "format", "format_version"):
            self.assertEqual(verdict["header"][key], details[key], key)
        self.assertFalse(verdict["content_checked"])
        self.assertNotIn("chain", verdict["header"])  # a --source backup has no place in a chain
        self.assertEqual(verdict["file_size"], os.path.getsize(F.big))
        data = read(F.big)
        self.assertEqual(verdict["header_sha256"],
                         hashlib.sha256(data[:16 + Layout(data).header_len]).hexdigest())


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
            "first chunk length flipped": flipped(d, c0 + 1),
            "first chunk ciphertext flipped": flipped(d, c0 + 4 + 100),
            "middle of the body flipped": flipped(d, (lay.body + t) // 2),
            "last chunk MAC flipped": flipped(d, t - 1),
            "trailer magic flipped": flipped(d, t),
            "trailer chunk_count flipped": flipped(d, t + 8),
            "trailer body_len flipped": flipped(d, t + 16),
            "trailer file_hash flipped": flipped(d, t + 40),
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

    # What the verifier names for some of them: the check meant for that damage (FORMAT.md §6).
    EXPECTED = {
        "prefix magic flipped": "no KSBACKUP magic",
        "prefix version flipped": "format version",
        "prefix reserved flipped": "reserved bytes are not zero",
        "header JSON flipped": "header",
        "header signature flipped": "header signature is invalid",
        "first chunk length flipped": "chunk 0: length",
        "trailer magic flipped": "chunk 3: length",  # no magic where a chunk length is due
        "trailer signature flipped": "trailer signature is invalid",
        "trailer file_hash flipped": "trailer signature is invalid",
        "cut in the header": "ends inside its header",
        "cut in the header signature": "ends inside the header signature",
        "cut in a chunk": "ends inside chunk 1",
        "cut at a chunk boundary": "truncated",
        "cut inside the trailer": "ends inside the trailer",
        "byte appended": "appended",
        "chunks 0 and 1 swapped": "file hash in the trailer does not match",
        "chunk 1 dropped": "file hash in the trailer does not match",
        "header of another backup": "chunk 0: length",  # its chunk_size is 1 KiB
        "body of another backup": "file hash in the trailer does not match",
    }

    def test_every_damaged_copy_is_refused_without_a_secret(self):
        for name, data in self.variants().items():
            with self.subTest(name):
                proc = self.assertDamaged(self.write("copy.ksb", data), what=name)
                self.assertIn(self.EXPECTED.get(name, ""), proc.stdout)

    def test_damaged_bodies_are_refused_with_the_dms(self):
        names = ["first chunk ciphertext flipped", "middle of the body flipped", "cut at a chunk boundary",
                 "cut after the final chunk", "chunks 0 and 1 swapped", "chunk 1 dropped", "final chunk dropped",
                 "header of another backup", "body of another backup", "trailer file_hash flipped",
                 "byte appended"]
        variants = self.variants()
        for name in names:
            with self.subTest(name):
                self.assertDamaged(self.write("copy.ksb", variants[name]), "--dms-file", F.dms_file, what=name)

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
        self.assertGreater(len(self.small_layout.chunks), 1)  # 1 KiB chunks: a chunk boundary too
        self.sweep(F.small)

    def test_every_flipped_byte_and_every_truncation_is_refused_with_the_dms_too(self):
        self.sweep(F.small, F.dms_file)


class SignedButInconsistentTest(VerifierTestCase):
    """Files re-sealed with the domain's own keys (FORGE): the signatures are valid, so only
    the checks behind them can refuse. `keepsake verify` is asked too: a disagreement means
    FORMAT.md and the binary differ."""

    def forge(self, **request):
        out = self.path("forged.ksb")
        request.update(source=F.small, dms=DMS, out=out)
        proc = run_system_python(FORGE, json.dumps(request))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return out

    def keepsake_verify(self, path):
        return run_keepsake("--state-dir", F.state, "verify", path, "--dms-file", F.dms_file)

    def test_a_faithful_reseal_is_accepted_by_both(self):
        path = self.forge()
        self.assertAccepted(path, "--dms-file", F.dms_file)
        proc = self.keepsake_verify(path)
        self.assertEqual(proc.returncode, EXIT_OK, proc.stderr)

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
        # Without a key the tags cannot be seen (FORMAT.md §6, "Integrity without a secret").
        self.assertAccepted(path)
        proc = self.assertDamaged(path, "--dms-file", F.dms_file)
        self.assertIn("without the final chunk", proc.stdout)
        self.assertEqual(self.keepsake_verify(path).returncode, EXIT_CORRUPT)

    def test_a_member_that_does_not_match_the_manifest_is_refused(self):
        path = self.forge(tar={"edit": {"d/f.txt": "x" * SMALL_FILE_SIZE}})  # the same size
        proc = self.assertDamaged(path, "--dms-file", F.dms_file)
        self.assertIn("'d/f.txt' does not match its manifest entry", proc.stdout)
        self.assertEqual(self.keepsake_verify(path).returncode, EXIT_CORRUPT)


    # Damage to the content behind valid signatures, each refused with the DMS (FORMAT.md
    # §5, §6 steps 23-25): what the verifier names, with the request to FORGE.
    CONTENT_DAMAGE = {
        "a second zstd frame": ("unexpected data after the end of the compressed frame",
                                {"zst_suffix": "28b52ffd2000010000"}),
        "bytes after the zstd frame": ("unexpected data after the end of the compressed frame",
                                       {"zst_suffix": "00"}),
        "more than 1 MiB after the tar's end": ("unexpected data after the end of the tar stream",
                                                {"tar": {"tail_zeros": 2 << 20}}),
        "no manifest": ("the backup has no manifest", {"tar": {"drop_manifest": True}}),
        "a member after the manifest": ("follows the manifest",
                                        {"tar": {"add": [{"path": "late", "type": "dir", "after_manifest": True}]}}),
        "a member the manifest does not list": ("entries that its manifest does not list",
                                                {"tar": {"add": [{"path": "unlisted", "type": "dir"}]}}),
        "a '..' path": ("unsafe tar member", {"tar": {"add": [{"path": "d/../x", "type": "dir"}]}}),
        "an absolute path": ("unsafe tar member", {"tar": {"add": [{"path": "/etc/x", "type": "dir"}]}}),
        "a member twice": ("appears twice", {"tar": {"add": [{"path": "d", "type": "dir"}]}}),
        "a hard link": ("'hard'", {"tar": {"add": [{"path": "hard", "type": "hardlink", "link": "d/f.txt"}]}}),
        "a FIFO": ("unsupported type", {"tar": {"add": [{"path": "fifo", "type": "fifo"}]}}),
        "a symlink target changed": ("'l' does not match its manifest entry", {"tar": {"edit": {"l": "d"}}}),
    }

    def test_content_damage_behind_valid_signatures_is_refused(self):
        for name, (message, request) in self.CONTENT_DAMAGE.items():
            with self.subTest(name):
                path = self.forge(**request)
                self.assertAccepted(path)  # framing and signatures are fine without the DMS
                proc = self.assertDamaged(path, "--dms-file", F.dms_file, what=name)
                self.assertIn(message, proc.stdout)
                keepsake = self.keepsake_verify(path)
                self.assertEqual(keepsake.returncode, EXIT_CORRUPT, f"keepsake verify: {keepsake.stderr}")


# --------------------------------------------------------------------------------------
# wrong keys, usage
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


# --------------------------------------------------------------------------------------
# the published vector (tests/vectors/v1, made by tests/vectors/make_v1.sh): both readers
# find in it exactly what expected.json states
# --------------------------------------------------------------------------------------

VECTOR_DIR = os.path.join(REPO, "tests", "vectors", "v1")

DERIVE = r"""
import base64, json, sys
sys.path.insert(0, sys.argv[1])
import verify_backup as v
expected = json.load(open(sys.argv[2]))
dms = v.dms_bytes_s4_1(v.read_dms_file_s4_1(sys.argv[3]))
d = expected["domain"]
fields = {"salt": bytes.fromhex(d["salt"]), "opslimit": d["kdf"]["opslimit"], "memlimit_kib": d["kdf"]["memlimit_kib"]}
public_key, _, kek = v.derive_domain_keys_s4_1(dms, fields)
print(json.dumps({"public_key": public_key.hex(), "kek_base64": base64.b64encode(kek).decode(),
                  "fingerprint": v.domain_fingerprint_s4_2(public_key)}))
"""


class PublishedVectorTest(VerifierTestCase):

    def setUp(self):
        super().setUp()
        with open(os.path.join(VECTOR_DIR, "expected.json")) as f:
            self.expected = json.load(f)
        self.backup = os.path.join(VECTOR_DIR, "backup.ksb")
        self.dms_file = os.path.join(VECTOR_DIR, self.expected["dms_file"])
        self.data = read(self.backup)

    def test_the_bytes_hold_the_stated_digests(self):
        e = self.expected
        self.assertEqual(len(self.data), e["file_size"])
        self.assertEqual(hashlib.sha256(self.data).hexdigest(), e["whole_file_sha256"])
        self.assertEqual(hashlib.sha256(self.data[:16 + e["header_len"]]).hexdigest(), e["header_sha256"])
        self.assertEqual(hashlib.sha256(self.data[:-120]).hexdigest(), e["trailer_file_hash"])
        self.assertEqual(self.data[-120 + 24:-120 + 56].hex(), e["trailer_file_hash"])  # the trailer carries it

    def test_the_dms_derives_the_stated_keys_in_python(self):
        proc = run_system_python(DERIVE, os.path.join(VECTOR_DIR, "expected.json"), self.dms_file)
        got = json.loads(ok(proc, "deriving the vector's keys"))
        d = self.expected["domain"]
        self.assertEqual(got, {"public_key": d["public_key"], "kek_base64": d["kek_base64"],
                               "fingerprint": d["fingerprint"]})

    def test_the_python_verifier_finds_exactly_the_stated_content(self):
        code, j = self.verdict_json(self.backup, "--dms-file", self.dms_file,
                                    "--public-key", self.expected["domain"]["public_key"])
        self.assertEqual(code, EXIT_OK, j)
        self.assertEqual(j["header_sha256"], self.expected["header_sha256"])
        self.assertEqual(j["header"]["backup_id"], self.expected["backup_id"])
        self.assertEqual(j["header"]["file_name"], self.expected["file_name"])
        self.assertEqual(tree_of_members(j["members"]), tree_of_members(self.expected["members"]))

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

    def test_a_tampered_copy_of_the_vector_is_refused_by_both(self):
        for offset in (10, 16 + self.expected["header_len"] // 2, len(self.data) // 2 + 400, len(self.data) - 1):
            bad = bytearray(self.data)
            bad[offset] ^= 0x01
            path = self.write(f"tampered-{offset}.ksb", bytes(bad))
            self.assertDamaged(path, "--dms-file", self.dms_file, what=f"flip at {offset}")
            proc = run_keepsake("--state-dir", self.path("state"), "verify", path, "--dms-file", self.dms_file)
            self.assertEqual(proc.returncode, EXIT_CORRUPT, f"flip at {offset}: {proc.stdout}{proc.stderr}")


if __name__ == "__main__":
    unittest.main()
