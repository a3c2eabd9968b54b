#include "service/storage_browser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "archive/backup_name.h"
#include "archive/sealed_reader.h"
#include "base/strings.h"
#include "service/backup_job.h"
#include "service/human_time.h"
#include "service/readiness.h"

namespace keepsake::service {
namespace {

// "a/b/c" -> "a/b"; "a" -> ""; the root has no parent.
std::optional<std::string> ParentOf(std::string_view dir) {
  if (dir.empty() || dir == ".") return std::nullopt;
  size_t slash = dir.rfind('/');
  return std::string(slash == std::string_view::npos ? std::string_view() : dir.substr(0, slash));
}

}  // namespace

std::string PermissionText(const storage::Access& access) {
  if (access.can_write && access.can_read) return "read/write";
  if (access.can_read) return "read-only";
  if (access.can_write) return "write-only";
  return "none";
}

std::string LowSpaceWarning(const storage::Capacity& c) {
  if (c.total == 0 || static_cast<double>(c.free) >= kLowSpaceRatio * static_cast<double>(c.total)) return "";
  return fmt::format("Less than 20% of the backup storage is free: {} of {}.", HumanBytes(c.free), HumanBytes(c.total));
}

nlohmann::json CapacityToJson(const storage::Capacity& c) {
  double percent = c.total == 0 ? 0.0 : 100.0 * static_cast<double>(c.free) / static_cast<double>(c.total);
  std::string warning = LowSpaceWarning(c);
  return {{"total_bytes", c.total},
          {"used_bytes", c.used},
          {"free_bytes", c.free},
          {"total", HumanBytes(c.total)},
          {"used", HumanBytes(c.used)},
          {"free", HumanBytes(c.free)},
          {"free_percent", std::round(percent * 10) / 10},
          {"low_space", !warning.empty()},
          {"warning", warning.empty() ? nlohmann::json(nullptr) : nlohmann::json(warning)}};
}

Result<nlohmann::json> StorageInfo(storage::Backend& backend, std::string_view url, std::string_view dir) {
  RETURN_IF_ERROR(storage::CheckPath(dir));
  ASSIGN_OR_RETURN(storage::Access access, backend.GetAccess(dir));
  ASSIGN_OR_RETURN(storage::Capacity capacity, backend.GetCapacity());
  nlohmann::json j = CapacityToJson(capacity);
  j["url"] = url;
  j["path"] = dir == "." ? "" : dir;
  j["permission"] = PermissionText(access);
  j["can_read"] = access.can_read;
  j["can_write"] = access.can_write;
  return j;
}

Result<nlohmann::json> BrowseStorage(storage::Backend& backend, std::string_view url, std::string_view dir,
                                     std::string_view filter) {
  RETURN_IF_ERROR(storage::CheckPath(dir));
  ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, backend.List(dir, filter));
  // Directories first, each group in the backend's name order.
  std::stable_partition(entries.begin(), entries.end(), [](const storage::Entry& e) { return e.is_dir; });
  nlohmann::json list = nlohmann::json::array();
  for (const storage::Entry& e : entries) {
    if (!e.is_dir && storage::IsPartialName(e.name)) continue;
    list.push_back({{"name", e.name},
                    {"type", e.is_dir ? "directory" : "file"},
                    {"size", e.size},
                    {"size_human", HumanBytes(e.size)},
                    {"modified", FormatUtcIso(date::sys_seconds(std::chrono::seconds(e.mtime)))},
                    {"backup", !e.is_dir && archive::ParseBackupName(e.name).has_value()}});
  }
  ASSIGN_OR_RETURN(nlohmann::json info, StorageInfo(backend, url, dir));
  auto parent = ParentOf(dir);
  return nlohmann::json{{"url", url},
                        {"path", dir == "." ? "" : dir},
                        {"parent", parent ? nlohmann::json(*parent) : nlohmann::json(nullptr)},
                        {"entries", std::move(list)},
                        {"info", std::move(info)}};
}

Result<nlohmann::json> BackupFileDetails(storage::Backend& backend, std::string_view path,
                                         const std::optional<crypto::DomainKeys>& keys) {
  RETURN_IF_ERROR(storage::CheckPath(path));
  ASSIGN_OR_RETURN(auto reader, backend.NewReader(path));
  storage::ReaderSource source(std::move(reader));
  ASSIGN_OR_RETURN(archive::SealedHeader sealed, archive::ReadSealedHeader(source));
  auto details = nlohmann::json::parse(archive::SerializeHeader(sealed.header), nullptr, false);
  if (details.is_discarded()) return Status::Internal("header serialisation");
  details["signature"] = "valid";
  if (keys) {
    Status same = archive::CheckSameDomain(sealed.header, *keys);
    details["domain_check"] = same.ok() ? "this appliance's domain" : "another domain";
  } else {
    details["domain_check"] = "unknown: this appliance has no Domain Master Secret";
  }
  return details;
}

}  // namespace keepsake::service
