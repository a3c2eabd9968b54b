#include "service/backup_settings.h"

#include <charconv>

#include <fmt/format.h>

#include "archive/backup_name.h"

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
Status LoadJsonSetting(StateDb& db, const char* key, Result<T> (*from_json)(const nlohmann::json&), T& out) {
  ASSIGN_OR_RETURN(auto text, db.GetSetting(key));
  if (!text) return Status();
  ASSIGN_OR_RETURN(auto j, ParseStored(text, key));
  auto parsed = from_json(j);
  RETURN_IF_ERROR(Stored(parsed.status(), key));
  out = *parsed;
  return Status();
}

}  // namespace

std::string StorageSettings::url() const {
  if (type == "local") return "file://" + path;
  return "";
}

Result<StorageSettings> StorageFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::InvalidArgument("storage: expected an object");
  RETURN_IF_ERROR(UnknownKeys(j, {"type", "path", "url"}, "storage"));
  StorageSettings s;
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return Status::InvalidArgument("storage: \"type\" must be \"none\" or \"local\"");
  s.type = type->get<std::string>();
  if (s.type == "none") return s;
  if (s.type != "local") {
    return Status::InvalidArgument(fmt::format("storage: type \"{}\" is not supported (none, local)", s.type));
  }
  auto path = j.find("path");
  if (path == j.end() || !path->is_string() || path->get<std::string>().empty()) {
    return Status::InvalidArgument("storage: a local storage needs \"path\", an absolute directory");
  }
  s.path = path->get<std::string>();
  if (s.path.front() != '/' || s.path.find('\0') != std::string::npos || s.path.size() > 4096) {
    return Status::InvalidArgument(fmt::format("storage: path \"{}\" must be an absolute directory path", s.path));
  }
  while (s.path.size() > 1 && s.path.back() == '/') s.path.pop_back();
  if (auto url = j.find("url"); url != j.end() && (!url->is_string() || url->get<std::string>() != s.url())) {
    return Status::InvalidArgument(fmt::format("storage: \"url\" does not match \"path\" (expected \"{}\")", s.url()));
  }
  return s;
}

nlohmann::json StorageToJson(const StorageSettings& storage) {
  nlohmann::json j = {{"type", storage.type}};
  if (storage.type == "local") {
    j["path"] = storage.path;
    j["url"] = storage.url();
  }
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

Result<int64_t> SettingsStore::ScheduleAnchor() {
  ASSIGN_OR_RETURN(auto text, db_.GetSetting("schedule_anchor"));
  if (!text) return int64_t{0};
  int64_t value = 0;
  auto [end, err] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (err != std::errc() || end != text->data() + text->size()) {
    return Status::Corruption(fmt::format("state database: setting schedule_anchor \"{}\" is not a number", *text));
  }
  return value;
}

Status SettingsStore::SetScheduleAnchor(int64_t unix_seconds) {
  return db_.PutSettings({{"schedule_anchor", std::to_string(unix_seconds)}});
}

}  // namespace keepsake::service
