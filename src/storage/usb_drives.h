// USB drives as backup storage: what is attached, what can be used, and where it is mounted.
//
// UsbDrives is the process-wide registry. It polls for USB disks (usb_discovery.h), mounts
// every supported volume (a GPT partition with ext4 or exFAT) read-write at
// <mount_dir>/<uuid> (usb_mounter.h), and unmounts volumes whose drive has gone. The API
// serves Snapshot() as JSON; the usb:// backend resolves a label or UUID with
// MountPointFor(). Drives that cannot be used are listed too, with the reason, so that an
// administrator is never left wondering why a drive does not show up.
//
// Thread-safe: every public method may be called from any thread. Scans (the poller's and
// RescanNow()'s) run one at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "storage/backend.h"

namespace keepsake::storage {

// Below this much free space a volume is "full" and not offered as a target. 64 MiB holds
// the sealed backup of a small appliance with room to spare; it is a floor that catches
// drives that are full or nearly so, not a promise that the next backup fits (its size
// is only known once it is written, and a backup that does not fit fails with kNoSpace and
// leaves nothing behind).
inline constexpr uint64_t kUsbMinFreeBytes = 64ull << 20;

enum class UsbVolumeState {
  kPending,      // supported, not mounted yet (never in a snapshot)
  kMounted,      // mounted and offered as a target
  kFull,         // mounted, but less than min_free_bytes free: not offered
  kUnsupported,  // not a GPT partition with ext4 or exFAT; see reason
  kMountFailed,  // supported, but mounting it failed; see reason
};
std::string_view UsbVolumeStateName(UsbVolumeState state);  // "mounted", "full", ...

// One partition of a USB drive.
struct UsbVolume {
  int number = 0;           // partition number, 1-based
  uint64_t offset = 0;      // bytes from the start of the disk
  uint64_t size = 0;        // bytes
  std::string fs_type;      // "ext4", "exfat", "vfat", ... ("" if none was found)
  std::string label;        // file system label, may be empty
  std::string uuid;         // file system UUID (exFAT: the volume serial "ABCD-1234")
  std::string device;       // the block device mounted (partition node or a loop), once mounted
  std::string mount_point;  // <mount_dir>/<uuid>, once mounted
  UsbVolumeState state = UsbVolumeState::kPending;
  std::string reason;  // why unsupported, full or not mounted; "" when mounted
  Capacity capacity;   // of the mounted file system; zeros when not mounted
};

// One USB disk.
struct UsbDrive {
  std::string device;           // "/dev/sdb" (tests: "/dev/loop3")
  std::string vendor;           // from sysfs, "" if unknown
  std::string model;            // from sysfs, "" if unknown
  uint64_t size = 0;            // bytes
  std::string partition_table;  // "gpt", "dos" (MBR) or "" (none)
  bool supported = false;       // GPT with at least one ext4 or exFAT partition
  std::string reason;           // why not supported; "" when supported
  std::vector<UsbVolume> volumes;
};

// "usb://<label or uuid>" for a volume offered as a target (mounted with room to spare),
// nullopt for every other volume.
std::optional<std::string> OfferedUrl(const UsbVolume& volume);

struct UsbOptions {
  std::string mount_dir = "/run/keepsake/usb";  // private (0700) directory for the mounts
  int poll_seconds = 180;                       // between scans; 0: no poller, RescanNow() only
  bool admit_loop_devices = false;              // tests only: loop devices over image files count as USB
  std::vector<std::string> only_devices;        // tests only: consider just these disks; empty: all
  uint64_t min_free_bytes = kUsbMinFreeBytes;
  // Told about every change (mounted, unmounted, unsupported, failed) in words for an
  // administrator, e.g. to log it; called on the scanning thread. May be empty.
  std::function<void(const std::string&)> report;
};

class UsbDrives {
 public:
  // The registry of this process.
  static UsbDrives& Global();

  UsbDrives() = default;
  ~UsbDrives();
  UsbDrives(const UsbDrives&) = delete;
  UsbDrives& operator=(const UsbDrives&) = delete;

  // Creates mount_dir (0700), unmounts what an earlier run left under it, scans once and
  // starts the poller. A failed first scan is not an error (it is retried by the poller);
  // errors are about mount_dir. kFailedPrecondition if already started.
  Status Start(const UsbOptions& options);

  // Stops the poller and unmounts every volume this registry mounted. Idempotent.
  void Stop();

  // Scans now and waits for it: afterwards Snapshot() shows what is attached.
  // kFailedPrecondition if not started; errors of the scan itself (sysfs unreadable).
  Status RescanNow();

  // What the last scan found; empty if not started.
  std::vector<UsbDrive> Snapshot() const;

  // Where the volume with this label (exact) or UUID (any case) is mounted, for usb://.
  // A full volume is still resolved, so that its backups can be read. kUnavailable when
  // no such volume is mounted; kFailedPrecondition when several attached volumes carry
  // the label.
  Result<std::string> MountPointFor(std::string_view label_or_uuid) const;

 private:
  struct Mounted {
    std::string disk_device;  // the disk it is on
    uint64_t offset = 0;      // of the partition on the disk
    std::string device;       // what was mounted
    std::string fs_type;
    std::string label;
  };

  Status Scan();
  void Report(const std::string& what) const;
  void PollLoop();

  UsbOptions options_;  // set by Start(), then read-only until Stop()

  mutable std::mutex mu_;  // guards drives_ and started_
  std::vector<UsbDrive> drives_;
  bool started_ = false;

  std::mutex start_mu_;                     // one Start() or Stop() at a time
  std::mutex scan_mu_;                      // one scan at a time; guards mounted_, last_events_
  std::map<std::string, Mounted> mounted_;  // by mount point
  std::vector<std::string> last_events_;    // what the previous scan reported

  std::mutex poll_mu_;  // guards stop_
  std::condition_variable poll_cv_;
  bool stop_ = false;
  std::thread poller_;
};

}  // namespace keepsake::storage
