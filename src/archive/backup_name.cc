#include "archive/backup_name.h"

#include <fmt/format.h>

#include <algorithm>

#include "archive/format.h"

namespace keepsake::archive {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// Host names may hold anything a resolver allows; keep file names portable (exFAT, NFS).
std::string SafeHostname(std::string_view hostname) {
  std::string out;
  for (char c : hostname) out += IsNameChar(c) ? c : '-';
  if (out.empty()) out = "appliance";
  return out.substr(0, 64);
}

}  // namespace

Status ValidatePrefix(std::string_view prefix) {
  if (prefix.size() > 64) return Status::InvalidArgument("the backup filename prefix is longer than 64 characters");
  for (char c : prefix) {
    if (!IsNameChar(c) && c != '_') {
      return Status::InvalidArgument(
          fmt::format("the backup filename prefix may only contain letters, digits, '-', '_' and '.' (found '{}')", c));
    }
  }
  if (prefix == "." || prefix == "..")
    return Status::InvalidArgument("the backup filename prefix cannot be '.' or '..'");
  return Status();
}

std::string MakeBackupName(std::string_view prefix, std::string_view hostname, std::time_t when, int seq) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::string name = prefix.empty() ? "" : std::string(prefix) + "_";
  name += SafeHostname(hostname) + "_" + stamp;
  if (seq > 1) name += fmt::format("-{}", seq);
  return name + std::string(kBackupExtension);
}

std::optional<ParsedBackupName> ParseBackupName(std::string_view name) {
  if (name.size() <= kBackupExtension.size() || !name.ends_with(kBackupExtension)) return std::nullopt;
  name.remove_suffix(kBackupExtension.size());
  size_t last = name.rfind('_');
  if (last == std::string_view::npos) return std::nullopt;
  std::string_view stamp = name.substr(last + 1);
  if (size_t dash = stamp.find('-'); dash != std::string_view::npos) {
    // Only "-<n>" (n >= 2) as MakeBackupName writes it: "…Z-copy.ksb" is someone's copy,
    // not a backup retention may delete.
    std::string_view seq = stamp.substr(dash + 1);
    if (seq.empty() || seq.size() > 2 || seq.front() == '0' ||
        !std::all_of(seq.begin(), seq.end(), [](char c) { return c >= '0' && c <= '9'; }) || seq == "1") {
      return std::nullopt;
    }
    stamp = stamp.substr(0, dash);
  }
  std::tm tm{};
  std::string stamp_str(stamp);
  const char* end = strptime(stamp_str.c_str(), "%Y%m%dT%H%M%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  std::string_view rest = name.substr(0, last);
  ParsedBackupName parsed;
  parsed.when = timegm(&tm);
  // The host name has no '_' (SafeHostname), so the prefix is everything before the last '_'.
  size_t split = rest.rfind('_');
  if (split == std::string_view::npos) {
    parsed.hostname = rest;
  } else {
    parsed.prefix = rest.substr(0, split);
    parsed.hostname = rest.substr(split + 1);
  }
  if (parsed.hostname.empty()) return std::nullopt;
  return parsed;
}

Status CheckBackupName(std::string_view name) {
  if (name.find('/') != std::string_view::npos || !ParseBackupName(name)) {
    return Status::InvalidArgument(fmt::format(
        "\"{}\" is not a backup file name (PREFIX_YYYYMMDDTHHMMSSZ.ksb, as the appliance names them)", name));
  }
  return Status();
}

}  // namespace keepsake::archive
