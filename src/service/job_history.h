// The job history: one row per backup or restore, from start to result. Survives restarts
// (it lives in the state database); a job still "running" at start-up was interrupted by a
// crash or power cut and is recorded so. Thread-safe (StateDb is).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "service/state_db.h"

namespace keepsake::service {

struct JobRecord {
  int64_t id = 0;
  std::string kind;       // "backup" | "restore"
  std::string trigger;    // "manual" | "schedule" | "catch-up"
  std::string requester;  // who asked: an account name, "scheduler", "cli"
  int64_t started_at = 0;  // unix seconds
  std::optional<int64_t> ended_at;
  std::string result;     // "running" | "succeeded" | "failed" | "aborted" | "interrupted"
  std::optional<uint64_t> size;  // bytes of the backup file
  std::string file;       // the backup file's name on the storage
  std::string error;      // what went wrong, as shown to the administrator
  std::optional<int64_t> duration_ms;
};

nlohmann::json JobToJson(const JobRecord& job);

class JobHistory {
 public:
  explicit JobHistory(StateDb& db) : db_(db) {}

  // Records a job that starts now; returns its id.
  Result<int64_t> Start(const std::string& kind, const std::string& trigger, const std::string& requester,
                        int64_t started_at);
  // Records the outcome of job `done.id` (result, ended_at, size, file, error, duration_ms).
  Status Finish(const JobRecord& done);
  // Newest first; `kind` "" for every kind.
  Result<std::vector<JobRecord>> List(int limit, const std::string& kind = "");
  Result<std::optional<JobRecord>> LastSucceeded(const std::string& kind);
  Result<std::optional<JobRecord>> LastFinished(const std::string& kind);
  Result<int64_t> CountFailed(const std::string& kind);
  // Marks every job still "running" as interrupted at `now`; returns how many.
  Result<int> MarkInterrupted(int64_t now);

 private:
  Result<std::vector<JobRecord>> Select(const std::string& where, const std::vector<std::optional<std::string>>& params,
                                        int limit);
  StateDb& db_;
};

}  // namespace keepsake::service
