// The NFS backend: storage in a directory of an NFS export ("nfs://srv/backups?version=4").
//
// Which client serves which version:
//   NFS 4 (4.0)   libnfs 4.0 (Debian 12's libnfs13), a user-space client linked into the
//                 process: no mount, no privileges, no kernel NFS client needed, and a dead
//                 server makes calls fail after a timeout instead of hanging the process
//                 (as a hard kernel mount would).
//   NFS 4.1, 4.2  no client: libnfs 4.0 speaks NFS 4.0 only, and Keepsake does not mount
//                 through the kernel (the appliance kernel has no NFS client). Opening such
//                 a URL is kNotSupported with a message saying so.
//
// Every call is bounded by a timeout (kNfsTimeoutSeconds) and libnfs never reconnects on its
// own: after a connection loss every call fails with kUnavailable, and the caller opens a new
// backend to retry. The service's own user and group IDs are sent (AUTH_SYS), so the export
// decides through its squash options what this process may do.
//
// Paths are resolved component by component here (lstat, readlink) rather than by libnfs, so
// that symlinks leading out of the storage root, and absolute symlinks, are refused with
// kInvalidArgument; relative symlinks inside the root are followed. This is check-then-use:
// a symlink swapped on the server between the check and the call is not caught. NFS clients
// resolve symlinks themselves, so the server's export boundary still holds in that case.
//
// Files are published without replacing anything: NFS RENAME replaces its target, so
// Commit() and Rename() of files use LINK (which fails if the name exists) and then REMOVE
// the old name. Directories cannot be hard-linked: Rename() of a directory checks that the
// target is free, then renames (a small race with other clients, documented in Rename()).
//
// Not thread-safe (one libnfs context per backend); see storage/backend.h for the contract.
#pragma once

#include <memory>
#include <string_view>

#include "base/status.h"
#include "storage/backend.h"

namespace keepsake::storage {

// Seconds any single NFS call (connect and mount included) may take before it fails with
// kUnavailable.
inline constexpr int kNfsTimeoutSeconds = 15;

// Connects to the server of the nfs:// `url` (see storage/nfs_url.h) and opens its path as
// a backend; messages name objects as "nfs://server[:port]/path/<object>". Errors:
// kInvalidArgument (bad URL, or the path is not a directory); kNotSupported (version 4.1 or
// 4.2); kUnavailable (server unreachable or not answering); kNotFound (no such export or
// directory); kPermissionDenied (the server refuses this client).
Result<std::unique_ptr<Backend>> OpenNfsBackend(std::string_view url);

}  // namespace keepsake::storage
