// The manifest: the last member of every backup's tar stream (".keepsake-manifest.json"),
// listing per component each entry with its type, size, mode, mtime and, for files, the
// SHA-256 of the content. Restore checks every extracted entry against it. Value types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archive/header.h"
#include "base/status.h"

namespace keepsake::archive {

enum class EntryType : uint8_t { kFile, kDir, kSymlink };

struct ManifestEntry {
  std::string path;  // '/'-separated, relative to the backup root
  EntryType type = EntryType::kFile;
  uint64_t size = 0;
  uint32_t mode = 0;
  int64_t mtime = 0;
  std::string sha256;  // hex, files only
  std::string target;  // symlinks only
};

struct ManifestComponent {
  std::string name;
  std::vector<ManifestEntry> entries;
};

struct Manifest {
  std::string backup_id;
  DeviceIdentity device;
  std::vector<ManifestComponent> components;
};

inline constexpr size_t kMaxManifestSize = 64 << 20;

std::string SerializeManifest(const Manifest& manifest);
// kCorruption naming the bad field.
Result<Manifest> ParseManifest(std::string_view json);

}  // namespace keepsake::archive
