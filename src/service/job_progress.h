// Progress of the running job, written by the job's thread and read by status requests
// without a lock (atomics), so that GET /status never waits for the job.
#pragma once

#include <atomic>
#include <cstdint>

namespace keepsake::service {

enum class JobPhase : int {
  kIdle,
  kPreparing,   // recovering, snapshotting the database, scanning the components
  kWriting,     // tar -> zstd -> seal -> storage (backup); verifying/extracting (restore)
  kCommitting,  // syncing the file and renaming it to its final name
  kRetention,   // deleting old backups
  kApplying,    // restore: swapping the components in
};

struct JobProgress {
  std::atomic<JobPhase> phase{JobPhase::kIdle};
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<uint64_t> bytes_total{0};  // 0 while unknown

  void Reset() {
    phase = JobPhase::kIdle;
    bytes_done = 0;
    bytes_total = 0;
  }
};

}  // namespace keepsake::service
