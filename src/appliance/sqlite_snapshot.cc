#include <fmt/format.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "appliance/database_snapshot.h"
#include "appliance/postgres_snapshot.h"

namespace keepsake::appliance {
namespace {

constexpr int kBusyTimeoutMs = 30000;

Status SqliteError(sqlite3* db, std::string_view path, std::string_view what) {
  std::string msg = fmt::format("{}: {}: {}", path, what, db ? sqlite3_errmsg(db) : "out of memory");
  int code = db ? sqlite3_errcode(db) : SQLITE_NOMEM;
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return Status::Unavailable(std::move(msg));
  if (code == SQLITE_CANTOPEN) return Status::NotFound(std::move(msg));
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return Status::Corruption(std::move(msg));
  return Status::IoError(std::move(msg));
}

// The archived item for the database: the db/ directory itself (not its journals) and the file.
std::vector<archive::ComponentSource::Item> DbItems(const std::string& root, const std::string& rel_path,
                                                    const std::string& disk_path) {
  std::string dir = std::filesystem::path(rel_path).parent_path().string();
  return {{dir, root + "/" + dir, false}, {rel_path, disk_path, true}};
}

class SqliteSnapshot final : public DatabaseSnapshot {
 public:
  SqliteSnapshot(sqlite3* db, std::vector<archive::ComponentSource::Item> items, std::string tmp_dir)
      : db_(db), items_(std::move(items)), tmp_dir_(std::move(tmp_dir)) {}
  ~SqliteSnapshot() override {
    // Ends the read transaction (if any) and releases the lock.
    sqlite3_close_v2(db_);
    if (!tmp_dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(tmp_dir_, ec);
    }
  }
  std::vector<archive::ComponentSource::Item> Items() const override { return items_; }

 private:
  sqlite3* db_;
  std::vector<archive::ComponentSource::Item> items_;
  std::string tmp_dir_;
};

Result<std::unique_ptr<DatabaseSnapshot>> SnapshotSqlite(const std::string& root, const DatabaseSettings& settings,
                                                         const std::string& tmp_dir) {
  std::string path = root + "/" + settings.sqlite_path;
  if (access(path.c_str(), F_OK) != 0) return StatusFromErrno(errno, path);
  sqlite3* db = nullptr;
  // Read-write, so that SQLite rolls back a hot journal left by a crashed writer before we
  // read; never creates the file.
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  auto fail = [&](std::string_view what) {
    Status st = SqliteError(db, path, what);
    sqlite3_close_v2(db);
    return st;
  };
  if (rc != SQLITE_OK) return fail("cannot open the database");
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  std::string mode;
  {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr) != SQLITE_OK) return fail("journal mode");
    if (sqlite3_step(stmt) == SQLITE_ROW) mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
  }
  if (mode != "wal") {
    // BEGIN alone takes no lock; the first read takes SHARED and keeps it until the end of
    // the transaction, i.e. until this snapshot is destroyed. NB: the archiver opens and
    // closes its own descriptor on the file only after reading it whole; closing any
    // descriptor drops this process's POSIX locks, so nothing else may open the file.
    if (sqlite3_exec(db, "BEGIN; SELECT count(*) FROM sqlite_master;", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return fail("cannot start a read transaction");
    }
    return std::unique_ptr<DatabaseSnapshot>(new SqliteSnapshot(db, DbItems(root, settings.sqlite_path, path), ""));
  }

  std::string dir = tmp_dir + "/db-snapshot-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    sqlite3_close_v2(db);
    return StatusFromErrno(errno, dir);
  }
  std::string copy_path = dir + "/" + std::filesystem::path(settings.sqlite_path).filename().string();
  sqlite3* copy = nullptr;
  Status st;
  if (sqlite3_open_v2(copy_path.c_str(), &copy, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    st = SqliteError(copy, copy_path, "cannot create the snapshot copy");
  } else {
    // One step copies everything inside one read transaction: a consistent copy even
    // while other connections write (WAL readers never block writers).
    sqlite3_backup* backup = sqlite3_backup_init(copy, "main", db, "main");
    if (backup == nullptr) {
      st = SqliteError(copy, copy_path, "cannot start the online backup");
    } else {
      rc = sqlite3_backup_step(backup, -1);
      sqlite3_backup_finish(backup);
      if (rc != SQLITE_DONE) st = SqliteError(copy, path, "online backup failed");
    }
  }
  sqlite3_close_v2(copy);
  sqlite3_close_v2(db);
  if (!st.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return st;
  }
  return std::unique_ptr<DatabaseSnapshot>(
      new SqliteSnapshot(nullptr, DbItems(root, settings.sqlite_path, copy_path), dir));
}

}  // namespace

Result<std::unique_ptr<DatabaseSnapshot>> TakeDatabaseSnapshot(const std::string& root,
                                                               const DatabaseSettings& settings,
                                                               const std::string& tmp_dir) {
  if (settings.external) {
    return Status::FailedPrecondition("an external database is never backed up; only its settings are");
  }
  if (settings.engine == DatabaseSettings::Engine::kPostgresql) return SnapshotPostgres(settings, tmp_dir);
  return SnapshotSqlite(root, settings, tmp_dir);
}

}  // namespace keepsake::appliance
