// One backup, from the live appliance (or a given set of trees) to a new sealed file on a
// storage backend. The daemon's manual and scheduled backups and `keepsake backup` all run
// through RunBackupJob, so there is one way to make a backup.
//
// The file is written as a partial and renamed only after everything was sealed and
// synced: a failure or cancellation at any point leaves no file under a backup name and
// no partial either. Not thread-safe: one job per call; `progress` and `cancel` may be
// read and set from other threads.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "archive/backup_file.h"
#include "archive/header.h"
#include "archive/tree_scan.h"
#include "crypto/domain_keys.h"
#include "service/job_progress.h"
#include "storage/backend.h"

namespace keepsake::service {

struct BackupJobRequest {
  std::string appliance_root;                     // the appliance to back up...
  std::vector<archive::ComponentSource> sources;  // ...or these trees instead (when not empty)
  archive::DeviceIdentity device;                 // from LoadDeviceIdentity
  std::string state_dir;                          // where the device's backup chain is kept
                                                  // (appliance/backup_chain.h); "": no chain
  const crypto::DomainKeys* keys = nullptr;       // REQUIRES: not null
  std::string prefix;                             // validated file name prefix
  std::string dir;                                // directory on the storage, "" = its root
  int64_t now = 0;                                // unix seconds: the file name and created_at
  std::optional<uint64_t> expected_size;          // space needed (last backup's size); unset:
                                                  // the size of the input
  archive::SealOptions seal;
};

struct BackupJobResult {
  std::string name;  // file name on the storage (in `dir`)
  uint64_t size = 0;
  archive::BackupHeader header;
  std::string recovered;  // what recovery of an interrupted restore did first, "" if nothing
};

// kCancelled when `cancel` became true; kNoSpace ("Insufficient storage space: ..." before
// starting, or the storage filled up: the partial is removed); errors of the snapshot, the scan and the storage as they
// come.
Result<BackupJobResult> RunBackupJob(const BackupJobRequest& request, storage::Backend& storage, JobProgress& progress,
                                     const std::atomic<bool>& cancel);

}  // namespace keepsake::service
