#include "storage/usb_drives.h"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <set>

#include "storage/usb_discovery.h"
#include "storage/usb_mounter.h"

namespace keepsake::storage {
namespace {

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

std::string Mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20)); }

std::string VolumeName(const UsbDrive& drive, const UsbVolume& v) {
  std::string name = fmt::format("USB drive {} partition {}", drive.device, v.number);
  if (!v.fs_type.empty()) name += fmt::format(" ({}{})", v.fs_type, v.label.empty() ? "" : " \"" + v.label + "\"");
  return name;
}

}  // namespace

std::string_view UsbVolumeStateName(UsbVolumeState state) {
  switch (state) {
    case UsbVolumeState::kPending:
      return "pending";
    case UsbVolumeState::kMounted:
      return "mounted";
    case UsbVolumeState::kFull:
      return "full";
    case UsbVolumeState::kUnsupported:
      return "unsupported";
    case UsbVolumeState::kMountFailed:
      return "mount_failed";
  }
  return "unknown";
}

std::optional<std::string> OfferedUrl(const UsbVolume& v) {
  if (v.state != UsbVolumeState::kMounted) return std::nullopt;
  return "usb://" + (v.label.empty() ? v.uuid : v.label);
}

UsbDrives& UsbDrives::Global() {
  static UsbDrives* registry = new UsbDrives();  // never destroyed: threads may use it at exit
  return *registry;
}

UsbDrives::~UsbDrives() { Stop(); }

Status UsbDrives::Start(const UsbOptions& options) {
  std::lock_guard start_lock(start_mu_);  // one Start() or Stop() at a time
  {
    std::lock_guard lock(mu_);
    if (started_) return Status::FailedPrecondition("USB drive discovery is already running");
  }
  RETURN_IF_ERROR(PrepareMountDir(options.mount_dir));
  Status cleaned = CleanMountDir(options.mount_dir);
  {
    std::lock_guard lock(mu_);
    options_ = options;
    started_ = true;
  }
  if (!cleaned.ok()) Report(fmt::format("cleaning up stale USB mounts: {}", cleaned.message()));
  if (Status s = Scan(); !s.ok()) Report(fmt::format("scanning for USB drives: {}", s.message()));
  if (options.poll_seconds > 0) {
    std::lock_guard lock(poll_mu_);
    stop_ = false;
    poller_ = std::thread([this] { PollLoop(); });
  }
  return Status();
}

void UsbDrives::Stop() {
  std::lock_guard start_lock(start_mu_);
  {
    std::lock_guard lock(poll_mu_);
    stop_ = true;
  }
  poll_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
  std::lock_guard scan_lock(scan_mu_);
  {
    std::lock_guard lock(mu_);
    if (!started_) return;
    started_ = false;
    drives_.clear();
  }
  for (const auto& [mp, m] : mounted_) {
    Status s = UnmountVolume(options_.mount_dir, mp);
    Report(s.ok() ? fmt::format("unmounted {} (\"{}\") from {}: stopping", m.device, m.label, mp)
                  : fmt::format("stopping: {}", s.message()));
  }
  mounted_.clear();
  last_events_.clear();
}

Status UsbDrives::RescanNow() {
  {
    std::lock_guard lock(mu_);
    if (!started_) return Status::FailedPrecondition("USB drive discovery is not running");
  }
  return Scan();
}

std::vector<UsbDrive> UsbDrives::Snapshot() const {
  std::lock_guard lock(mu_);
  return drives_;
}

Result<std::string> UsbDrives::MountPointFor(std::string_view name) const {
  std::lock_guard lock(mu_);
  // Every volume the name could mean, by UUID or by label: a drive whose UUID looks like
  // another drive's label must not be picked silently.
  std::vector<const UsbVolume*> by_label;
  for (const UsbDrive& d : drives_) {
    for (const UsbVolume& v : d.volumes) {
      if (v.mount_point.empty()) continue;
      if (v.state != UsbVolumeState::kMounted && v.state != UsbVolumeState::kFull) continue;
      if (EqualsIgnoringCase(v.uuid, name) || v.label == name) by_label.push_back(&v);
    }
  }
  if (by_label.size() == 1) return by_label.front()->mount_point;
  if (by_label.size() > 1) {
    std::string uuids;
    for (const UsbVolume* v : by_label) uuids += (uuids.empty() ? "" : ", ") + v->uuid;
    return Status::FailedPrecondition(fmt::format(
        "usb://{}: {} attached USB volumes are labelled (or have the UUID) \"{}\"; name one by its UUID ({})", name,
        by_label.size(), name, uuids));
  }
  return Status::Unavailable(fmt::format(
      "usb://{}: no USB drive with label or UUID \"{}\" is attached; attach it (see docs/STORAGE.md) or pick another",
      name, name));
}

void UsbDrives::Report(const std::string& what) const {
  if (options_.report) options_.report(what);
}

void UsbDrives::PollLoop() {
  std::unique_lock lock(poll_mu_);
  while (!stop_) {
    if (poll_cv_.wait_for(lock, std::chrono::seconds(options_.poll_seconds), [this] { return stop_; })) break;
    lock.unlock();
    if (Status s = Scan(); !s.ok()) Report(fmt::format("scanning for USB drives: {}", s.message()));
    lock.lock();
  }
}

Status UsbDrives::Scan() {
  std::lock_guard scan_lock(scan_mu_);
  std::vector<std::string> reports;  // what to tell once the result is published
  {
    std::lock_guard lock(mu_);
    if (!started_) return Status();  // stopped meanwhile: mount nothing more
  }
  const UsbOptions& o = options_;
  ASSIGN_OR_RETURN(std::vector<DiskInfo> disks, ListDisks({o.admit_loop_devices, o.only_devices}));
  std::vector<UsbDrive> drives;
  std::set<std::string> seen;  // mount points of volumes still attached
  for (const DiskInfo& disk : disks) {
    auto probe = ProbeDisk(disk.device);
    if (!probe.ok()) {
      if (probe.status().code() == ErrorCode::kNotFound) continue;  // gone meanwhile
      UsbDrive drive;
      drive.device = disk.device;
      drive.vendor = disk.vendor;
      drive.model = disk.model;
      drive.size = disk.size;
      drive.reason = fmt::format("cannot read the drive: {}", probe.status().message());
      drives.push_back(std::move(drive));
      continue;
    }
    UsbDrive drive = Classify(disk, *probe);
    for (UsbVolume& v : drive.volumes) {
      if (v.state != UsbVolumeState::kPending) continue;
      std::string mp = fmt::format("{}/{}", o.mount_dir, v.uuid);
      if (!seen.insert(mp).second) {
        v.state = UsbVolumeState::kMountFailed;
        v.reason =
            fmt::format("another attached volume has the same UUID {} (a cloned drive?); detach one of them", v.uuid);
        continue;
      }
      auto it = mounted_.find(mp);
      if (it != mounted_.end() && (it->second.disk_device != disk.device || it->second.offset != v.offset)) {
        // The same UUID on another drive now: start over, unless the old mount stays.
        if (Status gone = UnmountVolume(o.mount_dir, mp); !gone.ok()) {
          v.state = UsbVolumeState::kMountFailed;
          v.reason = fmt::format("the volume moved to another drive, and its old mount stays: {}", gone.message());
          continue;
        }
        mounted_.erase(it);
        it = mounted_.end();
      }
      if (it == mounted_.end()) {
        auto device = MountVolume({disk, v.number, v.offset, v.size, v.fs_type, mp});
        if (!device.ok()) {
          v.state = UsbVolumeState::kMountFailed;
          v.reason = fmt::format("partition {}: {}", v.number, device.status().message());
          continue;
        }
        it = mounted_.emplace(mp, Mounted{disk.device, v.offset, *device, v.fs_type, v.label}).first;
        reports.push_back(fmt::format("{}: mounted {} at {}", VolumeName(drive, v), *device, mp));
      }
      v.device = it->second.device;
      v.mount_point = mp;
      struct statvfs vfs;
      if (statvfs(mp.c_str(), &vfs) != 0) {
        // A dead exfat-fuse or a failed drive: drop the mount, so the next scan mounts afresh.
        int err = errno;
        (void)UnmountVolume(o.mount_dir, mp);
        mounted_.erase(it);
        v.state = UsbVolumeState::kMountFailed;
        v.reason = fmt::format("partition {}: the file system stopped answering ({}); unmounted", v.number,
                               std::strerror(err));
        v.mount_point.clear();
        continue;
      }
      v.capacity.total = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
      v.capacity.used = static_cast<uint64_t>(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
      v.capacity.free = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
      if (v.capacity.free < o.min_free_bytes) {
        v.state = UsbVolumeState::kFull;
        v.reason = fmt::format("partition {}: only {} free; at least {} are needed for backups", v.number,
                               Mib(v.capacity.free), Mib(o.min_free_bytes));
      } else {
        v.state = UsbVolumeState::kMounted;
        v.reason.clear();
      }
    }
    drives.push_back(std::move(drive));
  }
  for (auto it = mounted_.begin(); it != mounted_.end();) {
    if (seen.count(it->first) != 0) {
      ++it;
      continue;
    }
    Status s = UnmountVolume(o.mount_dir, it->first);
    reports.push_back(s.ok() ? fmt::format("USB drive {} (\"{}\") was removed: unmounted {} from {}",
                                           it->second.disk_device, it->second.label, it->second.device, it->first)
                             : fmt::format("USB drive {} was removed, but: {}", it->second.disk_device, s.message()));
    it = mounted_.erase(it);
  }
  // Tell of unusable drives and volumes once, not at every poll.
  std::vector<std::string> events;
  for (const UsbDrive& d : drives) {
    if (d.volumes.empty() && !d.reason.empty())
      events.push_back(fmt::format("USB drive {}: unsupported: {}", d.device, d.reason));
    for (const UsbVolume& v : d.volumes) {
      if (v.state == UsbVolumeState::kMounted) continue;
      events.push_back(fmt::format("{}: {}: {}", VolumeName(d, v), UsbVolumeStateName(v.state), v.reason));
    }
  }
  for (const std::string& e : events) {
    if (std::find(last_events_.begin(), last_events_.end(), e) == last_events_.end()) reports.push_back(e);
  }
  last_events_ = std::move(events);
  {
    std::lock_guard lock(mu_);
    drives_ = std::move(drives);
  }
  // Told only now, so that a drive reported mounted is already found by MountPointFor().
  for (const std::string& r : reports) Report(r);
  return Status();
}

}  // namespace keepsake::storage
