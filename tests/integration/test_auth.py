#!/usr/bin/env python3
"""Integration tests of Webconf access: the real keepsaked over real HTTPS.

The client trusts the certificate the daemon generated at first start, after checking that
its SHA-256 fingerprint is the one the daemon printed. Covered: the Initial OTP User
(printed once, root-only file, >= 128 bits), OTP login, adding OAuth accounts with the
validation rules, backups refused as the OTP User and while it exists, the OTP User removed
by an OAuth user, self-removal refused, throttling with back-off, CSRF on cookie sessions,
token expiry, refresh and revocation, security headers, plain HTTP only on loopback, the
audit log, and that no password, token or DMS reaches a log or the audit log.

Binaries: env KEEPSAKED_BIN (ctest sets it), else <repository>/build/keepsaked.
Run: python3 tests/integration/test_auth.py -v
"""

import hashlib
import http.cookies
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from daemon import ADMIN, ADMIN_PASSWORD, Daemon  # noqa: E402
from paths import KEEPSAKED_BIN, generate_state  # noqa: E402

DMS = "auth test domain secret"
OPERATOR_PASSWORD = "operator pass 4711"
WRONG_PASSWORD = "not the password 99"
# Every secret a test sends; the log check at the end looks for each.
SECRETS = {DMS, ADMIN_PASSWORD, OPERATOR_PASSWORD, WRONG_PASSWORD}
TOKENS = set()
LOGS = []  # (path) of every daemon log and audit log made by the tests


GENERATED = tempfile.TemporaryDirectory(prefix="ks-auth-gen-")
KEPT_LOGS = tempfile.TemporaryDirectory(prefix="ks-auth-logs-")  # for the secret check; removed at the end


def setUpModule():
    if not os.access(KEEPSAKED_BIN, os.X_OK):
        raise RuntimeError(f"keepsaked not found: {KEEPSAKED_BIN} (set KEEPSAKED_BIN)")
    generate_state(os.path.join(GENERATED.name, "root"), db_mib=1, files=10, seed=3)


def tearDownModule():
    GENERATED.cleanup()
    KEPT_LOGS.cleanup()


class AuthTest(unittest.TestCase):
    config_extra = ""

    def setUp(self):
        # Cleanups, not tearDown: they also run when setUp fails after the start. Last added,
        # first run: stop the daemon, keep its logs, remove the directory.
        self.tmp = tempfile.TemporaryDirectory(prefix="ks-auth-")
        self.addCleanup(self.tmp.cleanup)
        self.addCleanup(self.keep_logs)
        base = self.tmp.name
        self.root = os.path.join(base, "appliance")
        shutil.copytree(os.path.join(GENERATED.name, "root"), self.root, symlinks=True)
        self.state = os.path.join(base, "state")
        self.storage = os.path.join(base, "backups")
        os.mkdir(self.storage)
        self.daemon = Daemon(base, self.state, self.root, config_extra=self.config_extra)
        self.addCleanup(self.daemon.kill)  # when stop() below did not run or failed
        self.addCleanup(self.daemon.stop)
        self.daemon.start()

    def keep_logs(self):
        # Keep the logs for the secret check, outside the deleted directory.
        keep = tempfile.mkdtemp(dir=KEPT_LOGS.name)
        for path in (self.daemon.log_path, os.path.join(self.state, "audit.log")):
            if os.path.exists(path):
                dest = os.path.join(keep, os.path.basename(path))
                shutil.copy(path, dest)
                LOGS.append(dest)

    # -- helpers -------------------------------------------------------------------------

    def login(self, user, password, code=200):
        status, answer = self.daemon.login(user, password)
        self.assertEqual(status, code, answer)
        if status == 200:
            TOKENS.update({answer["access_token"], answer["refresh_token"], answer["csrf_token"]})
        return answer

    def call(self, method, path, body=None, token=None, code=None):
        status, answer = self.daemon.request(method, path, body, token=token)
        if code is not None:
            self.assertEqual(status, code, answer)
        return status, answer

    def otp(self):
        return self.daemon.otp_password()

    def add_user(self, token, name, password, code=201):
        return self.call("POST", "/api/v1/users", {"username": name, "password": password,
                                                    "confirmation": password}, token=token, code=code)[1]

    def audit(self):
        with open(os.path.join(self.state, "audit.log")) as f:
            return [json.loads(line) for line in f]


class FirstStartTest(AuthTest):
    def test_prints_otp_and_fingerprint_and_serves_https(self):
        log = self.daemon.start_log
        otp = self.otp()
        self.assertIn(f'Initial OTP User "otp-admin" with the one-time password: {otp}', log)
        self.assertRegex(otp, r"^[A-Z2-7]{32}$")  # base32 of 20 random bytes: 160 bits
        path = os.path.join(self.state, "otp-user.json")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        # The fingerprint printed is the certificate's: a client can pin it.
        m = re.search(r"SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})", log)
        self.assertIsNotNone(m, log)
        with open(self.daemon.cert_path()) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        want = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
        self.assertEqual(m.group(1), want)
        self.assertTrue(self.daemon.url.startswith("https://"))
        self.call("GET", "/api/v1/health", code=200)
        # A client that does not trust this certificate refuses the connection.
        with self.assertRaises(urllib.error.URLError) as caught:
            urllib.request.urlopen(f"{self.daemon.url}/api/v1/health", timeout=10,
                                   context=ssl.create_default_context())
        self.assertIsInstance(caught.exception.reason, ssl.SSLCertVerificationError)

    def test_second_start_prints_no_new_otp_and_keeps_certificate(self):
        otp = self.otp()
        first = self.daemon.start_log
        fp = re.search(r"fingerprint (\S+)", first).group(1)
        self.daemon.stop()
        self.daemon.start()
        self.assertNotIn("one-time password", self.daemon.start_log)
        self.assertIn(fp, self.daemon.start_log)
        self.assertEqual(self.otp(), otp)

    def test_security_headers(self):
        status, _, headers = self.daemon.request_full("GET", "/api/v1/health", token=None)
        self.assertEqual(status, 200)
        self.assertIn("max-age=", headers["Strict-Transport-Security"])
        self.assertIn("frame-ancestors 'none'", headers["Content-Security-Policy"])
        self.assertNotIn("unsafe-inline", headers["Content-Security-Policy"])
        self.assertEqual(headers["X-Frame-Options"], "DENY")
        self.assertEqual(headers["Cache-Control"], "no-store")
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")


class AccountsTest(AuthTest):
    def test_otp_flow_and_backup_rules(self):
        otp_token = self.login("otp-admin", self.otp())["access_token"]
        self.assertEqual(self.call("GET", "/api/v1/session", token=otp_token, code=200)[1],
                         {"username": "otp-admin", "otp_user": True})
        self.call("POST", "/api/v1/dms", {"dms": DMS, "confirmation": DMS}, token=otp_token, code=201)
        self.call("PUT", "/api/v1/storage", {"type": "local", "path": self.storage}, token=otp_token, code=200)
        # As the OTP user: refused, saying what to do.
        _, err = self.call("POST", "/api/v1/backups", token=otp_token, code=409)
        self.assertIn("logged in as the Initial OTP User", err["error"]["message"])
        self.assertIn("OAuth user account", err["error"]["message"])
        # Validation of new accounts, rule by rule.
        for name, password, words in [("ab", OPERATOR_PASSWORD, "3 to 64"),
                                      ("x" * 65, OPERATOR_PASSWORD, "3 to 64"),
                                      ("...", OPERATOR_PASSWORD, "letter or digit"),
                                      ("bad name", OPERATOR_PASSWORD, "only letters"),
                                      ("operator", "short", "8 to 64"),
                                      ("operator", "y" * 65, "8 to 64")]:
            _, err = self.call("POST", "/api/v1/users", {"username": name, "password": password,
                                                         "confirmation": password}, token=otp_token, code=400)
            self.assertIn(words, err["error"]["message"])
        _, err = self.call("POST", "/api/v1/users", {"username": "operator", "password": OPERATOR_PASSWORD,
                                                     "confirmation": OPERATOR_PASSWORD + "x"},
                           token=otp_token, code=400)
        self.assertIn("do not match", err["error"]["message"])
        self.add_user(otp_token, ADMIN, ADMIN_PASSWORD)
        _, err = self.call("POST", "/api/v1/users", {"username": ADMIN.upper(), "password": ADMIN_PASSWORD,
                                                     "confirmation": ADMIN_PASSWORD}, token=otp_token, code=409)
        self.assertIn("already exists", err["error"]["message"])
        admin_token = self.login(ADMIN, ADMIN_PASSWORD)["access_token"]
        # As an OAuth user, but the OTP user still exists: refused, saying to remove it.
        _, err = self.call("POST", "/api/v1/backups", token=admin_token, code=409)
        self.assertIn("Initial OTP User still exists", err["error"]["message"])
        self.assertIn("remove the OTP User", err["error"]["message"])
        _, status = self.call("GET", "/api/v1/status", token=admin_token, code=200)
        self.assertTrue(any("Initial OTP User" in r for r in status["schedule_disabled_reasons"]))
        # Lock-out prevention, as the UI shows it and as the API enforces it.
        _, users = self.call("GET", "/api/v1/users", token=admin_token, code=200)
        mine = [u for u in users["users"] if u["username"] == ADMIN][0]
        self.assertFalse(mine["removable"])
        self.assertIn("your own account", mine["remove_refusal"])
        _, err = self.call("DELETE", f"/api/v1/users/{ADMIN}", token=admin_token, code=409)
        self.assertIn("your own account", err["error"]["message"])
        # The OAuth user removes the OTP user: its session ends, backups are allowed.
        self.call("DELETE", "/api/v1/users/otp-admin", token=admin_token, code=200)
        self.assertFalse(os.path.exists(os.path.join(self.state, "otp-user.json")))
        self.call("GET", "/api/v1/session", token=otp_token, code=401)
        self.call("POST", "/api/v1/backups", token=admin_token, code=202)
        self.daemon.token = admin_token
        self.daemon.wait_idle()
        jobs = self.daemon.jobs()
        self.assertEqual(jobs[0]["result"], "succeeded", jobs)
        self.assertEqual(jobs[0]["requester"], ADMIN)
        # The last account: still cannot remove itself; a second account can remove the first.
        self.add_user(admin_token, "operator", OPERATOR_PASSWORD)
        operator_token = self.login("operator", OPERATOR_PASSWORD)["access_token"]
        self.call("DELETE", f"/api/v1/users/{ADMIN}", token=operator_token, code=200)
        self.call("GET", "/api/v1/session", token=admin_token, code=401)
        _, users = self.call("GET", "/api/v1/users", token=operator_token, code=200)
        self.assertEqual([u["username"] for u in users["users"]], ["operator"])
        events = [(e["event"], e["account"], e["outcome"]) for e in self.audit()]
        self.assertIn(("login", "otp-admin", "succeeded"), events)
        self.assertIn(("account.added", "otp-admin", "succeeded"), events)
        self.assertIn(("account.removed", ADMIN, "succeeded"), events)
        self.assertIn(("account.removed", ADMIN, "refused"), events)
        self.assertIn(("backup.refused", ADMIN, "refused"), events)
        self.assertIn(("dms.set", "otp-admin", "done"), events)
        self.assertTrue(all(e["client"] in ("127.0.0.1", "") for e in self.audit()))


class ThrottleTest(AuthTest):
    def test_failed_logins_back_off(self):
        # Unknown user: the same answer as a wrong password, no hint that the name does not exist.
        status, answer = self.daemon.login("nobody", WRONG_PASSWORD)
        self.assertEqual((status, answer["error"]["message"]), (401, "invalid username or password"))
        for _ in range(2):  # three failures from this client are free, then it must wait
            status, answer = self.daemon.login("otp-admin", WRONG_PASSWORD)
            self.assertEqual((status, answer["error"]["message"]), (401, "invalid username or password"))
        status, answer, headers = self.daemon.request_full(
            "POST", "/oauth/token", raw=f"grant_type=password&username=otp-admin&password={self.otp()}".encode(),
            token=None, content_type="application/x-www-form-urlencoded")
        self.assertEqual(status, 429, answer)  # even the right password waits
        self.assertEqual(answer["error"]["code"], "too_many_attempts")
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        time.sleep(int(headers["Retry-After"]) + 0.2)
        self.login("otp-admin", self.otp())
        self.assertIn(("login", "otp-admin", "throttled"),
                      [(e["event"], e["account"], e["outcome"]) for e in self.audit()])
        self.assertIn(("login", "otp-admin", "failed"),
                      [(e["event"], e["account"], e["outcome"]) for e in self.audit()])


class InvalidUsernameTest(AuthTest):
    def test_junk_username_is_not_logged(self):
        junk = "pass word typed in the name field " + "x" * 5000
        status, answer = self.daemon.login(junk, WRONG_PASSWORD)
        self.assertEqual((status, answer["error"]["message"]), (401, "invalid username or password"))
        logins = [e for e in self.audit() if e["event"] == "login"]
        self.assertEqual([(e["account"], e["outcome"]) for e in logins], [("<invalid username>", "failed")])
        with open(os.path.join(self.state, "audit.log")) as f:
            self.assertNotIn("typed in the name field", f.read())


class CookieTest(AuthTest):
    def test_cookie_session_needs_csrf_token_for_changes(self):
        status, answer, headers = self.daemon.request_full(
            "POST", "/oauth/token", raw=f"grant_type=password&username=otp-admin&password={self.otp()}".encode(),
            token=None, content_type="application/x-www-form-urlencoded")
        self.assertEqual(status, 200, answer)
        TOKENS.update({answer["access_token"], answer["refresh_token"], answer["csrf_token"]})
        cookies = {}
        for line in headers.get_all("Set-Cookie"):
            self.assertIn("SameSite=Strict", line)
            self.assertIn("Secure", line)
            c = http.cookies.SimpleCookie(line)
            for k, morsel in c.items():
                cookies[k] = morsel.value
        session_line = [line for line in headers.get_all("Set-Cookie") if line.startswith("keepsake_session=")][0]
        self.assertIn("HttpOnly", session_line)
        cookie = f"keepsake_session={cookies['keepsake_session']}"
        # Reading works with the cookie alone.
        status, body, _ = self.daemon.request_full("GET", "/api/v1/session", token=None, headers={"Cookie": cookie})
        self.assertEqual(status, 200, body)
        # A change without the CSRF token is refused, with it accepted.
        body_json = {"prefix": "web"}
        status, body, _ = self.daemon.request_full("PUT", "/api/v1/settings", body_json, token=None,
                                                   headers={"Cookie": cookie})
        self.assertEqual(status, 403, body)
        self.assertIn("X-CSRF-Token", body["error"]["message"])
        status, body, _ = self.daemon.request_full("PUT", "/api/v1/settings", body_json, token=None,
                                                   headers={"Cookie": cookie, "X-CSRF-Token": "0" * 64})
        self.assertEqual(status, 403, body)
        status, body, _ = self.daemon.request_full("PUT", "/api/v1/settings", body_json, token=None,
                                                   headers={"Cookie": cookie,
                                                            "X-CSRF-Token": cookies["keepsake_csrf"]})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["prefix"], "web")


class ShortTokensTest(AuthTest):
    config_extra = "access_token_seconds = 2\nsession_seconds = 3600\n"

    def test_expiry_refresh_and_revocation(self):
        answer = self.login("otp-admin", self.otp())
        access, refresh = answer["access_token"], answer["refresh_token"]
        self.assertEqual(answer["expires_in"], 2)
        self.call("GET", "/api/v1/session", token=access, code=200)
        time.sleep(3)
        _, err = self.call("GET", "/api/v1/session", token=access, code=401)
        self.assertEqual(err["error"]["code"], "unauthenticated")
        form = f"grant_type=refresh_token&refresh_token={refresh}".encode()
        status, renewed, _ = self.daemon.request_full("POST", "/oauth/token", raw=form, token=None,
                                                      content_type="application/x-www-form-urlencoded")
        self.assertEqual(status, 200, renewed)
        TOKENS.update({renewed["access_token"], renewed["refresh_token"]})
        self.call("GET", "/api/v1/session", token=renewed["access_token"], code=200)
        # The old refresh token was rotated away; using it again ends the whole session.
        status, _, _ = self.daemon.request_full("POST", "/oauth/token", raw=form, token=None,
                                                content_type="application/x-www-form-urlencoded")
        self.assertEqual(status, 401)
        self.call("GET", "/api/v1/session", token=renewed["access_token"], code=401)
        # Logout revokes the session at once.
        again = self.login("otp-admin", self.otp())
        self.call("POST", "/oauth/revoke", {}, token=again["access_token"], code=200)
        self.call("GET", "/api/v1/session", token=again["access_token"], code=401)
        form = f"grant_type=refresh_token&refresh_token={again['refresh_token']}".encode()
        status, _, _ = self.daemon.request_full("POST", "/oauth/token", raw=form, token=None,
                                                content_type="application/x-www-form-urlencoded")
        self.assertEqual(status, 401)


class PlainHttpTest(unittest.TestCase):
    def test_plain_http_only_on_loopback(self):
        with tempfile.TemporaryDirectory(prefix="ks-auth-plain-") as base:
            config = os.path.join(base, "k.toml")
            with open(config, "w") as f:
                f.write(f'state_dir = "{base}/state"\nappliance_root = "{base}/root"\nplain_http = true\n'
                        'listen = "0.0.0.0:0"\npassword_hash_ops = 1\npassword_hash_mem_kib = 8\n')
            proc = subprocess.run([KEEPSAKED_BIN, "--config", config], capture_output=True, text=True, timeout=60)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("plain HTTP is only allowed on a loopback address", proc.stderr)


class ZzNoSecretsInLogsTest(unittest.TestCase):
    """Runs last (name order): every log and audit log of this module, searched for secrets."""

    def test_no_password_token_or_dms_in_logs(self):
        self.assertTrue(LOGS, "no logs were collected")
        self.assertGreater(len(TOKENS), 5)
        for path in LOGS:
            with open(path, errors="replace") as f:
                text = f.read()
            for secret in SECRETS | TOKENS:
                self.assertNotIn(secret, text, f"{path} contains a secret")


if __name__ == "__main__":
    unittest.main()
