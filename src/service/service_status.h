// The Backup Status as typed values: what the engine knows, with no wording. web/ turns it
// into the API's JSON (and the Webconf's words); the CLI prints that JSON.
#pragma once

#include <date/tz.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "base/status.h"
#include "service/job_progress.h"
#include "state/job_record.h"
#include "storage/backend.h"

namespace keepsake::service {

enum class ServiceState : uint8_t { kIdle, kBackupRunning, kRestoreRunning };

// The running job and how far it has got.
struct RunningJob {
  state::JobRecord job;
  JobPhase phase = JobPhase::kIdle;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;            // 0 while unknown
  std::optional<int64_t> eta_seconds;  // once the pace is known
};

struct ServiceStatus {
  date::sys_seconds now{};
  ServiceState state = ServiceState::kIdle;
  std::optional<RunningJob> running;
  std::optional<state::JobRecord> last_success;  // the last backup that succeeded
  std::optional<state::JobRecord> last_failure;  // the last backup, when it did not succeed
  int64_t failures_total = 0;                    // backups that failed or were interrupted
  // The schedule: whether one is set, its zone, and its next run (whether or not a backup
  // could start then: see blockers).
  bool schedule_set = false;
  const date::time_zone* schedule_zone = nullptr;  // never null once filled
  std::optional<date::sys_seconds> next_run;
  // Every reason a backup cannot start now, as errors (code + message); empty: it can.
  std::vector<Status> blockers;
  // The configured storage, when it could be reached.
  std::optional<storage::Capacity> capacity;
  std::optional<storage::Access> access;
  // The appliance's own disk, and what the rollback point of the last restore holds of it
  // (0: none): the point keeps a whole replaced state until it is discarded.
  std::optional<storage::Capacity> appliance_disk;
  uint64_t rollback_point_bytes = 0;

  bool schedule_disabled() const { return !schedule_set || !next_run || !blockers.empty(); }
};

}  // namespace keepsake::service
