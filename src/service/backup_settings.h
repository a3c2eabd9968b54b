// Backup Settings as the administrator sets them: file name prefix, storage, automated
// schedule and retention. Validated as a whole before anything is stored, and stored in one
// transaction of the state database, so a bad or interrupted change leaves the old settings.
// Thread-safe (StateDb is); callers serialise read-modify-write themselves.
//
// The settings documents (StorageToJson, ScheduleToJson, RetentionToJson and their
// inverses) are the one JSON the engine knows: the form the settings are persisted in, in
// the state database. The API accepts and returns the same documents (web/ calls these
// codecs rather than keeping a second copy of the validation).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "service/retention.h"
#include "service/schedule.h"
#include "service/scheduler.h"
#include "state/state_db.h"

namespace keepsake::service {

// Where backups go: one canonical storage URL (storage::NormalizeStorageUrl), its type
// following from the scheme. "none" (the default) means backups cannot run.
struct StorageSettings {
  std::string type = "none";  // "none" | "local" (file://) | "nfs" (nfs://) | "usb" (usb://)
  std::string location;       // the canonical URL; "" for none
  const std::string& url() const { return location; }
};

struct BackupSettings {
  std::string prefix;  // file name prefix, "" for none
  StorageSettings storage;
  Schedule schedule;
  RetentionPolicy retention;
};

// {"type":"none"}, {"url":"nfs://10.0.0.5/backups?version=4"} (any storage URL; "type", if
// given, must match its scheme) or the short form {"type":"local","path":"/srv/backups"}.
// `path`, if given with a URL, is a directory below it ("Use This Location" in the storage
// browser). The URL is checked and normalized, not opened. kInvalidArgument naming the field.
Result<StorageSettings> StorageFromJson(const nlohmann::json& j);
nlohmann::json StorageToJson(const StorageSettings& storage);

// kInvalidArgument naming the first bad field.
Status ValidateSettings(const BackupSettings& settings);

// The settings in the state database. Also the scheduler's anchor store.
class SettingsStore final : public AnchorStore {
 public:
  explicit SettingsStore(state::StateDb& db) : db_(db) {}
  // Defaults for whatever was never set; kCorruption if a stored value no longer parses.
  Result<BackupSettings> Load();
  // Validates, then stores every part in one transaction.
  Status Save(const BackupSettings& settings);
  // The scheduler's reference point: runs due at or before it have been handled (fired,
  // or the schedule was saved after them). nullopt when never set.
  Result<std::optional<date::sys_seconds>> ScheduleAnchor() override;
  Status SetScheduleAnchor(date::sys_seconds anchor) override;

 private:
  state::StateDb& db_;
};

}  // namespace keepsake::service
