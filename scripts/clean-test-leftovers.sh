#!/usr/bin/env bash
# Removes what tests may leave behind when a test process is killed before its own cleanup
# runs: processes the tests started, NFS servers, mounts, loop devices. Only touches
# processes that carry a test's marker and objects whose path lies in a test temp dir (a
# "ks-" directory under /tmp), never anything else. Run by .ci/run on exit, pass or fail;
# safe to run by hand.
#
#   scripts/clean-test-leftovers.sh         processes whose test process is gone
#   scripts/clean-test-leftovers.sh --all   every marked process (CI, once make test is over)
#
# Processes of other users (PostgreSQL runs as postgres), umount and losetup need root;
# without it, only this user's processes are seen and the rest is skipped.
set -uo pipefail
all=0
[ "${1:-}" = "--all" ] && all=1

# Every process a test starts carries KEEPSAKE_TEST_MARKER=<test pid>.<its start time> in its
# environment (tests/fixtures/processes.py), whatever its name: servers, their children, a
# daemon whose handle the test lost. Found by that marker, not by name, so nothing else is
# touched. Killed first: they hold the mounts and loop devices cleaned up below.
owner_alive() {  # "<pid>.<start time>": is that very process (not a reuse of its pid) running?
  local owner=$1 stat rest
  stat=$(cat "/proc/${owner%%.*}/stat" 2>/dev/null) || return 1
  rest=${stat##*) }
  # shellcheck disable=SC2086  # split on purpose: after the command name, field 3 (state) is
  set -- $rest                 # the 1st, field 22 (start time) the 20th
  [ "$1" != Z ] && [ "$1" != X ] && [ "${20:-}" = "${owner#*.}" ]
}
for environ in /proc/[0-9]*/environ; do
  pid=${environ#/proc/}; pid=${pid%/environ}
  [ "$pid" = "$$" ] && continue
  marker=$(grep -z -m1 -s '^KEEPSAKE_TEST_MARKER=' "$environ" | tr -d '\0') || continue
  marker=${marker#KEEPSAKE_TEST_MARKER=}
  [ -n "$marker" ] || continue
  if [ "$all" -eq 1 ] || ! owner_alive "$marker"; then
    cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-100)
    kill -9 "$pid" 2>/dev/null && echo "clean: killed $pid ($cmd), started by test process ${marker%%.*}"
  fi
done

[ "$(id -u)" -eq 0 ] || exit 0
tmp_re='^/tmp/ks-'

# NFS servers started by tests/fixtures/nfs_server.py (their config lives in the test dir).
pgrep -af 'ganesha.nfsd' | while read -r pid cmd; do
  [[ "$cmd" == *" /tmp/ks-"* ]] && kill -9 "$pid" 2>/dev/null && echo "clean: killed nfs-ganesha $pid"
done

# Mounts below a test dir, deepest first (FUSE exFAT included).
awk '{print $5}' /proc/self/mountinfo | grep -E "$tmp_re" | sort -r | while read -r m; do
  umount -l "$m" 2>/dev/null && echo "clean: unmounted $m"
done
pkill -9 -f 'mount.exfat-fuse .*/tmp/ks-' 2>/dev/null

# Loop devices over images in a test dir, and loops stacked on those (partition offsets);
# stacked ones first, so that the image loops are free when their turn comes.
losetup -n -O NAME,BACK-FILE 2>/dev/null | while read -r dev back; do
  if [[ "$back" == /dev/loop* ]] && [[ "$(losetup -n -O BACK-FILE "$back" 2>/dev/null)" =~ $tmp_re ]]; then
    losetup -d "$dev" 2>/dev/null && echo "clean: detached $dev (on $back)"
  fi
done
losetup -n -O NAME,BACK-FILE 2>/dev/null | while read -r dev back; do
  [[ "$back" =~ $tmp_re ]] && losetup -d "$dev" 2>/dev/null && echo "clean: detached $dev ($back)"
done
exit 0
