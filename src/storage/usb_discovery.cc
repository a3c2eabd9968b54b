#include "storage/usb_discovery.h"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>

#include "base/strings.h"

namespace keepsake::storage {
namespace {

namespace fs = std::filesystem;

// The first line of a sysfs attribute, trimmed; "" if it cannot be read.
std::string ReadAttr(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  line.erase(line.begin(), std::find_if(line.begin(), line.end(), not_space));
  line.erase(std::find_if(line.rbegin(), line.rend(), not_space).base(), line.end());
  // Labels, UUIDs and sysfs strings come from the drive: they reach logs, messages and JSON,
  // so control bytes (a forged log line, terminal escapes) become '?'. UTF-8 stays.
  return Printable(line);
}

uint64_t ReadNumber(const fs::path& path) {
  std::string text = ReadAttr(path);
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return 0;
  return std::strtoull(text.c_str(), nullptr, 10);
}

// A loop device tests may use as a USB disk: attached to an image file as a whole. Loops
// over a /dev node, with an offset or size limit, or flagged to clear themselves on last
// close are this program's partition loops (or loops being detached): never a "disk".
bool IsAdmissibleLoop(const fs::path& dir, std::string& backing_file) {
  fs::path loop = dir / "loop";
  backing_file = ReadAttr(loop / "backing_file");
  if (backing_file.empty() || backing_file.starts_with("/dev/")) return false;
  return ReadAttr(loop / "offset") == "0" && ReadAttr(loop / "sizelimit") == "0" && ReadAttr(loop / "autoclear") != "1";
}

struct ProbeDeleter {
  void operator()(blkid_struct_probe* pr) const { blkid_free_probe(pr); }
};
using Probe = std::unique_ptr<blkid_struct_probe, ProbeDeleter>;

std::string Value(blkid_probe pr, const char* name) {
  const char* data = nullptr;
  size_t len = 0;
  if (blkid_probe_lookup_value(pr, name, &data, &len) != 0 || data == nullptr) return "";
  return Printable(std::string(data, strnlen(data, len)));
}

// Reads the file system in [offset, offset + size) of `fd`. 1: none found; -2: several.
int ProbeFileSystem(int fd, uint64_t offset, uint64_t size, std::string& type, std::string& label, std::string& uuid) {
  Probe pr(blkid_new_probe());
  if (!pr ||
      blkid_probe_set_device(pr.get(), fd, static_cast<blkid_loff_t>(offset), static_cast<blkid_loff_t>(size)) != 0) {
    return -1;
  }
  blkid_probe_enable_superblocks(pr.get(), 1);
  blkid_probe_set_superblocks_flags(pr.get(), BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID);
  blkid_probe_enable_partitions(pr.get(), 0);
  int rc = blkid_do_safeprobe(pr.get());
  if (rc == 0) {
    type = Value(pr.get(), "TYPE");
    label = Value(pr.get(), "LABEL");
    uuid = Value(pr.get(), "UUID");
  }
  return rc;
}

bool IsSupportedFs(std::string_view type) { return type == "ext4" || type == "exfat"; }

// UUIDs name mount points: only what file systems really use (hex digits and '-').
bool IsSafeUuid(std::string_view uuid) {
  return !uuid.empty() && uuid.size() <= 64 &&
         std::all_of(uuid.begin(), uuid.end(), [](unsigned char c) { return std::isxdigit(c) || c == '-'; });
}

std::string PartitionReason(const PartitionProbe& p) {
  if (p.ambivalent) {
    return fmt::format(
        "partition {}: signatures of several file systems were found; wipe the stale ones (wipefs) or "
        "reformat it with ext4 or exFAT",
        p.number);
  }
  if (p.fs_type.empty()) {
    return fmt::format("partition {}: no file system found (unformatted?); format it with ext4 or exFAT", p.number);
  }
  if (!IsSupportedFs(p.fs_type)) {
    return fmt::format("partition {}: {} file system: only ext4 and exFAT are supported", p.number, p.fs_type);
  }
  if (!IsSafeUuid(p.uuid)) {
    return fmt::format("partition {}: {} file system without a usable UUID (\"{}\"); reformat it", p.number, p.fs_type,
                       p.uuid);
  }
  return "";
}

}  // namespace

Result<std::vector<DiskInfo>> ListDisks(const DiscoveryOptions& options, std::string_view sys_block) {
  std::vector<DiskInfo> disks;
  std::error_code ec;
  fs::directory_iterator it(sys_block, ec);
  if (ec) return Status::IoError(fmt::format("{}: {}", sys_block, ec.message()));
  for (const fs::directory_entry& entry : it) {
    DiskInfo disk;
    disk.name = entry.path().filename().string();
    disk.device = "/dev/" + disk.name;
    if (!options.only_devices.empty() && std::find(options.only_devices.begin(), options.only_devices.end(),
                                                   disk.device) == options.only_devices.end()) {
      continue;
    }
    if (disk.name.starts_with("loop")) {
      if (!options.admit_loop_devices || !IsAdmissibleLoop(entry.path(), disk.backing_file)) continue;
    } else {
      fs::path resolved = fs::canonical(entry.path(), ec);
      if (ec || resolved.string().find("/usb") == std::string::npos) continue;
      disk.vendor = ReadAttr(entry.path() / "device" / "vendor");
      disk.model = ReadAttr(entry.path() / "device" / "model");
    }
    disk.size = ReadNumber(entry.path() / "size") * 512;  // sysfs counts 512-byte sectors
    if (disk.size == 0) continue;                         // a card reader without a card
    disks.push_back(std::move(disk));
  }
  std::sort(disks.begin(), disks.end(), [](const DiskInfo& a, const DiskInfo& b) { return a.name < b.name; });
  return disks;
}

Result<DiskProbe> ProbeDisk(const std::string& device) {
  int fd = open(device.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return StatusFromErrno(errno, device);
  struct CloseFd {
    int fd;
    ~CloseFd() { close(fd); }
  } closer{fd};
  Probe pr(blkid_new_probe());
  if (!pr || blkid_probe_set_device(pr.get(), fd, 0, 0) != 0) {
    return Status::IoError(fmt::format("{}: cannot read the drive", device));
  }
  DiskProbe probe;
  blkid_partlist list = blkid_probe_get_partitions(pr.get());
  blkid_parttable table = list != nullptr ? blkid_partlist_get_table(list) : nullptr;
  if (table == nullptr) {
    // No partition table: perhaps a file system on the whole disk ("superfloppy").
    std::string label, uuid;
    ProbeFileSystem(fd, 0, 0, probe.whole_disk_fs, label, uuid);
    return probe;
  }
  const char* type = blkid_parttable_get_type(table);
  probe.partition_table = type != nullptr ? type : "";
  int count = blkid_partlist_numof_partitions(list);
  for (int i = 0; i < count; ++i) {
    blkid_partition part = blkid_partlist_get_partition(list, i);
    PartitionProbe p;
    p.number = blkid_partition_get_partno(part);
    // libblkid counts in 512-byte sectors whatever the disk's sector size.
    p.offset = static_cast<uint64_t>(blkid_partition_get_start(part)) * 512;
    p.size = static_cast<uint64_t>(blkid_partition_get_size(part)) * 512;
    // An extended MBR partition is a container, not a volume.
    if (blkid_partition_is_extended(part)) continue;
    int rc = ProbeFileSystem(fd, p.offset, p.size, p.fs_type, p.label, p.uuid);
    p.ambivalent = rc == -2;
    probe.partitions.push_back(std::move(p));
  }
  return probe;
}

UsbDrive Classify(const DiskInfo& disk, const DiskProbe& probe) {
  UsbDrive drive;
  drive.device = disk.device;
  drive.vendor = disk.vendor;
  drive.model = disk.model;
  drive.size = disk.size;
  drive.partition_table = probe.partition_table;
  for (const PartitionProbe& p : probe.partitions) {
    UsbVolume v;
    v.number = p.number;
    v.offset = p.offset;
    v.size = p.size;
    v.fs_type = p.fs_type;
    v.label = p.label;
    v.uuid = p.uuid;
    drive.volumes.push_back(std::move(v));
  }
  auto all_unsupported = [&](const std::string& reason) {
    drive.supported = false;
    drive.reason = reason;
    for (UsbVolume& v : drive.volumes) {
      v.state = UsbVolumeState::kUnsupported;
      v.reason = reason;
    }
    return drive;
  };
  if (probe.partition_table.empty()) {
    if (!probe.whole_disk_fs.empty()) {
      return all_unsupported(
          fmt::format("no partition table: the whole drive holds a {} file system; only GPT-partitioned drives are "
                      "supported: back up its data and repartition it with a GPT table",
                      probe.whole_disk_fs));
    }
    return all_unsupported(
        "no partition table: only GPT-partitioned drives with an ext4 or exFAT partition "
        "are supported; partition it with a GPT table");
  }
  if (probe.partition_table == "dos") {
    return all_unsupported(
        "MBR (dos) partition table: only GPT-partitioned drives are supported; back up its data and "
        "repartition it with a GPT table");
  }
  if (probe.partition_table != "gpt") {
    return all_unsupported(
        fmt::format("{} partition table: only GPT-partitioned drives are supported; back up its data and repartition "
                    "it with a GPT table",
                    probe.partition_table));
  }
  bool any = false;
  for (size_t i = 0; i < drive.volumes.size(); ++i) {
    UsbVolume& v = drive.volumes[i];
    v.reason = PartitionReason(probe.partitions[i]);
    v.state = v.reason.empty() ? UsbVolumeState::kPending : UsbVolumeState::kUnsupported;
    any = any || v.reason.empty();
  }
  drive.supported = any;
  if (!any) {
    drive.reason = drive.volumes.empty() ? "GPT partition table without partitions: create an ext4 or exFAT partition"
                                         : "no ext4 or exFAT partition: only ext4 and exFAT are supported";
  }
  return drive;
}

}  // namespace keepsake::storage
