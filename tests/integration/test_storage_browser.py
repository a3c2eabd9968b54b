#!/usr/bin/env python3
"""The storage browser and storage settings of keepsaked (docs/openapi.yaml).

On a real daemon with a local storage directory, as the Webconf's Backup Settings use them:
browse one directory at a time (directories first, name filter, one level down, one level
up, never above the root: "..", absolute paths and symlinks out of the root are refused),
the storage information (permission, used / remaining / total space, the warning below 20%
free on a real small tmpfs), "Use This Location" with the message the Webconf shows, and a
click on a backup file giving its Backup Details with the signature checked (a tampered
file is refused). The NFS and USB backends answer the same routes; their own tests
(test_storage_nfs.py, test_storage_usb.py) browse them too.

Run: python3 tests/integration/test_storage_browser.py -v
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from daemon import ApiAssertions, Daemon  # noqa: E402
from paths import KEEPSAKED_BIN, ModuleState, require_binaries  # noqa: E402

DMS = "storage browser domain secret"


G = ModuleState()


def setUpModule():
    require_binaries(KEEPSAKED_BIN)
    G.generate("ks-browser-gen-", db_mib=2, files=20, seed=11)


def tearDownModule():
    G.cleanup()


class StorageBrowserTest(ApiAssertions, unittest.TestCase):
    def setUp(self):
        # Cleanups, not tearDown: they also run when setUp fails after the start.
        self.tmp = tempfile.TemporaryDirectory(prefix="ks-browser-")
        self.addCleanup(self.tmp.cleanup)
        base = self.tmp.name
        self.root = os.path.join(base, "appliance")
        shutil.copytree(G.path, self.root, symlinks=True)
        self.storage = os.path.join(base, "backups")
        os.makedirs(os.path.join(self.storage, "site-a", "daily"))
        os.makedirs(os.path.join(self.storage, "Site-B"))
        os.makedirs(os.path.join(base, "outside"))
        with open(os.path.join(self.storage, "notes.txt"), "w") as f:
            f.write("not a backup\n")
        self.url = "file://" + self.storage
        self.mounts = []
        self.addCleanup(self.unmount_all)
        self.daemon = Daemon(base, os.path.join(base, "state"), self.root)
        self.addCleanup(self.daemon.kill)
        self.daemon.start()
        self.daemon.bootstrap()
        self.ok(self.daemon.post("/api/v1/dms", {"dms": DMS, "confirmation": DMS}), 201)

    def unmount_all(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], capture_output=True)

    def get(self, route, **params):
        return self.daemon.get(f"/api/v1/storage/{route}?" + urllib.parse.urlencode(params))

    def names(self, listing):
        return [(e["name"], e["type"]) for e in listing["entries"]]

    def backup_into(self, path):
        self.ok(self.daemon.put("/api/v1/storage", {"url": self.url, "path": path} if path else {"url": self.url}))
        self.ok(self.daemon.post("/api/v1/backups"), 202)
        self.daemon.wait_idle()
        job = self.daemon.jobs()[0]
        self.assertEqual(job["result"], "succeeded", job)
        return job["file"]

    # -- browsing ----------------------------------------------------------------------
    def test_root_lists_directories_first_and_has_no_parent(self):
        listing = self.ok(self.get("browse", url=self.url))
        self.assertEqual(listing["url"], self.url)
        self.assertEqual(listing["path"], "")
        self.assertIsNone(listing["parent"])
        self.assertEqual(self.names(listing), [("Site-B", "directory"), ("site-a", "directory"), ("notes.txt", "file")])
        self.assertFalse(listing["entries"][2]["backup"])

    def test_one_level_down_and_up(self):
        down = self.ok(self.get("browse", url=self.url, path="site-a/daily"))
        self.assertEqual(down["parent"], "site-a")
        up = self.ok(self.get("browse", url=self.url, path=down["parent"]))
        self.assertEqual(up["parent"], "")
        self.assertEqual(self.names(up), [("daily", "directory")])

    def test_filter_is_case_insensitive(self):
        listing = self.ok(self.get("browse", url=self.url, filter="SITE"))
        self.assertEqual(self.names(listing), [("Site-B", "directory"), ("site-a", "directory")])

    def test_nothing_above_the_root_can_be_named(self):
        self.error(self.get("browse", url=self.url, path=".."), 400, '".." is not allowed')
        self.error(self.get("browse", url=self.url, path="site-a/../.."), 400, '".." is not allowed')
        self.error(self.get("browse", url=self.url, path="/etc"), 400, "absolute paths are not allowed")
        os.symlink("../outside", os.path.join(self.storage, "escape"))
        self.error(self.get("browse", url=self.url, path="escape"), 400)

    def test_missing_directory_and_file_are_named(self):
        self.error(self.get("browse", url=self.url, path="nope"), 404, "nope")
        self.error(self.get("browse", url=self.url, path="notes.txt"), 400)

    def test_bad_url_is_refused_with_the_reason(self):
        self.error(self.get("browse", url="smb://nas/x"), 400, 'unknown scheme "smb"')
        self.error(self.get("browse", url="file://relative"), 400, "absolute")

    def test_without_url_the_configured_storage_is_browsed(self):
        self.error(self.get("browse"), 409, "No backup storage is configured")
        self.ok(self.daemon.put("/api/v1/storage", {"url": self.url, "path": "site-a"}))
        listing = self.ok(self.get("browse"))
        self.assertEqual(listing["url"], self.url + "/site-a")
        self.assertEqual(self.names(listing), [("daily", "directory")])

    def test_partial_files_are_hidden(self):
        with open(os.path.join(self.storage, ".x_20260101T000000Z.ksb.partial"), "w") as f:
            f.write("half")
        self.assertNotIn(".x_20260101T000000Z.ksb.partial", [n for n, _ in self.names(self.ok(self.get("browse", url=self.url)))])

    # -- storage information -------------------------------------------------------------
    def test_info_gives_permission_and_space(self):
        info = self.ok(self.get("info", url=self.url, path="site-a"))
        self.assertEqual(info["permission"], "read/write")
        st = os.statvfs(self.storage)
        self.assertEqual(info["total_bytes"], st.f_blocks * st.f_frsize)
        self.assertAlmostEqual(info["free_bytes"], st.f_bavail * st.f_frsize, delta=64 << 20)
        self.assertTrue(info["total"].endswith("iB"), info)

    def test_low_space_is_warned_in_browser_and_status(self):
        small = os.path.join(self.storage, "small")
        os.mkdir(small)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=10m", "tmpfs", small]).returncode != 0:
            self.skipTest("cannot mount a tmpfs here (needs root)")
        self.mounts.append(small)
        with open(os.path.join(small, "filler"), "wb") as f:
            f.write(b"\0" * (9 << 20))
        info = self.ok(self.get("info", url="file://" + small))
        self.assertTrue(info["low_space"], info)
        self.assertIn("Less than 20% of the backup storage is free", info["warning"])
        self.assertLess(info["free_percent"], 20)
        roomy = self.ok(self.get("info", url=self.url))
        self.assertFalse(roomy["low_space"])
        self.assertIsNone(roomy["warning"])

    def test_read_only_location_is_shown_and_not_saved(self):
        ro = os.path.join(self.storage, "ro")
        os.mkdir(ro)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro]).returncode != 0:
            self.skipTest("cannot mount a tmpfs here (needs root)")
        self.mounts.append(ro)
        self.assertEqual(self.ok(self.get("info", url=self.url, path="ro"))["permission"], "read-only")
        self.error(self.daemon.put("/api/v1/storage", {"url": self.url, "path": "ro"}), 403, "not writable")

    # -- Use This Location ----------------------------------------------------------------
    def test_use_this_location_saves_the_url(self):
        body = self.ok(self.daemon.put("/api/v1/storage", {"url": self.url, "path": "site-a/daily"}))
        self.assertEqual(body["message"], "Successfully updated backup storage configuration.")
        self.assertEqual(body["storage"], {"type": "local", "url": self.url + "/site-a/daily",
                                           "path": self.storage + "/site-a/daily"})
        self.assertEqual(self.ok(self.daemon.get("/api/v1/storage"))["storage"]["url"], self.url + "/site-a/daily")
        self.error(self.daemon.put("/api/v1/storage", {"url": self.url, "path": "../outside"}), 400, '".."')
        self.error(self.daemon.put("/api/v1/storage", {"type": "usb", "url": self.url}), 400, "does not match")

    # -- Backup Details on click ----------------------------------------------------------
    def test_clicking_a_backup_gives_its_details(self):
        name = self.backup_into("site-a")
        listing = self.ok(self.get("browse", url=self.url, path="site-a"))
        entry = next(e for e in listing["entries"] if e["name"] == name)
        self.assertTrue(entry["backup"])
        shown = self.ok(self.get("details", url=self.url, path="site-a/" + name))
        self.assertEqual(shown["details"]["signature"], "valid, this domain")
        self.assertEqual(shown["details"]["integrity"]["state"], "intact")
        self.assertEqual(shown["details"]["domain_check"], "this appliance's domain")

    def test_tampered_backup_is_refused(self):
        name = self.backup_into("")
        path = os.path.join(self.storage, name)
        with open(path, "rb") as f:
            data = bytearray(f.read())
        data[200] ^= 1  # inside the signed header
        copy = "tampered_" + name
        with open(os.path.join(self.storage, copy), "wb") as f:
            f.write(data)
        self.error(self.get("details", url=self.url, path=copy), 422)
        self.error(self.get("details", url=self.url, path="notes.txt"), 422)
        self.error(self.get("details", url=self.url), 400, "must name a backup file")


if __name__ == "__main__":
    unittest.main()
