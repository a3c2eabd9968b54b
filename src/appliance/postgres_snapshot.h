// The internal PostgreSQL database: pg_dump (custom format) for backups, pg_restore for
// restores. The password, if any, reaches the tools through a libpq passfile (PGPASSFILE),
// never through argv or the environment. Not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "appliance/database_snapshot.h"

namespace keepsake::appliance {

// Archive path of the dump inside a backup.
inline constexpr char kPostgresDumpPath[] = "db/internal.pgdump";

// Runs pg_dump -Fc into a file below `tmp_dir` (removed with the snapshot). kUnavailable
// when the server cannot be reached, kIoError with pg_dump's first error line otherwise.
Result<std::unique_ptr<DatabaseSnapshot>> SnapshotPostgres(const DatabaseSettings& settings,
                                                           const std::string& tmp_dir);

// Replaces the database's content with the dump in one transaction (pg_restore --clean
// --if-exists --single-transaction): on any failure the database keeps its old content.
Status RestorePostgres(const DatabaseSettings& settings, const std::string& dump_path);

}  // namespace keepsake::appliance
