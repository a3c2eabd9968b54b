// Applying retention to a storage after a backup succeeded: which files go is decided by
// the pure rules of retention.h over backups verified from their contents; this part lists,
// verifies and deletes. It sees the
// storage only through RetentionStore (list, read a header, remove), so it can be tested
// without one and can never do anything else to it.
#pragma once

#include <date/tz.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "archive/header.h"
#include "service/retention.h"
#include "service/storage_browser.h"
#include "storage/backend.h"

namespace keepsake::service {

class RetentionStore {
 public:
  virtual ~RetentionStore() = default;
  // The file names (not directories) at the storage root.
  virtual Result<std::vector<std::string>> List() = 0;
  // The Backup Details of backup `name`: header (signature checked), whose domain signed
  // it, and whether the whole file is intact. kCorruption when no authentic header can be
  // read; other codes when the storage cannot serve the file now.
  virtual Result<BackupDetails> Read(const std::string& name) = 0;
  virtual Status Remove(const std::string& name) = 0;
};

// A RetentionStore over the root of a storage backend; `read` gives a file's details from
// its listed entry (the service's, which remembers integrity verdicts by size and mtime).
class BackendRetentionStore final : public RetentionStore {
 public:
  using ReadFn = std::function<Result<BackupDetails>(const storage::Entry& file)>;
  BackendRetentionStore(storage::Backend& backend, ReadFn read) : backend_(backend), read_(std::move(read)) {}
  Result<std::vector<std::string>> List() override;
  Result<BackupDetails> Read(const std::string& name) override;
  Status Remove(const std::string& name) override;

 private:
  storage::Backend& backend_;
  ReadFn read_;
  std::map<std::string, storage::Entry> listed_;  // by the last List()
};

struct RetentionOutcome {
  std::vector<std::string> removed;   // oldest first
  std::vector<std::string> problems;  // what could not be listed, read or removed
};

// Removes the backups of this device's series (`device`, `prefix`) that `policy` does not
// keep, never `keep_name` (the backup just made). The series is chosen by file name, but
// only backups verified from their contents count, ranked by their header's time: signed by
// this appliance's domain, intact, made by this device (`device.device_id`) under the name
// they have. A file that is not (garbage named like a backup, a renamed or replayed copy,
// another device's, a damaged one) is never counted as kept and never removed; one the
// storage cannot serve now is reported. Days, weeks and months are periods in `zone`.
// REQUIRES: ValidateRetention(policy).ok()
RetentionOutcome ApplyRetention(RetentionStore& store, const RetentionPolicy& policy, const date::time_zone& zone,
                                const archive::DeviceIdentity& device, std::string_view prefix,
                                std::string_view keep_name);

}  // namespace keepsake::service
