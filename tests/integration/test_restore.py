#!/usr/bin/env python3
"""Integration tests of the appliance backup and restore (docs/ARCHITECTURE.md, "Restore").

Every test drives the real `keepsake` binary on appliance state roots made by
tools/gen_state.py (small: a 4 MiB database, 60 config files), as an administrator
would: backup, restore (full, selected components, kept components, dry run), rollback,
recover; restores onto another device, a device of another domain, a fresh appliance; a
backup from newer firmware; a tampered backup; and crash safety, both by the crash points
of src/appliance/crash_point.h (KEEPSAKE_CRASH_AT) and by kill -9 at random times.

Trees are compared by tree(): every path under the root except the restore's work
directory .keepsake/ -> (type, mode, size, sha256 or symlink target).

Binary: env KEEPSAKE_BIN (ctest sets it), else <repository>/build/keepsake.
Generator: env KEEPSAKE_GEN_STATE, else <repository>/tools/gen_state.py.
Random kill times: env KEEPSAKE_TEST_SEED fixes the seed (it is printed either way).
Run: python3 tests/integration/test_restore.py -v
"""

import json
import os
import random
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from files import sha256_of  # noqa: E402
from cli_assertions import CliAssertions, TempDirMixin  # noqa: E402
from paths import KEEPSAKE_BIN, generate_state  # noqa: E402

from exit_codes import EXIT_AUTH, EXIT_CORRUPT, EXIT_FAILURE, EXIT_IO, EXIT_OK, EXIT_USAGE  # noqa: E402,F401
KILLED = (-signal.SIGKILL, 128 + signal.SIGKILL)  # as subprocess reports it / as a shell would

WORK = ".keepsake"  # WorkDir(root): staging/, rollback.next/, rollback/, journal.json
FINGERPRINT_RE = r"(?:[0-9a-f]{4}:){7}[0-9a-f]{4}"
DB = "db/internal.sqlite"

# The paths a full restore swaps, in order (src/appliance/layout.cc): index i of
# moved-old:<i> / moved-new:<i>.
SWAP_PATHS = ["firmware", "config", "system/cluster", "system/network", "system/database",
              "system/accounts", "db"]
# Every crash point of a full restore, in the order the restore passes them.
CRASH_POINTS = (["staged", "journal-written"]
                + [f"moved-{what}:{i}" for i in range(len(SWAP_PATHS)) for what in ("old", "new")]
                + ["done-written", "rollback-point-kept", "finished"])
FIRST_NEW_STATE_POINT = CRASH_POINTS.index("done-written")

SOURCE_SEED = 1     # firmware=4.1.x (gen_state.py: seed N, firmware 4.N.x)
OTHER_SEED = 4      # firmware=4.4.x: newer, so a backup of SOURCE_SEED may be restored there
SOURCE_DMS = "source domain secret 1"
OTHER_DMS = "another domain secret 2"
WRONG_DMS = "not the right secret 3"

SOURCE_USERS = [{"username": "admin", "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"},
                {"username": "ra-officer", "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdDI$aGFzaDI"}]


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------

def run_keepsake(state_dir, root, *args, env_extra=None, timeout=60):
    env = dict(os.environ)
    for var in ("KEEPSAKE_STATE_DIR", "KEEPSAKE_APPLIANCE_ROOT", "KEEPSAKE_CRASH_AT"):
        env.pop(var, None)
    env.update(env_extra or {})
    argv = [KEEPSAKE_BIN]
    if state_dir is not None:
        argv += ["--state-dir", state_dir]
    if root is not None:
        argv += ["--appliance-root", root]
    argv += [str(a) for a in args]
    return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          errors="replace", timeout=timeout)


def tree(root):
    """Every path under root except .keepsake/ -> (type, mode, size, sha256 or target)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == root and WORK in dirnames:
            dirnames.remove(WORK)
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", mode, None, os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode, None, None)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", mode, st.st_size, sha256_of(full))
            else:
                out[rel] = ("other", mode, None, None)
    return out


def under(rel, prefix):
    return rel == prefix or rel.startswith(prefix + "/")


def subtree(t, *prefixes):
    return {p: e for p, e in t.items() if any(under(p, x) for x in prefixes)}


def without_paths(t, *prefixes):
    return {p: e for p, e in t.items() if not any(under(p, x) for x in prefixes)}


def tree_diff(got, want, limit=12):
    lines = []
    for p in sorted(set(got) | set(want)):
        if got.get(p) != want.get(p):
            lines.append(f"  {p}: got {got.get(p)!r}, want {want.get(p)!r}")
    more = f"\n  ... and {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


def db_integrity(root):
    con = sqlite3.connect(os.path.join(root, DB), timeout=30)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def db_query(root, sql, args=()):
    con = sqlite3.connect(os.path.join(root, DB), timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def write_secret(path, secret):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return path


def write_text(path, text, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


def files_in(root, sub):
    out = []
    for dirpath, _, filenames in os.walk(os.path.join(root, sub)):
        out += [os.path.join(dirpath, n) for n in filenames]
    return sorted(out)


def make_old_state(root):
    """Turns a copy of the source appliance into a different, plausible "old" state: every
    component differs (files changed, added, removed; a mode; a symlink; other accounts; other
    database rows), the firmware version stays."""
    fw = [p for p in files_in(root, "firmware") if not p.endswith("VERSION")]
    with open(fw[0], "a") as f:
        f.write("# changed on this appliance\n")
    os.chmod(fw[1], 0o600)
    cfg = files_in(root, "config")
    os.remove(cfg[0])
    with open(cfg[1], "a") as f:
        f.write("local_override = 1\n")
    write_text(os.path.join(root, "config", "local", "extra.conf"), "extra = yes\n", 0o640)
    os.symlink("extra.conf", os.path.join(root, "config", "local", "current.conf"))
    with open(files_in(root, "system/cluster")[0], "a") as f:
        f.write("\n# node added here\n")
    with open(files_in(root, "system/network")[0], "a") as f:
        f.write("\n# address of the old appliance: 192.0.2.7\n")
    write_text(os.path.join(root, "system", "network", "local-vlan.yaml"), "vlan: 42\n")
    write_text(os.path.join(root, "system", "database", "notes.txt"), "tuned here\n")
    write_text(os.path.join(root, "system", "accounts", "users.json"),
               json.dumps([{"username": "old-admin", "password_hash": "$argon2id$old"}]) + "\n", 0o600)
    con = sqlite3.connect(os.path.join(root, DB))
    con.execute("DELETE FROM certificates WHERE rowid IN (SELECT rowid FROM certificates LIMIT 25)")
    con.execute("INSERT INTO audit_log(ts, event, actor, details) VALUES(1, 'RESTORE_TEST', 'old', 'x')")
    con.commit()
    con.close()


class Fixture:
    """Made once for the module: the source domain and appliance, its backup, an old state."""


F = Fixture()


def setUpModule():
    if not (os.path.isfile(KEEPSAKE_BIN) and os.access(KEEPSAKE_BIN, os.X_OK)):
        raise RuntimeError(f"keepsake binary not found or not executable: {KEEPSAKE_BIN} (set KEEPSAKE_BIN)")
    F.tmp = tempfile.TemporaryDirectory(prefix="ks-restore-")
    base = F.tmp.name
    F.generated = {}
    for seed in (SOURCE_SEED, OTHER_SEED):
        out = generate_state(os.path.join(base, f"gen-{seed}"), db_mib=4, files=60, seed=seed)
        F.generated[seed] = out
    # The source appliance: a domain, a state root with accounts, one backup of it.
    F.state = os.path.join(base, "source-state")
    F.dms_file = write_secret(os.path.join(base, "source.dms"), SOURCE_DMS)
    F.wrong_dms_file = write_secret(os.path.join(base, "wrong.dms"), WRONG_DMS)
    F.other_dms_file = write_secret(os.path.join(base, "other.dms"), OTHER_DMS)
    proc = run_keepsake(F.state, None, "dms", "set", "--dms-file", F.dms_file, "--kdf-ops", "1", "--kdf-mem-kib", "8", "--test-weak-kdf", "--keep-restore-key")
    if proc.returncode != 0:
        raise RuntimeError(f"dms set failed: {proc.stderr}")
    F.fingerprint = re.search(FINGERPRINT_RE, proc.stdout).group(0)
    F.source = os.path.join(base, "source-root")
    shutil.copytree(F.generated[SOURCE_SEED], F.source, symlinks=True)
    write_text(os.path.join(F.source, "system", "accounts", "users.json"), json.dumps(SOURCE_USERS) + "\n", 0o600)
    F.out = os.path.join(base, "backups")
    os.mkdir(F.out)
    proc = run_keepsake(F.state, F.source, "backup", "--out", F.out)
    if proc.returncode != 0:
        raise RuntimeError(f"backup of the source appliance failed: {proc.stderr}")
    F.backup = proc.stdout.strip()
    F.new_tree = tree(F.source)  # what a full restore must produce, exactly
    # The "old" state a restore replaces.
    F.old = os.path.join(base, "old-root")
    shutil.copytree(F.source, F.old, symlinks=True, ignore=shutil.ignore_patterns(WORK))
    make_old_state(F.old)
    F.old_tree = tree(F.old)
    assert F.old_tree != F.new_tree
    for sub in ("firmware", "config", "system/cluster", "system/network", "system/database",
                "system/accounts", "db"):
        assert subtree(F.old_tree, sub) != subtree(F.new_tree, sub), sub


def tearDownModule():
    F.tmp.cleanup()


class RestoreTestCase(TempDirMixin, CliAssertions, unittest.TestCase):
    tmp_prefix = "ks-rt-"

    def copy_of(self, src, name):
        dst = self.path(name)
        shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(WORK) if src == F.source else None)
        return dst

    def old_root(self, name="root"):
        return self.copy_of(F.old, name)

    def assertTree(self, root, want, what=""):
        got = tree(root)
        if got != want:
            self.fail(f"{root}: the tree is not {what or 'as expected'}:\n{tree_diff(got, want)}")

    def assertWorkClean(self, root):
        """No restore in progress: no journal, no staging area, no half-made rollback point."""
        work = os.path.join(root, WORK)
        for name in ("journal.json", "staging", "rollback.next"):
            self.assertFalse(os.path.lexists(os.path.join(work, name)), f"{work}/{name} is left behind")

    def assertDbOk(self, root):
        self.assertEqual(db_integrity(root), "ok")

    def has_rollback_point(self, root):
        return os.path.isfile(os.path.join(root, WORK, "rollback", "info.json"))

    def fingerprint(self, state_dir):
        proc = run_keepsake(state_dir, None, "dms", "show")
        self.assertOk(proc)
        return re.search(r"Domain fingerprint: (" + FINGERPRINT_RE + ")", proc.stdout).group(1)


# --------------------------------------------------------------------------------------
# 1. Round trip while a writer commits to the database throughout the backup.
# --------------------------------------------------------------------------------------

WRITER = r"""
import os, sqlite3, sys, time
db, stop = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db, timeout=30, isolation_level=None)
i = con.execute("SELECT coalesce(max(id), 0) FROM writer_rows").fetchone()[0]
while not os.path.exists(stop):
    i += 1
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO writer_rows(id, payload) VALUES(?, randomblob(3000))", (i,))
    con.execute("COMMIT")
    time.sleep(0.001)
con.close()
print(i)
"""


class RoundTripUnderWriteLoadTest(RestoreTestCase):

    def count_rows(self, root):
        return db_query(root, "SELECT count(*) FROM writer_rows")[0][0]

    def test_round_trip_while_a_writer_commits_during_the_backup(self):
        root = self.copy_of(F.source, "root")
        con = sqlite3.connect(os.path.join(root, DB))
        con.execute("CREATE TABLE writer_rows(id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        con.commit()
        con.close()
        certs = db_query(root, "SELECT count(*) FROM certificates")[0][0]
        backed_up = without_paths(tree(root), DB)  # everything but the database file is static
        stop = self.path("stop-writer")
        writer = subprocess.Popen([sys.executable, "-c", WRITER, os.path.join(root, DB), stop],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while self.count_rows(root) < 30:
                self.assertIsNone(writer.poll(), "the writer died")
                self.assertLess(time.monotonic(), deadline, "the writer does not commit")
                time.sleep(0.01)
            before = self.count_rows(root)
            out = self.path("out")
            os.mkdir(out)
            proc = run_keepsake(F.state, root, "backup", "--out", out)
            after = self.count_rows(root)
            # Keep writing a little after the backup, then stop.
            while self.count_rows(root) < after + 10 and writer.poll() is None:
                time.sleep(0.01)
        finally:
            open(stop, "w").close()
            w_out, w_err = writer.communicate(timeout=60)
        self.assertEqual(writer.returncode, 0, f"writer failed: {w_err}")
        self.assertOk(proc)
        backup = proc.stdout.strip()
        self.assertTrue(os.path.isfile(backup))
        self.assertGreater(after, before, "no commit happened while the backup ran: the test proves nothing")

        # Modify the appliance: files, network settings, database rows.
        cfg = files_in(root, "config")
        os.remove(cfg[3])
        with open(cfg[4], "a") as f:
            f.write("changed = after the backup\n")
        write_text(os.path.join(root, "config", "new-after-backup.conf"), "x = 1\n")
        with open(files_in(root, "system/network")[1], "w") as f:
            f.write("address: 198.51.100.9\n")
        con = sqlite3.connect(os.path.join(root, DB))
        con.execute("DELETE FROM writer_rows WHERE id % 3 = 0")
        con.execute("INSERT INTO writer_rows(id, payload) VALUES(1000000, x'00')")
        con.execute("DELETE FROM certificates WHERE rowid IN (SELECT rowid FROM certificates LIMIT 10)")
        con.commit()
        con.close()
        self.assertNotEqual(without_paths(tree(root), DB), backed_up)

        proc = run_keepsake(F.state, root, "restore", backup)
        self.assertOk(proc)
        self.assertIn("restored firmware, cluster, network, database-settings, accounts, database", proc.stdout)
        self.assertIn("keepsake rollback", proc.stdout)
        got = without_paths(tree(root), DB)
        self.assertEqual(got, backed_up, f"not the backed-up state:\n{tree_diff(got, backed_up)}")
        self.assertIn(DB, tree(root))
        self.assertDbOk(root)
        self.assertWorkClean(root)
        n, lo, hi = db_query(root, "SELECT count(*), min(id), max(id) FROM writer_rows")[0]
        self.assertTrue(n == 0 or (lo == 1 and hi == n), f"rows are not 1..k: count {n}, min {lo}, max {hi}")
        self.assertGreaterEqual(n, before, "the snapshot lost rows committed before the backup began")
        self.assertLessEqual(n, after, "the snapshot holds rows committed after the backup ended")
        self.assertEqual(db_query(root, "SELECT count(*) FROM certificates")[0][0], certs)


# --------------------------------------------------------------------------------------
# 2-4, 11. Restores onto this device: dry run, selected and kept components, rollback,
# a tampered backup.
# --------------------------------------------------------------------------------------

class RestoreOnThisDeviceTest(RestoreTestCase):

    def test_full_restore_gives_exactly_the_backed_up_state(self):
        root = self.old_root()
        proc = run_keepsake(F.state, root, "restore", F.backup)
        self.assertOk(proc)
        self.assertTree(root, F.new_tree, "the backed-up state")
        self.assertDbOk(root)
        self.assertWorkClean(root)
        self.assertTrue(self.has_rollback_point(root))

    def test_dry_run_changes_nothing(self):
        root = self.old_root()
        proc = run_keepsake(F.state, root, "restore", F.backup, "--dry-run")
        self.assertOk(proc)
        self.assertIn("verified", proc.stdout)
        self.assertIn("Nothing was changed", proc.stdout)
        self.assertIn("firmware, cluster, network, database-settings, accounts, database", proc.stdout)
        self.assertTree(root, F.old_tree, "unchanged")
        self.assertWorkClean(root)
        self.assertFalse(self.has_rollback_point(root), "a dry run made a rollback point")

    def test_keep_network_keeps_this_devices_network_settings(self):
        root = self.old_root()
        proc = run_keepsake(F.state, root, "restore", F.backup, "--keep", "network")
        self.assertOk(proc)
        self.assertIn("restored firmware, cluster, database-settings, accounts, database", proc.stdout)
        want = without_paths(F.new_tree, "system/network")
        want.update(subtree(F.old_tree, "system/network"))
        self.assertTree(root, want, "the backed-up state with this device's network settings")
        self.assertDbOk(root)
        self.assertWorkClean(root)

    def test_components_firmware_restores_only_firmware_and_config(self):
        root = self.old_root()
        proc = run_keepsake(F.state, root, "restore", F.backup, "--components", "firmware")
        self.assertOk(proc)
        self.assertIn("restored firmware (", proc.stdout)
        want = without_paths(F.old_tree, "firmware", "config")
        want.update(subtree(F.new_tree, "firmware", "config"))
        self.assertTree(root, want, "the old state with the backed-up firmware/ and config/")
        self.assertWorkClean(root)

    def test_rollback_returns_to_the_previous_state_and_a_second_rollback_undoes_it(self):
        root = self.old_root()
        self.assertOk(run_keepsake(F.state, root, "restore", F.backup))
        self.assertTree(root, F.new_tree, "the restored state")
        proc = run_keepsake(F.state, root, "rollback")
        self.assertOk(proc)
        self.assertIn("returned to the state", proc.stdout)
        self.assertTree(root, F.old_tree, "the state before the restore")
        self.assertDbOk(root)
        self.assertWorkClean(root)
        self.assertTrue(self.has_rollback_point(root))
        proc = run_keepsake(F.state, root, "rollback")
        self.assertOk(proc)
        self.assertTree(root, F.new_tree, "the restored state again")
        self.assertDbOk(root)
        self.assertWorkClean(root)

    def test_rollback_removes_a_component_the_previous_state_did_not_have(self):
        root = self.old_root()
        shutil.rmtree(os.path.join(root, "system", "accounts"))
        old = tree(root)
        self.assertOk(run_keepsake(F.state, root, "restore", F.backup))
        self.assertTree(root, F.new_tree, "the restored state")
        self.assertOk(run_keepsake(F.state, root, "rollback"))
        self.assertTree(root, old, "the state before the restore (without system/accounts)")

    def test_rollback_without_a_rollback_point_is_refused(self):
        root = self.old_root()
        proc = run_keepsake(F.state, root, "rollback")
        self.assertFails(proc, EXIT_IO, "no rollback point")
        self.assertTree(root, F.old_tree, "unchanged")

    def test_tampered_backup_is_refused_and_changes_nothing(self):
        root = self.old_root()
        bad = self.path("tampered.ksb")
        shutil.copyfile(F.backup, bad)
        with open(bad, "r+b") as f:
            middle = os.path.getsize(bad) // 2
            f.seek(middle)
            byte = f.read(1)
            f.seek(middle)
            f.write(bytes([byte[0] ^ 0x01]))
        proc = run_keepsake(F.state, root, "restore", bad)
        self.assertFails(proc, EXIT_CORRUPT)
        self.assertTree(root, F.old_tree, "unchanged")
        self.assertWorkClean(root)
        self.assertFalse(self.has_rollback_point(root))

    def test_newer_firmware_is_refused(self):
        src = self.copy_of(F.source, "newer")
        write_text(os.path.join(src, "firmware", "VERSION"), "firmware=9.0.0\nbuild=00\n")
        out = self.path("out")
        os.mkdir(out)
        proc = run_keepsake(F.state, src, "backup", "--out", out)
        self.assertOk(proc)
        root = self.old_root()
        proc = run_keepsake(F.state, root, "restore", proc.stdout.strip())
        self.assertFails(proc, EXIT_CORRUPT, "newer", "update the firmware", "9.0.0")
        self.assertTree(root, F.old_tree, "unchanged")
        self.assertWorkClean(root)

    def test_an_old_backup_replayed_under_a_newer_name_says_what_it_is(self):
        # Issue 13, finding 4 (reproduced): a copy of an old backup under a newer name
        # verified "OK" and restored without a word; its signed header keeps its true place.
        out = self.path("out")
        os.mkdir(out)
        proc = run_keepsake(F.state, self.copy_of(F.source, "again"), "backup", "--out", out)
        self.assertOk(proc)
        newest = os.path.basename(proc.stdout.strip())
        replay = os.path.join(out, "vm_20991231T235959Z.ksb")
        shutil.copyfile(F.backup, replay)
        proc = run_keepsake(F.state, None, "inspect", replay)
        self.assertOk(proc)
        self.assertIn("made as " + os.path.basename(F.backup) + ": this file was renamed or copied", proc.stdout)
        self.assertRegex(proc.stdout, r"Sequence:\s+backup \d+ of its device")
        root = self.old_root()
        proc = run_keepsake(F.state, root, "restore", replay, "--dry-run")
        self.assertOk(proc)
        self.assertIn("renamed or copied", proc.stdout)
        self.assertRegex(proc.stdout, r"this is backup (\d+) of this appliance, made .*; its newest is backup \d+")
        self.assertIn(newest, proc.stdout)

    def test_a_file_served_differently_on_each_open_restores_only_what_was_checked(self):
        # Issue 13, finding 1 (reproduced): hostile storage (any NFS server can; here a FIFO)
        # serves an acceptable backup when the restore reads the header and a newer-firmware
        # backup of the same domain on the next open. Read once, the restore gets exactly
        # the backup it checked; before, it restored firmware 9.0.0 that it had refused.
        src = self.copy_of(F.source, "newer")
        write_text(os.path.join(src, "firmware", "VERSION"), "firmware=9.0.0\nbuild=00\n")
        write_text(os.path.join(src, "config", "served-second.conf"), "planted = by the storage\n")
        out = self.path("out")
        os.mkdir(out)
        proc = run_keepsake(F.state, src, "backup", "--out", out)
        self.assertOk(proc)
        with open(F.backup, "rb") as f:
            checked = f.read()
        with open(proc.stdout.strip(), "rb") as f:
            swapped = f.read()
        fifo = self.path("served.ksb")
        os.mkfifo(fifo)
        served = []

        def serve():
            # The first stream goes whole to a reader that reads it whole; a reader that
            # leaves after the header and opens again gets the other file.
            for payload in (checked, swapped):
                try:
                    with open(fifo, "wb") as w:
                        served.append(len(payload))
                        w.write(payload)
                    return
                except BrokenPipeError:
                    continue

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        root = self.old_root()
        proc = run_keepsake(F.state, root, "restore", fifo)
        # Release the server if it waits for a second reader that never came.
        try:
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        except OSError:
            pass
        server.join(timeout=10)
        self.assertOk(proc)
        self.assertEqual(served, [len(checked)], "the restore opened the file more than once")
        self.assertTree(root, F.new_tree, "the state of the backup whose header was checked")
        self.assertFalse(os.path.exists(os.path.join(root, "config", "served-second.conf")))
        self.assertWorkClean(root)


# --------------------------------------------------------------------------------------
# 5-6. Crash safety: injected crash points, kill -9 at random times.
# --------------------------------------------------------------------------------------

class CrashSafetyTest(RestoreTestCase):

    def assertOldOrNew(self, root, expect_new, how):
        """After recovery: exactly the old or the new state, sound DB, nothing half-done."""
        want, name = (F.new_tree, "the new state") if expect_new else (F.old_tree, "the old state")
        if expect_new is None:  # either is acceptable; find out which
            got = tree(root)
            self.assertIn(got, (F.old_tree, F.new_tree),
                          f"{how}: neither the old nor the new state:\n"
                          f"vs old:\n{tree_diff(got, F.old_tree)}\nvs new:\n{tree_diff(got, F.new_tree)}")
            expect_new = got == F.new_tree
        else:
            self.assertTree(root, want, f"{name} ({how})")
        self.assertDbOk(root)
        self.assertWorkClean(root)
        if expect_new:
            self.assertTrue(self.has_rollback_point(root), f"{how}: the new state has no rollback point")
            # The rollback point is the old state, exactly.
            self.assertOk(run_keepsake(F.state, root, "rollback"))
            self.assertTree(root, F.old_tree, f"the old state after a rollback ({how})")
        else:
            self.assertFalse(os.path.exists(os.path.join(root, WORK, "rollback")),
                             f"{how}: the old state has a rollback point it never had")
        return expect_new

    def recover(self, root, how):
        """Start-up recovery, by one of the commands that run it first."""
        if how == "recover":
            proc = run_keepsake(F.state, root, "recover")
            self.assertOk(proc)
            return proc.stdout
        if how == "backup":
            out = self.path("recover-backup-out")
            os.makedirs(out, exist_ok=True)
            proc = run_keepsake(F.state, root, "backup", "--out", out)
            self.assertOk(proc)
            return proc.stderr
        proc = run_keepsake(F.state, root, "restore", F.backup, "--dry-run")
        self.assertOk(proc)
        return proc.stdout

    def test_every_crash_point_leaves_the_old_or_the_new_state(self):
        hows = ("recover", "backup", "restore --dry-run")
        for n, point in enumerate(CRASH_POINTS):
            with self.subTest(crash_at=point):
                root = self.old_root(f"root-{n}")
                proc = run_keepsake(F.state, root, "restore", F.backup, env_extra={"KEEPSAKE_CRASH_AT": point})
                self.assertIn(proc.returncode, KILLED,
                              f"crash point {point} did not kill the restore: rc {proc.returncode}, {proc.stderr}")
                expect_new = n >= FIRST_NEW_STATE_POINT
                how = hows[n % len(hows)]
                said = self.recover(root, how)
                if point in ("journal-written",) or point.startswith("moved-"):
                    self.assertIn("rolled back", said)
                elif point in ("done-written", "rollback-point-kept"):
                    self.assertIn("completed", said)
                # Recovery is done once: a second one finds nothing.
                proc = run_keepsake(F.state, root, "recover")
                self.assertOk(proc)
                self.assertIn("nothing to recover", proc.stdout)
                self.assertOldOrNew(root, expect_new, f"crash at {point}, recovered by {how}")

    def test_kill_at_random_times_leaves_the_old_or_the_new_state(self):
        seed = int(os.environ.get("KEEPSAKE_TEST_SEED") or time.time_ns() % 1_000_000_007)
        print(f"\n[test_restore] kill -9 rounds: seed {seed} (set KEEPSAKE_TEST_SEED to repeat)",
              file=sys.stderr, flush=True)
        rng = random.Random(seed)
        env = dict(os.environ)
        for var in ("KEEPSAKE_STATE_DIR", "KEEPSAKE_APPLIANCE_ROOT", "KEEPSAKE_CRASH_AT"):
            env.pop(var, None)

        def start(root):
            return subprocess.Popen([KEEPSAKE_BIN, "--state-dir", F.state, "--appliance-root", root, "restore",
                                     F.backup], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)

        # The normal duration, measured once (best of two).
        duration = None
        for i in range(2):
            root = self.old_root(f"measure-{i}")
            t0 = time.monotonic()
            p = start(root)
            _, err = p.communicate(timeout=60)
            elapsed = time.monotonic() - t0
            self.assertEqual(p.returncode, 0, err)
            duration = elapsed if duration is None else min(duration, elapsed)
        outcomes = []
        for r in range(10):
            delay = rng.uniform(0, duration)
            with self.subTest(round=r, delay=round(delay, 4)):
                root = self.old_root(f"round-{r}")
                p = start(root)
                time.sleep(delay)
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.communicate(timeout=60)
                self.assertIn(p.returncode, KILLED + (0,), f"restore failed on its own: rc {p.returncode}")
                self.assertOk(run_keepsake(F.state, root, "recover"))
                is_new = self.assertOldOrNew(root, None, f"kill -9 after {delay:.4f} s (round {r}, seed {seed})")
                outcomes.append((round(delay, 4), p.returncode, "new" if is_new else "old"))
        print(f"[test_restore] normal duration {duration:.3f} s; (delay, rc, state): {outcomes}",
              file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# 7-8, 10. Other devices: a device without a domain, a device of another domain, a fresh
# appliance (disaster recovery).
# --------------------------------------------------------------------------------------

class OtherDeviceTest(RestoreTestCase):

    def other_root(self, name):
        root = self.copy_of(F.generated[OTHER_SEED], name)
        # The backup's firmware must not be newer than this device's for these tests.
        with open(os.path.join(root, "firmware", "VERSION")) as f:
            here = f.readline().strip().split("=", 1)[1]
        with open(os.path.join(F.source, "firmware", "VERSION")) as f:
            there = f.readline().strip().split("=", 1)[1]
        self.assertGreaterEqual([int(x) for x in here.split(".")], [int(x) for x in there.split(".")],
                                "fixture: pick seeds so that the other device's firmware is not older")
        return root

    def new_state_dir(self, name):
        d = self.path(name)
        os.mkdir(d)
        return d

    def test_device_without_domain_needs_the_right_dms_and_then_adopts_the_domain(self):
        state = self.new_state_dir("b-state")
        root = self.other_root("b-root")
        before = tree(root)
        # No DMS at all.
        proc = run_keepsake(state, root, "restore", F.backup)
        self.assertFails(proc, EXIT_FAILURE, "Domain Master Secret")
        self.assertTree(root, before, "unchanged")
        self.assertWorkClean(root)
        # A wrong DMS.
        proc = run_keepsake(state, root, "restore", F.backup, "--dms-file", F.wrong_dms_file)
        self.assertFails(proc, EXIT_AUTH, "wrong Domain Master Secret")
        self.assertTree(root, before, "unchanged")
        self.assertWorkClean(root)
        self.assertFalse(os.path.exists(os.path.join(state, "keystore.json")), "a wrong DMS created a keystore")
        self.assertNotEqual(run_keepsake(state, None, "dms", "show").returncode, 0)
        # The right DMS, keeping this device's network settings.
        proc = run_keepsake(state, root, "restore", F.backup, "--dms-file", F.dms_file, "--keep", "network")
        self.assertOk(proc)
        self.assertIn(f"joined domain {F.fingerprint}", proc.stdout)
        self.assertEqual(self.fingerprint(state), F.fingerprint)
        want = without_paths(F.new_tree, "system/network")
        want.update(subtree(before, "system/network"))
        # The firmware's own version file describes this device's software: it stays.
        want["firmware/VERSION"] = before["firmware/VERSION"]
        self.assertTree(root, want, "the backed-up state with this device's network settings")
        self.assertDbOk(root)
        self.assertWorkClean(root)
        # Now in the domain, with a certified key of its own, and write-only: it can check
        # backups, and a second restore asks for the DMS again.
        self.assertRegex(run_keepsake(state, None, "dms", "show").stdout, r"Device key: .*certified for device")
        proc = run_keepsake(state, root, "restore", F.backup, "--components", "network")
        self.assertFails(proc, EXIT_FAILURE, "write-only", "Domain Master Secret")
        proc = run_keepsake(state, root, "restore", F.backup, "--components", "network", "--dms-file", F.dms_file)
        self.assertOk(proc)
        want = dict(F.new_tree)
        want["firmware/VERSION"] = before["firmware/VERSION"]
        self.assertTree(root, want, "the backed-up state")

    def test_device_without_domain_full_restore_with_the_right_dms(self):
        state = self.new_state_dir("c-state")
        root = self.other_root("c-root")
        before = tree(root)
        proc = run_keepsake(state, root, "restore", F.backup, "--dms-file", F.dms_file)
        self.assertOk(proc)
        self.assertIn(f"joined domain {F.fingerprint}", proc.stdout)
        self.assertEqual(self.fingerprint(state), F.fingerprint)
        want = dict(F.new_tree)
        want["firmware/VERSION"] = before["firmware/VERSION"]  # this device's software version stays
        self.assertTree(root, want, "the backed-up state")
        self.assertDbOk(root)
        self.assertWorkClean(root)

    def test_device_of_another_domain_refuses_even_with_the_backups_dms(self):
        state = self.new_state_dir("d-state")
        proc = run_keepsake(state, None, "dms", "set", "--dms-file", F.other_dms_file, "--kdf-ops", "1",
                            "--kdf-mem-kib", "8", "--test-weak-kdf", "--keep-restore-key")
        self.assertOk(proc)
        other_fp = self.fingerprint(state)
        self.assertNotEqual(other_fp, F.fingerprint)
        root = self.other_root("d-root")
        before = tree(root)
        for extra in ([], ["--dms-file", F.dms_file]):
            with self.subTest(args=extra):
                proc = run_keepsake(state, root, "restore", F.backup, *extra)
                self.assertFails(proc, EXIT_AUTH, F.fingerprint, other_fp)
                self.assertTree(root, before, "unchanged")
                self.assertWorkClean(root)
                self.assertEqual(self.fingerprint(state), other_fp)

    def fresh_appliance(self, name):
        state = self.new_state_dir(name + "-state")
        write_text(os.path.join(state, "otp-user.json"),
                   json.dumps({"username": "otp", "password": "one-time-7f3a"}) + "\n", 0o600)
        root = self.new_state_dir(name + "-root")
        return state, root

    def test_fresh_appliance_disaster_recovery(self):
        state, root = self.fresh_appliance("fresh")
        proc = run_keepsake(state, root, "restore", F.backup, "--dms-file", F.dms_file)
        self.assertOk(proc)
        self.assertIn(f"joined domain {F.fingerprint}", proc.stdout)
        self.assertIn("Initial OTP User was removed", proc.stdout)
        self.assertFalse(os.path.exists(os.path.join(state, "otp-user.json")))
        self.assertEqual(self.fingerprint(state), F.fingerprint)
        self.assertTree(root, F.new_tree, "the backed-up state")
        with open(os.path.join(root, "system", "accounts", "users.json")) as f:
            self.assertEqual(json.load(f), SOURCE_USERS)
        self.assertDbOk(root)
        self.assertWorkClean(root)

    def test_fresh_appliance_keeps_the_otp_user_when_accounts_are_not_restored(self):
        state, root = self.fresh_appliance("fresh-no-accounts")
        proc = run_keepsake(state, root, "restore", F.backup, "--dms-file", F.dms_file, "--keep", "accounts")
        self.assertOk(proc)
        self.assertNotIn("OTP User", proc.stdout)
        self.assertTrue(os.path.exists(os.path.join(state, "otp-user.json")))
        self.assertTree(root, without_paths(F.new_tree, "system/accounts"), "the backed-up state without accounts")

    # The journal carries the OTP user's removal, so recovery after a crash completes it.
    def test_fresh_appliance_crash_after_done_still_removes_the_otp_user(self):
        left = []
        for point in ("done-written", "rollback-point-kept", "finished"):
            state, root = self.fresh_appliance("crash-" + point)
            proc = run_keepsake(state, root, "restore", F.backup, "--dms-file", F.dms_file,
                                env_extra={"KEEPSAKE_CRASH_AT": point})
            self.assertIn(proc.returncode, KILLED, proc.stderr)
            self.assertOk(run_keepsake(state, root, "recover"))
            self.assertTree(root, F.new_tree, f"the backed-up state (crash at {point})")
            if os.path.exists(os.path.join(state, "otp-user.json")):
                left.append(point)
        self.assertEqual(left, [], "accounts restored but the Initial OTP User is still there after a crash at these points")

if __name__ == "__main__":
    unittest.main()
