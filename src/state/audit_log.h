// The audit log: one JSON line per security-relevant event (DMS set, storage or schedule
// changed, backup started/finished/failed, restore started/finished/rolled back, ...), in
// <state dir>/audit.log, mode 0600, appended and synced before Append() returns so that
// an event survives a crash right after it. Never pass a secret in `fields`.
// Thread-safe.
#pragma once

#include <date/date.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"

namespace keepsake::state {

// Who caused an event: an account name ("alice", or "scheduler" / "keepsaked" for the
// service itself) and the client address it came from ("" for the service).
struct Actor {
  std::string account;
  std::string client;
};

// A page of the audit log, newest first.
struct AuditPage {
  std::vector<nlohmann::json> entries;  // each line as written
  int64_t matched = 0;                  // lines that pass the filter, in the whole log
};

class AuditLog {
 public:
  // Opens (creates) the log for appending.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();

  // Writes {"time": <UTC ISO>, "event": event, "account": ..., "client": ..., "outcome":
  // outcome, ...fields}.
  Status Append(int64_t unix_time, std::string_view event, const Actor& actor, std::string_view outcome,
                const nlohmann::json& fields = nlohmann::json::object());

  // Append() at `when` for callers that carry on whatever happens: a failure to record is
  // logged (the event itself has happened), never returned.
  void Record(date::sys_seconds when, std::string_view event, const Actor& actor, std::string_view outcome,
              const nlohmann::json& fields = nlohmann::json::object());

  // The `limit` newest lines containing `filter` (case-insensitive; "" for all) after
  // skipping the `offset` newest of them. Reads the file once from the start, keeping at
  // most offset + limit lines; a last line still being written, or one that is not a JSON
  // object, is left out.
  Result<AuditPage> Read(int limit, int64_t offset, std::string_view filter) const;

 private:
  AuditLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  std::mutex mu_;
  int fd_;
  std::string path_;
};

}  // namespace keepsake::state
