#!/usr/bin/env python3
"""No process a test starts survives the test process (tests/fixtures/processes.py).

A keepsaked started by test_daemon.py once kept running after a green CI run: a test
started the daemon over a running one and lost the first one's handle. Each case here runs a
small test process (a child Python using the real fixtures) that starts keepsaked and then
goes wrong: its setUpClass fails after the start, it loses a handle, it exits without any
cleanup, it gets SIGTERM, or SIGKILL. Afterwards no process carrying the child's marker
(KEEPSAKE_TEST_MARKER) may run; after SIGKILL, where nothing in the child can run, that takes
scripts/clean-test-leftovers.sh, which must leave alone the processes of running tests.

Binary: env KEEPSAKED_BIN (ctest sets it), else <repository>/build/keepsaked.
Run: python3 tests/integration/test_fixture_cleanup.py -v
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
sys.path.insert(0, FIXTURES)
import processes  # noqa: E402
from paths import KEEPSAKED_BIN, REPO, require_binaries  # noqa: E402

# The child: prints "marker <KEEPSAKE_TEST_MARKER>", then "daemon <pid>" for each keepsaked it
# started, then "ready"; what it does then depends on argv[1].
CHILD = r"""
import os, subprocess, sys, tempfile, time, unittest
sys.path.insert(0, sys.argv[2])
import processes
from daemon import Daemon

mode = sys.argv[1]
print("marker", processes.MARKER, flush=True)


def new_daemon(base):
    root = os.path.join(base, "appliance")
    os.makedirs(os.path.join(root, "firmware"))
    with open(os.path.join(root, "firmware", "VERSION"), "w") as f:
        f.write("firmware=4.1.0\n")
    return Daemon(base, os.path.join(base, "state"), root, clock_file=os.path.join(base, "clock"))


def start(daemon):
    with open(daemon.clock_file, "w") as f:
        f.write("1800000000\n")
    daemon.start()
    print("daemon", daemon.proc.pid, flush=True)


if mode == "setup-class-fails":
    class Failing(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.tmp = tempfile.TemporaryDirectory(prefix="ks-cleanup-")
            cls.addClassCleanup(cls.tmp.cleanup)
            cls.daemon = new_daemon(cls.tmp.name)
            cls.addClassCleanup(cls.daemon.kill)
            start(cls.daemon)
            raise RuntimeError("setUpClass fails after the daemon started")

        def test_never_runs(self):
            pass
    unittest.main(argv=["child"])

base = tempfile.mkdtemp(prefix="ks-cleanup-")
daemon = new_daemon(base)
start(daemon)
if mode == "second-start":
    try:
        daemon.start()  # would lose the running daemon's handle
    except RuntimeError as e:
        print("refused:", e, flush=True)
    sys.exit(0)
if mode == "sigkill":
    # Like pg_ctl's postgres: no handle, a session of its own, not killed with the parent.
    # (Not on our stdout: the test reads it until every writer has closed it.)
    orphan = subprocess.Popen(["sleep", "600"], start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    print("daemon", orphan.pid, flush=True)
print("ready", flush=True)
if mode == "forgotten":
    sys.exit(0)  # no stop, no cleanup: the exit handler must find the daemon
time.sleep(600)  # "sigterm", "sigkill": the test signals us
"""


class FixtureCleanupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_binaries(KEEPSAKED_BIN)

    def run_child(self, mode, sig=None):
        """Runs the child until it exits (after `sig`, once it is ready); returns (its
        marker, the pids it started, its exit status, its output)."""
        proc = processes.popen([sys.executable, "-c", CHILD, mode, FIXTURES], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, die_with_parent=False)
        self.addCleanup(processes.end, proc, signal.SIGKILL)
        marker, pids, lines = None, [], []
        for line in proc.stdout:
            lines.append(line)
            word, _, value = line.strip().partition(" ")
            if word == "marker":
                marker = value
            elif word == "daemon":
                pids.append(int(value))
            elif word == "ready" and sig is not None:
                os.kill(proc.pid, sig)
        proc.stdout.close()
        proc.wait(60)
        output = "".join(lines)
        self.assertIsNotNone(marker, output)
        self.assertTrue(pids, f"the child started no daemon:\n{output}")
        self.addCleanup(processes.end_marked, marker)  # should this test fail
        return marker, pids, proc.returncode, output

    def assertNoneLeft(self, marker, pids, output):
        deadline = time.monotonic() + 10  # a SIGKILLed process takes a moment to be gone
        while time.monotonic() < deadline and (processes.marked(marker) or any(map(processes.alive, pids))):
            time.sleep(0.05)
        left = {pid: processes.describe(pid) for pid in processes.marked(marker)}
        self.assertEqual(left, {}, f"processes of the test process survive it:\n{output}")
        self.assertEqual([p for p in pids if processes.alive(p)], [], output)

    def test_setup_class_failing_after_the_start(self):
        marker, pids, rc, output = self.run_child("setup-class-fails")
        self.assertNotEqual(rc, 0, output)
        self.assertIn("setUpClass fails after the daemon started", output)
        self.assertNoneLeft(marker, pids, output)

    def test_a_second_start_is_refused_and_nothing_is_left(self):
        marker, pids, rc, output = self.run_child("second-start")
        self.assertEqual(rc, 0, output)
        self.assertIn("still runs: stop it before starting another", output)
        self.assertEqual(len(pids), 1, output)
        self.assertNoneLeft(marker, pids, output)

    def test_a_forgotten_daemon_is_killed_at_exit(self):
        marker, pids, rc, output = self.run_child("forgotten")
        self.assertEqual(rc, 0, output)
        self.assertIn("left running by a test", output, "the exit handler names the leak")
        self.assertNoneLeft(marker, pids, output)

    def test_sigterm_ends_the_daemon(self):
        marker, pids, rc, output = self.run_child("sigterm", signal.SIGTERM)
        self.assertNotEqual(rc, 0, output)
        self.assertIn("SIGTERM: ending the test's processes", output)
        self.assertNoneLeft(marker, pids, output)

    def test_sigkill_then_clean_test_leftovers(self):
        # A process of this (running) test, marked with its marker: the script must spare it.
        mine = processes.popen(["sleep", "600"])
        self.addCleanup(processes.end, mine, signal.SIGKILL)
        marker, pids, rc, output = self.run_child("sigkill", signal.SIGKILL)
        self.assertEqual(rc, -signal.SIGKILL, output)
        daemon, orphan = pids
        # keepsaked dies with its parent (PR_SET_PDEATHSIG); the orphan, like a postgres that
        # pg_ctl started, runs on, carrying the dead test process's marker.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and processes.alive(daemon):
            time.sleep(0.05)
        self.assertFalse(processes.alive(daemon), "keepsaked outlived its SIGKILLed test process")
        self.assertEqual(list(processes.marked(marker)), [orphan])
        clean = subprocess.run([os.path.join(REPO, "scripts", "clean-test-leftovers.sh")], capture_output=True,
                               text=True, timeout=120)
        self.assertEqual(clean.returncode, 0, clean.stderr)
        self.assertIn(f"clean: killed {orphan} ", clean.stdout)
        self.assertNoneLeft(marker, pids, output + clean.stdout)
        self.assertTrue(processes.alive(mine.pid), "the script killed a running test's process")


if __name__ == "__main__":
    unittest.main()
