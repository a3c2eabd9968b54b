#!/usr/bin/env python3
"""Integration tests of keepsaked, the backup service (docs/openapi.yaml).

Each test starts the real daemon on a temporary state directory and a free port and drives it
through its HTTP API as the Webconf would: manual backups, a second request refused while one
runs, the schedule firing on a controlled clock (--test-clock-file: the test moves time by
days, nothing sleeps for minutes), a missed run caught up once at start-up, retention, SIGTERM
in the middle of a backup, a restart after kill -9, the status fields and every Schedule
Disabled reason, settings validation, the DMS set once, restore, /metrics and the CLI client.

Appliance states come from tools/gen_state.py (4 MiB database, 60 files). Tests
that need a backup to last a few seconds add a 2 GiB sparse file to the firmware component
(read as zeros: slow enough to act on, no disk used).

Binaries: env KEEPSAKED_BIN and KEEPSAKE_BIN (ctest sets them), else <repository>/build/.
Run: python3 tests/integration/test_daemon.py -v
"""

import calendar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from daemon import ADMIN, ADMIN_PASSWORD, ApiAssertions, Daemon, set_clock  # noqa: E402
from paths import KEEPSAKE_BIN, KEEPSAKED_BIN, ModuleState, require_binaries  # noqa: E402

DMS = "daemon test domain secret"
BACKUP_RE = re.compile(r"^(?:[A-Za-z0-9._-]+_)?[^_]+_\d{8}T\d{6}Z(?:-\d+)?\.ksb$")


def utc(y, mo, d, h=0, mi=0, s=0):
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))


G = ModuleState()


def setUpModule():
    require_binaries(KEEPSAKED_BIN, KEEPSAKE_BIN)
    G.generate("ks-daemon-gen-", db_mib=4, files=60, seed=7)


def tearDownModule():
    G.cleanup()


class DaemonTest(ApiAssertions, unittest.TestCase):
    """A fresh appliance, state directory, storage directory and clock per test."""

    clock_start = utc(2026, 11, 26, 9, 0, 0)

    def setUp(self):
        # Cleanups, not tearDown: they also run when setUp fails half-way (last added, first run).
        self.tmp = tempfile.TemporaryDirectory(prefix="ks-daemon-")
        self.addCleanup(self.tmp.cleanup)
        base = self.tmp.name
        self.root = os.path.join(base, "appliance")
        shutil.copytree(G.path, self.root, symlinks=True)
        self.state = os.path.join(base, "state")
        self.storage = os.path.join(base, "backups")
        os.mkdir(self.storage)
        self.clock = os.path.join(base, "clock")
        set_clock(self.clock, self.clock_start)
        self.mounts = []
        self.addCleanup(self.unmount_all)
        self.daemon = Daemon(base, self.state, self.root, clock_file=self.clock)
        self.addCleanup(self.daemon.kill)

    def unmount_all(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], capture_output=True)

    # -- helpers ---------------------------------------------------------------------

    def start(self, **kwargs):
        """Starts the daemon unless it runs (ready() after start() must not start a second one);
        on a fresh state, logs in as an administrator would (bootstrap)."""
        if not self.daemon.running():
            self.daemon.start(**kwargs)
        if self.daemon.token is None:
            self.daemon.bootstrap()

    def ready(self, storage=True, dms=True):
        """Starts the daemon and makes backups possible: DMS set, local storage."""
        self.start()
        if dms:
            self.ok(self.daemon.post("/api/v1/dms", {"dms": DMS, "confirmation": DMS}), 201)
        if storage:
            self.ok(self.daemon.put("/api/v1/storage", {"type": "local", "path": self.storage}))

    def make_slow(self, size=2 << 30):
        """A sparse file in the firmware component: the backup reads `size` bytes of zeros."""
        with open(os.path.join(self.root, "firmware", "big.img"), "wb") as f:
            f.truncate(size)

    def backup_now(self):
        job = self.ok(self.daemon.post("/api/v1/backups"), 202)["job"]
        self.daemon.wait_idle()
        return self.job(job["id"])

    def job(self, job_id):
        for j in self.daemon.jobs():
            if j["id"] == job_id:
                return j
        self.fail(f"job {job_id} not in the history")

    def files(self):
        return sorted(os.listdir(self.storage))

    def wait_phase(self, phase="writing", min_bytes=1):
        def writing():
            _, s = self.daemon.get("/api/v1/status")
            j = s.get("job")
            return j if j and j["phase"] == phase and j["bytes_done"] >= min_bytes else None
        return self.daemon.wait_for(writing, what=f"the job to reach {phase}")

    def mount_tmpfs(self, path, options):
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path], capture_output=True, text=True)
        if proc.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs here (needs root): {proc.stderr.strip()}")
        self.mounts.append(path)


class StartupTest(DaemonTest):
    def test_listens_and_answers_health(self):
        self.start()
        self.assertEqual(self.ok(self.daemon.get("/api/v1/health")), {"status": "ok"})
        self.assertRegex(self.daemon.log(), r"listening on https://127\.0\.0\.1:\d+")

    def test_bad_config_line_is_named(self):
        with open(self.daemon.config_path, "w") as f:
            f.write('state_dir = "/tmp/x"\nlisten = "127.0.0.1:0"\nbackup_hour = 3\n')
        proc = subprocess.run([KEEPSAKED_BIN, "--config", self.daemon.config_path], capture_output=True, text=True,
                              timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(f"{self.daemon.config_path}:3:", proc.stderr)
        self.assertIn('unknown setting "backup_hour"', proc.stderr)

    def test_wrong_type_in_config_is_named(self):
        with open(self.daemon.config_path, "w") as f:
            f.write('\nhttp_threads = "many"\n')
        proc = subprocess.run([KEEPSAKED_BIN, "--config", self.daemon.config_path], capture_output=True, text=True,
                              timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(":2: http_threads must be a whole number", proc.stderr)

    def test_port_taken(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            self.daemon.write_config()
            proc = subprocess.run([KEEPSAKED_BIN, "--config", self.daemon.config_path, "--listen",
                                   f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(f"127.0.0.1:{port}", proc.stderr)
        self.assertIn("address already in use", proc.stderr)

    def test_state_dir_not_writable(self):
        blocker = os.path.join(self.tmp.name, "a-file")
        open(blocker, "w").close()
        self.daemon.state_dir = os.path.join(blocker, "state")  # under a regular file
        self.daemon.write_config()
        proc = subprocess.run([KEEPSAKED_BIN, "--config", self.daemon.config_path], capture_output=True, text=True,
                              timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("cannot start", proc.stderr)
        self.assertIn(blocker, proc.stderr)

    def test_command_line_wins_over_config(self):
        self.start(extra_args=["--log-level", "warn"])
        self.assertNotIn("[debug]", self.daemon.log())


class StatusTest(DaemonTest):
    def test_fresh_appliance_lists_every_reason(self):
        self.start()
        s = self.ok(self.daemon.get("/api/v1/status"))
        self.assertEqual(s["state"], "NOT RUNNING")
        self.assertIsNone(s["job"])
        self.assertIsNone(s["last_successful_backup"])
        self.assertIsNone(s["next_scheduled_backup"])
        self.assertTrue(s["schedule_disabled"])
        reasons = " | ".join(s["schedule_disabled_reasons"])
        self.assertIn("No automated backup schedule", reasons)
        self.assertIn("No Domain Master Secret", reasons)
        self.assertIn("No backup storage is configured", reasons)

    def test_reasons_disappear_one_by_one(self):
        self.ready()
        s = self.ok(self.daemon.get("/api/v1/status"))
        self.assertEqual(s["backup_blockers"], [])
        self.assertEqual(s["schedule_disabled_reasons"], ["No automated backup schedule is set."])
        self.ok(self.daemon.put("/api/v1/schedule", {"kind": "daily", "hour": 2, "minute": 0, "time_zone": "UTC"}))
        s = self.ok(self.daemon.get("/api/v1/status"))
        self.assertFalse(s["schedule_disabled"])
        self.assertEqual(s["next_scheduled_backup"]["time"], "2026-11-27T02:00:00Z")
        self.assertEqual(s["next_scheduled_backup"]["in"], "in 17 hours")

    def test_otp_user_blocks_backups(self):
        self.ready()
        # As a fresh appliance's start would leave it (bootstrap removed the first one).
        with open(os.path.join(self.state, "otp-user.json"), "w") as f:
            json.dump({"username": "otp-admin", "password": "x" * 32, "created_at": 0}, f)
        err = self.error(self.daemon.post("/api/v1/backups"), 409, "Initial OTP User", "remove the OTP User")
        self.assertEqual(err["code"], "failed_precondition")
        s = self.daemon.wait_for(lambda: (lambda st: st if st["backup_blockers"] else None)(
            self.daemon.get("/api/v1/status")[1]), what="status to notice the OTP user")
        self.assertIn("Initial OTP User", " ".join(s["schedule_disabled_reasons"]))

    def test_unreachable_storage_is_a_reason(self):
        self.ready()
        shutil.rmtree(self.storage)
        err = self.error(self.daemon.post("/api/v1/backups"), 409, "unreachable", self.storage)
        self.assertIn("does not exist", err["message"])
        s = self.ok(self.daemon.get("/api/v1/status"))
        self.assertIn("unreachable", " ".join(s["schedule_disabled_reasons"]))

    def test_read_only_storage_is_a_reason(self):
        self.ready()
        self.mount_tmpfs(self.storage, "ro,size=1m")
        self.error(self.daemon.post("/api/v1/backups"), 409, "read-only")

    def test_too_little_space_fails_early_and_warns(self):
        self.ready()
        self.mount_tmpfs(self.storage, "size=1m")  # the appliance state is ~5 MiB
        s = self.ok(self.daemon.get("/api/v1/status"))
        job = self.backup_now()
        self.assertEqual(job["result"], "failed")
        self.assertIn("Insufficient storage space", job["error"])
        self.assertIn("needed", job["error"])
        self.assertEqual(self.files(), [])
        s = self.ok(self.daemon.get("/api/v1/status"))
        self.assertIsNotNone(s["storage"])
        self.assertEqual(s["last_failure"]["error"], job["error"])

    def test_low_space_warning(self):
        self.ready()
        self.mount_tmpfs(self.storage, "size=10m")
        with open(os.path.join(self.storage, "filler"), "wb") as f:
            f.write(b"\1" * (9 << 20))
        self.daemon.post("/api/v1/backups")  # checks the storage afresh (and fails: too little space)
        s = self.daemon.wait_idle()
        self.assertEqual(len(s["warnings"]), 1, s)
        self.assertIn("Less than 20% of the backup storage is free", s["warnings"][0])
        self.assertLess(s["storage"]["free_bytes"], 2 << 20)
        self.assertEqual(s["storage"]["total_bytes"], 10 << 20)

    def test_progress_fields_while_running(self):
        self.make_slow()
        self.ready()
        self.ok(self.daemon.post("/api/v1/backups"), 202)
        job = self.wait_phase()
        s = self.ok(self.daemon.get("/api/v1/status"))
        self.assertEqual(s["state"], "BACKUP IN PROGRESS")
        self.assertGreater(job["bytes_total"], 2 << 30)
        self.assertGreaterEqual(job["percent"], 0)
        self.assertLessEqual(job["percent"], 100)
        self.assertEqual(job["trigger"], "manual")
        self.daemon.wait_idle()


class BackupTest(DaemonTest):
    def test_manual_backup_end_to_end(self):
        self.ready()
        self.ok(self.daemon.put("/api/v1/settings", {"prefix": "nightly"}))
        job = self.backup_now()
        self.assertEqual(job["result"], "succeeded", job)
        self.assertEqual(job["trigger"], "manual")
        self.assertTrue(job["file"].startswith("nightly_"), job["file"])
        self.assertRegex(job["file"], BACKUP_RE)
        self.assertIn("20261126T090000Z", job["file"])  # named from the service clock
        path = os.path.join(self.storage, job["file"])
        self.assertEqual(os.path.getsize(path), job["size"])
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        verify = subprocess.run([KEEPSAKE_BIN, "--state-dir", self.state, "verify", path], capture_output=True,
                                text=True, timeout=120)
        self.assertEqual(verify.returncode, 0, verify.stderr)
        s = self.ok(self.daemon.get("/api/v1/status"))
        self.assertEqual(s["last_successful_backup"]["file"], job["file"])
        self.assertEqual(s["last_successful_backup"]["ago"], "just now")
        set_clock(self.clock, self.clock_start + 3 * 3600 + 60)
        s = self.ok(self.daemon.get("/api/v1/status"))
        self.assertEqual(s["last_successful_backup"]["ago"], "3 hours ago")
        listing = self.ok(self.daemon.get("/api/v1/backups"))["backups"]
        self.assertEqual([b["name"] for b in listing], [job["file"]])
        details = listing[0]["details"]
        self.assertEqual(details["signature"], "valid, this domain")
        self.assertEqual(details["integrity"]["state"], "intact")
        self.assertEqual(details["domain_check"], "this appliance's domain")
        self.assertEqual(details["file_name"], job["file"])
        self.assertEqual(self.ok(self.daemon.get(f"/api/v1/backups/{job['file']}")), details)

    def test_a_replayed_old_backup_is_listed_for_what_it_is(self):
        # Issue 13, finding 4 (reproduced): a copy of an old backup under a newer name was
        # listed, dated and offered by its name; its signed header keeps its place.
        self.ready()
        first = self.backup_now()
        set_clock(self.clock, self.clock_start + 3600)
        second = self.backup_now()
        replay = first["file"].replace("20261126T090000Z", "20991231T235959Z")
        shutil.copyfile(os.path.join(self.storage, first["file"]), os.path.join(self.storage, replay))
        listing = {b["name"]: b for b in self.ok(self.daemon.get("/api/v1/backups"))["backups"]}
        self.assertEqual(list(listing)[0], second["file"], "newest first by the header's time, not the name's")
        copy = listing[replay]
        self.assertFalse(copy["name_matches_header"])
        self.assertEqual(copy["created_at"], "2026-11-26T09:00:00Z")
        self.assertEqual(copy["details"]["chain"]["sequence"], 1)
        self.assertEqual(copy["details"]["superseded_by"],
                         {"sequence": 2, "created_at": "2026-11-26T10:00:00Z", "file_name": second["file"]})
        self.assertTrue(listing[second["file"]]["name_matches_header"])
        self.assertNotIn("superseded_by", listing[second["file"]]["details"])
        self.assertEqual(listing[second["file"]]["details"]["chain"]["sequence"], 2)

    def test_second_request_refused_while_running(self):
        self.make_slow()
        self.ready()
        first = self.ok(self.daemon.post("/api/v1/backups"), 202)["job"]
        self.wait_phase()
        err = self.error(self.daemon.post("/api/v1/backups"), 409, "a backup is already in progress")
        self.assertEqual(err["code"], "failed_precondition")
        self.error(self.daemon.post("/api/v1/restore", {"file": "x_20260101T000000Z.ksb"}), 409,
                   "a backup is already in progress")
        self.daemon.wait_idle()
        jobs = self.daemon.jobs()
        self.assertEqual([j["id"] for j in jobs], [first["id"]], "exactly one job ran")
        self.assertEqual(jobs[0]["result"], "succeeded")
        self.assertEqual(len([f for f in self.files() if f.endswith(".ksb")]), 1)

    def test_sigterm_mid_backup_aborts_cleanly(self):
        self.make_slow()
        self.ready()
        job = self.ok(self.daemon.post("/api/v1/backups"), 202)["job"]
        self.wait_phase(min_bytes=1 << 20)
        self.assertTrue(any(f.endswith(".partial") for f in self.files()), self.files())
        t0 = time.monotonic()
        self.assertEqual(self.daemon.stop(signal.SIGTERM), 0)
        self.assertLess(time.monotonic() - t0, 20, "the backup was not stopped promptly")
        self.assertEqual(self.files(), [], "no partial, no backup file")
        self.start()
        got = self.job(job["id"])
        self.assertEqual(got["result"], "aborted")
        self.assertEqual(got["error"], "aborted: service stopped")
        self.assertIsNone(self.ok(self.daemon.get("/api/v1/status"))["last_successful_backup"])
        metrics = self.ok(self.daemon.get("/metrics"))
        self.assertIn("keepsake_backup_in_progress 0", metrics)

    def test_restart_after_kill_records_interrupted_and_cleans_partial(self):
        self.make_slow()
        self.ready()
        job = self.ok(self.daemon.post("/api/v1/backups"), 202)["job"]
        self.wait_phase(min_bytes=1 << 20)
        self.daemon.stop(signal.SIGKILL)
        self.assertTrue(any(f.endswith(".partial") for f in self.files()), self.files())
        self.start()
        got = self.job(job["id"])
        self.assertEqual(got["result"], "interrupted")
        self.assertIn("interrupted", got["error"])
        self.assertEqual(self.files(), [], "the partial was removed at start-up")
        self.assertIn("keepsake_backup_failures_total 1", self.ok(self.daemon.get("/metrics")))
        # And the next backup works.
        os.remove(os.path.join(self.root, "firmware", "big.img"))
        self.assertEqual(self.backup_now()["result"], "succeeded")

    def test_metrics(self):
        self.ready()
        job = self.backup_now()
        text = self.ok(self.daemon.get("/metrics"))
        values = dict(line.split(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
        self.assertEqual(int(float(values["keepsake_last_success_timestamp_seconds"])), self.clock_start)
        self.assertEqual(int(float(values["keepsake_last_backup_size_bytes"])), job["size"])
        self.assertGreater(float(values["keepsake_last_backup_duration_seconds"]), 0)
        self.assertEqual(values["keepsake_backup_failures_total"], "0")
        self.assertEqual(values["keepsake_backup_in_progress"], "0")
        self.assertIn("# TYPE keepsake_backup_failures_total counter", text)


class ScheduleTest(DaemonTest):
    clock_start = utc(2026, 3, 28, 12, 0, 0)  # the day before Europe/Berlin springs forward

    def test_saving_creates_no_backup_and_shows_next_runs(self):
        self.ready()
        body = self.ok(self.daemon.put("/api/v1/schedule", {"kind": "weekly", "day_of_week": 6, "hour": 0,
                                                            "minute": 0, "time_zone": "UTC"}))
        self.assertEqual(body["expression"], "0 0 0 ? * 6")
        self.assertEqual(len(body["next_runs"]), 5)
        self.assertEqual(body["next_runs"][0]["time"], "2026-04-03T00:00:00Z")  # a Friday
        self.assertEqual(self.daemon.jobs(), [])
        self.assertEqual(self.ok(self.daemon.get("/api/v1/schedule"))["expression"], "0 0 0 ? * 6")

    def test_invalid_cron_points_at_field(self):
        self.start()
        err = self.error(self.daemon.put("/api/v1/schedule", {"kind": "cron", "cron": "0 0 25 ? * *"}), 400,
                         "hour")
        self.assertEqual(err["code"], "invalid_argument")
        self.error(self.daemon.put("/api/v1/schedule", {"kind": "cron", "cron": "0 0 0 1 * MON"}), 400, "?")
        self.error(self.daemon.put("/api/v1/schedule", {"kind": "daily", "hour": 2, "minute": 0,
                                                                 "time_zone": "Mars/Base"}),
                   400, "Mars/Base")
        self.assertEqual(self.ok(self.daemon.get("/api/v1/schedule"))["kind"], "none")

    def test_preview_does_not_save(self):
        self.start()
        body = self.ok(self.daemon.post("/api/v1/schedule/preview", {"kind": "cron", "cron": "0 0 0 ? * FRI",
                                                                     "time_zone": "UTC"}))
        self.assertEqual([r["time"] for r in body["next_runs"]][:2], ["2026-04-03T00:00:00Z", "2026-04-10T00:00:00Z"])
        self.assertEqual(self.ok(self.daemon.get("/api/v1/schedule"))["kind"], "none")

    def test_schedule_fires_on_the_clock_across_dst(self):
        self.ready()
        self.ok(self.daemon.put("/api/v1/schedule", {"kind": "daily", "hour": 2, "minute": 30,
                                                     "time_zone": "Europe/Berlin"}))
        s = self.ok(self.daemon.get("/api/v1/status"))
        # 02:30 does not exist on 2026-03-29 in Berlin: it runs at 03:30 CEST = 01:30 UTC.
        self.assertEqual(s["next_scheduled_backup"]["time"], "2026-03-29T01:30:00Z")
        set_clock(self.clock, utc(2026, 3, 29, 1, 29, 59))
        time.sleep(0.5)
        self.assertEqual(self.daemon.jobs(), [], "nothing fires before its time")
        set_clock(self.clock, utc(2026, 3, 29, 1, 30, 0))
        job = self.daemon.wait_for(lambda: self.daemon.jobs(), what="the scheduled backup")[0]
        self.assertEqual(job["trigger"], "schedule")
        self.assertEqual(job["requester"], "scheduler")
        self.daemon.wait_idle()
        self.assertEqual(self.job(job["id"])["result"], "succeeded")
        self.assertIn("20260329T013000Z", self.job(job["id"])["file"])
        s = self.ok(self.daemon.get("/api/v1/status"))
        self.assertEqual(s["next_scheduled_backup"]["time"], "2026-03-30T00:30:00Z")  # 02:30 CEST

    def test_missed_runs_caught_up_once_at_startup(self):
        self.ready()
        self.ok(self.daemon.put("/api/v1/schedule", {"kind": "hourly", "minute": 0, "time_zone": "UTC"}))
        self.assertEqual(self.daemon.stop(), 0)
        set_clock(self.clock, self.clock_start + 3 * 86400)  # down for three days: 72 runs missed
        self.start()
        jobs = self.daemon.wait_for(lambda: self.daemon.jobs(), what="the catch-up backup")
        self.daemon.wait_idle()
        time.sleep(0.5)
        jobs = self.daemon.jobs()
        self.assertEqual(len(jobs), 1, jobs)
        self.assertEqual(jobs[0]["trigger"], "catch-up")
        self.assertEqual(self.job(jobs[0]["id"])["result"], "succeeded")
        s = self.ok(self.daemon.get("/api/v1/status"))
        self.assertEqual(s["next_scheduled_backup"]["time"], "2026-03-31T13:00:00Z")

    def test_run_with_a_blocker_is_recorded_as_failed(self):
        self.ready(storage=False)
        self.ok(self.daemon.put("/api/v1/schedule", {"kind": "hourly", "minute": 0, "time_zone": "UTC"}))
        set_clock(self.clock, utc(2026, 3, 28, 13, 0, 0))
        jobs = self.daemon.wait_for(lambda: self.daemon.jobs(), what="the failed scheduled run")
        self.assertEqual(jobs[0]["result"], "failed")
        self.assertIn("No backup storage is configured", jobs[0]["error"])
        self.assertIn("keepsake_backup_failures_total 1", self.ok(self.daemon.get("/metrics")))


class RetentionTest(DaemonTest):
    def test_keep_last_deletes_only_own_backups(self):
        self.ready()
        self.ok(self.daemon.put("/api/v1/settings", {"retention": {"keep_last": 2}}))
        foreign = ["otherhost_20200101T000000Z.ksb", "notes.txt", "x_" + "20200101T000000Z.ksb"]
        for name in foreign:
            with open(os.path.join(self.storage, name), "w") as f:
                f.write("not ours\n")
        made = []
        for i in range(4):
            set_clock(self.clock, self.clock_start + i * 86400)
            job = self.backup_now()
            self.assertEqual(job["result"], "succeeded", job)
            made.append(job["file"])
        self.assertEqual(self.files(), sorted(foreign + made[-2:]))

    def test_retention_counts_only_after_success(self):
        self.ready()
        self.ok(self.daemon.put("/api/v1/settings", {"retention": {"keep_last": 1}}))
        first = self.backup_now()
        self.mount_tmpfs(self.storage, "size=1m")  # hides the directory's files: a full storage
        self.assertEqual(self.backup_now()["result"], "failed")
        subprocess.run(["umount", self.storage], check=True)
        self.mounts.remove(self.storage)
        self.assertEqual(self.files(), [first["file"]])

    def test_invalid_retention_and_prefix_refused(self):
        self.start()
        self.error(self.daemon.put("/api/v1/settings", {"retention": {"keep_last": -1}}), 400, "keep_last")
        self.error(self.daemon.put("/api/v1/settings", {"prefix": "a/b"}), 400, "prefix")
        self.error(self.daemon.put("/api/v1/settings", {"prefix": "x" * 65}), 400, "64")
        self.assertEqual(self.ok(self.daemon.get("/api/v1/settings"))["prefix"], "")


class ApiTest(DaemonTest):
    def test_errors_have_one_shape(self):
        self.start()
        self.error(self.daemon.get("/api/v1/nothing-here"), 404, "no such API route")
        self.error(self.daemon.request("PUT", "/api/v1/settings", raw=b"{not json"), 400, "not valid JSON")
        self.error(self.daemon.put("/api/v1/settings", {"colour": "blue"}), 400, "colour")
        self.error(self.daemon.request("POST", "/api/v1/dms", raw=b"x" * (1 << 20)), 413, "too large")
        self.error(self.daemon.get("/api/v1/jobs?limit=abc"), 400, "limit")
        # The router decodes %2F before matching: a name with '/' never reaches a handler.
        self.error(self.daemon.get("/api/v1/backups/..%2Fetc%2Fpasswd"), 404, "no such API route")
        self.error(self.daemon.get("/api/v1/backups/notes.txt"), 400, "not a backup file name")
        self.error(self.daemon.get("/api/v1/backups/..ksb"), 400, "not a backup file name")
        self.error(self.daemon.get("/api/v1/backups/host_20260101T000000Z.ksb"), 409, "No backup storage")
        self.ready(dms=False)
        self.error(self.daemon.get("/api/v1/backups/host_20260101T000000Z.ksb"), 404, "No such file")

    def test_dms_set_once_and_never_logged(self):
        self.start()
        self.assertEqual(self.ok(self.daemon.get("/api/v1/dms")), {"set": False})
        self.error(self.daemon.post("/api/v1/dms", {"dms": "short", "confirmation": "short"}), 400, "8")
        # Issue 13, finding 9: the weakest classes are refused by name, and the rating that
        # refuses them is the one the API shows.
        self.error(self.daemon.post("/api/v1/dms", {"dms": "Password1", "confirmation": "Password1"}), 400,
                   "too guessable")
        rating = self.ok(self.daemon.post("/api/v1/dms/strength", {"dms": "Password1"}))
        self.assertEqual((rating["score"], rating["acceptable"]), (0, False))
        self.assertIn("too guessable", rating["problem"])
        rating = self.ok(self.daemon.post("/api/v1/dms/strength", {"dms": DMS}))
        self.assertTrue(rating["acceptable"])
        self.assertGreaterEqual(rating["score"], 2)
        self.error(self.daemon.post("/api/v1/dms", {"dms": DMS, "confirmation": DMS + "x"}), 400)
        body = self.ok(self.daemon.post("/api/v1/dms", {"dms": DMS, "confirmation": DMS}), 201)
        self.assertTrue(body["set"])
        self.assertRegex(body["fingerprint"], r"^[0-9a-f:]+$")
        self.error(self.daemon.post("/api/v1/dms", {"dms": DMS + "2", "confirmation": DMS + "2"}), 409,
                   "cannot be changed")
        self.assertEqual(self.ok(self.daemon.get("/api/v1/dms")), body)
        self.daemon.stop()
        for path in (self.daemon.log_path, os.path.join(self.state, "audit.log"),
                     os.path.join(self.state, "state.db")):
            with open(path, "rb") as f:
                self.assertNotIn(DMS.encode(), f.read(), path)
        with open(os.path.join(self.state, "audit.log")) as f:
            events = [json.loads(line)["event"] for line in f]
        self.assertIn("dms.set", events)

    def test_storage_setting(self):
        self.start()
        self.assertEqual(self.ok(self.daemon.get("/api/v1/storage"))["storage"], {"type": "none"})
        self.error(self.daemon.put("/api/v1/storage", {"type": "local", "path": "relative/dir"}), 400, "absolute")
        self.error(self.daemon.put("/api/v1/storage", {"type": "local", "path": self.storage + "/missing"}), 404,
                   "does not exist")
        self.error(self.daemon.put("/api/v1/storage", {"type": "ftp"}), 400, "ftp")
        body = self.ok(self.daemon.put("/api/v1/storage", {"type": "local", "path": self.storage}))
        self.assertEqual(body["message"], "Successfully updated backup storage configuration.")
        self.assertEqual(self.ok(self.daemon.get("/api/v1/storage"))["storage"]["url"], "file://" + self.storage)
        self.daemon.stop()
        self.start()  # settings survive a restart
        self.assertEqual(self.ok(self.daemon.get("/api/v1/storage"))["storage"]["path"], self.storage)
        with open(os.path.join(self.state, "audit.log")) as f:
            events = [json.loads(line) for line in f]
        self.assertTrue(any(e["event"] == "storage.changed" and e["outcome"] == "changed" for e in events))
        self.assertEqual(os.stat(self.state).st_mode & 0o777, 0o700)  # issue 13, finding 10
        self.assertEqual(os.stat(os.path.join(self.state, "state.db")).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.join(self.state, "audit.log")).st_mode & 0o777, 0o600)


class RestoreTest(DaemonTest):
    def test_dry_run_then_restore(self):
        self.ready()
        backup = self.backup_now()
        marker = os.path.join(self.root, "config", "added-after-backup.conf")
        with open(marker, "w") as f:
            f.write("x\n")
        # A write-only appliance (the default: the restore key is not kept) restores only
        # with the DMS typed.
        self.assertFalse(self.ok(self.daemon.get("/api/v1/dms"))["restore_key_kept"])
        job = self.ok(self.daemon.post("/api/v1/restore", {"file": backup["file"], "dry_run": True}), 202)["job"]
        self.daemon.wait_idle()
        got = self.job(job["id"])
        self.assertEqual(got["result"], "failed", got)
        self.assertIn("write-only", got["error"])
        job = self.ok(self.daemon.post("/api/v1/restore", {"file": backup["file"], "dry_run": True, "dms": DMS}),
                      202)["job"]
        self.daemon.wait_idle()
        got = self.job(job["id"])
        self.assertEqual(got["result"], "succeeded", got)
        self.assertIn("would restore", got["summary"])
        self.assertEqual(got["error"], "", "a success has a summary, not an error")
        self.assertRegex(got["started_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", "times are ISO 8601 UTC")
        self.assertTrue(os.path.exists(marker))
        job = self.ok(self.daemon.post("/api/v1/restore", {"file": backup["file"], "dms": DMS}), 202)["job"]
        self.daemon.wait_idle()
        self.assertEqual(self.job(job["id"])["result"], "succeeded")
        self.assertFalse(os.path.exists(marker), "the restore brought back the backed-up config")
        last = self.ok(self.daemon.get("/api/v1/restore"))["last"]
        self.assertEqual(last["id"], job["id"])

    def test_restore_refuses_bad_names(self):
        self.ready()
        self.error(self.daemon.post("/api/v1/restore", {"file": "../../etc/passwd"}), 400, "not a backup file name")
        self.error(self.daemon.post("/api/v1/restore", {"file": "host_20260101T000000Z.ksb"}), 404)


class CliClientTest(DaemonTest):
    def cli(self, *args):
        env = dict(os.environ, KEEPSAKE_SERVER=self.daemon.url, KEEPSAKE_CA_FILE=self.daemon.cert_path(),
                   XDG_CONFIG_HOME=os.path.join(self.tmp.name, "config"))
        return subprocess.run([KEEPSAKE_BIN, *args], env=env, capture_output=True, text=True, timeout=120)

    def test_status_backup_now_history_schedule(self):
        self.ready()
        proc = self.cli("status")
        self.assertEqual(proc.returncode, 3, proc.stderr)  # auth
        self.assertIn("keepsake login", proc.stderr)
        password_file = os.path.join(self.tmp.name, "admin.password")
        with open(password_file, "w") as f:
            f.write(ADMIN_PASSWORD + "\n")
        proc = self.cli("login", "--username", ADMIN, "--password-file", password_file)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        session = os.path.join(self.tmp.name, "config", "keepsake", "session.json")
        self.assertEqual(os.stat(session).st_mode & 0o777, 0o600)
        proc = self.cli("status")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Backup Status:                    NOT RUNNING", proc.stdout)
        self.assertIn("Schedule Disabled", proc.stdout)
        proc = self.cli("backup-now", "--wait")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        name = proc.stdout.strip()
        self.assertRegex(name, BACKUP_RE)
        self.assertTrue(os.path.isfile(os.path.join(self.storage, name)))
        proc = self.cli("history")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("succeeded", proc.stdout)
        self.assertIn(name, proc.stdout)
        proc = self.cli("schedule", "set", "--kind", "cron", "--cron", "0 0 0 ? * FRI")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("0 0 0 ? * FRI", proc.stdout)
        proc = self.cli("schedule", "show")
        self.assertIn("Next runs:", proc.stdout)
        proc = self.cli("schedule", "set", "--kind", "daily", "--hour", "24", "--minute", "0")
        self.assertEqual(proc.returncode, 2, proc.stderr)  # invalid_argument -> usage
        self.assertIn("hour", proc.stderr)
        os.mkdir(os.path.join(self.storage, "weekly"))
        proc = self.cli("storage", "browse", "--filter", "WEEK")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Permission: read/write", proc.stdout)
        self.assertIn("  weekly/\n", proc.stdout)
        self.assertNotIn(name, proc.stdout)  # filtered out
        proc = self.cli("storage", "set", "--url", "file://" + self.storage, "--path", "weekly")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Successfully updated backup storage configuration.", proc.stdout)
        self.assertIn(f"URL:     file://{self.storage}/weekly", proc.stdout)
        proc = self.cli("storage", "browse", "--path", "..")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn('".." is not allowed', proc.stderr)

    def test_daemon_not_running(self):
        env = dict(os.environ, KEEPSAKE_SERVER="https://127.0.0.1:9")
        proc = subprocess.run([KEEPSAKE_BIN, "status"], env=env, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("cannot reach keepsaked", proc.stderr)
        self.assertIn("is the service running", proc.stderr)


if __name__ == "__main__":
    unittest.main()
