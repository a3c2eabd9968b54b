#!/usr/bin/env python3
"""Integration tests: the internal PostgreSQL database's snapshot (pg_dump) and restore
(pg_restore), against a real private server (tests/fixtures/pg_server.py), driven through
pg_snapshot_driver (tests/integration/pg_snapshot_driver.cc).

Skips without PostgreSQL, unless KEEPSAKE_TEST_REQUIRE contains "postgres".
Driver: env KEEPSAKE_PG_DRIVER (ctest sets it), else <repository>/build/pg_snapshot_driver.
Run: KEEPSAKE_PG_DRIVER=build-pg/pg_snapshot_driver python3 tests/integration/test_postgres_snapshot.py -v
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import pg_server  # noqa: E402
from paths import PG_DRIVER as DRIVER  # noqa: E402

SERVER = None
WORK = None

SCHEMA_AND_ROWS = """
DROP TABLE IF EXISTS certificates, audit, after_dump CASCADE;
DROP SEQUENCE IF EXISTS request_ids;
CREATE TABLE certificates (id serial PRIMARY KEY, subject text NOT NULL, der bytea, revoked boolean,
                           not_after timestamptz);
CREATE INDEX certificates_subject ON certificates (subject);
CREATE TABLE audit (seq bigint PRIMARY KEY, event text, detail jsonb);
CREATE SEQUENCE request_ids START 100;
INSERT INTO certificates (subject, der, revoked, not_after) VALUES
  ('CN=root', '\\x3082010a', false, '2035-01-01 00:00:00+00'),
  ('CN=Grüße, O=Ünïcødé', '\\x00ff00', NULL, NULL),
  ('CN=pipe|and''quote', NULL, true, '2026-06-30 12:00:00+00');
INSERT INTO audit SELECT g, 'event ' || g, jsonb_build_object('n', g) FROM generate_series(1, 500) g;
SELECT nextval('request_ids'), nextval('request_ids');
"""


def setUpModule():
    global SERVER, WORK
    if not (os.path.isfile(DRIVER) and os.access(DRIVER, os.X_OK)):
        raise RuntimeError(f"driver not found or not executable: {DRIVER} (set KEEPSAKE_PG_DRIVER)")
    pg_server.require()
    # Module cleanups, not tearDownModule: they also run when setUpModule fails half-way.
    WORK = tempfile.mkdtemp(prefix="ks_pg_test_")
    unittest.addModuleCleanup(shutil.rmtree, WORK, ignore_errors=True)
    SERVER = pg_server.Server(WORK)
    unittest.addModuleCleanup(SERVER.stop)
    SERVER.start()
    print(f"\nPostgreSQL test server on 127.0.0.1:{SERVER.port}, ready in {SERVER.startup_seconds:.1f} s",
          file=sys.stderr)


def state():
    """Everything the tests put into the database, in a comparable form."""
    return {
        "certificates": SERVER.sql("SELECT id, subject, encode(der, 'hex'), revoked, not_after "
                                   "FROM certificates ORDER BY id"),
        "audit": SERVER.sql("SELECT count(*), sum(seq), md5(string_agg(event || detail::text, ',' ORDER BY seq)) "
                            "FROM audit"),
        "request_ids": SERVER.sql("SELECT last_value FROM request_ids"),
        "indexes": SERVER.sql("SELECT indexname FROM pg_indexes WHERE tablename = 'certificates' "
                              "ORDER BY indexname"),
    }


class PostgresSnapshotTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="case_", dir=WORK)
        self.root = os.path.join(self.dir, "root")
        self.tmp = os.path.join(self.dir, "tmp")
        os.makedirs(self.tmp)
        self.password_file = os.path.join(self.dir, "pgpass")
        self.write_password_file(pg_server.PASSWORD)
        self.write_settings()
        SERVER.sql(SCHEMA_AND_ROWS)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------
    def write_password_file(self, password, mode=0o600, dbname=None):
        with open(self.password_file, "w") as f:
            f.write(f"127.0.0.1:{SERVER.port}:{dbname or pg_server.DATABASE}:{pg_server.ROLE}:{password}\n")
        os.chmod(self.password_file, mode)

    def write_settings(self, **overrides):
        settings = {"engine": "postgresql", "location": "internal", "host": "127.0.0.1", "port": SERVER.port,
                    "dbname": pg_server.DATABASE, "user": pg_server.ROLE, "password_file": self.password_file}
        settings.update(overrides)
        settings = {k: v for k, v in settings.items() if v is not None}
        os.makedirs(os.path.join(self.root, "system", "database"), exist_ok=True)
        with open(os.path.join(self.root, "system", "database", "connection.json"), "w") as f:
            json.dump(settings, f)

    def driver(self, *args, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run([DRIVER] + [str(a) for a in args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120, env=full_env)

    def dump(self, out=None, env=None):
        out = out or os.path.join(self.dir, "internal.pgdump")
        return self.driver("dump", self.root, self.tmp, out, env=env), out

    def restore(self, dump_file):
        return self.driver("restore", self.root, dump_file)

    def assertOk(self, proc):
        self.assertEqual(proc.returncode, 0, f"driver failed:\n{proc.stdout}{proc.stderr}")

    def assertFails(self, proc, code, *words):
        self.assertEqual(proc.returncode, 1, f"expected failure:\n{proc.stdout}{proc.stderr}")
        self.assertIn(f"pg_snapshot_driver: {code}: ", proc.stderr)
        for word in words:
            self.assertIn(word, proc.stderr)
        self.assertNotIn(pg_server.PASSWORD, proc.stderr)

    # -- round trip ------------------------------------------------------------------------
    def test_restore_brings_back_the_dumped_rows(self):
        before = state()
        proc, dump_file = self.dump()
        self.assertOk(proc)
        with open(dump_file, "rb") as f:
            self.assertEqual(f.read(5), b"PGDMP")  # pg_dump's custom format

        SERVER.sql("""
            UPDATE certificates SET revoked = true, subject = 'CN=changed' WHERE id = 1;
            DELETE FROM certificates WHERE id = 2;
            INSERT INTO certificates (subject) VALUES ('CN=added after the dump');
            DELETE FROM audit WHERE seq % 3 = 0;
            UPDATE audit SET detail = '{"changed": true}' WHERE seq < 10;
            SELECT nextval('request_ids') FROM generate_series(1, 50);
            DROP INDEX certificates_subject;
        """)
        self.assertNotEqual(state(), before)

        self.assertOk(self.restore(dump_file))
        self.assertEqual(state(), before)

    def test_restore_recreates_dropped_tables(self):
        before = state()
        proc, dump_file = self.dump()
        self.assertOk(proc)
        SERVER.sql("DROP TABLE certificates, audit; DROP SEQUENCE request_ids;")
        self.assertOk(self.restore(dump_file))
        self.assertEqual(state(), before)

    def test_restore_works_twice_and_leaves_later_tables_alone(self):
        # Documented: objects absent from the dump are not dropped by pg_restore --clean.
        before = state()
        proc, dump_file = self.dump()
        self.assertOk(proc)
        SERVER.sql("CREATE TABLE after_dump (x int); INSERT INTO after_dump VALUES (1);")
        self.assertOk(self.restore(dump_file))
        self.assertOk(self.restore(dump_file))
        self.assertEqual(state(), before)
        self.assertEqual(SERVER.sql("SELECT x FROM after_dump"), [("1",)])

    def test_failed_restore_keeps_the_current_content(self):
        proc, dump_file = self.dump()
        self.assertOk(proc)
        SERVER.sql("DELETE FROM certificates WHERE id = 1;")
        current = state()
        size = os.path.getsize(dump_file)
        with open(dump_file, "r+b") as f:
            f.truncate(size * 3 // 4)
        proc = self.restore(dump_file)
        self.assertFails(proc, "IO_ERROR", "pg_restore:")
        self.assertEqual(state(), current)

    def test_restore_of_a_missing_dump_is_not_found(self):
        self.assertFails(self.restore(os.path.join(self.dir, "nope.pgdump")), "NOT_FOUND", "nope.pgdump")

    # -- the snapshot object ---------------------------------------------------------------
    def test_items_are_the_db_entry_and_the_dump_and_vanish_with_the_snapshot(self):
        proc, _ = self.dump()
        self.assertOk(proc)
        items = [line.split("\t")[1:] for line in proc.stdout.splitlines() if line.startswith("item\t")]
        self.assertEqual([(a, r) for a, _, r in items], [("db", "entry"), ("db/internal.pgdump", "recursive")])
        db_dir, dump_path = items[0][1], items[1][1]
        self.assertEqual(os.path.dirname(db_dir), self.tmp)
        self.assertTrue(os.path.basename(db_dir).startswith("pg-snapshot-"))
        self.assertEqual(dump_path, os.path.join(db_dir, "internal.pgdump"))
        # The snapshot's destructor removed its directory when the driver finished.
        self.assertEqual(os.listdir(self.tmp), [])

    def test_failed_snapshot_leaves_no_temporary_directory(self):
        self.write_password_file("wrong")
        proc, _ = self.dump()
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(os.listdir(self.tmp), [])

    # -- passwords -------------------------------------------------------------------------
    def test_dump_with_md5_auth_and_a_password_file(self):
        # pg_hba.conf asks for a password over TCP: success proves the passfile was used.
        proc, _ = self.dump()
        self.assertOk(proc)

    def test_password_reaches_pg_dump_through_the_passfile_only(self):
        # A pg_dump earlier in PATH records its argv and environment, then runs the real one.
        real = shutil.which("pg_dump")
        self.assertIsNotNone(real)
        spy_dir = os.path.join(self.dir, "spy")
        os.makedirs(spy_dir)
        spy = os.path.join(spy_dir, "pg_dump")
        with open(spy, "w") as f:
            f.write(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {spy_dir}/argv\nenv > {spy_dir}/env\n"
                    f"exec {real} \"$@\"\n")
        os.chmod(spy, 0o755)
        # A stray PGPASSWORD (wrong, and it would take precedence over the passfile) must not
        # reach pg_dump.
        proc, _ = self.dump(env={"PATH": spy_dir + os.pathsep + os.environ.get("PATH", ""),
                                 "PGPASSWORD": "stray-wrong-password"})
        self.assertOk(proc)
        with open(os.path.join(spy_dir, "argv")) as f:
            argv = f.read()
        with open(os.path.join(spy_dir, "env")) as f:
            env = f.read().splitlines()
        self.assertNotIn(pg_server.PASSWORD, argv)
        self.assertNotIn(pg_server.PASSWORD, "\n".join(env))
        self.assertIn(f"PGPASSFILE={self.password_file}", env)
        self.assertFalse([e for e in env if e.startswith("PGPASSWORD=")])
        self.assertEqual(argv.splitlines()[:2], ["-Fc", "--no-password"])

    def test_wrong_password_is_permission_denied_naming_the_problem(self):
        self.write_password_file("not-the-password")
        proc, _ = self.dump()
        self.assertFails(proc, "PERMISSION_DENIED", f"127.0.0.1:{SERVER.port}", "password authentication failed",
                         'user "appliance"', self.password_file)
        self.assertNotIn("not-the-password", proc.stderr)

    def test_wrong_password_on_restore_is_permission_denied(self):
        proc, dump_file = self.dump()
        self.assertOk(proc)
        self.write_password_file("not-the-password")
        self.assertFails(self.restore(dump_file), "PERMISSION_DENIED", "password authentication failed")

    def test_no_password_configured_says_so(self):
        self.write_settings(password_file=None)
        proc, _ = self.dump()
        self.assertFails(proc, "PERMISSION_DENIED", "no password is configured", "password_file",
                         "no password supplied")
        self.assertNotIn("WARNING", proc.stderr)

    def test_group_readable_password_file_is_refused(self):
        self.write_password_file(pg_server.PASSWORD, mode=0o644)
        proc, _ = self.dump()
        self.assertFails(proc, "PERMISSION_DENIED", self.password_file, "mode 0644", "0600")

    def test_missing_password_file_is_not_found(self):
        os.remove(self.password_file)
        proc, _ = self.dump()
        self.assertFails(proc, "NOT_FOUND", self.password_file)

    def test_missing_database_is_not_found(self):
        self.write_password_file(pg_server.PASSWORD, dbname="*")
        self.write_settings(dbname="no_such_db")
        proc, _ = self.dump()
        self.assertFails(proc, "NOT_FOUND", 'database "no_such_db" does not exist')

    # -- an unreachable server -------------------------------------------------------------
    def test_stopped_server_is_unavailable_naming_host_and_port(self):
        proc, dump_file = self.dump()
        self.assertOk(proc)
        SERVER.stop()
        try:
            proc, _ = self.dump(out=os.path.join(self.dir, "second.pgdump"))
            self.assertFails(proc, "UNAVAILABLE", f"127.0.0.1:{SERVER.port}", "unreachable", "running",
                             "Connection refused")
            self.assertEqual(os.listdir(self.tmp), [])
            self.assertFails(self.restore(dump_file), "UNAVAILABLE", f"127.0.0.1:{SERVER.port}")
        finally:
            SERVER.start()

    def test_unknown_host_is_unavailable(self):
        self.write_settings(host="no-such-host.invalid")
        proc, _ = self.dump()
        self.assertFails(proc, "UNAVAILABLE", "no-such-host.invalid", "could not translate host name")


if __name__ == "__main__":
    unittest.main()
