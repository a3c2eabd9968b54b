// One job of the history, typed: what ran (a backup or a restore), why (the trigger), how it
// ended. The state layer stores it; the engine fills it; web/ turns it into the API's JSON.
#pragma once

#include <date/date.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keepsake::state {

enum class JobKind : uint8_t { kBackup, kRestore };
enum class JobTrigger : uint8_t {
  kManual,    // an administrator asked (API, CLI)
  kSchedule,  // the Automated Backup Schedule, on time
  kCatchUp,   // the schedule, late: one run for every run missed while the appliance was down
  kDryRun,    // a restore that only verifies
  kRollback,  // a "restore" of the last rollback point
};
enum class JobResult : uint8_t { kRunning, kSucceeded, kFailed, kAborted, kInterrupted, kSkipped };

// The tokens of the state database and the API ("backup", "catch-up", "succeeded", ...).
std::string_view JobKindName(JobKind kind);
std::string_view JobTriggerName(JobTrigger trigger);
std::string_view JobResultName(JobResult result);
std::optional<JobKind> ParseJobKind(std::string_view name);
std::optional<JobTrigger> ParseJobTrigger(std::string_view name);
std::optional<JobResult> ParseJobResult(std::string_view name);

struct JobRecord {
  int64_t id = 0;
  JobKind kind = JobKind::kBackup;
  JobTrigger trigger = JobTrigger::kManual;
  std::string requester;  // who asked: an account name, "scheduler"
  date::sys_seconds started_at{};
  std::optional<date::sys_seconds> ended_at;
  JobResult result = JobResult::kRunning;
  std::optional<uint64_t> size;  // bytes of the backup file (written, or restored from)
  std::string file;              // the backup file's name on the storage
  std::string error;             // why it did not succeed, as shown to the administrator
  std::string summary;           // what a job that succeeded did ("restored config, database")
  std::optional<int64_t> duration_ms;
};

}  // namespace keepsake::state
