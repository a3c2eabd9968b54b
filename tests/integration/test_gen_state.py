#!/usr/bin/env python3
"""tools/gen_state.py, the generator of the appliance states that the tests, `make run` and
the benchmarks use: deterministic (two runs, the same bytes, modes and mtimes), the layout
of src/appliance/layout.h, and a database shaped like a CA's. Needs no binary.

Generator: env KEEPSAKE_GEN_STATE, else <repository>/tools/gen_state.py.
Run: python3 tests/integration/test_gen_state.py -v
"""

import base64
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from paths import generate_state  # noqa: E402

DB_MIB, FILES = 2, 30
DB = "db/internal.sqlite"
MTIME = 1704067200  # 2024-01-01T00:00:00Z


def snapshot(root):
    """relative path -> (mode, mtime, sha256 of the content or None for a directory)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest = None
            if name in filenames:
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            out[os.path.relpath(path, root)] = (st.st_mode, int(st.st_mtime), digest)
    return out


def firmware_version(root):
    with open(os.path.join(root, "firmware", "VERSION")) as f:
        return [int(x) for x in f.readline().strip().split("=", 1)[1].split(".")]


class GenStateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="ks-gen-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.a = generate_state(os.path.join(cls.tmp.name, "a"), DB_MIB, FILES, seed=1)
        old = os.umask(0o077)  # the caller's umask must not change the tree
        try:
            cls.b = generate_state(os.path.join(cls.tmp.name, "b"), DB_MIB, FILES, seed=1)
        finally:
            os.umask(old)
        cls.c = generate_state(os.path.join(cls.tmp.name, "c"), DB_MIB, FILES, seed=4)

    def test_same_arguments_same_bytes_modes_and_mtimes(self):
        a, b = snapshot(self.a), snapshot(self.b)
        self.assertEqual(a, b)
        self.assertEqual({mtime for _, mtime, _ in a.values()}, {MTIME})

    def test_a_rerun_into_the_same_directory_replaces_the_tree(self):
        again = os.path.join(self.tmp.name, "again")
        generate_state(again, DB_MIB, FILES, seed=4)
        generate_state(again, DB_MIB, FILES, seed=1)
        self.assertEqual(snapshot(again), snapshot(self.a))

    def test_another_seed_another_state_and_newer_firmware(self):
        a, c = snapshot(self.a), snapshot(self.c)
        self.assertNotEqual(a[DB], c[DB])
        self.assertNotEqual(a["firmware/VERSION"], c["firmware/VERSION"])
        # Tests restore seed 1's backup onto seed 4's appliance: that needs newer firmware.
        self.assertEqual(firmware_version(self.a)[:2], [4, 1])
        self.assertGreater(firmware_version(self.c), firmware_version(self.a))

    def test_layout(self):
        top = sorted(os.listdir(self.a))
        self.assertEqual(top, ["config", "db", "firmware", "system"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.a, "system"))), ["cluster", "database", "network"],
                         "no system/accounts: keepsaked makes the Initial OTP User only without accounts")
        files = {p: s for p, s in snapshot(self.a).items() if s[2] is not None}
        self.assertEqual(len([p for p in files if p.startswith("config/")]), FILES)
        self.assertEqual(len([p for p in files if p.startswith("firmware/")]), 51)
        self.assertTrue(any(p.count("/") >= 3 for p in files if p.startswith("config/")), "nested folders")
        for area in ("cluster", "network", "database"):
            self.assertGreaterEqual(len([p for p in files if p.startswith(f"system/{area}/")]), 8, area)
        for path, (mode, _, _) in files.items():
            self.assertEqual(mode & 0o777, 0o600 if path == DB else 0o644, path)
            if path != DB:
                self.assertGreater(os.path.getsize(os.path.join(self.a, path)), 0, path)
        self.assertEqual(os.listdir(os.path.join(self.a, "db")), ["internal.sqlite"], "no -journal or -wal left")
        # What src/appliance/database_settings.cc reads.
        with open(os.path.join(self.a, "system", "database", "connection.json")) as f:
            self.assertEqual(json.load(f), {"engine": "sqlite", "location": "internal", "path": DB})
        size = os.path.getsize(os.path.join(self.a, DB))
        self.assertGreaterEqual(size, DB_MIB << 20)
        self.assertLess(size, (DB_MIB << 20) * 1.2)

    def test_database_is_shaped_like_a_ca(self):
        con = sqlite3.connect(f"file:{os.path.join(self.a, DB)}?mode=ro", uri=True)
        self.addCleanup(con.close)
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        self.assertEqual(con.execute("PRAGMA page_size").fetchone()[0], 8192)
        self.assertEqual(con.execute("PRAGMA journal_mode").fetchone()[0], "delete")
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        self.assertLessEqual({"ca", "certificates", "key_escrow", "crls", "audit_log"}, tables)
        indexes = {r[0] for r in con.execute("SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
        self.assertLessEqual({"certificates", "key_escrow", "crls", "audit_log"}, indexes)
        count = dict(con.execute("SELECT 'certificates', count(*) FROM certificates UNION ALL "
                                 "SELECT 'key_escrow', count(*) FROM key_escrow UNION ALL "
                                 "SELECT 'crls', count(*) FROM crls UNION ALL "
                                 "SELECT 'audit_log', count(*) FROM audit_log").fetchall())
        self.assertGreater(count["certificates"], 100)
        self.assertGreater(count["key_escrow"], count["certificates"] // 3)
        self.assertGreaterEqual(count["crls"], 6)  # every CA's first CRL at least
        self.assertGreaterEqual(count["audit_log"], count["certificates"])
        # Certificates: DER (a BLOB) or base64 DER (TEXT), whose SHA-256 is stored.
        kinds = dict(con.execute("SELECT typeof(der), count(*) FROM certificates GROUP BY 1").fetchall())
        self.assertEqual(set(kinds), {"blob", "text"})
        for serial, digest, stored in con.execute("SELECT serial, sha256, der FROM certificates LIMIT 50"):
            der = base64.b64decode(stored) if isinstance(stored, str) else stored
            self.assertEqual(hashlib.sha256(der).hexdigest(), digest, serial)
            self.assertEqual(der[0], 0x30, "an ASN.1 SEQUENCE")
            self.assertIn(bytes.fromhex(serial), der)
        statuses = {r[0] for r in con.execute("SELECT DISTINCT status FROM certificates")}
        self.assertLessEqual({"valid", "revoked"}, statuses)
        for (details,) in con.execute("SELECT details FROM audit_log LIMIT 20"):
            self.assertIn("hmac", json.loads(details))


if __name__ == "__main__":
    unittest.main()
