#include "state/state_db.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace keepsake::state {
namespace {

// Each entry moves the schema one version up (PRAGMA user_version); never edit a shipped one.
constexpr const char* kMigrations[] = {
    R"(CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
       CREATE TABLE jobs (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         kind TEXT NOT NULL,          -- backup | restore
         trigger TEXT NOT NULL,       -- manual | schedule | catch-up
         requester TEXT NOT NULL,
         started_at INTEGER NOT NULL, -- unix seconds
         ended_at INTEGER,            -- NULL while running
         result TEXT NOT NULL,        -- running | succeeded | failed | aborted | interrupted
         size INTEGER,
         file TEXT,
         error TEXT,
         duration_ms INTEGER);)",
    // 2: OAuth tokens (auth/token_store.h), stored as SHA-256 hex, never as issued.
    R"(CREATE TABLE tokens (
         hash TEXT PRIMARY KEY,               -- SHA-256 hex of the token
         username TEXT NOT NULL COLLATE NOCASE,
         kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
         expires_at INTEGER NOT NULL,         -- unix seconds
         revoked INTEGER NOT NULL DEFAULT 0,
         family TEXT NOT NULL);               -- one login: its access and refresh tokens
       CREATE INDEX tokens_family ON tokens(family);
       CREATE INDEX tokens_username ON tokens(username);
       CREATE INDEX tokens_expires_at ON tokens(expires_at);)",
    // 3: what a job that succeeded did (a restore's components, a retention note), kept
    // apart from `error`, which only a job that did not succeed has.
    R"(ALTER TABLE jobs ADD COLUMN summary TEXT;
       UPDATE jobs SET summary = error, error = '' WHERE result = 'succeeded';)",
};

}  // namespace

Result<std::unique_ptr<StateDb>> StateDb::Open(const std::string& path) {
  // Create the file 0600 ourselves: sqlite3 would use the umask.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return StatusFromErrno(errno, path);
  ::close(fd);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
  std::unique_ptr<StateDb> state(new StateDb(db, path));
  if (rc != SQLITE_OK) return state->Error("open");
  sqlite3_busy_timeout(db, 5000);
  RETURN_IF_ERROR(state->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  int version = 0;
  RETURN_IF_ERROR(state->Query("PRAGMA user_version", {}, [&](const auto& r) { version = std::stoi(r[0]); }));
  constexpr int kLatest = std::size(kMigrations);
  if (version > kLatest) {
    return Status::NotSupported(
        fmt::format("{}: made by a newer Keepsake (schema {}, this one knows {})", path, version, kLatest));
  }
  for (int v = version; v < kLatest; ++v) {
    RETURN_IF_ERROR(
        state->Exec(fmt::format("BEGIN IMMEDIATE; {} PRAGMA user_version={}; COMMIT;", kMigrations[v], v + 1)));
  }
  return state;
}

StateDb::~StateDb() { sqlite3_close_v2(db_); }

Status StateDb::Error(std::string_view what) {
  int code = db_ ? sqlite3_errcode(db_) : SQLITE_NOMEM;
  std::string msg = fmt::format("{}: {}: {}", path_, what, db_ ? sqlite3_errmsg(db_) : "out of memory");
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return Status::Corruption(std::move(msg));
  if (code == SQLITE_FULL) return Status::NoSpace(std::move(msg));
  if (code == SQLITE_READONLY || code == SQLITE_PERM) return Status::PermissionDenied(std::move(msg));
  return Status::IoError(std::move(msg));
}

Status StateDb::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    sqlite3_free(err);
    Status st = Error("update");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  return Status();
}

Status StateDb::Query(const std::string& sql, const std::vector<std::optional<std::string>>& params, const RowFn& row) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return Error("prepare");
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> guard(stmt, sqlite3_finalize);
  for (size_t i = 0; i < params.size(); ++i) {
    int rc = params[i] ? sqlite3_bind_text(stmt, i + 1, params[i]->data(), params[i]->size(), SQLITE_TRANSIENT)
                       : sqlite3_bind_null(stmt, i + 1);
    if (rc != SQLITE_OK) return Error("bind");
  }
  std::vector<std::string> values;
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) return Status();
    if (rc != SQLITE_ROW) return Error("query");
    values.resize(sqlite3_column_count(stmt));
    for (size_t c = 0; c < values.size(); ++c) {
      const unsigned char* text = sqlite3_column_text(stmt, c);
      values[c] = text ? reinterpret_cast<const char*>(text) : "";
    }
    if (row) row(values);
  }
}

Result<std::optional<std::string>> StateDb::GetSetting(const std::string& key) {
  std::optional<std::string> value;
  RETURN_IF_ERROR(Query("SELECT value FROM settings WHERE key = ?", {key}, [&](const auto& r) { value = r[0]; }));
  return value;
}

Status StateDb::PutSettings(const std::vector<std::pair<std::string, std::string>>& values) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  for (const auto& [key, value] : values) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "INSERT INTO settings(key, value) VALUES(?, ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           -1, &stmt, nullptr) != SQLITE_OK) {
      Status st = Error("prepare");
      (void)Exec("ROLLBACK");
      return st;
    }
    sqlite3_bind_text(stmt, 1, key.data(), key.size(), SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, value.data(), value.size(), SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
      Status st = Error("save settings");
      (void)Exec("ROLLBACK");
      return st;
    }
  }
  return Exec("COMMIT");
}

}  // namespace keepsake::state
