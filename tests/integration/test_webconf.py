#!/usr/bin/env python3
"""The Webconf end to end in a real browser: Debian's Chromium driven by Playwright
(tests/e2e/webconf.mjs) against a real keepsaked over HTTPS on a fresh appliance state. The
first login as the Initial OTP User, adding an OAuth account, removing the OTP User, the
Backup Status with its reasons, Create Backup Now, settings and storage, restores (from the
storage and from an upload), download and deletion of backups, a keyboard-only pass, axe-core
accessibility checks of every page, an ended session; and disaster recovery onto a second,
fresh keepsaked by uploading a backup of the first in the browser. Screenshots of every
page land in $KEEPSAKE_SCREENSHOTS (default: a temporary directory, printed).

Needs chromium and the npm packages of package-lock.json (`make test` installs both);
without them it skips, printing why, unless KEEPSAKE_TEST_REQUIRE names "browser" (CI)."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import nfs_server  # noqa: E402
import paths  # noqa: E402
from daemon import Daemon  # noqa: E402
from requirements import require  # noqa: E402

CHROMIUM = os.environ.get("KS_CHROMIUM", "/usr/bin/chromium")
SCRIPT = os.path.join(paths.REPO, "tests", "e2e", "webconf.mjs")
GENERATED = paths.ModuleState()


def setUpModule():
    GENERATED.generate("ks-webconf-gen-", db_mib=2, files=20, seed=1)


def tearDownModule():
    GENERATED.cleanup()


def missing():
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} not found (Debian package chromium)"
    if shutil.which("node") is None:
        return "node not found"
    for package in ("playwright-core", "axe-core"):
        if not os.path.isdir(os.path.join(paths.REPO, "node_modules", package)):
            return f"node_modules/{package} missing: run `npm ci` at the repository root"
    return None


class WebconfTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require("browser", "Webconf (Chromium)", missing())
        paths.require_binaries(paths.KEEPSAKED_BIN)

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ks-webconf-")
        self.addCleanup(self.tmp.cleanup)
        base = self.tmp.name
        self.root = os.path.join(base, "appliance")
        shutil.copytree(GENERATED.path, self.root, symlinks=True)
        self.storage = os.path.join(base, "backups")
        for site in ("site-a", "site-b"):  # directories for the storage browser to go down into
            os.makedirs(os.path.join(self.storage, site))
        self.daemon = Daemon(base, os.path.join(base, "state"), self.root)
        self.addCleanup(self.daemon.kill)
        self.addCleanup(self.daemon.stop)
        self.daemon.start()

    def test_first_login_accounts_status_and_a_backup_in_the_browser(self):
        # The browser is told to ignore the self-signed certificate: this checks first that
        # the server is the daemon with its own certificate (trusted exactly, host checked).
        status, page = self.daemon.request_full("GET", "/", token=None)[:2]
        self.assertEqual(status, 200)
        self.assertIn('<script type="module" src="/app.js">', page)
        # A second appliance, fresh (never bootstrapped, no DMS, no storage): disaster recovery
        # onto it in the browser, by uploading a backup of the first and restoring it.
        fresh_base = os.path.join(self.tmp.name, "fresh")
        os.makedirs(fresh_base)
        fresh_root = os.path.join(fresh_base, "appliance")
        shutil.copytree(GENERATED.path, fresh_root, symlinks=True)
        fresh = Daemon(fresh_base, os.path.join(fresh_base, "state"), fresh_root)
        self.addCleanup(fresh.kill)
        self.addCleanup(fresh.stop)
        fresh.start()
        # An NFS export on a real nfs-ganesha for the storage browser, when it can run here
        # (required in CI: KEEPSAKE_TEST_REQUIRE names "nfs").
        nfs_location, nfs_site = "", None
        reason = nfs_server.skip_reason()
        if reason is None:
            ganesha = nfs_server.Ganesha(self.tmp.name)
            self.addCleanup(ganesha.stop)
            ganesha.start()
            nfs_site = os.path.join(ganesha.dirs["rw"], "nfs-site")
            os.makedirs(nfs_site)
            nfs_location = ganesha.url("rw")[len("nfs://"):]
        elif nfs_server.required():
            raise RuntimeError(f"NFS is required (KEEPSAKE_TEST_REQUIRE) but cannot run here: {reason}")
        else:
            print(f"\n  the NFS steps are skipped: {reason}", file=sys.stderr)
        shots = os.environ.get("KEEPSAKE_SCREENSHOTS") or tempfile.mkdtemp(prefix="ks-webconf-shots-")
        os.makedirs(shots, exist_ok=True)
        env = dict(os.environ, KS_URL=self.daemon.url, KS_OTP=self.daemon.otp_password(), KS_SHOTS=shots,
                   KS_STORAGE=self.storage, KS_FRESH_URL=fresh.url, KS_FRESH_OTP=fresh.otp_password(),
                   KS_NFS=nfs_location, KS_APPLIANCE=self.root, NODE_PATH=os.path.join(paths.REPO, "node_modules"))
        proc = subprocess.run(["node", SCRIPT], cwd=paths.REPO, env=env, capture_output=True, text=True, timeout=300)
        print(f"\n  screenshots: {shots}", file=sys.stderr)
        for line in proc.stdout.splitlines():
            if line.startswith("axe"):  # the findings below "serious" (which fail the run)
                print(f"  {line}", file=sys.stderr)
        self.assertEqual(proc.returncode, 0, f"{proc.stdout}\n{proc.stderr}\n--- daemon log ---\n{self.daemon.log()[-3000:]}"
                                             f"\n--- fresh daemon log ---\n{fresh.log()[-3000:]}")
        self.assertIn("every step passed", proc.stdout)
        if nfs_site is not None:  # the backup made onto the export in the browser is there
            self.assertEqual(len([n for n in os.listdir(nfs_site) if n.endswith(".ksb")]), 1, os.listdir(nfs_site))
        for name in ("login", "backup-otp-user", "access", "storage-browser", "backup", "backup-details", "backup-settings", "restore",
                     "restore-upload", "fresh-restored", "audit", "backup-in-progress", "login-phone"):
            self.assertTrue(os.path.getsize(os.path.join(shots, f"{name}.png")) > 1000, name)

    def test_static_files_carry_the_security_headers(self):
        status, body, headers = self.daemon.request_full("GET", "/app.js", token=None)
        self.assertEqual(status, 200)
        self.assertIn("textContent", body)
        self.assertIn("script-src 'self'", headers["Content-Security-Policy"])
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        status, _, _ = self.daemon.request_full("GET", "/../../etc/passwd", token=None)
        self.assertIn(status, (400, 404))

    def test_unknown_pages_get_the_webconf_404_and_static_files_revalidate(self):
        status, body, headers = self.daemon.request_full("GET", "/no-such-page", token=None)
        self.assertEqual(status, 404)
        self.assertTrue(headers["Content-Type"].startswith("text/html"), headers["Content-Type"])
        self.assertIn("Page not found", body)
        with open(os.path.join(paths.REPO, "webconf", "404.html")) as f:
            self.assertEqual(body, f.read(), "the Webconf's own 404 page")
        status, body, headers = self.daemon.request_full("GET", "/app.js", token=None)
        self.assertEqual(status, 200)
        etag = headers["ETag"]
        self.assertTrue(etag, "app.js carries an ETag")
        self.assertIn("no-cache", headers["Cache-Control"])
        status, body, headers = self.daemon.request_full("GET", "/app.js", token=None, headers={"If-None-Match": etag})
        self.assertEqual(status, 304)
        self.assertEqual(body, "", "a 304 has no body")
        status, _, _ = self.daemon.request_full("GET", "/app.js", token=None, headers={"If-None-Match": '"not-the-etag"'})
        self.assertEqual(status, 200, "another ETag gets the file")


if __name__ == "__main__":
    unittest.main()
