#include "storage/nfs_session.h"

#include <fmt/format.h>

#include <fstream>

#include "base/strings.h"

namespace keepsake::storage::nfs {
namespace {

bool KernelHasNfs4() {
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line)) {
    if (line.ends_with("\tnfs4")) return true;
  }
  return false;
}

}  // namespace

std::string NfsText(const char* text) {
  if (text == nullptr) return "no details";
  return keepsake::Printable(text, 200, /*ascii_only=*/true);
}

// "" for the root, the path itself otherwise (CheckPath() has accepted it).
std::string_view Canonical(std::string_view path) { return path == "." ? std::string_view() : path; }

// libnfs takes paths relative to the mounted directory, starting with '/'.
std::string Remote(std::string_view rel) { return fmt::format("/{}", rel); }

std::string ConnectionLost(const Session& s) {
  return fmt::format(
      "lost the connection to the NFS server {} (it stopped, restarted or became unreachable); check the server, "
      "then retry",
      s.server);
}

// Maps a libnfs result (-errno, or -1 for a failure inside libnfs) to a Status naming
// `object`. Transport failures are kUnavailable: libnfs never reconnects by itself here.
// `detail` is libnfs's error text for the failed call.
Status NfsErrorWithDetail(const Session& s, int rc, std::string_view object, const std::string& detail) {
  const int err = rc < -1 ? -rc : 0;
  switch (err) {
    case ENOENT:
      return Status::NotFound(fmt::format("{}: no such file or directory", object));
    case EACCES:
    case EPERM:
      return Status::PermissionDenied(fmt::format(
          "{}: permission denied by the NFS server; check the export's client list and squash options for this "
          "appliance",
          object));
    case EROFS:
      return Status::PermissionDenied(
          fmt::format("{}: the NFS export is read-only; export it read-write to store backups there", object));
    case ENOSPC:
    case EDQUOT:
      return Status::NoSpace(fmt::format("{}: no space left on the NFS server (or the quota is exhausted)", object));
    case EEXIST:
      return Status::AlreadyExists(fmt::format("{}: already exists", object));
    case ENOTEMPTY:
      return Status::FailedPrecondition(fmt::format("{}: directory not empty", object));
    case ENOTDIR:
      return Status::InvalidArgument(fmt::format("{}: not a directory", object));
    case EISDIR:
      return Status::InvalidArgument(fmt::format("{}: is a directory", object));
    case ESTALE:
      return Status::Unavailable(fmt::format(
          "{}: stale NFS file handle: the directory was removed or re-created on the server {}; retry, and check "
          "the export if this persists",
          object, s.server));
    case EINTR:  // how libnfs's synchronous calls report their timeout
    case ETIMEDOUT:
      return Status::Unavailable(
          fmt::format("{}: the NFS server {} did not answer within {} s; check that it is running and reachable",
                      object, s.server, kNfsTimeoutSeconds));
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ENOTCONN:
    case EHOSTUNREACH:
    case ENETUNREACH:
      return Status::Unavailable(fmt::format("{}: {}", object, ConnectionLost(s)));
    case EIO:
      // libnfs reports a broken connection as EIO ("nfs_service failed"); the server's own
      // I/O errors carry their NFS4ERR_ name.
      if (detail.find("NFS4ERR") == std::string::npos) {
        return Status::Unavailable(fmt::format("{}: {}", object, ConnectionLost(s)));
      }
      return Status::IoError(fmt::format("{}: the NFS server reported an I/O error ({})", object, detail));
    default:
      return Status::IoError(
          fmt::format("{}: NFS error: {} ({})", object, err != 0 ? std::strerror(err) : "client failure", detail));
  }
}

// NfsErrorWithDetail() for a synchronous call on `ctx` (by default the session's context),
// whose error text libnfs still holds.
Status NfsError(const Session& s, int rc, std::string_view object, nfs_context* ctx) {
  return NfsErrorWithDetail(s, rc, object, NfsText(nfs_get_error(ctx != nullptr ? ctx : s.nfs)));
}

// Publishes `from` as `to` without replacing `to`: LINK fails with EEXIST if `to` exists,
// unlike RENAME. True if linked (the caller removes `from`), false if renamed instead.
Result<bool> LinkNoReplace(const Session& s, const std::string& from, const std::string& to, std::string_view to_url) {
  int rc = nfs_link(s.nfs, from.c_str(), to.c_str());
  if (rc == 0) return true;
  if (rc == -EEXIST) return Status::AlreadyExists(fmt::format("{}: already exists; nothing was overwritten", to_url));
  if (rc == -ENOTSUP || rc == -EOPNOTSUPP || rc == -EPERM || rc == -EMLINK) {
    // The server's file system has no hard links (FAT, some NAS): check, then rename. Only
    // another client creating `to` in between could be replaced.
    nfs_stat_64 st;
    int stat_rc = nfs_lstat64(s.nfs, to.c_str(), &st);
    if (stat_rc == 0) {
      return Status::AlreadyExists(fmt::format("{}: already exists; nothing was overwritten", to_url));
    }
    if (stat_rc != -ENOENT) return NfsError(s, stat_rc, to_url);
    rc = nfs_rename(s.nfs, from.c_str(), to.c_str());
    if (rc == 0) return false;
  }
  return NfsError(s, rc, to_url);
}

std::string VersionMessage(const NfsUrl& url) {
  return fmt::format(
      "{}: NFS {} cannot be used on this system: the built-in client (libnfs 4.0) speaks NFS 4.0 only{}. Choose "
      "NFS version 4 ({}?version=4) and make sure the server allows NFS 4.0",
      url.ToString(), url.version,
      KernelHasNfs4() ? ", and Keepsake does not mount NFS through the kernel" : " and this kernel has no NFS client",
      url.Location());
}

namespace {

Status MountError(const Session& s, const NfsUrl& url, int rc) {
  std::string location = url.Location();
  std::string detail = NfsText(nfs_get_error(s.nfs));
  switch (rc < -1 ? -rc : 0) {
    case ENOENT:
      return Status::NotFound(fmt::format(
          "{}: the NFS server {} has no export or directory {}; check the path against the server's exports (NFSv4 "
          "clients see an export under its pseudo path)",
          location, s.server, url.path));
    case EACCES:
    case EPERM:
      return Status::PermissionDenied(fmt::format(
          "{}: the NFS server {} refused access to {}; check that the export allows this appliance's address", location,
          s.server, url.path));
    case ENOTDIR:
      return Status::InvalidArgument(fmt::format("{}: not a directory", location));
    case EINTR:
    case ETIMEDOUT:
      return Status::Unavailable(fmt::format(
          "{}: the NFS server {} did not answer within {} s; check the address, that the server is running and that "
          "no firewall blocks TCP port {}",
          location, s.server, kNfsTimeoutSeconds, url.EffectivePort()));
    default:
      break;
  }
  if (detail.find("resolv") != std::string::npos) {
    return Status::Unavailable(fmt::format(
        "{}: cannot resolve the NFS server's name {}; check the name and the DNS settings", location, url.host));
  }
  if (detail.find("MINOR_VERS") != std::string::npos) {
    return Status::NotSupported(fmt::format(
        "{}: the NFS server {} does not offer NFS 4.0, the only version the built-in client speaks; allow NFS 4.0 "
        "on the server",
        location, s.server));
  }
  return Status::Unavailable(fmt::format(
      "{}: the NFS server {} is unreachable: the connection failed or was closed ({}); check the address and port, "
      "that the server is running with NFSv4 over TCP, and that no firewall blocks TCP port {}",
      location, s.server, detail, url.EffectivePort()));
}

}  // namespace

Status Session::Connect() {
  nfs = nfs_init_context();
  if (nfs == nullptr) return Status::Internal(fmt::format("{}: cannot create an NFS client", url.Location()));
  // libnfs 4.0 takes the port only through its URL parser (it has no nfs_set_nfsport()).
  std::string url_options = fmt::format("nfs://{}/?version=4&nfsport={}", url.host, url.EffectivePort());
  nfs_url* parsed = nfs_parse_url_incomplete(nfs, url_options.c_str());
  if (parsed == nullptr) {
    return Status::Internal(
        fmt::format("{}: libnfs refused its options: {}", url.Location(), NfsText(nfs_get_error(nfs))));
  }
  nfs_destroy_url(parsed);
  nfs_set_version(nfs, kNfsV4);
  nfs_set_timeout(nfs, kNfsTimeoutSeconds * 1000);
  // A dead server must make calls fail, not retry forever; the next job reconnects.
  nfs_set_autoreconnect(nfs, 0);
  // Other clients and the server change the export: no cached directory contents.
  nfs_set_dircache(nfs, 0);
  if (int rc = nfs_mount(nfs, url.host.c_str(), url.path.c_str()); rc != 0) return MountError(*this, url, rc);
  return Status();
}

}  // namespace keepsake::storage::nfs
