#include "storage/nfs_url.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace keepsake::storage {
namespace {

constexpr std::string_view kScheme = "nfs://";

// Quotes a URL for a message; bytes that are not printable ASCII are shown as \xNN, so that
// a message never carries a NUL or control characters.
std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c < 0x20 || c > 0x7e) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

bool IsHostChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'; }

}  // namespace

std::string NfsUrl::Location() const {
  if (port == 0) return fmt::format("nfs://{}{}", host, path);
  return fmt::format("nfs://{}:{}{}", host, port, path);
}

std::string NfsUrl::ToString() const {
  if (version == "4") return Location();
  return fmt::format("{}?version={}", Location(), version);
}

Result<NfsUrl> ParseNfsUrl(std::string_view url) {
  auto invalid = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("NFS storage URL {}: {}", Quoted(url), why));
  };
  if (url.size() < kScheme.size() || !std::equal(kScheme.begin(), kScheme.end(), url.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return invalid("expected nfs://server[:port]/export/path[?version=4|4.1|4.2]");
  }
  std::string_view rest = url.substr(kScheme.size());
  for (unsigned char c : rest) {
    if (c < 0x20 || c > 0x7e) return invalid("contains a control character or a non-ASCII byte");
  }
  if (rest.find('#') != std::string_view::npos) return invalid("a fragment (\"#...\") is not allowed");

  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);

  NfsUrl out;
  if (authority.find('@') != std::string_view::npos) {
    return invalid("user names are not supported: NFS (AUTH_SYS) uses the service's own user and group IDs");
  }
  if (!authority.empty() && authority.front() == '[') {
    return invalid("IPv6 address literals are not supported; use a host name or an IPv4 address");
  }
  std::string_view host = authority;
  if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return invalid(fmt::format("bad port {}: expected a number from 1 to 65535", Quoted(port)));
    }
    out.port = value == 2049 ? 0 : static_cast<uint16_t>(value);
  }
  if (host.empty()) return invalid("the server (host name or IPv4 address) is missing");
  if (!std::all_of(host.begin(), host.end(), IsHostChar) || host.front() == '-' || host.front() == '.' ||
      host.back() == '-' || host.find("..") != std::string_view::npos) {
    return invalid(fmt::format("bad server name {}: expected a host name or an IPv4 address", Quoted(host)));
  }
  out.host.resize(host.size());
  std::transform(host.begin(), host.end(), out.host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });

  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.empty() || path == "/") {
    return invalid("the export path is missing: expected nfs://server/export/path");
  }
  // CheckPath()'s rules, on the path without its leading '/': a URL names one directory,
  // and administrators compare URLs as text.
  for (size_t start = 1;;) {
    size_t end = path.find('/', start);
    std::string_view component = path.substr(start, end == std::string_view::npos ? end : end - start);
    if (component.empty()) return invalid("the path has an empty component (\"//\")");
    if (component == "..") return invalid("\"..\" is not allowed in the path");
    if (component == ".") return invalid("\".\" components are not allowed in the path");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  out.path = std::string(path);

  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (param.empty()) continue;
    size_t eq = param.find('=');
    std::string_view key = param.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if (key != "version") {
      return invalid(fmt::format("unknown parameter {}: the only parameter is version=4|4.1|4.2", Quoted(key)));
    }
    if (value == "4.0") value = "4";
    if (value == "4" || value == "4.1" || value == "4.2") {
      out.version.assign(value.data(), value.size());
    } else {
      return invalid(fmt::format("unknown NFS version {}: expected 4, 4.1 or 4.2", Quoted(value)));
    }
  }
  return out;
}

}  // namespace keepsake::storage
