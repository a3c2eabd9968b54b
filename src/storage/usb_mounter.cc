#include "storage/usb_mounter.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/subprocess.h"

namespace keepsake::storage {
namespace {

namespace fs = std::filesystem;

constexpr unsigned long kMountFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
constexpr int kFuseMountTimeoutMs = 30000;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Mount points in /proc/self/mountinfo escape space, tab, newline and '\' as octal.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 3)), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct MountEntry {
  std::string mount_point;
  std::string fs_type;
};

std::vector<MountEntry> ReadMounts() {
  std::vector<MountEntry> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount_point options [optional...] - fs_type source super_options
    std::istringstream fields(line);
    std::string id, parent, dev, root, point, word;
    fields >> id >> parent >> dev >> root >> point;
    while (fields >> word && word != "-") {
    }
    std::string type;
    fields >> type;
    mounts.push_back({Unescape(point), type});
  }
  return mounts;
}

bool IsMountPoint(const std::string& path) {
  std::vector<MountEntry> mounts = ReadMounts();
  return std::any_of(mounts.begin(), mounts.end(), [&](const MountEntry& m) { return m.mount_point == path; });
}

bool KernelHasExfat() {
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line)) {
    if (line.ends_with("\texfat")) return true;
  }
  return false;
}

// The partition's own node when the kernel made one and it really is this partition.
std::string PartitionNode(const DiskInfo& disk, int number, uint64_t offset) {
  if (disk.name.empty()) return "";
  bool digit_end = std::isdigit(static_cast<unsigned char>(disk.name.back()));
  std::string part = fmt::format("{}{}{}", disk.name, digit_end ? "p" : "", number);
  std::ifstream start_file(fmt::format("/sys/block/{}/{}/start", disk.name, part));
  uint64_t start = 0;
  if (!(start_file >> start) || start * 512 != offset) return "";
  std::string node = "/dev/" + part;
  struct stat st;
  if (stat(node.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return "";
  return node;
}

// A loop device over [offset, offset + size) of the disk, flagged to clear itself when the
// last user (the mount) lets go. For a disk that is itself a loop (tests), the loop sits on
// the image file rather than on the disk's loop: then detaching the test's loop really
// makes the disk vanish, as pulling a drive does, instead of being refused as busy.
Result<std::pair<std::string, Fd>> AttachLoop(const DiskInfo& disk, uint64_t offset, uint64_t size) {
  const std::string& backing = disk.backing_file.empty() ? disk.device : disk.backing_file;
  Fd file(open(backing.c_str(), O_RDWR | O_CLOEXEC));
  if (file.get() < 0) return StatusFromErrno(errno, backing);
  Fd control(open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (control.get() < 0) return StatusFromErrno(errno, "/dev/loop-control");
  // Another process may take the free loop between GET_FREE and CONFIGURE: try again.
  for (int attempt = 0; attempt < 20; ++attempt) {
    int n = ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return StatusFromErrno(errno, "/dev/loop-control: no free loop device");
    std::string path = fmt::format("/dev/loop{}", n);
    Fd loop(open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (loop.get() < 0) return StatusFromErrno(errno, path);
    loop_config config{};
    config.fd = static_cast<__u32>(file.get());
    config.info.lo_offset = offset;
    config.info.lo_sizelimit = size;
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    if (ioctl(loop.get(), LOOP_CONFIGURE, &config) == 0) return std::make_pair(path, std::move(loop));
    if (errno != EBUSY)
      return StatusFromErrno(errno, fmt::format("{}: attaching {} at offset {}", path, backing, offset));
  }
  return Status::Unavailable(fmt::format("{}: no loop device could be attached (all taken meanwhile)", backing));
}

Status MountOn(const std::string& device, const MountRequest& r) {
  const std::string& mp = r.mount_point;
  if (r.fs_type == "ext4") {
    if (mount(device.c_str(), mp.c_str(), "ext4", kMountFlags, nullptr) != 0) {
      return StatusFromErrno(errno, fmt::format("mounting {} (ext4) at {}", device, mp));
    }
    return Status();
  }
  if (KernelHasExfat()) {
    // exFAT stores no owners or modes: keep everything owner-only, as the local backend does.
    if (mount(device.c_str(), mp.c_str(), "exfat", kMountFlags, "fmask=0077,dmask=0077") != 0) {
      return StatusFromErrno(errno, fmt::format("mounting {} (exfat) at {}", device, mp));
    }
    return Status();
  }
  // The kernel lacks exFAT: exfat-fuse. It opens the device, then stays in the background
  // serving the mount; its stdio goes to /dev/null, so RunProcess returns once it forked.
  std::vector<std::string> argv = {"mount.exfat-fuse", "-o", "nosuid,nodev,noexec,umask=0077", device, mp};
  auto ran = RunProcess(argv, {}, kFuseMountTimeoutMs);
  if (!ran.ok()) {
    if (ran.status().code() == ErrorCode::kNotFound) {
      return Status::NotFound(
          "the kernel has no exFAT support and mount.exfat-fuse is not installed (Debian package exfat-fuse)");
    }
    return std::move(ran).status();
  }
  return Status();
}

bool IsDirectlyBelow(const std::string& dir, const std::string& path) {
  if (!path.starts_with(dir + "/")) return false;
  std::string_view leaf = std::string_view(path).substr(dir.size() + 1);
  return !leaf.empty() && leaf.find('/') == std::string_view::npos && leaf != "." && leaf != "..";
}

}  // namespace

Status PrepareMountDir(const std::string& mount_dir) {
  if (mount_dir.empty() || mount_dir.front() != '/' || mount_dir == "/" || mount_dir.find("/..") != std::string::npos) {
    return Status::InvalidArgument(
        fmt::format("USB mount directory \"{}\": must be an absolute path of its own, not \"/\"", mount_dir));
  }
  std::error_code ec;
  fs::create_directories(fs::path(mount_dir).parent_path(), ec);
  if (ec) return Status::IoError(fmt::format("{}: {}", fs::path(mount_dir).parent_path().string(), ec.message()));
  if (mkdir(mount_dir.c_str(), 0700) != 0 && errno != EEXIST) return StatusFromErrno(errno, mount_dir);
  struct stat st;
  if (lstat(mount_dir.c_str(), &st) != 0) return StatusFromErrno(errno, mount_dir);
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(fmt::format("{}: not a directory", mount_dir));
  if (chmod(mount_dir.c_str(), 0700) != 0) return StatusFromErrno(errno, mount_dir);
  return Status();
}

Status CleanMountDir(const std::string& mount_dir) {
  std::vector<std::string> stale;
  for (const MountEntry& m : ReadMounts()) {
    bool ours = m.fs_type == "ext4" || m.fs_type == "exfat" || m.fs_type == "fuseblk";
    if (ours && m.mount_point.starts_with(mount_dir + "/")) stale.push_back(m.mount_point);
  }
  // Deepest first, so that nothing is unmounted from under another mount.
  std::sort(stale.begin(), stale.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  Status first;
  for (const std::string& mp : stale) {
    if (umount2(mp.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL && first.ok()) {
      first = StatusFromErrno(errno, fmt::format("unmounting {}", mp));
    }
  }
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(mount_dir, ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) rmdir(entry.path().c_str());  // only if empty
  }
  return first;
}

Result<std::string> MountVolume(const MountRequest& r) {
  if (mkdir(r.mount_point.c_str(), 0700) != 0 && errno != EEXIST) return StatusFromErrno(errno, r.mount_point);
  std::string device = PartitionNode(r.disk, r.number, r.offset);
  Status mounted;
  if (!device.empty()) {
    mounted = MountOn(device, r);
  } else {
    auto loop = AttachLoop(r.disk, r.offset, r.size);
    if (!loop.ok()) {
      rmdir(r.mount_point.c_str());
      return std::move(loop).status();
    }
    device = loop->first;
    mounted = MountOn(device, r);
    // Closing our descriptor leaves the mount as the loop's only user; without a mount the
    // loop clears itself right here.
  }
  if (!mounted.ok()) {
    rmdir(r.mount_point.c_str());
    return mounted;
  }
  return device;
}

Status UnmountVolume(const std::string& mount_dir, const std::string& mount_point) {
  if (!IsDirectlyBelow(mount_dir, mount_point)) {
    return Status::InvalidArgument(
        fmt::format("{}: not a USB mount point below {}; left alone", mount_point, mount_dir));
  }
  if (IsMountPoint(mount_point) && umount2(mount_point.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL) {
    return StatusFromErrno(errno, fmt::format("unmounting {}", mount_point));
  }
  rmdir(mount_point.c_str());
  return Status();
}

}  // namespace keepsake::storage
