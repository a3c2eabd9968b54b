#!/usr/bin/env python3
"""An appliance whose internal database is PostgreSQL, backed up and restored through the
real `keepsake` CLI against a real private PostgreSQL server (tests/fixtures/pg_server.py):
the dump travels inside the sealed backup, and a restore crashed after its files are in is
rolled forward by recovery."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import pg_server  # noqa: E402
from paths import KEEPSAKE_BIN as KEEPSAKE  # noqa: E402
WORK = None
SERVER = None


def setUpModule():
    global WORK, SERVER
    pg_server.require()
    # Module cleanups, not tearDownModule: they also run when setUpModule fails half-way.
    WORK = tempfile.mkdtemp(prefix="ks-pgapp-")
    unittest.addModuleCleanup(shutil.rmtree, WORK, ignore_errors=True)
    SERVER = pg_server.Server(WORK)
    unittest.addModuleCleanup(SERVER.stop)
    SERVER.start()


class PostgresApplianceTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="case-", dir=WORK)
        self.root = os.path.join(self.dir, "root")
        self.state = os.path.join(self.dir, "state")
        self.out = os.path.join(self.dir, "out")
        os.makedirs(os.path.join(self.root, "firmware"))
        os.makedirs(os.path.join(self.root, "system/database"))
        os.makedirs(self.out)
        with open(os.path.join(self.root, "firmware/VERSION"), "w") as f:
            f.write("firmware=4.5.0\n")
        passfile = os.path.join(self.dir, "pgpass")
        with open(passfile, "w") as f:
            f.write(f"127.0.0.1:{SERVER.port}:{pg_server.DATABASE}:{pg_server.ROLE}:{pg_server.PASSWORD}\n")
        os.chmod(passfile, 0o600)
        with open(os.path.join(self.root, "system/database/connection.json"), "w") as f:
            json.dump({"engine": "postgresql", "location": "internal", "host": "127.0.0.1", "port": SERVER.port,
                       "dbname": pg_server.DATABASE, "user": pg_server.ROLE, "password_file": passfile}, f)
        dms = os.path.join(self.dir, "dms")
        with open(dms, "w") as f:
            f.write("postgres appliance secret\n")
        self.keepsake("dms", "set", "--dms-file", dms, "--kdf-ops", "1", "--kdf-mem-kib", "8", "--test-weak-kdf",
                      "--keep-restore-key")  # restores here are the subject, not the DMS
        SERVER.sql("DROP TABLE IF EXISTS certs; CREATE TABLE certs (serial int PRIMARY KEY, subject text);"
                   "INSERT INTO certs SELECT g, 'CN=host-' || g FROM generate_series(1, 500) g;")

    def keepsake(self, *args, env=None, check=True):
        proc = subprocess.run([KEEPSAKE, "--state-dir", self.state, "--appliance-root", self.root, *args],
                              capture_output=True, text=True, timeout=120, env=env)
        if check:
            self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc

    def rows(self):
        return SERVER.sql("SELECT count(*), max(subject), sum(length(subject)) FROM certs")

    def test_backup_carries_the_dump_and_restore_brings_the_rows_back(self):
        before = self.rows()
        path = self.keepsake("backup", "--out", self.out).stdout.strip()
        details = json.loads(self.keepsake("inspect", "--json", path).stdout)
        db = next(c for c in details["components"] if c["name"] == "database")
        self.assertIn("internal PostgreSQL", db.get("note", ""))
        SERVER.sql("DELETE FROM certs WHERE serial > 100; UPDATE certs SET subject = 'CN=changed';")
        self.assertNotEqual(self.rows(), before)
        self.keepsake("restore", path, "--components", "database")
        self.assertEqual(self.rows(), before)

    def test_restore_crashed_while_loading_is_rolled_forward(self):
        before = self.rows()
        path = self.keepsake("backup", "--out", self.out).stdout.strip()
        SERVER.sql("DELETE FROM certs WHERE serial > 10;")
        env = dict(os.environ, KEEPSAKE_CRASH_AT="files-swapped")
        proc = self.keepsake("restore", path, env=env, check=False)
        self.assertEqual(proc.returncode, -9, proc.stderr)
        recovered = self.keepsake("recover").stdout
        self.assertIn("completed", recovered)
        self.assertEqual(self.rows(), before)
        self.assertFalse(os.path.exists(os.path.join(self.root, ".keepsake/journal.json")))

    def test_database_unreachable_during_restore_leaves_everything_as_it_was(self):
        path = self.keepsake("backup", "--out", self.out).stdout.strip()
        with open(os.path.join(self.root, "firmware/marker"), "w") as f:
            f.write("current state\n")
        SERVER.stop()
        try:
            proc = self.keepsake("restore", path, check=False)
        finally:
            SERVER.start()
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("unreachable", proc.stderr)
        self.assertIn("restore undone", proc.stderr)
        # The files were put back: the marker of the current state is still there.
        self.assertTrue(os.path.exists(os.path.join(self.root, "firmware/marker")))
        self.assertFalse(os.path.exists(os.path.join(self.root, ".keepsake/journal.json")))


if __name__ == "__main__":
    unittest.main()
