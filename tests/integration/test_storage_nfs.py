#!/usr/bin/env python3
"""NFS storage against a real NFSv4 server: nfs-ganesha on 127.0.0.1 (fixtures/nfs_server.py).

1. The storage conformance suite, instantiated as "Nfs" in the unit test binary, run against
   the server's exports: every listed case passes, none skips (a case whose capability the
   server lacks, the small tmpfs export without root, may skip).
2. What an administrator sees through keepsaked when setting an NFS location: a closed port
   (unreachable, at once), a missing export, a read-only export, a squashed one (permission
   denied), NFS 4.1 (refused, saying why), and a good export (accepted and browsable).
3. The server killed (SIGKILL) in the middle of a backup: the job fails within a bounded time
   with a message naming the server; after a restart the next backup succeeds and no partial
   file is left in the export.

Binaries: env KEEPSAKE_UNIT_TESTS_BIN and KEEPSAKED_BIN (ctest sets them), else <repository>/build/.
Run: python3 tests/integration/test_storage_nfs.py -v
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import nfs_server  # noqa: E402
from daemon import ApiAssertions, Daemon  # noqa: E402
from paths import KEEPSAKED_BIN, UNIT_TESTS_BIN, generate_state  # noqa: E402

DMS = "nfs storage domain secret"


def setUpModule():
    nfs_server.require()


class NfsServerTest(unittest.TestCase):
    """A fresh server (and exports) per test; killed in cleanup even when the test fails."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ks-nfs-")
        self.addCleanup(self.tmp.cleanup)
        self.server = nfs_server.Ganesha(self.tmp.name)
        self.addCleanup(self.server.stop)
        self.server.start()


class ConformanceTest(NfsServerTest):
    FILTER = "Nfs/*:*Nfs*"

    def test_conformance_suite_passes(self):
        if not os.access(UNIT_TESTS_BIN, os.X_OK):
            raise RuntimeError(f"binary not found: {UNIT_TESTS_BIN} (set KEEPSAKE_UNIT_TESTS_BIN)")
        s = self.server
        env = dict(os.environ,
                   KEEPSAKE_TEST_NFS_URL=s.url("rw"), KEEPSAKE_TEST_NFS_EXPORT_DIR=s.dirs["rw"],
                   KEEPSAKE_TEST_NFS_RO_URL=s.url("ro"), KEEPSAKE_TEST_NFS_RO_EXPORT_DIR=s.dirs["ro"])
        if s.has_small:
            env.update(KEEPSAKE_TEST_NFS_SMALL_URL=s.url("small"), KEEPSAKE_TEST_NFS_SMALL_EXPORT_DIR=s.dirs["small"],
                       KEEPSAKE_TEST_NFS_SMALL_BYTES=str(nfs_server.SMALL_BYTES))
        listed = subprocess.run([UNIT_TESTS_BIN, f"--gtest_filter={self.FILTER}", "--gtest_list_tests"], env=env,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        cases = [line for line in listed.stdout.splitlines() if line.startswith("  ")]
        self.assertGreater(len(cases), 40, listed.stdout)
        started = time.monotonic()
        proc = subprocess.run([UNIT_TESTS_BIN, f"--gtest_filter={self.FILTER}"], env=env, capture_output=True,
                              text=True, timeout=600)
        print(f"\n  conformance: {len(cases)} cases in {time.monotonic() - started:.1f} s", file=sys.stderr)
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 0, out[-5000:])
        passed = re.search(r"^\[  PASSED  \] (\d+) tests?\.", out, re.M)
        self.assertIsNotNone(passed, out[-3000:])
        skipped = re.findall(r"^\[  SKIPPED \] (\S+)", out, re.M)
        allowed = set() if s.has_small else {"Nfs/BackendConformanceTest.FullStoreReportsNoSpaceAndLeavesNothing/Nfs"}
        self.assertLessEqual(set(skipped), allowed, out[-3000:])
        self.assertEqual(int(passed.group(1)) + len(skipped), len(cases), out[-3000:])
        self.assertNotIn("store not available", out)


class DaemonTestBase(ApiAssertions, NfsServerTest):
    """keepsaked on an appliance state, bootstrapped, DMS set; no storage yet."""

    big_file_mib = 0

    def setUp(self):
        super().setUp()
        if not os.access(KEEPSAKED_BIN, os.X_OK):
            raise RuntimeError(f"binary not found: {KEEPSAKED_BIN} (set KEEPSAKED_BIN)")
        base = self.tmp.name
        self.root = os.path.join(base, "appliance")
        generate_state(self.root, db_mib=2, files=20, seed=5)
        if self.big_file_mib:
            # Incompressible, so that the sealed file is as big and takes seconds to write.
            with open(os.path.join(self.root, "firmware", "random.bin"), "wb") as f:
                for _ in range(self.big_file_mib):
                    f.write(os.urandom(1 << 20))
        self.daemon = Daemon(base, os.path.join(base, "state"), self.root)
        self.addCleanup(self._stop_daemon)
        self.daemon.start()
        self.daemon.bootstrap()
        self.ok(self.daemon.post("/api/v1/dms", {"dms": DMS, "confirmation": DMS}), 201)

    def _stop_daemon(self):
        if self.daemon.proc is not None and self.daemon.proc.poll() is None:
            self.daemon.stop(signal.SIGKILL)

    def set_storage(self, url):
        return self.daemon.put("/api/v1/storage", {"url": url})


class SettingsErrorsTest(DaemonTestBase):
    def test_closed_port_is_unreachable_at_once(self):
        port = nfs_server.free_port()
        started = time.monotonic()
        message = self.error(self.set_storage(f"nfs://127.0.0.1:{port}/rw"), 503, f"127.0.0.1:{port}",
                             "unreachable")["message"]
        self.assertLess(time.monotonic() - started, 5, message)

    def test_missing_export_is_not_found(self):
        self.error(self.set_storage(self.server.url("nope")), 404, "no export or directory /nope")
        self.error(self.set_storage(self.server.url("rw", "missing")), 404, "/rw/missing")

    def test_read_only_export_is_refused(self):
        self.error(self.set_storage(self.server.url("ro")), 403, self.server.url("ro"), "not writable")

    def test_squashed_export_is_refused(self):
        self.error(self.set_storage(self.server.url("squash")), 403, "not writable")

    def test_nfs_41_and_42_are_refused_saying_why(self):
        for version in ("4.1", "4.2"):
            url = self.server.url("rw", version=version)
            self.error(self.set_storage(url), 422, f"{url}: NFS {version} cannot be used on this system",
                       "speaks NFS 4.0 only", "Choose NFS version 4")

    def test_good_export_is_saved_and_browsable(self):
        os.makedirs(os.path.join(self.server.dirs["rw"], "site-a"))
        url = self.server.url("rw", version="4")
        body = self.ok(self.set_storage(url))
        self.assertEqual(body["storage"]["url"], self.server.url("rw"))  # canonical: the default version dropped
        listing = self.ok(self.daemon.get("/api/v1/storage/browse?" + urllib.parse.urlencode({"url": url})))
        self.assertIn("site-a", str(listing))


class ServerKilledMidBackupTest(DaemonTestBase):
    big_file_mib = 96

    def setUp(self):
        super().setUp()
        # Read as 3 GiB of zeros (sparse: no disk used): the backup lasts seconds however
        # fast the writer, so the kill always lands mid-write.
        with open(os.path.join(self.root, "firmware", "zeros.img"), "wb") as f:
            f.truncate(3 << 30)

    def job(self, job_id):
        for j in self.daemon.jobs():
            if j["id"] == job_id:
                return j
        self.fail(f"job {job_id} not in the history")

    def test_backup_fails_clearly_then_succeeds_after_restart(self):
        s = self.server
        os.makedirs(os.path.join(s.dirs["rw"], "backups"))
        self.ok(self.set_storage(s.url("rw", "backups")))
        job = self.ok(self.daemon.post("/api/v1/backups"), 202)["job"]

        def writing():
            _, st = self.daemon.get("/api/v1/status")
            j = st.get("job")
            return j if j and j["phase"] == "writing" and j["bytes_done"] >= (8 << 20) else None
        self.daemon.wait_for(writing, timeout=120, what="the backup to write to the NFS server")
        partials = [n for n in os.listdir(os.path.join(s.dirs["rw"], "backups")) if n.endswith(".partial")]
        self.assertTrue(partials, "the backup writes a partial file first")
        s.kill()
        killed = time.monotonic()
        self.daemon.wait_idle(timeout=60)
        failed_after = time.monotonic() - killed
        print(f"\n  job failed {failed_after:.1f} s after the server was killed", file=sys.stderr)
        failed = self.job(job["id"])
        print(f"  error: {failed.get('error')}", file=sys.stderr)
        self.assertEqual(failed["result"], "failed", failed)
        self.assertIn(f"NFS server 127.0.0.1:{s.port}", failed["error"])
        self.assertLess(failed_after, 2 * 15 + 5)  # one timed-out call, and one for the cleanup

        s.restart()
        started = time.monotonic()
        job = self.ok(self.daemon.post("/api/v1/backups"), 202)["job"]
        self.daemon.wait_idle(timeout=300)
        done = self.job(job["id"])
        print(f"  next backup ({self.big_file_mib} MiB of random data) took {time.monotonic() - started:.1f} s",
              file=sys.stderr)
        self.assertEqual(done["result"], "succeeded", done)
        names = os.listdir(os.path.join(s.dirs["rw"], "backups"))
        self.assertIn(done["file"], names)
        self.assertEqual([n for n in names if n.startswith(".") and n.endswith(".partial")], [], names)


if __name__ == "__main__":
    unittest.main()
