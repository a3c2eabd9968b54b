"""Whole backup files through keepsaked's HTTPS API: downloaded (streamed, as stored),
deleted (typed confirmation, audited), and uploaded into a second keepsaked that is a fresh
appliance (no DMS, no storage), then restored there with the DMS: disaster recovery from a
browser. An upload is streamed to disk: a 200 MiB upload leaves the daemon's peak memory
where it was. Real daemons, real TLS, real files."""

import hashlib
import json
import http.client
import os
import shutil
import ssl
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from daemon import ApiAssertions, Daemon  # noqa: E402
from paths import KEEPSAKED_BIN, ModuleState, require_binaries  # noqa: E402

DMS = "backup files test domain secret"
G = ModuleState()


def setUpModule():
    require_binaries(KEEPSAKED_BIN)
    G.generate("ks-files-gen-", db_mib=2, files=40, seed=11)


def tearDownModule():
    G.cleanup()


def audit_text(daemon):
    with open(os.path.join(daemon.state_dir, "audit.log")) as f:
        return f.read()


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


class BackupFilesTest(ApiAssertions, unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ks-files-")
        self.addCleanup(self.tmp.cleanup)
        self.source = self.appliance("source")
        self.storage = os.path.join(self.tmp.name, "backups")
        os.mkdir(self.storage)
        self.daemon = self.source
        self.ok(self.source.post("/api/v1/dms", {"dms": DMS, "confirmation": DMS}), 201)
        self.ok(self.source.put("/api/v1/storage", {"type": "local", "path": self.storage}))
        self.source.wait_for(lambda: not self.source.get("/api/v1/status")[1]["backup_blockers"], what="ready")
        self.ok(self.source.post("/api/v1/backups"), 202)
        self.name = self.source.wait_idle()["last_successful_backup"]["file"]
        with open(os.path.join(self.storage, self.name), "rb") as f:
            self.bytes = f.read()

    def appliance(self, name):
        base = os.path.join(self.tmp.name, name)
        os.makedirs(base)
        root = os.path.join(base, "appliance")
        shutil.copytree(G.path, root, symlinks=True)
        daemon = Daemon(base, os.path.join(base, "state"), root)
        self.addCleanup(daemon.kill)
        daemon.start()
        daemon.bootstrap()
        return daemon

    def connection(self, daemon):
        host, port = daemon.address.rsplit(":", 1)
        context = ssl.create_default_context(cafile=daemon.cert_path())
        context.check_hostname = False
        return http.client.HTTPSConnection(host, int(port), context=context, timeout=60)

    def upload(self, daemon, name, body, token=...):
        """POST /api/v1/restore/upload?name=...: `body` is bytes or a file object (sent as it
        is read, with its Content-Length). (status, parsed JSON)."""
        conn = self.connection(daemon)
        length = len(body) if isinstance(body, bytes) else os.fstat(body.fileno()).st_size
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length)}
        token = daemon.token if token is ... else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request("POST", "/api/v1/restore/upload?" + urllib.parse.urlencode({"name": name}), body=body,
                     headers=headers)
        res = conn.getresponse()
        answer = json.loads(res.read() or b"null")
        conn.close()
        return res.status, answer

    def test_a_download_is_the_file_as_stored(self):
        conn = self.connection(self.source)
        conn.request("GET", f"/api/v1/backups/{self.name}/file",
                     headers={"Authorization": f"Bearer {self.source.token}"})
        res = conn.getresponse()
        data = res.read()
        conn.close()
        self.assertEqual(res.status, 200)
        self.assertEqual(res.getheader("Content-Length"), str(len(self.bytes)))
        self.assertEqual(res.getheader("Content-Type"), "application/octet-stream")
        self.assertEqual(res.getheader("Content-Disposition"), f'attachment; filename="{self.name}"')
        self.assertEqual(hashlib.sha256(data).hexdigest(), hashlib.sha256(self.bytes).hexdigest())
        self.assertIn('"backup.downloaded"', audit_text(self.source))
        self.error(self.source.get("/api/v1/backups/nope_20260101T000000Z.ksb/file"), 404, "")

    def test_delete_needs_the_name_typed_again(self):
        self.error(self.source.request("DELETE", f"/api/v1/backups/{self.name}", {"confirmation": "yes"}), 400,
                   "typed again")
        self.assertTrue(os.path.exists(os.path.join(self.storage, self.name)))
        self.ok(self.source.request("DELETE", f"/api/v1/backups/{self.name}", {"confirmation": self.name}))
        self.assertFalse(os.path.exists(os.path.join(self.storage, self.name)))
        self.assertIn('"backup.deleted"', audit_text(self.source))

    def test_disaster_recovery_onto_a_fresh_appliance_by_upload(self):
        fresh = self.appliance("fresh")
        self.daemon = fresh
        # No session: refused from the head, before the (claimed 1 GiB) body is taken.
        conn = self.connection(fresh)
        conn.putrequest("POST", f"/api/v1/restore/upload?name={self.name}")
        conn.putheader("Content-Length", str(1 << 30))
        conn.endheaders()
        res = conn.getresponse()
        self.assertEqual(res.status, 401)
        conn.close()

        status, answer = self.upload(fresh, self.name, self.bytes)
        self.assertEqual(status, 201, answer)
        upload = answer["upload"]
        self.assertEqual(upload["name"], self.name)
        self.assertEqual(upload["size"], len(self.bytes))
        # Whether the header can be checked without the domain's keys is the format's
        # business; either way the restore below needs the DMS.
        status, answer = self.source.request("GET", "/api/v1/restore/upload")  # the source has none
        self.assertEqual((status, answer), (200, {"upload": None}))

        body = {"file": self.name, "source": "upload"}
        status, answer = fresh.post("/api/v1/restore", body)
        if status == 202:  # it starts, and fails at the header for want of the domain's keys
            fresh.wait_idle()
            self.assertEqual(fresh.get("/api/v1/restore")[1]["last"]["result"], "failed")
        else:
            self.assertIn(status, (400, 403, 409, 422), answer)
        self.ok(fresh.post("/api/v1/restore", dict(body, dms=DMS, dry_run=True)), 202)
        self.assertEqual(fresh.wait_idle()["state"], "NOT RUNNING")
        self.ok(fresh.post("/api/v1/restore", dict(body, dms=DMS)), 202)
        fresh.wait_idle()
        code, restore = fresh.get("/api/v1/restore")
        self.assertEqual(restore["last"]["result"], "succeeded", restore)
        self.assertEqual(fresh.get("/api/v1/dms")[1]["fingerprint"], self.source.get("/api/v1/dms")[1]["fingerprint"])
        self.assertEqual(fresh.get("/api/v1/restore/upload")[1], {"upload": None}, "restored: the upload is gone")
        self.assertEqual(os.listdir(os.path.join(fresh.state_dir, "uploads")), [])

    def test_a_large_upload_is_streamed_to_disk_not_memory(self):
        big = os.path.join(self.tmp.name, "big.ksb")
        with open(big, "wb") as f:
            for _ in range(200):
                f.write(os.urandom(1 << 20))
        before = peak_rss_kib(self.source.proc.pid)
        with open(big, "rb") as f:
            status, answer = self.upload(self.source, "big_20260101T000000Z.ksb", f)
        self.assertEqual(status, 201, answer)
        self.assertIsNone(answer["upload"]["details"], "random bytes are no backup")
        self.assertTrue(answer["upload"]["error"])
        grew = peak_rss_kib(self.source.proc.pid) - before
        self.assertLess(grew, 32 * 1024, f"the daemon's peak memory grew by {grew} KiB for a 200 MiB upload")
        kept = os.path.join(self.source.state_dir, "uploads", "big_20260101T000000Z.ksb")
        self.assertEqual(os.path.getsize(kept), 200 << 20)
        self.assertEqual(os.stat(kept).st_mode & 0o777, 0o600)
        self.ok(self.source.request("DELETE", "/api/v1/restore/upload"))
        self.assertFalse(os.path.exists(kept))


if __name__ == "__main__":
    unittest.main()
