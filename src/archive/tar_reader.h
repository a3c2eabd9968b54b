// Reading a backup's tar stream: every member is checked (safe relative path, supported
// type, hashed) and, unless verifying only, written below a target directory; at the end
// every entry must match the manifest exactly. Callers extract into a staging directory
// and move it into place only when this returns OK: nothing half-verified is ever used.
// Not thread-safe.
#pragma once

#include <string>

#include "archive/manifest.h"
#include "base/byte_stream.h"

namespace keepsake::archive {

struct UnpackResult {
  Manifest manifest;
  uint64_t files = 0;
  uint64_t bytes = 0;
};

// `target_dir` empty: verify only, nothing is written. Otherwise it must exist (empty).
// kCorruption for unsafe paths, unsupported members, or any mismatch with the manifest.
Result<UnpackResult> UnpackTar(ByteSource& in, const std::string& target_dir);

// OK when `path` is a safe relative archive path: not empty, no leading '/', no empty,
// "." or ".." component, at most 4096 bytes.
Status CheckArchivePath(std::string_view path);

}  // namespace keepsake::archive
