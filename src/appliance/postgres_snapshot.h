// The internal PostgreSQL database: pg_dump (custom format) for backups, pg_restore for
// restores, both found through PATH and run without a shell (base/subprocess.h). The
// password, if any, reaches the tools through a libpq passfile (PGPASSFILE names the
// settings' password_file, a path that cannot exist without one), never through argv or the environment;
// a PGPASSWORD or PGSERVICE inherited by this process is removed. Connecting gives up after
// 15 s. Not thread-safe.
//
// Errors shared by both functions: kUnavailable when the server cannot be reached (not
// running, wrong host or port, starting up, too many clients), naming host:port and what to
// check; kPermissionDenied when the server refuses the user (wrong or missing password,
// pg_hba.conf) or the password file is readable by group or others; kNotFound for a missing
// password file or database; kIoError with the tool's first error line otherwise.
#pragma once

#include <memory>
#include <string>

#include "appliance/database_snapshot.h"

namespace keepsake::appliance {

// Archive path of the dump inside a backup.
inline constexpr char kPostgresDumpPath[] = "db/internal.pgdump";

// Runs pg_dump -Fc into a fresh directory below `tmp_dir` (removed with the snapshot).
// Items(): "db" (the directory entry alone, taken from that directory) and
// kPostgresDumpPath (the dump file).
Result<std::unique_ptr<DatabaseSnapshot>> SnapshotPostgres(const DatabaseSettings& settings,
                                                           const std::string& tmp_dir);

// Replaces the database's content with the dump in one transaction (pg_restore --clean
// --if-exists --single-transaction --exit-on-error --no-owner): on any failure the database
// keeps its old content. Objects in the dump are dropped and recreated; objects created
// after the dump (absent from it) are left in place. kNotFound when `dump_path` is missing.
Status RestorePostgres(const DatabaseSettings& settings, const std::string& dump_path);

}  // namespace keepsake::appliance
