#!/usr/bin/env python3
"""An external database is never backed up: only its connection settings are, and the
Backup Details say so. Drives the real `keepsake` binary."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from paths import KEEPSAKE_BIN as KEEPSAKE  # noqa: E402


class ExternalDatabaseTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ks-extdb-")
        self.addCleanup(self.tmp.cleanup)
        d = self.tmp.name
        self.root = os.path.join(d, "root")
        self.state = os.path.join(d, "state")
        self.out = os.path.join(d, "out")
        for sub in ("firmware", "system/database", "system/network", "db", "out"):
            os.makedirs(os.path.join(self.root if sub != "out" else d, sub), exist_ok=True)
        with open(os.path.join(self.root, "firmware/VERSION"), "w") as f:
            f.write("firmware=4.5.0\n")
        with open(os.path.join(self.root, "system/network/eth0.json"), "w") as f:
            f.write('{"address": "192.0.2.10/24"}\n')
        with open(os.path.join(self.root, "system/database/connection.json"), "w") as f:
            json.dump({"engine": "postgresql", "location": "external", "host": "db.example.net",
                       "port": 5432, "dbname": "pki", "user": "pki"}, f)
        # A database file that must NOT end up in the backup: the external DB is elsewhere.
        with open(os.path.join(self.root, "db/internal.sqlite"), "wb") as f:
            f.write(b"not used with an external database")
        dms = os.path.join(d, "dms")
        with open(dms, "w") as f:
            f.write("external database secret\n")
        self.run_ok("dms", "set", "--dms-file", dms, "--kdf-ops", "1", "--kdf-mem-kib", "8", "--test-weak-kdf", "--keep-restore-key")

    def run_ok(self, *args):
        proc = subprocess.run([KEEPSAKE, "--state-dir", self.state, "--appliance-root", self.root, *args],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout

    def test_only_the_connection_settings_are_backed_up(self):
        path = self.run_ok("backup", "--out", self.out).strip()
        details = json.loads(self.run_ok("inspect", "--json", path))
        names = [c["name"] for c in details["components"]]
        self.assertNotIn("database", names)
        self.assertIn("database-settings", names)
        note = next(c for c in details["components"] if c["name"] == "database-settings").get("note", "")
        self.assertIn("external PostgreSQL at db.example.net:5432/pki", note)
        self.assertIn("not backed up", note)
        # The table view shows the note too.
        self.assertIn("connection settings only", self.run_ok("inspect", path))
        # And the content holds no database file.
        listing = os.path.join(self.tmp.name, "extracted")
        self.run_ok("extract", path, "--to", listing)
        self.assertTrue(os.path.exists(os.path.join(listing, "system/database/connection.json")))
        self.assertFalse(os.path.exists(os.path.join(listing, "db")))


if __name__ == "__main__":
    unittest.main()
