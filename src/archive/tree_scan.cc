#include "archive/tree_scan.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "archive/format.h"
#include "base/strings.h"

namespace keepsake::archive {
namespace {

class Walker {
 public:
  explicit Walker(TreeScan& scan) : scan_(scan) {}

  Status Add(const std::string& archive_path, const std::string& disk_path, size_t component, bool recursive = true) {
    ScannedEntry e;
    if (lstat(disk_path.c_str(), &e.st) != 0) return StatusFromErrno(errno, disk_path);
    if (archive_path.empty()) {
      if (!S_ISDIR(e.st.st_mode)) return Status::InvalidArgument(fmt::format("{}: not a directory", disk_path));
      return AddChildren(archive_path, disk_path, component);
    }
    // A backup's header and manifest refuse control characters (they would reach a
    // terminal as commands), so a name holding one would make a backup nobody can restore:
    // it is refused here, where renaming the file is still possible.
    if (HasControlCharacter(archive_path)) {
      return Status::InvalidArgument(fmt::format(
          "{}: the name holds a control character, which a backup cannot carry: rename it", Printable(disk_path)));
    }
    if (archive_path == kManifestName) {
      return Status::InvalidArgument(
          fmt::format("{}: the name {} is reserved for the backup manifest", disk_path, kManifestName));
    }
    e.archive_path = archive_path;
    e.disk_path = disk_path;
    e.component = component;
    if (S_ISREG(e.st.st_mode)) {
      scan_.components[component].files += 1;
      scan_.components[component].bytes += static_cast<uint64_t>(e.st.st_size);
      scan_.total_bytes += static_cast<uint64_t>(e.st.st_size);
    } else if (S_ISLNK(e.st.st_mode)) {
      std::error_code ec;
      e.link_target = std::filesystem::read_symlink(disk_path, ec).string();
      if (ec) return StatusFromErrno(ec.value(), disk_path);
      if (HasControlCharacter(e.link_target)) {
        return Status::InvalidArgument(fmt::format(
            "{}: the symlink's target holds a control character, which a backup cannot carry", Printable(disk_path)));
      }
    } else if (!S_ISDIR(e.st.st_mode)) {
      return Status::InvalidArgument(
          fmt::format("{}: unsupported file type (only files, directories and symlinks are backed up)", disk_path));
    }
    bool is_dir = S_ISDIR(e.st.st_mode);
    scan_.entries.push_back(std::move(e));
    if (is_dir && recursive) return AddChildren(archive_path, disk_path, component);
    return Status();
  }

 private:
  Status AddChildren(const std::string& archive_path, const std::string& disk_path, size_t component) {
    std::vector<std::string> names;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(disk_path, ec), end; !ec && it != end; it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) return StatusFromErrno(ec.value(), disk_path);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string child = archive_path.empty() ? name : archive_path + "/" + name;
      RETURN_IF_ERROR(Add(child, disk_path + "/" + name, component));
    }
    return Status();
  }

  TreeScan& scan_;
};

}  // namespace

Result<TreeScan> ScanSources(const std::vector<ComponentSource>& sources) {
  TreeScan scan;
  Walker walker(scan);
  for (size_t i = 0; i < sources.size(); ++i) {
    scan.components.push_back({sources[i].name, 0, 0, sources[i].note});
    for (const auto& item : sources[i].items)
      RETURN_IF_ERROR(walker.Add(item.archive_path, item.disk_path, i, item.recursive));
  }
  return scan;
}

}  // namespace keepsake::archive
