// Reading a backup's tar stream: every member is checked (safe relative path, supported
// type, hashed) and, unless verifying only, written below a target directory; at the end
// every entry must match the manifest exactly. Callers extract into a staging directory
// and move it into place only when this returns OK: nothing half-verified is ever used.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "archive/manifest.h"
#include "base/byte_stream.h"

namespace keepsake::archive {

struct UnpackResult {
  Manifest manifest;
  uint64_t files = 0;
  uint64_t bytes = 0;
};

// What a signed header promises of the content (its components' files and bytes): a tar
// stream that goes beyond is refused as soon as it does, before it costs more disk or time.
struct UnpackLimits {
  uint64_t max_files = UINT64_MAX;       // regular files
  uint64_t max_file_bytes = UINT64_MAX;  // their total size
  // Every member (files, directories, symlinks): what a 64 MiB manifest can list at most,
  // and what the reader's per-member record (about 150 bytes) may cost.
  uint64_t max_entries = 1 << 20;
};

// `target_dir` empty: verify only, nothing is written. Otherwise it must exist (empty).
// Restored files never get a setuid or setgid bit, whatever the tar says. kCorruption for
// unsafe paths, unsupported members, more than `limits` allow, or any mismatch with the
// manifest.
Result<UnpackResult> UnpackTar(ByteSource& in, const std::string& target_dir, const UnpackLimits& limits = {});

// OK when `path` is a safe relative archive path: not empty, no leading '/', no empty,
// "." or ".." component, at most 4096 bytes.
Status CheckArchivePath(std::string_view path);

}  // namespace keepsake::archive
