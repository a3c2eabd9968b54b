#include "storage/backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "base/strings.h"
#include "storage/local_backend.h"
#include "storage/nfs_backend.h"
#include "storage/nfs_url.h"
#include "storage/usb_backend.h"

namespace keepsake::storage {
namespace {

// Quotes a path for a message, showing a NUL byte visibly instead of cutting the text.
std::string Quoted(std::string_view path) {
  std::string out = "\"";
  for (char c : path) {
    if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

constexpr std::string_view kSchemeSeparator = "://";

// "file:///abs/dir" -> "file:///abs/dir" without trailing '/'; the path must be absolute,
// canonical (no "." or ".." components, no empty components) and free of NUL bytes: a URL
// names one directory, and administrators compare them as text.
Result<std::string> NormalizeFileUrl(std::string_view url, std::string_view rest) {
  auto invalid = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("storage URL {}: {}", Quoted(url), why));
  };
  if (rest.empty() || rest.front() != '/') {
    return invalid("expected file:///absolute/directory (a file URL has no host part)");
  }
  while (rest.size() > 1 && rest.back() == '/') rest.remove_suffix(1);
  if (rest == "/") return std::string("file:///");
  if (Status s = CheckPath(rest.substr(1)); !s.ok()) {
    return invalid("the directory must be an absolute path without \"..\", \".\" or \"//\"");
  }
  return fmt::format("file://{}", rest);
}

Result<std::unique_ptr<Backend>> OpenFileUrl(std::string_view url) {
  return OpenLocalBackend(std::string(url.substr(std::string_view("file://").size())));
}

Result<std::string> NormalizeNfsUrl(std::string_view url, std::string_view) {
  ASSIGN_OR_RETURN(NfsUrl nfs, ParseNfsUrl(url));
  return nfs.ToString();
}

Result<std::string> NormalizeUsb(std::string_view url, std::string_view) { return NormalizeUsbUrl(url); }

struct Scheme {
  std::string_view name;
  // Takes the URL as given and the part after "://"; returns the canonical URL.
  Result<std::string> (*normalize)(std::string_view url, std::string_view rest);
  // Takes the canonical URL.
  Result<std::unique_ptr<Backend>> (*open)(std::string_view url);
};

constexpr Scheme kSchemes[] = {
    {"file", NormalizeFileUrl, OpenFileUrl},
    {"nfs", NormalizeNfsUrl, OpenNfsBackend},
    {"usb", NormalizeUsb, OpenUsbBackend},
};

}  // namespace

Status CheckPath(std::string_view path) {
  if (path.empty() || path == ".") return Status();
  auto invalid = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("storage path {}: {}", Quoted(path), why));
  };
  if (path.find('\0') != std::string_view::npos) return invalid("contains a NUL byte");
  if (path.front() == '/') return invalid("absolute paths are not allowed; paths are relative to the storage root");
  size_t start = 0;
  for (;;) {
    size_t end = path.find('/', start);
    std::string_view component = path.substr(start, end == std::string_view::npos ? end : end - start);
    if (component.empty()) return invalid("empty path component (\"//\" or a trailing \"/\")");
    if (component == "..") return invalid("\"..\" is not allowed; paths stay inside the storage root");
    if (component == ".") return invalid("\".\" components are not allowed");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return Status();
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty() || dir == ".") return std::string(name);
  return fmt::format("{}/{}", dir, name);
}

std::string PartialName(std::string_view leaf) { return fmt::format(".{}.partial", leaf); }

bool IsPartialName(std::string_view name) {
  constexpr std::string_view kSuffix = ".partial";
  return name.size() > kSuffix.size() + 1 && name.front() == '.' && name.ends_with(kSuffix);
}

Status CheckNewFileName(std::string_view leaf, std::string_view url) {
  if (!IsPartialName(leaf)) return Status();
  return Status::InvalidArgument(
      fmt::format("{}: names of the form .<name>.partial are reserved for files being written", url));
}

bool MatchesFilter(std::string_view name, std::string_view filter) {
  return filter.empty() || Lower(name).find(Lower(filter)) != std::string::npos;
}

Result<std::string> NormalizeStorageUrl(std::string_view url) {
  size_t sep = url.find(kSchemeSeparator);
  if (sep == std::string_view::npos || sep == 0) {
    return Status::InvalidArgument(
        fmt::format("storage URL {}: expected scheme://location, e.g. file:///srv/backups", Quoted(url)));
  }
  std::string scheme = Lower(url.substr(0, sep));
  std::string_view rest = url.substr(sep + kSchemeSeparator.size());
  for (const Scheme& s : kSchemes) {
    if (s.name == scheme) return s.normalize(url, rest);
  }
  return Status::InvalidArgument(
      fmt::format("storage URL {}: unknown scheme \"{}\" (expected file, nfs or usb)", Quoted(url), scheme));
}

Result<std::string> JoinStorageUrl(std::string_view url, std::string_view path) {
  RETURN_IF_ERROR(CheckPath(path));
  if (path.empty() || path == ".") return std::string(url);
  // Only nfs:// URLs have a query part (?version=); elsewhere '?' belongs to the path.
  size_t query = Lower(url.substr(0, 6)) == "nfs://" ? url.find('?') : std::string_view::npos;
  std::string_view base = url.substr(0, query);
  std::string_view rest = query == std::string_view::npos ? std::string_view() : url.substr(query);
  while (base.ends_with('/')) base.remove_suffix(1);
  return fmt::format("{}/{}{}", base, path, rest);
}

Result<std::unique_ptr<Backend>> OpenBackend(std::string_view url) {
  ASSIGN_OR_RETURN(std::string normalized, NormalizeStorageUrl(url));
  std::string_view scheme = std::string_view(normalized).substr(0, normalized.find(kSchemeSeparator));
  for (const Scheme& s : kSchemes) {
    if (s.name == scheme) return s.open(normalized);
  }
  return Status::Internal(fmt::format("storage URL {}: scheme without a backend", Quoted(url)));
}

Status RemovePartials(Backend& backend, std::string_view dir) {
  ASSIGN_OR_RETURN(std::vector<Entry> entries, backend.List(dir));
  Status first_error;
  for (const Entry& entry : entries) {
    if (entry.is_dir || !IsPartialName(entry.name)) continue;
    Status s = backend.Remove(JoinPath(dir, entry.name));
    // Gone meanwhile is what we wanted; otherwise keep going and report the first failure.
    if (!s.ok() && s.code() != ErrorCode::kNotFound && first_error.ok()) first_error = std::move(s);
  }
  return first_error;
}

}  // namespace keepsake::storage
