// The daemon's own small SQLite database (<state dir>/state.db): settings as validated JSON
// documents under a key, and the job history. Every change is one transaction, so a crash
// leaves either the old or the new value. Thread-safe: one connection behind a mutex (the
// daemon writes a few rows per job; contention is not a concern).
#pragma once

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace keepsake::state {

class StateDb {
 public:
  // Opens or creates the database (mode 0600) and brings its schema up to date.
  // kCorruption when the file is not a database; other errors as they come.
  static Result<std::unique_ptr<StateDb>> Open(const std::string& path);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  // The stored text under `key`, nullopt when never set.
  Result<std::optional<std::string>> GetSetting(const std::string& key);
  // Stores every pair or none.
  Status PutSettings(const std::vector<std::pair<std::string, std::string>>& values);

  // Runs `sql` with text parameters bound in order and calls `row` for each result row
  // (column values as text, NULL as ""). For the history table; SQL is never built from input.
  using RowFn = std::function<void(const std::vector<std::string>&)>;
  Status Query(const std::string& sql, const std::vector<std::optional<std::string>>& params, const RowFn& row = {});

 private:
  StateDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status Exec(const std::string& sql);
  Status Error(std::string_view what);

  std::mutex mu_;
  sqlite3* db_;
  std::string path_;
};

}  // namespace keepsake::state
