#include "service/backup_settings.h"

#include <fmt/format.h>

#include <charconv>

#include "archive/backup_name.h"
#include "storage/backend.h"

namespace keepsake::service {
namespace {

Status UnknownKeys(const nlohmann::json& j, std::initializer_list<std::string_view> known, std::string_view what) {
  for (const auto& [key, value] : j.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Status::InvalidArgument(fmt::format("{}: unknown field \"{}\"", what, key));
    }
  }
  return Status();
}

Result<nlohmann::json> ParseStored(const std::optional<std::string>& text, std::string_view key) {
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Status::Corruption(fmt::format("state database: setting {} is not JSON", key));
  return j;
}

Status Stored(Status st, std::string_view key) {
  if (st.ok()) return st;
  return Status::Corruption(fmt::format("state database: setting {}: {}", key, st.message()));
}

// Reads the JSON setting `key` into `out` through `from_json`; leaves `out` alone if unset.
template <typename T>
Status LoadJsonSetting(state::StateDb& db, const char* key, Result<T> (*from_json)(const nlohmann::json&), T& out) {
  ASSIGN_OR_RETURN(auto text, db.GetSetting(key));
  if (!text) return Status();
  ASSIGN_OR_RETURN(auto j, ParseStored(text, key));
  auto parsed = from_json(j);
  RETURN_IF_ERROR(Stored(parsed.status(), key));
  out = *parsed;
  return Status();
}

}  // namespace

namespace {

constexpr std::pair<std::string_view, std::string_view> kTypeOfScheme[] = {
    {"file", "local"}, {"nfs", "nfs"}, {"usb", "usb"}};

std::string_view TypeOfUrl(std::string_view url) {
  for (const auto& [scheme, type] : kTypeOfScheme) {
    if (url.starts_with(scheme) && url.substr(scheme.size()).starts_with("://")) return type;
  }
  return {};
}

// The "path" of the short local form: an absolute directory, as a file:// URL.
Result<std::string> LocalPathUrl(const nlohmann::json& path) {
  if (!path.is_string() || path.get<std::string>().empty() || path.get<std::string>().front() != '/') {
    return Status::InvalidArgument("storage: a local storage needs \"path\", an absolute directory path");
  }
  return "file://" + path.get<std::string>();
}

}  // namespace

Result<StorageSettings> StorageFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::InvalidArgument("storage: expected an object");
  RETURN_IF_ERROR(UnknownKeys(j, {"type", "path", "url"}, "storage"));
  StorageSettings s;
  std::string type;
  if (auto t = j.find("type"); t != j.end()) {
    if (!t->is_string()) return Status::InvalidArgument("storage: \"type\" must be none, local, nfs or usb");
    type = t->get<std::string>();
  }
  auto url = j.find("url");
  auto path = j.find("path");
  if (type == "none" || (type.empty() && url == j.end() && path == j.end())) {
    if ((url != j.end() && *url != "") || path != j.end()) {
      return Status::InvalidArgument("storage: type \"none\" takes no \"url\" or \"path\"");
    }
    return s;
  }
  std::string raw;
  if (url != j.end()) {
    if (!url->is_string()) return Status::InvalidArgument("storage: \"url\" must be a string");
    raw = url->get<std::string>();
    auto same_local_path = [&] {
      auto as_url = LocalPathUrl(*path);
      return type == "local" && as_url.ok() && *as_url == raw;
    };
    if (path != j.end() && !same_local_path()) {
      // Browser form: a directory below the URL's root.
      if (!path->is_string()) return Status::InvalidArgument("storage: \"path\" must be a string");
      ASSIGN_OR_RETURN(raw, storage::JoinStorageUrl(raw, path->get<std::string>()));
    }
  } else if (type == "local") {
    if (path == j.end())
      return Status::InvalidArgument("storage: a local storage needs \"path\", an absolute directory path");
    ASSIGN_OR_RETURN(raw, LocalPathUrl(*path));
  } else if (type.empty()) {
    return Status::InvalidArgument("storage: give \"url\" (file://, nfs:// or usb://), or \"type\": \"none\"");
  } else if (type == "nfs" || type == "usb") {
    return Status::InvalidArgument(
        fmt::format("storage: an {} storage needs \"url\" ({})", type,
                    type == "nfs" ? "nfs://server[:port]/export/path?version=4" : "usb://LABEL-OR-UUID/path"));
  } else {
    return Status::InvalidArgument(fmt::format("storage: type \"{}\" is not supported (none, local, nfs, usb)", type));
  }
  if (raw.size() > 4096) return Status::InvalidArgument("storage: the URL is longer than 4096 bytes");
  auto normalized = storage::NormalizeStorageUrl(raw);
  if (!normalized.ok()) return Status::InvalidArgument(fmt::format("storage: {}", normalized.status().message()));
  s.location = std::move(*normalized);
  s.type = std::string(TypeOfUrl(s.location));
  if (!type.empty() && type != s.type) {
    return Status::InvalidArgument(fmt::format("storage: type \"{}\" does not match the URL {}", type, s.location));
  }
  return s;
}

nlohmann::json StorageToJson(const StorageSettings& storage) {
  nlohmann::json j = {{"type", storage.type}};
  if (storage.type == "none") return j;
  j["url"] = storage.location;
  if (storage.type == "local") j["path"] = storage.location.substr(std::string_view("file://").size());
  return j;
}

Status ValidateSettings(const BackupSettings& s) {
  RETURN_IF_ERROR(archive::ValidatePrefix(s.prefix));
  RETURN_IF_ERROR(StorageFromJson(StorageToJson(s.storage)).status());
  RETURN_IF_ERROR(ValidateSchedule(s.schedule));
  return ValidateRetention(s.retention);
}

Result<BackupSettings> SettingsStore::Load() {
  BackupSettings s;
  ASSIGN_OR_RETURN(auto prefix, db_.GetSetting("prefix"));
  if (prefix) s.prefix = *prefix;
  RETURN_IF_ERROR(LoadJsonSetting(db_, "storage", StorageFromJson, s.storage));
  RETURN_IF_ERROR(LoadJsonSetting(db_, "schedule", ScheduleFromJson, s.schedule));
  RETURN_IF_ERROR(LoadJsonSetting(db_, "retention", RetentionFromJson, s.retention));
  return s;
}

Status SettingsStore::Save(const BackupSettings& s) {
  RETURN_IF_ERROR(ValidateSettings(s));
  nlohmann::json schedule = ScheduleToJson(s.schedule);
  schedule.erase("expression");  // derived, not stored
  return db_.PutSettings({{"prefix", s.prefix},
                          {"storage", StorageToJson(s.storage).dump()},
                          {"schedule", schedule.dump()},
                          {"retention", RetentionToJson(s.retention).dump()}});
}

Result<std::optional<date::sys_seconds>> SettingsStore::ScheduleAnchor() {
  ASSIGN_OR_RETURN(auto text, db_.GetSetting("schedule_anchor"));
  if (!text) return std::optional<date::sys_seconds>();
  int64_t value = 0;
  auto [end, err] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (err != std::errc() || end != text->data() + text->size()) {
    return Status::Corruption(fmt::format("state database: setting schedule_anchor \"{}\" is not a number", *text));
  }
  if (value == 0) return std::optional<date::sys_seconds>();  // "never set", as stored by earlier versions
  return std::optional<date::sys_seconds>(date::sys_seconds(std::chrono::seconds(value)));
}

Status SettingsStore::SetScheduleAnchor(date::sys_seconds anchor) {
  return db_.PutSettings({{"schedule_anchor", std::to_string(anchor.time_since_epoch().count())}});
}

}  // namespace keepsake::service
