// Scanning the source trees of a backup before it is written: which entries go in, under
// which archive path and component, and how many bytes. The header (written first) carries
// the per-component totals, and progress reporting needs the total. Memory grows with the
// number of entries (about 200 bytes each), not with their size. Value types.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

#include "archive/header.h"
#include "base/status.h"

namespace keepsake::archive {

// One component's sources: each disk path is archived under its archive path; a directory
// is taken recursively. An empty archive path puts a directory's children at the top level.
struct ComponentSource {
  std::string name;
  struct Item {
    std::string archive_path;
    std::string disk_path;
    bool recursive = true;  // false: a directory entry alone, without its content
  };
  std::vector<Item> items;
  std::string note;  // shown in the Backup Details
};

struct ScannedEntry {
  std::string archive_path;
  std::string disk_path;
  struct stat st {};
  std::string link_target;  // symlinks
  size_t component = 0;     // index into TreeScan::components
};

struct TreeScan {
  std::vector<ComponentSummary> components;
  std::vector<ScannedEntry> entries;  // parents before children, names sorted
  uint64_t total_bytes = 0;
};

// Walks every source (symlinks are recorded, never followed). kNotFound for a missing
// source, kInvalidArgument for unsupported file types (sockets, devices, FIFOs) or for the
// reserved manifest name, file system errors as they come.
Result<TreeScan> ScanSources(const std::vector<ComponentSource>& sources);

}  // namespace keepsake::archive
