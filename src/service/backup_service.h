// BackupService: the daemon's heart. Runs one job at a time (a backup, manual or
// scheduled, or a restore), keeps the Backup Status, fires the Automated Backup Schedule,
// applies retention after each successful backup, and records every job in the history
// and every security-relevant event in the audit log.
//
// Thread-safe: the web layer calls it from many threads. GetStatus() only copies cached
// values under a short lock (the job's progress is atomic; storage readiness is refreshed
// in the background), so it stays fast while a backup saturates the CPU.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "archive/backup_file.h"
#include "base/secure_buffer.h"
#include "crypto/domain_keys.h"
#include "service/audit_log.h"
#include "service/backup_settings.h"
#include "service/clock.h"
#include "service/job_history.h"
#include "service/job_progress.h"
#include "service/readiness.h"
#include "service/state_db.h"

namespace keepsake::service {

struct ServiceOptions {
  std::string state_dir = "/var/lib/keepsake";        // keystore, state.db, audit.log
  std::string appliance_root = "/var/lib/appliance";  // what is backed up and restored
  archive::SealOptions seal;                          // compression and chunking
  crypto::KdfParams kdf;                              // for a DMS set through the API
  int job_nice = 10;  // CPU priority of job threads: the API stays responsive during a backup
  std::chrono::seconds readiness_interval{30};        // how often storage readiness is re-checked
};

struct RestoreJobOptions {
  std::string file;                     // backup file name on the configured storage
  std::vector<std::string> components;  // empty: all
  std::vector<std::string> keep;        // components left as they are
  bool dry_run = false;
  std::optional<SecureBuffer> dms;      // for a backup of another device's domain (fresh appliance)
};

class BackupService {
 public:
  // Opens the state database and audit log, completes or undoes an interrupted restore,
  // records jobs interrupted by a crash and removes leftover partial files on the storage.
  // Errors of the state directory as they come. The scheduler is not running yet:
  // StartScheduler() starts it once everything else the daemon needs is up, so that a
  // start that fails later never begins (and aborts) a scheduled or catch-up backup.
  static Result<std::unique_ptr<BackupService>> Open(ServiceOptions options, std::unique_ptr<Clock> clock);
  void StartScheduler();
  ~BackupService();

  // Aborts a running backup (its partial removed, history: "aborted: service stopped"),
  // lets a running restore finish (its journal covers a harder stop), stops the scheduler.
  // Idempotent.
  void Stop();

  // Starts a backup in the background and returns its history record. kFailedPrecondition
  // "a backup is already in progress" (or a restore), or naming every reason a backup
  // cannot be created now.
  Result<JobRecord> StartBackup(const std::string& trigger, const Actor& requester);
  // Starts a restore (or dry run) of a backup on the configured storage. As StartBackup;
  // kNotFound for a file that is not there, kInvalidArgument for a name that is not a
  // backup file name.
  Result<JobRecord> StartRestore(RestoreJobOptions options, const Actor& requester);

  nlohmann::json GetStatus();
  // Newest first; `kind` "backup" or "restore", "" for both.
  Result<std::vector<JobRecord>> History(int limit, const std::string& kind = "");
  std::string Metrics();

  BackupSettings settings();
  // Applies `change` to a copy of the settings, validates and stores it, then records
  // `event` in the audit log. Nothing changes when `change` or validation fails.
  Status ChangeSettings(const std::string& event, const Actor& actor,
                        const std::function<Status(BackupSettings&)>& change);
  // The schedule with the next `count` run times, for the preview (nothing is saved).
  Result<nlohmann::json> PreviewSchedule(const Schedule& schedule, int count);

  // {"set": false} or {"set": true, "fingerprint": "..."}.
  nlohmann::json DmsInfo();
  // Sets the DMS once. kAlreadyExists when set; kInvalidArgument for a DMS breaking a rule.
  Status SetDms(const SecureBuffer& dms, const SecureBuffer& confirmation, const Actor& actor);

  // Records a security-relevant event in the audit log (failures to record are logged).
  void Audit(std::string_view event, const Actor& actor, std::string_view outcome,
             const nlohmann::json& fields = nlohmann::json::object());

  // Backup files on the configured storage, newest first, each with its Backup Details
  // (the signed header; its signature checked). kFailedPrecondition without storage.
  Result<nlohmann::json> ListBackups();
  Result<nlohmann::json> BackupDetails(const std::string& name);
  // The Backup Details of file `path` of any storage (the storage browser's click).
  Result<nlohmann::json> FileDetails(storage::Backend& backend, std::string_view path);

 private:
  BackupService(ServiceOptions options, std::unique_ptr<Clock> clock);
  Status Init();
  Result<JobRecord> BeginJob(const std::string& kind, const std::string& trigger, const Actor& requester);
  void RunBackup(JobRecord job, Actor requester, BackupSettings settings);
  void RunRestore(JobRecord job, Actor requester, BackupSettings settings, RestoreJobOptions options);
  void FinishJob(JobRecord& job, const Actor& requester, const Status& status, int64_t started_ms);
  std::string ApplyRetention(storage::Backend& storage, const BackupSettings& settings,
                             const archive::DeviceIdentity& device, const std::string& keep_name);
  void SchedulerLoop();
  void RefreshReadiness();
  void RecomputeNextRun();
  int64_t NowUnix() const;

  const ServiceOptions options_;
  const std::unique_ptr<Clock> clock_;
  std::unique_ptr<StateDb> db_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<JobHistory> history_;
  std::unique_ptr<SettingsStore> store_;

  std::mutex settings_mu_;  // serialises settings changes (read-modify-write)

  std::mutex mu_;  // guards everything below
  std::condition_variable wake_;
  BackupSettings settings_;
  std::optional<JobRecord> current_;  // the running job
  std::optional<JobRecord> last_success_;
  std::optional<JobRecord> last_finished_;
  int64_t failures_total_ = 0;
  Readiness readiness_;
  bool readiness_stale_ = true;
  std::optional<date::sys_seconds> next_run_;
  bool stopping_ = false;

  JobProgress progress_;
  std::atomic<bool> cancel_{false};
  std::atomic<int64_t> writing_started_ms_{0};
  std::thread job_thread_;
  std::thread scheduler_thread_;
};

}  // namespace keepsake::service
