// Finding USB disks and reading what is on them, without mounting anything.
//
// ListDisks() walks /sys/block: a disk is a USB disk when its resolved sysfs path runs
// through a USB bus ("/usb"). For tests, loop devices over image files may be admitted as
// USB disks; loops over a /dev node, loops with an offset or size limit, and loops flagged
// to clear themselves are never admitted: those are this program's own partition loops (or
// loops being detached). ProbeDisk() reads the partition table and each partition's file
// system with libblkid straight from the disk at the partition's offset, so no partition
// device node is needed. Classify() turns that into the administrator's view: which volumes
// can be used, and why the others cannot.
//
// Thread-safe: no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/usb_drives.h"

namespace keepsake::storage {

struct DiscoveryOptions {
  bool admit_loop_devices = false;        // tests: loops over image files count as USB disks
  std::vector<std::string> only_devices;  // tests: consider only these ("/dev/loop3"); empty: all
};

// A candidate disk as sysfs describes it.
struct DiskInfo {
  std::string name;          // "sdb", "loop3"
  std::string device;        // "/dev/sdb"
  uint64_t size = 0;         // bytes
  std::string vendor;        // "" if unknown
  std::string model;         // "" if unknown
  std::string backing_file;  // loop devices: the image file; "" otherwise
};

// One partition as libblkid read it.
struct PartitionProbe {
  int number = 0;
  uint64_t offset = 0;  // bytes from the start of the disk
  uint64_t size = 0;    // bytes
  std::string fs_type;  // "" if no file system was recognised
  std::string label;
  std::string uuid;
  bool ambivalent = false;  // signatures of several file systems were found
};

struct DiskProbe {
  std::string partition_table;  // "gpt", "dos", ... or "" when there is none
  std::string whole_disk_fs;    // without a partition table: a file system on the whole disk
  std::vector<PartitionProbe> partitions;
};

// The USB disks (and, if admitted, test loops) in `sys_block`, sorted by name. Disks without
// media (size 0) are left out. kIoError if `sys_block` cannot be read.
Result<std::vector<DiskInfo>> ListDisks(const DiscoveryOptions& options, std::string_view sys_block = "/sys/block");

// Reads the partition table of `device` and the file system of each partition.
// The errno mapping (kNotFound when it vanished meanwhile), or kIoError naming the device.
Result<DiskProbe> ProbeDisk(const std::string& device);

// The drive as an administrator sees it: a GPT drive is supported when it has an ext4 or
// exFAT partition; those volumes are kPending (to be mounted), every other partition is
// kUnsupported with the reason. Any other drive is unsupported as a whole, with the reason.
UsbDrive Classify(const DiskInfo& disk, const DiskProbe& probe);

}  // namespace keepsake::storage
