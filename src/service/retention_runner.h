// Applying retention to a storage after a backup succeeded: which files go is decided by
// the pure rules of retention.h; this part lists, double-checks and deletes. It sees the
// storage only through RetentionStore (list, read a header, remove), so it can be tested
// without one and can never do anything else to it.
#pragma once

#include <date/tz.h>

#include <string>
#include <string_view>
#include <vector>

#include "archive/header.h"
#include "service/retention.h"
#include "storage/backend.h"

namespace keepsake::service {

class RetentionStore {
 public:
  virtual ~RetentionStore() = default;
  // The file names (not directories) at the storage root.
  virtual Result<std::vector<std::string>> List() = 0;
  // The signed header of backup `name`, its signature checked.
  virtual Result<archive::BackupHeader> ReadHeader(const std::string& name) = 0;
  virtual Status Remove(const std::string& name) = 0;
};

// A RetentionStore over the root of a storage backend.
class BackendRetentionStore final : public RetentionStore {
 public:
  explicit BackendRetentionStore(storage::Backend& backend) : backend_(backend) {}
  Result<std::vector<std::string>> List() override;
  Result<archive::BackupHeader> ReadHeader(const std::string& name) override;
  Status Remove(const std::string& name) override;

 private:
  storage::Backend& backend_;
};

struct RetentionOutcome {
  std::vector<std::string> removed;   // oldest first
  std::vector<std::string> problems;  // what could not be listed, read or removed
};

// Removes the backups of this device's series (`device`, `prefix`) that `policy` does not
// keep, never `keep_name` (the backup just made) and never a file whose signed header names
// another device, whatever its name says. Days, weeks and months are periods in `zone`.
// REQUIRES: ValidateRetention(policy).ok()
RetentionOutcome ApplyRetention(RetentionStore& store, const RetentionPolicy& policy, const date::time_zone& zone,
                                const archive::DeviceIdentity& device, std::string_view prefix,
                                std::string_view keep_name);

}  // namespace keepsake::service
