// Internal to the NFS backend (nfs_backend.cc, nfs_io.cc): the connection to the server,
// the libnfs 4.0 limits and workarounds that go with it, and how libnfs's results become a
// Status that names the server and says what to check. Not for use outside storage/.
#pragma once

#include <nfsc/libnfs.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/nfs_backend.h"
#include "storage/nfs_url.h"

namespace keepsake::storage::nfs {

constexpr int kFileMode = 0600;
constexpr int kDirMode = 0700;
constexpr int kNfsV4 = 4;  // NFS_V4 in <nfsc/libnfs-raw-nfs4.h>
// libnfs 4.0 encodes an NFSv4 WRITE into a fixed buffer of about 4 KiB (it passes no size
// hint for the payload; later versions do), so bigger writes fail with "ZDR error: Failed to
// encode COMPOUND4args". 3 KiB leaves room for the RPC header, AUTH_SYS credentials with a
// long host name and a 128-byte file handle.
constexpr size_t kMaxWrite = 3072;
// Reads are decoded into buffers sized by the reply; servers cap them (1 MiB for Ganesha).
constexpr size_t kMaxRead = 256 << 10;
constexpr size_t kMaxListEntries = 100'000;

// The server's or libnfs's words, safe to put in a message: printable ASCII only, bounded.
std::string NfsText(const char* text);
// "" for the root, the path itself otherwise (CheckPath() has accepted it).
std::string_view Canonical(std::string_view path);
// libnfs takes paths relative to the mounted directory, starting with '/'.
std::string Remote(std::string_view rel);

// The connection to the server; owned by the backend, borrowed by its writers and readers
// (which must not outlive it).
//
// libnfs 4.0 does not advance its NFSv4.0 open-owner sequence ID when an OPEN fails, so the
// server answers every later OPEN of that context from its replay cache (the same error
// again) and CLOSEs fail with NFS4ERR_BAD_SEQID. The backend therefore checks before it
// opens, and after a failed OPEN it continues on a fresh context (Renew()); the old one
// stays alive for the files still open on it.
struct Session {
  NfsUrl url;
  NfsOptions options;
  std::string server;          // "host:port", for messages
  nfs_context* nfs = nullptr;  // the context for new calls
  std::vector<nfs_context*> retired;

  Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() {
    if (nfs != nullptr) nfs_destroy_context(nfs);
    for (nfs_context* old : retired) nfs_destroy_context(old);
  }

  // Connects and mounts on a new context, which replaces `nfs` on success.
  Status Connect();
  // After a failed OPEN: continue on a fresh context if the server lets us.
  void Renew() {
    nfs_context* old = nfs;
    nfs = nullptr;
    if (Connect().ok()) {
      retired.push_back(old);
    } else {
      if (nfs != nullptr) nfs_destroy_context(nfs);
      nfs = old;
    }
  }
};

// "lost the connection to the NFS server ...; check the server, then retry".
std::string ConnectionLost(const Session& s);

// Maps a libnfs result (-errno, or -1 for a failure inside libnfs) to a Status naming
// `object`. Transport failures are kUnavailable: libnfs never reconnects by itself here.
// `detail` is libnfs's error text for the failed call.
Status NfsErrorWithDetail(const Session& s, int rc, std::string_view object, const std::string& detail);
// NfsErrorWithDetail() for a synchronous call on `ctx` (by default the session's context),
// whose error text libnfs still holds.
Status NfsError(const Session& s, int rc, std::string_view object, nfs_context* ctx = nullptr);

// Publishes `from` as `to` without replacing `to`: LINK fails with EEXIST if `to` exists,
// unlike RENAME. True if linked (the caller removes `from`), false if renamed instead.
Result<bool> LinkNoReplace(const Session& s, const std::string& from, const std::string& to, std::string_view to_url);

// Why NFS `url.version` cannot be used here (4.1, 4.2).
std::string VersionMessage(const NfsUrl& url);

}  // namespace keepsake::storage::nfs
