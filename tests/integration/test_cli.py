#!/usr/bin/env python3
"""Integration tests: drive the real `keepsake` binary as an administrator would.

Each state directory is one "appliance". Domains are always created with cheap KDF
parameters (1 pass, 8 KiB) so that the whole file runs in a few seconds.

Binary: env KEEPSAKE_BIN (ctest sets it), else <repository>/build/keepsake (fixtures/paths.py).
Run: python3 tests/integration/test_cli.py -v
"""

import base64
import json
import os
import random
import re
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from files import sha256_of  # noqa: E402
from cli_assertions import CliAssertions, TempDirMixin  # noqa: E402
from paths import KEEPSAKE_BIN  # noqa: E402

from exit_codes import EXIT_AUTH, EXIT_CORRUPT, EXIT_FAILURE, EXIT_IO, EXIT_OK, EXIT_USAGE  # noqa: E402,F401

TRAILER_SIZE = 120  # "KSTRAILR" + count + body_len + hash + signature (src/archive/format.h)
PREFIX_SIZE = 16
HEADER_SIG_SIZE = 64
FINGERPRINT_RE = r"(?:[0-9a-f]{4}:){7}[0-9a-f]{4}"
MANIFEST_NAME = ".keepsake-manifest.json"

# Every command run by this file, as (argv, stdout, stderr): the secrecy test scans it.
TRANSCRIPT = []


def setUpModule():
    if not (os.path.isfile(KEEPSAKE_BIN) and os.access(KEEPSAKE_BIN, os.X_OK)):
        raise RuntimeError(f"keepsake binary not found or not executable: {KEEPSAKE_BIN} (set KEEPSAKE_BIN)")


def run_keepsake(args, **kwargs):
    env = dict(os.environ)
    env.pop("KEEPSAKE_STATE_DIR", None)  # every call names its appliance explicitly
    argv = [KEEPSAKE_BIN] + [str(a) for a in args]
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          errors="replace", timeout=60, **kwargs)
    TRANSCRIPT.append((argv, proc.stdout, proc.stderr))
    return proc


def snapshot(root):
    """Every path under root (root itself excluded) -> its observable properties."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            entry = {"mode": stat.S_IMODE(st.st_mode), "mtime_ns": st.st_mtime_ns}
            if stat.S_ISLNK(st.st_mode):
                entry.update(type="symlink", target=os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                entry.update(type="dir")
            elif stat.S_ISREG(st.st_mode):
                entry.update(type="file", size=st.st_size, sha256=sha256_of(full))
            else:
                entry.update(type="other")
            out[rel] = entry
    return out


def without(tree, key, types=None):
    """The snapshot with `key` dropped (for entries of the given types, or all)."""
    return {p: {k: v for k, v in e.items() if not (k == key and (types is None or e["type"] in types))}
            for p, e in tree.items()}


def safe_hostname():
    # Mirrors SafeHostname() in src/archive/backup_name.cc.
    host = "".join(c if (c.isascii() and (c.isalnum() or c in "-.")) else "-" for c in os.uname().nodename)
    return (host or "appliance")[:64]


class Appliance:
    """One appliance: a state directory of its own."""

    def __init__(self, state_dir):
        self.state_dir = state_dir

    def run(self, *args, **kwargs):
        return run_keepsake(["--state-dir", self.state_dir] + list(args), **kwargs)

    def set_dms(self, dms_file, keep_restore_key=True):
        # Most tests here are about what a backup holds, so the appliance keeps the restore
        # key and opens its backups without the DMS. The default of `dms set`, a write-only
        # appliance, has its own tests (WriteOnlyDomainTest).
        extra = ["--keep-restore-key"] if keep_restore_key else []
        return self.run("dms", "set", "--dms-file", dms_file, "--kdf-ops", "1", "--kdf-mem-kib", "8", "--test-weak-kdf",
                        *extra)

    def fingerprint(self):
        proc = self.run("dms", "show")
        assert proc.returncode == 0, proc.stderr
        m = re.search(r"Domain fingerprint: (" + FINGERPRINT_RE + ")", proc.stdout)
        assert m, proc.stdout
        return m.group(1)

    def backup(self, source, out, *extra):
        return self.run("backup", "--source", source, "--out", out, *extra)


class CliTestCase(TempDirMixin, CliAssertions, unittest.TestCase):
    """Temp dir per test, plus helpers that name the expectations of this CLI."""
    tmp_prefix = "ks-it-"

    def new_dir(self, *parts):
        p = self.path(*parts)
        os.makedirs(p)
        return p

    def unique_dir(self, prefix):
        return tempfile.mkdtemp(prefix=prefix + "-", dir=self.tmp)

    @staticmethod
    def write_secret(path, secret):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret + "\n")
        return path

    def new_appliance(self, name, dms=None):
        app = Appliance(self.path(name + "-state"))
        if dms is not None:
            secret_file = self.write_secret(self.path(name + ".dms"), dms)
            self.assertOk(app.set_dms(secret_file))
            app.dms_file = secret_file
        return app

    def small_tree(self, name="src"):
        src = self.new_dir(name)
        os.makedirs(os.path.join(src, "etc", "cluster"))
        with open(os.path.join(src, "etc", "cluster", "nodes.conf"), "w") as f:
            f.write("node1\nnode2\n")
        with open(os.path.join(src, "readme.txt"), "w") as f:
            f.write("hello\n")
        return src

    def make_backup(self, app, source, out=None, *extra):
        out = out or self.new_dir("out")
        proc = app.backup(source, out, *extra)
        self.assertOk(proc)
        path = proc.stdout.strip()
        self.assertTrue(os.path.isfile(path), f"backup printed {path!r}, which is not a file")
        return path


# --------------------------------------------------------------------------------------
# 1 + 2: round trip of a tree with every kind of entry the format supports.
# --------------------------------------------------------------------------------------

class RoundTripTest(CliTestCase):
    """One appliance, one backup of a tricky tree, shared by the tests of this class."""

    DMS = "round-trip secret 1"
    SEED = 20261126

    @classmethod
    def setUpClass(cls):
        cls._ctmp = tempfile.TemporaryDirectory(prefix="ks-it-rt-")
        base = cls._ctmp.name
        cls.app = Appliance(os.path.join(base, "state"))
        cls.dms_file = os.path.join(base, "dms")
        CliTestCase.write_secret(cls.dms_file, cls.DMS)
        proc = cls.app.set_dms(cls.dms_file)
        assert proc.returncode == 0, proc.stderr
        cls.source = os.path.join(base, "src")
        cls.build_tree(cls.source)
        cls.expected = snapshot(cls.source)
        out = os.path.join(base, "out")
        os.mkdir(out)
        proc = cls.app.backup(cls.source, out, "--chunk-size", "65536")
        assert proc.returncode == 0, f"backup failed: {proc.stderr}"
        cls.backup_path = proc.stdout.strip()

    @classmethod
    def tearDownClass(cls):
        cls._ctmp.cleanup()

    @classmethod
    def build_tree(cls, root):
        rng = random.Random(cls.SEED)
        files = {
            "empty.bin": (b"", 0o644),
            "one.bin": (b"x", 0o640),
            "a/b/c/deep.txt": (b"deep\n", 0o600),
            "a/b/block-minus.bin": (rng.randbytes(65535), 0o644),
            "a/b/block.bin": (rng.randbytes(65536), 0o444),
            "a/b/block-plus.bin": (rng.randbytes(65537), 0o644),
            "a/tool.sh": (b"#!/bin/sh\necho hi\n", 0o755),
            "big/random.bin": (rng.randbytes(3 * 1024 * 1024 + 12345), 0o640),
            "name with spaces & $ymbols, (1).txt": (b"odd name\n", 0o644),
        }
        dirs = {"a": 0o755, "a/b": 0o750, "a/b/c": 0o700, "big": 0o755, "empty-dir": 0o711}
        for d in dirs:
            os.makedirs(os.path.join(root, d), exist_ok=True)
        for rel, (data, _) in files.items():
            with open(os.path.join(root, rel), "wb") as f:
                f.write(data)
        long_dir = os.path.join(root, *(["d" * 60] * 4))  # > 255 bytes: needs a pax path record
        os.makedirs(long_dir)
        with open(os.path.join(long_dir, "f" * 100 + ".txt"), "wb") as f:
            f.write(b"long path\n")
        # A hard link is backed up as a second regular file (backups never hold hard links).
        os.link(os.path.join(root, "a", "tool.sh"), os.path.join(root, "a", "tool-hardlink.sh"))
        os.symlink("b/c/deep.txt", os.path.join(root, "a", "link-to-deep"))  # relative
        os.symlink("../one.bin", os.path.join(root, "big", "up-link"))       # relative, upwards
        os.symlink("does/not/exist", os.path.join(root, "dangling"))        # dangling
        for rel, (_, mode) in files.items():
            os.chmod(os.path.join(root, rel), mode)
        # Distinct mtimes with nanoseconds; symlinks without following; directories last and
        # deepest first, since creating entries inside a directory changes its mtime.
        t = 1_600_000_000_000_000_000
        for i, rel in enumerate(sorted(files)):
            os.utime(os.path.join(root, rel), ns=(t, t + i * 1_000_000_007 + 123_456_789))
        for i, rel in enumerate(["a/link-to-deep", "big/up-link", "dangling"]):
            os.utime(os.path.join(root, rel), ns=(t, t + 50_000_000_000 + i * 987_654_321 + 1),
                     follow_symlinks=False)
        for i, rel in enumerate(sorted(dirs, key=lambda d: -d.count("/"))):
            os.chmod(os.path.join(root, rel), dirs[rel])
            os.utime(os.path.join(root, rel), ns=(t, t + 90_000_000_000 + i * 111_111_111 + 7))

    def extract(self):
        target = self.path("restored")
        proc = self.app.run("extract", self.backup_path, "--to", target)
        self.assertOk(proc)
        return target, snapshot(target)

    def test_source_tree_is_as_intended(self):
        # Guards the fixture itself: mtimes really carry nanoseconds, the symlinks are there.
        e = self.expected
        self.assertEqual(e["dangling"]["type"], "symlink")
        self.assertEqual(e["a/b/block.bin"]["mode"], 0o444)
        self.assertNotEqual(e["a/link-to-deep"]["mtime_ns"] % 1_000_000_000, 0)
        self.assertNotEqual(e["empty-dir"]["mtime_ns"] % 1_000_000_000, 0)

    def test_backup_file_is_named_for_host_and_time_and_is_private(self):
        name = os.path.basename(self.backup_path)
        self.assertRegex(name, "^" + re.escape(safe_hostname()) + r"_\d{8}T\d{6}Z(-\d+)?\.ksb$")
        self.assertEqual(stat.S_IMODE(os.stat(self.backup_path).st_mode), 0o600)

    def test_inspect_shows_backup_details_without_decrypting(self):
        proc = self.app.run("inspect", self.backup_path)
        self.assertOk(proc)
        self.assertIn("Backup file name:   " + os.path.basename(self.backup_path), proc.stdout)
        self.assertIn("Domain fingerprint: " + self.app.fingerprint(), proc.stdout)
        self.assertIn("valid, made in this device's domain", proc.stdout)
        self.assertIn("Integrity:          intact", proc.stdout)
        n_files = sum(1 for e in self.expected.values() if e["type"] == "file")
        n_bytes = sum(e.get("size", 0) for e in self.expected.values())
        self.assertRegex(proc.stdout, rf"tree\s+{n_files} files")
        self.assertIn(f"({n_bytes} bytes)", proc.stdout)

    def test_inspect_json_matches_the_backup(self):
        proc = self.app.run("inspect", self.backup_path, "--json")
        self.assertOk(proc)
        j = json.loads(proc.stdout)
        self.assertEqual(j["file_name"], os.path.basename(self.backup_path))
        self.assertEqual(j["file"]["size"], os.path.getsize(self.backup_path))
        self.assertEqual(j["domain"]["fingerprint"], self.app.fingerprint())
        self.assertEqual(j["domain"]["kdf"], {"alg": "argon2id13", "memlimit_kib": 8, "opslimit": 1})
        self.assertEqual(j["encryption"]["chunk_size"], 65536)
        self.assertEqual(j["components"][0]["files"],
                         sum(1 for e in self.expected.values() if e["type"] == "file"))
        # The same Backup Details as the API's (web/api_json.h makes both).
        self.assertEqual(j["signature"], "valid, this domain")
        self.assertEqual(j["integrity"]["state"], "intact")
        self.assertEqual(j["domain_check"], "this appliance's domain")

    def test_verify_reports_ok(self):
        proc = self.app.run("verify", self.backup_path)
        self.assertOk(proc)
        n_files = sum(1 for e in self.expected.values() if e["type"] == "file")
        self.assertIn(f"OK, {n_files} files", proc.stdout)
        self.assertIn("signatures valid", proc.stdout)

    def test_extract_reproduces_types_modes_sizes_contents_and_targets(self):
        _, got = self.extract()
        self.assertEqual(without(got, "mtime_ns"), without(self.expected, "mtime_ns"))

    def test_extract_reproduces_file_and_directory_mtimes_with_nanoseconds(self):
        _, got = self.extract()
        for rel, e in self.expected.items():
            if e["type"] in ("file", "dir"):
                with self.subTest(path=rel):
                    self.assertEqual(got[rel]["mtime_ns"], e["mtime_ns"])

    def test_extract_reproduces_symlink_mtimes_with_nanoseconds(self):
        _, got = self.extract()
        for rel, e in self.expected.items():
            if e["type"] == "symlink":
                with self.subTest(path=rel):
                    self.assertEqual(got[rel]["mtime_ns"], e["mtime_ns"])

    def test_extract_writes_no_manifest_and_leaves_no_staging(self):
        target, got = self.extract()
        self.assertNotIn(MANIFEST_NAME, got)
        self.assertEqual(os.listdir(self.tmp), ["restored"])

    def test_extract_into_existing_empty_directory(self):
        target = self.new_dir("empty-target")
        proc = self.app.run("extract", self.backup_path, "--to", target)
        self.assertOk(proc)
        self.assertEqual(without(snapshot(target), "mtime_ns"), without(self.expected, "mtime_ns"))

    def test_decrypt_writes_a_standard_tar_zst_listing_every_path_and_the_manifest(self):
        out = self.path("plain.tar.zst")
        proc = self.app.run("decrypt", self.backup_path, "-o", out)
        self.assertOk(proc)
        self.assertIn("tar --zstd -tvf", proc.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        listing = subprocess.run(["tar", "--zstd", "-tf", out], capture_output=True, text=True, timeout=60)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        names = [n.rstrip("/") for n in listing.stdout.splitlines()]
        self.assertEqual(sorted(names), sorted(list(self.expected) + [MANIFEST_NAME]))
        self.assertEqual(names[-1], MANIFEST_NAME, "the manifest is the last member")

    def test_decrypt_output_extracted_with_tar_gives_same_contents(self):
        out = self.path("plain.tar.zst")
        self.assertOk(self.app.run("decrypt", self.backup_path, "-o", out))
        dest = self.new_dir("by-tar")
        proc = subprocess.run(["tar", "--zstd", "-xpf", out, "-C", dest], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        got = snapshot(dest)
        manifest = got.pop(MANIFEST_NAME)
        self.assertEqual(manifest["type"], "file")
        # GNU tar restores file contents, modes, symlink targets and file mtimes (the
        # directory mtimes it sets are changed by later members, so they are left out).
        self.assertEqual(without(got, "mtime_ns", ("dir", "symlink")),
                         without(self.expected, "mtime_ns", ("dir", "symlink")))
        with open(os.path.join(dest, MANIFEST_NAME)) as f:
            m = json.load(f)
        entries = {e["path"]: e for c in m["components"] for e in c["entries"]}
        self.assertEqual(set(entries), set(self.expected))
        for rel, e in self.expected.items():
            if e["type"] == "file":
                self.assertEqual(entries[rel]["sha256"], e["sha256"], rel)
                self.assertEqual(entries[rel]["size"], e["size"], rel)


class NonAsciiNameTest(CliTestCase):

    # File names are bytes: any name must round-trip whatever the locale.
    def test_round_trip_of_non_ascii_file_name_and_symlink_target(self):
        app = self.new_appliance("a", dms="unicode name secret")
        src = self.new_dir("src")
        with open(os.path.join(src, "Prüfbericht ✓.txt"), "w", encoding="utf-8") as f:
            f.write("inhalt\n")
        os.symlink("Prüfbericht ✓.txt", os.path.join(src, "link"))
        backup = self.make_backup(app, src)
        target = self.path("restored")
        self.assertOk(app.run("extract", backup, "--to", target))
        self.assertEqual(snapshot(target), snapshot(src))


# --------------------------------------------------------------------------------------
# DMS: set once, never echoed, never from argv.
# --------------------------------------------------------------------------------------

class DmsTest(CliTestCase):

    def test_dms_show_prints_fingerprint(self):
        app = self.new_appliance("a", dms="first domain secret")
        proc = app.run("dms", "show")
        self.assertOk(proc)
        self.assertRegex(proc.stdout, r"Domain fingerprint: " + FINGERPRINT_RE)
        self.assertIn("1 passes, 8 KiB", proc.stdout)

    def test_dms_cannot_be_set_twice(self):
        app = self.new_appliance("a", dms="first domain secret")
        before = app.fingerprint()
        with open(os.path.join(app.state_dir, "keystore.json"), "rb") as f:
            keystore = f.read()
        other = self.write_secret(self.path("other.dms"), "another secret")
        proc = app.set_dms(other)
        self.assertFails(proc, EXIT_FAILURE, "The Domain Master Secret is already set and cannot be changed or deleted")
        self.assertEqual(app.fingerprint(), before)
        with open(os.path.join(app.state_dir, "keystore.json"), "rb") as f:
            self.assertEqual(f.read(), keystore)

    def test_dms_shorter_than_8_characters_is_refused(self):
        app = Appliance(self.path("state"))
        proc = app.set_dms(self.write_secret(self.path("short.dms"), "1234567"))
        self.assertFails(proc, EXIT_USAGE, "at least 8 characters")
        self.assertFalse(os.path.exists(os.path.join(app.state_dir, "keystore.json")))

    def test_dms_set_below_the_moderate_kdf_cost_is_refused_outside_tests(self):
        # Issue 13, finding 9 (reproduced): 1 pass and 8 KiB were accepted, for good.
        app = Appliance(self.path("state"))
        dms = self.write_secret(self.path("weak-kdf.dms"), "a perfectly fine passphrase")
        proc = app.run("dms", "set", "--dms-file", dms, "--kdf-ops", "1", "--kdf-mem-kib", "8")
        self.assertFails(proc, EXIT_USAGE, "below the minimum", "262144 KiB")
        self.assertFalse(os.path.exists(os.path.join(app.state_dir, "keystore.json")))

    def test_dms_set_refuses_a_guessable_secret_and_shows_the_strength_of_a_good_one(self):
        app = Appliance(self.path("state"))
        proc = app.set_dms(self.write_secret(self.path("weak.dms"), "Password1"))
        self.assertFails(proc, EXIT_USAGE, "too guessable")
        self.assertFalse(os.path.exists(os.path.join(app.state_dir, "keystore.json")))
        proc = app.set_dms(self.write_secret(self.path("good.dms"), "correct horse battery staple"))
        self.assertOk(proc)
        self.assertRegex(proc.stdout, r"Strength: +very unguessable")

    def test_dms_set_without_file_or_terminal_points_to_dms_file(self):
        app = Appliance(self.path("state"))
        # A new session has no controlling terminal: /dev/tty cannot be opened.
        proc = app.run("dms", "set", "--kdf-ops", "1", "--kdf-mem-kib", "8", "--test-weak-kdf", start_new_session=True)
        self.assertFails(proc, EXIT_FAILURE, "no terminal", "--dms-file")
        self.assertFalse(os.path.exists(os.path.join(app.state_dir, "keystore.json")))

    def test_dms_show_without_dms_says_to_set_it(self):
        proc = Appliance(self.path("state")).run("dms", "show")
        self.assertFails(proc, EXIT_FAILURE, "keepsake dms set")


# --------------------------------------------------------------------------------------
# 3 + 4: restore on another appliance.
# --------------------------------------------------------------------------------------

class WriteOnlyDomainTest(CliTestCase):
    """Format v2 end to end (issue 13): a write-only appliance backs up without any key that
    opens a backup; the DMS restores; a second appliance joins with its own certified key; a
    revoked device's later backups are refused wherever the revocation list is installed."""

    DMS = "the domain secret of the write-only test"

    def device_key(self, app):
        proc = app.run("dms", "show")
        self.assertOk(proc)
        m = re.search(r"Device public key: +([0-9a-f]{64})", proc.stdout)
        self.assertTrue(m, proc.stdout)
        return m.group(1)

    def device_id(self, app):
        with open(os.path.join(app.state_dir, "device-id")) as f:
            return f.read().strip()

    def test_write_only_join_revoke(self):
        dms = self.write_secret(self.path("domain.dms"), self.DMS)
        a = Appliance(self.path("a-state"))
        self.assertOk(a.set_dms(dms, keep_restore_key=False))
        keystore = open(os.path.join(a.state_dir, "keystore.json")).read()
        self.assertNotIn('"kek"', keystore)
        self.assertNotIn("restore_key", keystore)
        self.assertRegex(a.run("dms", "show").stdout, r"Restore key: +not kept")
        src = self.small_tree()
        first = self.make_backup(a, src, self.new_dir("out-a"))

        # A checks its backup without any secret, but cannot open it.
        proc = a.run("verify", first)
        self.assertOk(proc)
        self.assertIn("INTACT", proc.stdout)
        self.assertIn("not opened", proc.stdout)
        restored = self.path("restored")
        self.assertFails(a.run("extract", first, "--to", restored), EXIT_FAILURE, "write-only", "--dms-file")
        self.assertFalse(os.path.exists(restored))
        # The DMS opens it.
        self.assertOk(a.run("extract", first, "--to", restored, "--dms-file", dms))
        with open(os.path.join(restored, "readme.txt")) as f:
            self.assertEqual(f.read(), "hello\n")

        # B joins the domain from one of its backups and gets a key of its own.
        b = Appliance(self.path("b-state"))
        self.assertFails(b.run("dms", "join", "--backup", first, "--dms-file", self.write_secret(
            self.path("wrong.dms"), "not the domain secret")), EXIT_AUTH, "wrong Domain Master Secret")
        proc = b.run("dms", "join", "--backup", first, "--dms-file", dms)
        self.assertOk(proc)
        self.assertIn("joined the domain", proc.stdout)
        self.assertEqual(b.fingerprint(), a.fingerprint())
        b_key = self.device_key(b)
        self.assertNotEqual(b_key, self.device_key(a))
        out_b = self.new_dir("out-b")
        b_early = self.make_backup(b, src, out_b)
        proc = a.run("inspect", b_early, "--json")
        self.assertOk(proc)
        details = json.loads(proc.stdout)
        self.assertEqual(details["signer"]["device_id"], self.device_id(b))
        self.assertEqual(details["signer"]["public_key"], b_key)
        self.assertOk(a.run("verify", b_early))

        # A revokes B's key (the DMS signs the list); B's later backups are refused on A.
        time.sleep(1.1)  # header times are whole seconds: B's first backup is before the cut
        self.assertFails(a.run("device", "revoke", "--device-key", b_key, "--device-id", self.device_id(b),
                               "--dms-file", self.path("wrong.dms")), EXIT_AUTH, "wrong Domain Master")
        proc = a.run("device", "revoke", "--device-key", b_key, "--device-id", self.device_id(b), "--dms-file", dms)
        self.assertOk(proc)
        self.assertIn("backups made from", proc.stdout)
        b_late = self.make_backup(b, src, out_b)
        self.assertOk(a.run("verify", b_early))
        self.assertFails(a.run("verify", b_late), EXIT_AUTH, "revoked", self.device_id(b))
        self.assertFails(a.run("verify", b_late, "--dms-file", dms), EXIT_AUTH, "revoked")
        # A third appliance of the domain installs the list and refuses the same.
        c = Appliance(self.path("c-state"))
        self.assertOk(c.run("dms", "join", "--backup", first, "--dms-file", dms))
        self.assertOk(c.run("verify", b_late))
        revocations = os.path.join(a.state_dir, "revocations.json")
        self.assertOk(c.run("device", "install-revocations", revocations))
        self.assertFails(c.run("verify", b_late), EXIT_AUTH, "revoked")
        self.assertFails(c.run("device", "install-revocations", revocations), EXIT_FAILURE, "not newer")
        # A list not signed by the domain is refused.
        forged = self.path("forged.json")
        with open(revocations) as f:
            doc = json.load(f)
        doc["list"] = doc["list"].replace('"serial":1', '"serial":9')
        with open(forged, "w") as f:
            json.dump(doc, f)
        self.assertFails(c.run("device", "install-revocations", forged), EXIT_AUTH, "not signed by this domain")


class OtherApplianceTest(CliTestCase):

    DMS = "the domain secret"

    @classmethod
    def setUpClass(cls):
        cls._ctmp = tempfile.TemporaryDirectory(prefix="ks-it-other-")
        base = cls._ctmp.name
        cls.origin = Appliance(os.path.join(base, "origin-state"))
        cls.right = CliTestCase.write_secret(os.path.join(base, "right.dms"), cls.DMS)
        cls.wrong = CliTestCase.write_secret(os.path.join(base, "wrong.dms"), "not the domain secret")
        assert cls.origin.set_dms(cls.right).returncode == 0
        cls.source = os.path.join(base, "src")
        os.makedirs(os.path.join(cls.source, "etc"))
        with open(os.path.join(cls.source, "etc", "nodes.conf"), "w") as f:
            f.write("node1\nnode2\n")
        with open(os.path.join(cls.source, "readme.txt"), "w") as f:
            f.write("hello\n")
        out = os.path.join(base, "out")
        os.mkdir(out)
        proc = cls.origin.backup(cls.source, out)
        assert proc.returncode == 0, proc.stderr
        cls.backup_path = proc.stdout.strip()

    @classmethod
    def tearDownClass(cls):
        cls._ctmp.cleanup()

    def assert_nothing_in(self, parent):
        self.assertEqual(os.listdir(parent), [], f"leftovers in {parent}")

    # 3: an appliance without any DMS.

    def test_fresh_appliance_verify_without_dms_file_asks_for_it(self):
        fresh = Appliance(self.path("fresh-state"))
        proc = fresh.run("verify", self.backup_path)
        self.assertFails(proc, EXIT_FAILURE, "no Domain Master Secret is set", "--dms-file")

    def test_fresh_appliance_extract_without_dms_file_asks_for_it(self):
        fresh = Appliance(self.path("fresh-state"))
        parent = self.new_dir("restore")
        proc = fresh.run("extract", self.backup_path, "--to", os.path.join(parent, "t"))
        self.assertFails(proc, EXIT_FAILURE, "--dms-file")
        self.assert_nothing_in(parent)

    def test_fresh_appliance_verify_with_right_dms_file(self):
        fresh = Appliance(self.path("fresh-state"))
        proc = fresh.run("verify", self.backup_path, "--dms-file", self.right)
        self.assertOk(proc)
        self.assertIn("OK", proc.stdout)

    def test_fresh_appliance_extract_with_right_dms_file_reproduces_tree(self):
        fresh = Appliance(self.path("fresh-state"))
        target = self.path("restored")
        self.assertOk(fresh.run("extract", self.backup_path, "--to", target, "--dms-file", self.right))
        self.assertEqual(snapshot(target), snapshot(self.source))

    def test_fresh_appliance_decrypt_with_right_dms_file(self):
        fresh = Appliance(self.path("fresh-state"))
        out = self.path("plain.tar.zst")
        self.assertOk(fresh.run("decrypt", self.backup_path, "-o", out, "--dms-file", self.right))
        listing = subprocess.run(["tar", "--zstd", "-tf", out], capture_output=True, text=True, timeout=60)
        self.assertIn("readme.txt", listing.stdout.splitlines())

    def test_wrong_dms_file_is_an_auth_error_for_verify_extract_decrypt(self):
        fresh = Appliance(self.path("fresh-state"))
        fp = self.origin.fingerprint()
        parent = self.new_dir("restore")
        cases = {
            "verify": ["verify", self.backup_path],
            "extract": ["extract", self.backup_path, "--to", os.path.join(parent, "t")],
            "decrypt": ["decrypt", self.backup_path, "-o", os.path.join(parent, "o.tar.zst")],
        }
        for name, args in cases.items():
            with self.subTest(command=name):
                proc = fresh.run(*args, "--dms-file", self.wrong)
                self.assertFails(proc, EXIT_AUTH, "wrong Domain Master Secret", fp, self.backup_path)
                self.assert_nothing_in(parent)

    # 4: an appliance with a domain of its own.

    def test_other_domain_verify_names_both_fingerprints(self):
        other = self.new_appliance("other", dms="a different secret")
        proc = other.run("verify", self.backup_path)
        self.assertFails(proc, EXIT_AUTH, "belongs to domain " + self.origin.fingerprint(),
                         "this device is in domain " + other.fingerprint())

    def test_other_domain_extract_is_refused(self):
        other = self.new_appliance("other", dms="a different secret")
        parent = self.new_dir("restore")
        proc = other.run("extract", self.backup_path, "--to", os.path.join(parent, "t"))
        self.assertFails(proc, EXIT_AUTH, "belongs to domain", self.origin.fingerprint(), other.fingerprint())
        self.assert_nothing_in(parent)

    def test_other_domain_inspect_shows_details_and_says_another_domain(self):
        other = self.new_appliance("other", dms="a different secret")
        proc = other.run("inspect", self.backup_path)
        self.assertOk(proc)
        self.assertIn("Domain fingerprint: " + self.origin.fingerprint(), proc.stdout)
        self.assertIn("ANOTHER domain", proc.stdout)
        self.assertIn("Backup file name:   " + os.path.basename(self.backup_path), proc.stdout)

    def test_other_domain_with_dms_file_of_the_backups_domain_can_verify(self):
        other = self.new_appliance("other", dms="a different secret")
        self.assertOk(other.run("verify", self.backup_path, "--dms-file", self.right))

    def test_fresh_appliance_inspect_says_not_checked_against_a_trusted_key(self):
        proc = Appliance(self.path("fresh-state")).run("inspect", self.backup_path)
        self.assertOk(proc)
        self.assertIn("not checked against a trusted key", proc.stdout)


# --------------------------------------------------------------------------------------
# 5: damaged files are refused by every command, and nothing is left behind.
# --------------------------------------------------------------------------------------

class TamperTest(CliTestCase):

    DMS = "tamper test secret"

    @classmethod
    def setUpClass(cls):
        cls._ctmp = tempfile.TemporaryDirectory(prefix="ks-it-tamper-")
        base = cls._ctmp.name
        cls.app = Appliance(os.path.join(base, "state"))
        dms = CliTestCase.write_secret(os.path.join(base, "dms"), cls.DMS)
        assert cls.app.set_dms(dms).returncode == 0
        src = os.path.join(base, "src")
        os.makedirs(os.path.join(src, "d"))
        with open(os.path.join(src, "d", "data.bin"), "wb") as f:
            f.write(random.Random(7).randbytes(300_000))  # incompressible: several 64 KiB chunks
        with open(os.path.join(src, "small.txt"), "w") as f:
            f.write("small\n")
        out = os.path.join(base, "out")
        os.mkdir(out)
        backups = []
        for _ in range(2):  # the same tree twice: two files of one domain, one layout
            proc = cls.app.backup(src, out, "--chunk-size", "65536")
            assert proc.returncode == 0, proc.stderr
            with open(proc.stdout.strip(), "rb") as f:
                backups.append(f.read())
        cls.original, cls.sibling = backups

    @classmethod
    def tearDownClass(cls):
        cls._ctmp.cleanup()

    def header_bounds(self, data=None):
        data = self.original if data is None else data
        header_len = int.from_bytes(data[12:16], "little")
        return PREFIX_SIZE, PREFIX_SIZE + header_len

    def split(self, data):
        """(prefix + header + header signature, [chunk, ...], trailer), chunks with their length."""
        _, end = self.header_bounds(data)
        head_end = end + HEADER_SIG_SIZE
        body_end = len(data) - TRAILER_SIZE
        chunks, pos = [], head_end
        while pos < body_end:
            n = 4 + int.from_bytes(data[pos:pos + 4], "little")
            chunks.append(data[pos:pos + n])
            pos += n
        self.assertEqual(pos, body_end, "chunk lengths do not add up to the body")
        return data[:head_end], chunks, data[body_end:]

    def damaged(self, data):
        d = self.unique_dir("damaged")
        p = os.path.join(d, "backup.ksb")
        with open(p, "wb") as f:
            f.write(data)
        return p

    def flipped(self, offset):
        data = bytearray(self.original)
        data[offset] ^= 0x01
        return self.damaged(bytes(data))

    def assert_refused_everywhere(self, path, code, *words):
        """verify, extract, decrypt and inspect all fail with `code`; extract and decrypt leave
        nothing. (inspect, with no secret, finds the damage by the trailer: its words differ.)"""
        with self.subTest(command="inspect"):
            self.assertFails(self.app.run("inspect", path), code, path)
        proc = self.app.run("verify", path)
        with self.subTest(command="verify"):
            self.assertFails(proc, code, path, *words)
        with self.subTest(command="extract"):
            parent = self.unique_dir("extract-parent")
            target = os.path.join(parent, "restored")
            proc = self.app.run("extract", path, "--to", target)
            self.assertFails(proc, code, path, *words)
            self.assertFalse(os.path.lexists(target), "extract left the target behind")
            self.assertEqual(os.listdir(parent), [], "extract left staging (.partial) leftovers")
        with self.subTest(command="decrypt"):
            parent = self.unique_dir("decrypt-parent")
            proc = self.app.run("decrypt", path, "-o", os.path.join(parent, "plain.tar.zst"))
            self.assertFails(proc, code, path, *words)
            self.assertEqual(os.listdir(parent), [], "decrypt left an output or .partial file behind")

    def test_untampered_copy_verifies(self):
        self.assertOk(self.app.run("verify", self.damaged(self.original)))

    def test_flipped_byte_in_header_json_is_corrupt(self):
        start, end = self.header_bounds()
        at = self.original.index(b'"backup_id"', start, end) + len('"backup_id":"') + 3
        self.assertLess(at, end)
        self.assert_refused_everywhere(self.flipped(at), EXIT_CORRUPT, "header")

    def test_flipped_byte_in_header_signature_is_corrupt(self):
        _, end = self.header_bounds()
        self.assert_refused_everywhere(self.flipped(end + HEADER_SIG_SIZE // 2), EXIT_CORRUPT,
                                       "header signature is invalid")

    def test_flipped_byte_in_middle_of_body_is_corrupt(self):
        _, end = self.header_bounds()
        body_start, body_end = end + HEADER_SIG_SIZE, len(self.original) - TRAILER_SIZE
        self.assertGreater(body_end - body_start, 200_000)
        self.assert_refused_everywhere(self.flipped((body_start + body_end) // 2), EXIT_CORRUPT, "chunk")

    def test_flipped_byte_in_trailer_is_corrupt(self):
        for back in (TRAILER_SIZE, 100, 60, 1):  # magic, body length, file hash... signature
            with self.subTest(bytes_from_end=back):
                self.assert_refused_everywhere(self.flipped(len(self.original) - back), EXIT_CORRUPT, "trailer")

    def test_truncated_file_is_corrupt(self):
        self.assert_refused_everywhere(self.damaged(self.original[: len(self.original) // 2]), EXIT_CORRUPT,
                                       "truncated")

    def test_file_without_its_trailer_is_corrupt(self):
        self.assert_refused_everywhere(self.damaged(self.original[:-TRAILER_SIZE]), EXIT_CORRUPT, "truncated")

    def test_appended_byte_is_corrupt(self):
        self.assert_refused_everywhere(self.damaged(self.original + b"\0"), EXIT_CORRUPT, "after the trailer")

    def test_non_backup_file_is_corrupt(self):
        path = self.damaged(b"this is a plain text file, not a backup\n" * 10)
        self.assert_refused_everywhere(path, EXIT_CORRUPT, "not a Keepsake backup")
        with self.subTest(command="inspect"):
            self.assertFails(self.app.run("inspect", path), EXIT_CORRUPT, path, "not a Keepsake backup")

    def test_reordered_chunks_are_corrupt(self):
        head, chunks, trailer = self.split(self.original)
        self.assertGreaterEqual(len(chunks), 4)
        chunks[1], chunks[2] = chunks[2], chunks[1]
        self.assert_refused_everywhere(self.damaged(head + b"".join(chunks) + trailer), EXIT_CORRUPT,
                                       "chunk 1 failed authentication")

    def test_removed_chunk_is_corrupt(self):
        head, chunks, trailer = self.split(self.original)
        del chunks[1]
        self.assert_refused_everywhere(self.damaged(head + b"".join(chunks) + trailer), EXIT_CORRUPT,
                                       "chunk 1 failed authentication")

    def test_file_cut_at_a_chunk_boundary_is_corrupt(self):
        head, chunks, _ = self.split(self.original)
        self.assert_refused_everywhere(self.damaged(head + b"".join(chunks[:2])), EXIT_CORRUPT,
                                       "truncated", "after chunk 2")

    def test_header_from_another_backup_is_corrupt(self):
        head, _, _ = self.split(self.sibling)
        _, chunks, trailer = self.split(self.original)
        self.assert_refused_everywhere(self.damaged(head + b"".join(chunks) + trailer), EXIT_CORRUPT,
                                       "chunk 0 failed authentication")

    def test_trailer_from_another_backup_is_corrupt(self):
        head, chunks, _ = self.split(self.original)
        _, _, trailer = self.split(self.sibling)
        # Validly signed by the same domain, but its counts and file hash describe the sibling.
        self.assert_refused_everywhere(self.damaged(head + b"".join(chunks) + trailer), EXIT_CORRUPT, "trailer")

    def test_inspect_says_damaged_for_a_genuine_header_with_a_garbage_body(self):
        # Issue 13, finding 5 (reproduced): inspect read only the header and said "valid".
        head, chunks, trailer = self.split(self.original)
        garbage = bytes((i * 131 + 7) % 256 for i in range(sum(len(c) for c in chunks)))
        for body in (b"", garbage + trailer):
            path = self.damaged(head + body)
            proc = self.app.run("inspect", path)
            self.assertFails(proc, EXIT_CORRUPT, path, "damaged")
            self.assertIn("valid, made in this device's domain", proc.stdout)  # the header is shown
            self.assertIn("Integrity:          DAMAGED: ", proc.stdout)
            self.assertNotIn("intact", proc.stdout)

    def test_inspect_refuses_a_tampered_header(self):
        start, end = self.header_bounds()
        at = self.original.index(b'"created_at"', start, end) + len('"created_at":"') + 2
        path = self.flipped(at)
        self.assertFails(self.app.run("inspect", path), EXIT_CORRUPT, path, "header")


# --------------------------------------------------------------------------------------
# 6: the secret stays secret.
# --------------------------------------------------------------------------------------

class SecrecyTest(CliTestCase):

    DMS = "Zebra-Quartz-7781-unique"

    def test_keystore_is_private_and_dms_appears_nowhere(self):
        start = len(TRANSCRIPT)
        app = self.new_appliance("a", dms=self.DMS)
        keystore = os.path.join(app.state_dir, "keystore.json")
        self.assertEqual(stat.S_IMODE(os.stat(keystore).st_mode), 0o600)

        backup = self.make_backup(app, self.small_tree())
        self.assertOk(app.run("dms", "show"))
        self.assertOk(app.run("inspect", backup))
        self.assertOk(app.run("inspect", backup, "--json"))
        self.assertOk(app.run("verify", backup))
        self.assertOk(app.run("verify", backup, "--dms-file", app.dms_file))
        self.assertOk(app.run("extract", backup, "--to", self.path("x1")))
        self.assertOk(app.run("decrypt", backup, "-o", self.path("x.tar.zst")))
        self.assertEqual(app.set_dms(app.dms_file).returncode, EXIT_FAILURE)  # already set
        other = self.new_appliance("b", dms="some other secret")
        self.assertEqual(other.run("verify", backup).returncode, EXIT_AUTH)
        self.assertOk(other.run("verify", backup, "--dms-file", app.dms_file))
        wrong = self.write_secret(self.path("wrong.dms"), self.DMS + "-wrong")
        self.assertEqual(other.run("verify", backup, "--dms-file", wrong).returncode, EXIT_AUTH)

        forms = {
            "plain": self.DMS.encode(),
            "hex": self.DMS.encode().hex().encode(),
            "base64": base64.b64encode(self.DMS.encode()).rstrip(b"="),
        }
        state_files = [os.path.join(d, f) for d, _, fs in os.walk(app.state_dir) for f in fs]
        for path in state_files + [backup]:
            with open(path, "rb") as f:
                data = f.read()
            for form, needle in forms.items():
                with self.subTest(file=os.path.basename(path), form=form):
                    self.assertNotIn(needle, data)
        commands = TRANSCRIPT[start:]
        self.assertGreaterEqual(len(commands), 12)
        for argv, out, err in commands:
            with self.subTest(command=" ".join(argv[3:5])):
                self.assertNotIn(self.DMS, " ".join(argv))
                self.assertNotIn(self.DMS, out)
                self.assertNotIn(self.DMS, err)


# --------------------------------------------------------------------------------------
# 7: backup file names.
# --------------------------------------------------------------------------------------

class BackupNameTest(CliTestCase):

    def setUp(self):
        super().setUp()
        self.app = self.new_appliance("a", dms="naming secret")
        self.source = self.small_tree()
        self.out = self.new_dir("out")

    def test_prefix_with_slash_is_a_usage_error(self):
        proc = self.app.backup(self.source, self.out, "--prefix", "bad/name")
        self.assertFails(proc, EXIT_USAGE, "prefix", "may only contain letters, digits", "'/'")
        self.assertEqual(os.listdir(self.out), [])

    def test_prefix_of_65_characters_is_a_usage_error(self):
        proc = self.app.backup(self.source, self.out, "--prefix", "p" * 65)
        self.assertFails(proc, EXIT_USAGE, "prefix", "longer than 64")
        self.assertEqual(os.listdir(self.out), [])

    def test_prefix_of_64_characters_is_accepted(self):
        path = self.make_backup(self.app, self.source, self.out, "--prefix", "p" * 64)
        self.assertTrue(os.path.basename(path).startswith("p" * 64 + "_"))

    def test_valid_prefix_starts_the_name(self):
        prefix = "Nightly-db.v2_x"
        path = self.make_backup(self.app, self.source, self.out, "--prefix", prefix)
        self.assertEqual(os.path.dirname(path), self.out)
        self.assertRegex(os.path.basename(path),
                         "^" + re.escape(prefix + "_" + safe_hostname()) + r"_\d{8}T\d{6}Z(-\d+)?\.ksb$")

    def test_two_backups_in_the_same_second_get_distinct_names(self):
        stamp = re.compile(r"_(\d{8}T\d{6}Z)(-\d+)?\.ksb$")
        for attempt in range(5):
            out = self.new_dir(f"out-{attempt}")
            first = self.make_backup(self.app, self.source, out, "--prefix", "twice")
            second = self.make_backup(self.app, self.source, out, "--prefix", "twice")
            self.assertNotEqual(first, second)
            self.assertTrue(os.path.isfile(first) and os.path.isfile(second))
            self.assertEqual(sorted(os.listdir(out)), sorted([os.path.basename(first), os.path.basename(second)]))
            m1, m2 = stamp.search(first), stamp.search(second)
            if m1.group(1) == m2.group(1):  # same second: the second one carries "-2"
                self.assertIsNone(m1.group(2))
                self.assertEqual(m2.group(2), "-2")
                self.assertEqual(second, first[: -len(".ksb")] + "-2.ksb")
                return
        self.fail("five pairs of back-to-back backups never fell into the same second")


# --------------------------------------------------------------------------------------
# 8 + 9: missing files, occupied targets, no DMS.
# --------------------------------------------------------------------------------------

class ErrorsTest(CliTestCase):

    def test_missing_backup_file_is_an_io_error(self):
        app = self.new_appliance("a", dms="missing file secret")
        missing = self.path("nope", "gone.ksb")
        cases = {
            "inspect": ["inspect", missing],
            "verify": ["verify", missing],
            "extract": ["extract", missing, "--to", self.path("t")],
            "decrypt": ["decrypt", missing, "-o", self.path("o.tar.zst")],
        }
        for name, args in cases.items():
            with self.subTest(command=name):
                self.assertFails(app.run(*args), EXIT_IO, missing, "No such file")
        self.assertEqual(sorted(os.listdir(self.tmp)), ["a-state", "a.dms"])

    def test_missing_dms_file_is_an_io_error(self):
        app = self.new_appliance("a", dms="missing dms file secret")
        backup = self.make_backup(app, self.small_tree())
        missing = self.path("no.dms")
        self.assertFails(app.run("verify", backup, "--dms-file", missing), EXIT_IO, missing)

    def test_extract_into_non_empty_directory_is_refused_and_changes_nothing(self):
        app = self.new_appliance("a", dms="non empty secret")
        backup = self.make_backup(app, self.small_tree())
        target = self.new_dir("occupied")
        with open(os.path.join(target, "keep.txt"), "w") as f:
            f.write("precious\n")
        os.utime(os.path.join(target, "keep.txt"), ns=(1, 1_500_000_000_000_000_001))
        before = snapshot(target)
        parent_before = sorted(os.listdir(self.tmp))
        proc = app.run("extract", backup, "--to", target)
        self.assertFails(proc, EXIT_FAILURE, target, "not an empty directory", "nothing was extracted")
        self.assertEqual(snapshot(target), before)
        self.assertEqual(sorted(os.listdir(self.tmp)), parent_before)

    def test_extract_onto_an_existing_file_is_refused(self):
        app = self.new_appliance("a", dms="existing file secret")
        backup = self.make_backup(app, self.small_tree())
        target = self.path("a-file")
        with open(target, "w") as f:
            f.write("precious\n")
        self.assertFails(app.run("extract", backup, "--to", target), EXIT_FAILURE, target, "not an empty directory")
        with open(target) as f:
            self.assertEqual(f.read(), "precious\n")

    def test_decrypt_never_overwrites_an_existing_output(self):
        app = self.new_appliance("a", dms="overwrite secret")
        backup = self.make_backup(app, self.small_tree())
        out = self.path("existing.tar.zst")
        with open(out, "w") as f:
            f.write("precious\n")
        self.assertFails(app.run("decrypt", backup, "-o", out), EXIT_FAILURE, out, "already exists")
        with open(out) as f:
            self.assertEqual(f.read(), "precious\n")

    def test_backup_without_dms_says_to_set_it_and_writes_nothing(self):
        app = Appliance(self.path("fresh-state"))
        out = self.new_dir("out")
        proc = app.backup(self.small_tree(), out)
        self.assertFails(proc, EXIT_FAILURE, "no Domain Master Secret is set", "keepsake dms set")
        self.assertEqual(os.listdir(out), [])
        self.assertEqual(proc.stdout, "")

    def test_backup_to_missing_output_directory_is_an_io_error(self):
        app = self.new_appliance("a", dms="missing out secret")
        out = self.path("no-such-out")
        self.assertFails(app.backup(self.small_tree(), out), EXIT_IO, out, "does not exist")
        self.assertFalse(os.path.exists(out))

    def test_backup_of_missing_source_is_a_usage_error(self):
        app = self.new_appliance("a", dms="missing source secret")
        out = self.new_dir("out")
        src = self.path("no-such-src")
        self.assertFails(app.backup(src, out), EXIT_USAGE, src, "not a directory")
        self.assertEqual(os.listdir(out), [])

    def test_backup_of_a_fifo_is_refused_and_writes_nothing(self):
        app = self.new_appliance("a", dms="fifo secret")
        src = self.small_tree()
        os.mkfifo(os.path.join(src, "pipe"))
        out = self.new_dir("out")
        self.assertFails(app.backup(src, out), EXIT_USAGE, "pipe", "unsupported file type")
        self.assertEqual(os.listdir(out), [])

    def test_backup_of_a_tree_holding_the_manifest_name_is_refused(self):
        app = self.new_appliance("a", dms="manifest name secret")
        src = self.small_tree()
        with open(os.path.join(src, MANIFEST_NAME), "w") as f:
            f.write("{}")
        out = self.new_dir("out")
        self.assertFails(app.backup(src, out), EXIT_USAGE, MANIFEST_NAME, "reserved")
        self.assertEqual(os.listdir(out), [])

    def test_state_dir_from_environment(self):
        app = self.new_appliance("a", dms="environment secret")
        env = dict(os.environ, KEEPSAKE_STATE_DIR=app.state_dir)
        proc = subprocess.run([KEEPSAKE_BIN, "dms", "show"], env=env, capture_output=True, text=True, timeout=60)
        TRANSCRIPT.append((proc.args, proc.stdout, proc.stderr))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Domain fingerprint: " + app.fingerprint(), proc.stdout)


if __name__ == "__main__":
    unittest.main()
