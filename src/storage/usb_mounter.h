// Mounting USB volumes under the private mount directory, and nothing else.
//
// A volume is mounted at <mount_dir>/<uuid> from its partition node (/dev/sdb1,
// /dev/mmcblk0p1) when the kernel made one, else from a loop device over the disk at the
// partition's offset, which clears itself when unmounted. ext4 is mounted by the kernel;
// exFAT by the kernel when /proc/filesystems lists it, else by exfat-fuse
// (mount.exfat-fuse). Mounts are nosuid, nodev and noexec: a drive brought by anyone must
// not bring programs or device nodes.
//
// Every unmount here refuses mount points that are not directly below mount_dir, and the
// clean-up at start-up only touches ext4/exFAT mounts below it: a bug must not be able to
// unmount what this program does not own.
//
// Thread-safe (no shared state), but callers serialise work on one mount_dir.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "storage/usb_discovery.h"

namespace keepsake::storage {

// Creates `mount_dir` (and missing parents, 0755) with mode 0700, or sets 0700 if it exists.
// kInvalidArgument if it is not an absolute path other than "/"; the errno mapping.
Status PrepareMountDir(const std::string& mount_dir);

// Unmounts every ext4, exFAT or FUSE-block mount below `mount_dir` (left by a crash or a
// kill -9), deepest first, and removes the empty directories left. OK if there were none;
// otherwise the first failure, after trying the rest.
Status CleanMountDir(const std::string& mount_dir);

struct MountRequest {
  DiskInfo disk;
  int number = 0;           // partition number
  uint64_t offset = 0;      // bytes
  uint64_t size = 0;        // bytes
  std::string fs_type;      // "ext4" or "exfat"
  std::string mount_point;  // <mount_dir>/<uuid>, created here
};

// Mounts the volume read-write; returns the block device mounted (the partition node or
// the loop). On failure nothing is left mounted or attached. kPermissionDenied without
// CAP_SYS_ADMIN, kNotFound when the disk or mount.exfat-fuse is missing, kIoError with the
// kernel's or exfat-fuse's words otherwise.
Result<std::string> MountVolume(const MountRequest& request);

// Unmounts `mount_point` lazily (a writer holding files on a vanished drive must not block
// it) and removes its directory. kInvalidArgument if `mount_point` is not directly below
// `mount_dir`; OK if it was not mounted.
Status UnmountVolume(const std::string& mount_dir, const std::string& mount_point);

}  // namespace keepsake::storage
