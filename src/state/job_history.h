// The job history: one row per backup or restore, from start to result. Survives restarts
// (it lives in the state database); a job still "running" at start-up was interrupted by a
// crash or power cut and is recorded so. Thread-safe (StateDb is).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "state/job_record.h"
#include "state/state_db.h"

namespace keepsake::state {

class JobHistory {
 public:
  explicit JobHistory(StateDb& db) : db_(db) {}

  // Records a job that starts now (result running); returns it with its id.
  Result<JobRecord> Start(JobKind kind, JobTrigger trigger, const std::string& requester, date::sys_seconds started_at);
  // Records the outcome of job `done.id` (result, ended_at, size, file, error, summary,
  // duration_ms).
  Status Finish(const JobRecord& done);
  // Newest first; every kind when `kind` is unset.
  Result<std::vector<JobRecord>> List(int limit, std::optional<JobKind> kind = std::nullopt);
  Result<std::optional<JobRecord>> LastSucceeded(JobKind kind);
  Result<std::optional<JobRecord>> LastFinished(JobKind kind);
  // Jobs of `kind` that failed or were interrupted.
  Result<int64_t> CountFailed(JobKind kind);
  // Marks every job still "running" as interrupted at `now`; returns how many.
  Result<int> MarkInterrupted(date::sys_seconds now);

 private:
  Result<std::vector<JobRecord>> Select(const std::string& where, const std::vector<std::optional<std::string>>& params,
                                        int limit);
  StateDb& db_;
};

}  // namespace keepsake::state
