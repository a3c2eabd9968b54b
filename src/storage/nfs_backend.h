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
// Writes: libnfs 4.0 cannot encode a WRITE of more than about 4 KiB, so a Writer sends
// WRITEs of 3 KiB and keeps NfsOptions::writes_in_flight of them in flight at once rather
// than waiting a round trip for each. Their errors surface at the next Append() or at
// Commit(), which waits for all of them before it COMMITs.
//
// Paths are checked component by component here (lstat) rather than by libnfs, and no
// symlink is followed: one on the way is refused with kInvalidArgument (libnfs 4.0 cannot
// read a symlink safely: its READLINK over-reads the server's answer). This is
// check-then-use: a symlink made on the server between the check and the call is not
// caught; NFS clients resolve symlinks themselves, so the export boundary still holds then.
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

// How an NFS backend works; the defaults are what Keepsake uses. Other values are for
// benchmarks and tests (bench/nfs_bench.sh compares writers_in_flight 1 and the default).
struct NfsOptions {
  // WRITE calls a Writer keeps in flight at once, each of at most 3 KiB (libnfs 4.0 cannot
  // encode bigger ones): enough to cover a LAN round trip. 1 sends one WRITE at a time and
  // waits for its answer, as a synchronous writer does. At least 1.
  int writes_in_flight = 32;
};

// Connects to the server of the nfs:// `url` (see storage/nfs_url.h) and opens its path as
// a backend; messages name objects as "nfs://server[:port]/path/<object>". Errors:
// kInvalidArgument (bad URL, or the path is not a directory); kNotSupported (version 4.1 or
// 4.2); kUnavailable (server unreachable or not answering); kNotFound (no such export or
// directory); kPermissionDenied (the server refuses this client).
Result<std::unique_ptr<Backend>> OpenNfsBackend(std::string_view url);
Result<std::unique_ptr<Backend>> OpenNfsBackend(std::string_view url, const NfsOptions& options);

}  // namespace keepsake::storage
