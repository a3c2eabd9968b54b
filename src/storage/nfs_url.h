// NFS storage URLs: "nfs://server[:port]/export/path[?version=4|4.1|4.2]".
//
// `server` is a host name or an IPv4 address (compared lower-case); `port` defaults to
// 2049; the path is the export's path as the server shows it to NFSv4 clients (its pseudo
// path) plus, optionally, a directory below it. The one query parameter, `version`, selects
// the NFS version and defaults to 4 (meaning 4.0). No percent-decoding is done: the path is
// taken literally, as for file:// URLs. Only parsing lives here; nfs_backend.h decides which
// versions can actually be used.
//
// Pure functions on values; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace keepsake::storage {

struct NfsUrl {
  std::string host;           // lower-case host name or IPv4 address, never empty
  uint16_t port = 0;          // 0 = the NFS default, 2049
  std::string path = "/";     // absolute; no trailing '/', no "", "." or ".." components
  std::string version = "4";  // "4" (NFS 4.0), "4.1" or "4.2"

  // "nfs://host[:port]/path" without the query: how messages name the storage and the
  // objects in it ("nfs://srv/backups/a.ksb").
  std::string Location() const;
  // The canonical URL: Location() plus "?version=V" unless V is the default "4". Parsing
  // it gives back an equal NfsUrl.
  std::string ToString() const;
  // The TCP port to connect to: `port`, or 2049.
  uint16_t EffectivePort() const { return port == 0 ? 2049 : port; }
};

// Parses an nfs:// URL (the scheme in any case). kInvalidArgument naming the URL and what is
// wrong: a missing or bad host, a bad port, a path that is missing, relative or holds "..",
// "." or empty components, an unknown version or an unknown query parameter.
Result<NfsUrl> ParseNfsUrl(std::string_view url);

}  // namespace keepsake::storage
