#!/usr/bin/env bash
# Removes what storage tests may leave behind when a test process is killed before its own
# cleanup runs: NFS servers, mounts, loop devices. Only touches objects whose path lies in
# a test temp dir (a "ks-" directory under /tmp), never anything else. Run by .ci/run on
# exit, pass or fail; safe to run by hand. Needs root for umount/losetup (skips otherwise).
set -uo pipefail
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
