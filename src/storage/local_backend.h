// The local backend: storage in a directory of this machine ("file:///srv/backups").
//
// Every path is resolved beneath a descriptor of the root directory with
// openat2(RESOLVE_BENEATH), so ".." and symlinks that lead out of the root (absolute
// symlinks included, even when they point back inside) are refused by the kernel as
// kInvalidArgument, without a check-then-use race. Relative symlinks that stay inside the
// root are followed. Files are created with mode 0600 and directories with 0700: backups
// are encrypted, but their names and sizes are nobody else's business.
//
// Not thread-safe; see storage/backend.h for the contract.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "storage/backend.h"

namespace keepsake::storage {

// Opens the existing directory `root_dir` (an absolute path) as a backend; messages name
// objects as "file://<root_dir>/<path>", or "<display_url>/<path>" when `display_url` is
// given (a USB volume's mount point is shown as "usb://LABEL"). With `below`, the backend's
// root is that directory under `root_dir`, reached without leaving it (no "..", no symlink
// out: kInvalidArgument), and named "<display_url>/<below>". kNotFound
// "file://<root_dir>: directory does not exist"; kInvalidArgument if `root_dir` is relative
// or not a directory; kPermissionDenied.
Result<std::unique_ptr<Backend>> OpenLocalBackend(const std::string& root_dir, const std::string& display_url = {},
                                                  std::string_view below = {});

}  // namespace keepsake::storage
