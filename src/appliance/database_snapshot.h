// A consistent snapshot of the internal database, taken while the appliance keeps running,
// that stays valid for as long as the object lives.
//
// SQLite in rollback-journal mode (the embedded default): a read transaction holds SQLite's
// SHARED lock, under which no writer can change the database file, so the file itself is
// archived directly: one pass, no temporary copy. Writers keep working into their journals
// and commit as soon as the snapshot ends (they wait up to their busy timeout).
// SQLite in WAL mode: committed pages may sit in the -wal file, so the online backup API
// copies the database into a temporary file first.
// PostgreSQL (internal): pg_dump in custom format into a temporary file.
// External databases are never snapshotted. Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "appliance/database_settings.h"
#include "archive/tree_scan.h"

namespace keepsake::appliance {

class DatabaseSnapshot {
 public:
  virtual ~DatabaseSnapshot() = default;
  // What to archive for the "database" component.
  virtual std::vector<archive::ComponentSource::Item> Items() const = 0;
};

// `tmp_dir` must exist, on a file system with room for one copy of the database (used only
// in WAL mode and for PostgreSQL). kNotFound when the database file is missing,
// kUnavailable when the database stays locked, kIoError for tool failures.
Result<std::unique_ptr<DatabaseSnapshot>> TakeDatabaseSnapshot(const std::string& root,
                                                               const DatabaseSettings& settings,
                                                               const std::string& tmp_dir);

}  // namespace keepsake::appliance
