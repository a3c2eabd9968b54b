// BackupService: the backup engine. Runs one job at a time (a backup, manual or scheduled,
// or a restore), keeps the Backup Status, applies retention after each successful backup,
// and records every job in the history and every security-relevant event in the audit log.
// It returns typed values (service_status.h, storage_browser.h, state/job_record.h); web/
// turns them into JSON and words. The scheduler (scheduler.h) keeps time and calls back in
// through ScheduledJobs; retention (retention_runner.h) sees only a narrow store.
//
// Thread-safe: the web layer calls it from many threads. GetStatus() only copies cached
// values under a short lock (the job's progress is atomic; storage readiness is refreshed
// in the background), so it stays fast while a backup saturates the CPU.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "archive/backup_file.h"
#include "base/secure_buffer.h"
#include "crypto/domain_keys.h"
#include "service/backup_settings.h"
#include "service/engine_ports.h"
#include "service/integrity_memo.h"
#include "service/job_progress.h"
#include "service/readiness.h"
#include "service/scheduler.h"
#include "service/service_status.h"
#include "service/storage_browser.h"
#include "state/audit_log.h"
#include "state/job_history.h"
#include "state/state_db.h"

namespace keepsake::service {

// Who the service itself is in the audit log and the history.
inline const state::Actor kServiceActor{"keepsaked", ""};
inline const state::Actor kSchedulerActor{"scheduler", ""};

struct ServiceOptions {
  std::string state_dir = "/var/lib/keepsake";        // keystore, state.db
  std::string appliance_root = "/var/lib/appliance";  // what is backed up and restored
  archive::SealOptions seal;                          // compression and chunking
  crypto::KdfParams kdf;                              // for a DMS set through the API
  int job_nice = 10;                            // CPU priority of job threads: the API stays responsive during a backup
  std::chrono::seconds readiness_interval{30};  // how often storage readiness is re-checked
};

// Who asks for a job, and how they are logged in.
struct Requester {
  state::Actor actor;
  bool otp_session = false;  // logged in as the Initial OTP User: backups are refused
};

struct RestoreJobOptions {
  std::string file;                     // backup file name on the configured storage
  std::vector<std::string> components;  // empty: all
  std::vector<std::string> keep;        // components left as they are
  bool dry_run = false;
  std::optional<SecureBuffer> dms;  // for a backup of another device's domain (fresh appliance)
  bool from_upload = false;         // `file` is the uploaded backup (UploadedBackup), not on the storage
};

struct DmsState {
  bool set = false;
  std::string fingerprint;        // of the domain, when set and readable
  std::string error;              // why the keystore could not be read, when set but unreadable
  std::string device_key;         // fingerprint of this appliance's certified signing key (format v2)
  bool restore_key_kept = false;  // restores here need no DMS (opted in when the DMS was set)
  int backup_format = 0;          // what this appliance writes: 2, or 1 for a keystore made before v2
};

// One backup file on the configured storage, with its Backup Details or why they could not
// be read.
struct BackupListing {
  storage::Entry entry;
  date::sys_seconds created{};  // from the header; from the file name when it cannot be read
  std::optional<BackupDetails> details;
  std::string error;
};

struct BackupList {
  std::string url;
  std::vector<BackupListing> backups;  // newest first
};

// A backup file opened to be downloaded as it is.
struct BackupDownload {
  std::unique_ptr<storage::Reader> reader;
  uint64_t size = 0;
};

// A storage opened for the browser: ?url= or the configured one, and a checked path in it.
struct OpenedStorage {
  std::string url;
  std::unique_ptr<storage::Backend> backend;
  std::string path;
};

class BackupService final : private ScheduledJobs {
 public:
  // Opens the state database, completes or undoes an interrupted restore, records jobs
  // interrupted by a crash and removes leftover partial files on the storage. Errors of the
  // state directory as they come. The scheduler is not running yet: StartScheduler() starts
  // it once everything else the daemon needs is up, so that a start that fails later never
  // begins (and aborts) a scheduled or catch-up backup.
  static Result<std::unique_ptr<BackupService>> Open(ServiceOptions options, EnginePorts ports);
  void StartScheduler();
  ~BackupService() override;

  // Aborts a running backup (its partial removed, history: "aborted: service stopped"),
  // lets a running restore finish (its journal covers a harder stop), stops the scheduler.
  // Idempotent.
  void Stop();

  // Starts a manual backup in the background and returns its history record.
  // kFailedPrecondition for an OTP session, when a job runs (sys_errno EBUSY), or naming
  // every reason a backup cannot be created now.
  Result<state::JobRecord> StartBackup(const Requester& requester);
  // Starts a restore (or dry run) of a backup on the configured storage. As StartBackup;
  // kNotFound for a file that is not there, kInvalidArgument for a name that is not a
  // backup file name.
  Result<state::JobRecord> StartRestore(RestoreJobOptions options, const Requester& requester);

  // The last rollback point (the state the last restore replaced), nullopt when none.
  Result<std::optional<appliance::RollbackPointInfo>> RollbackPoint();
  // Swaps the last rollback point back in, as a job (kind restore, trigger rollback); the
  // state it displaces becomes the new rollback point. kNotFound without one; as StartRestore.
  Result<state::JobRecord> StartRollback(const Requester& requester);
  // Deletes the last rollback point. kNotFound without one; kFailedPrecondition (EBUSY)
  // while a restore or rollback runs.
  Status DiscardRollbackPoint(const Requester& requester);

  ServiceStatus GetStatus();
  // Newest first; every kind when `kind` is unset.
  Result<std::vector<state::JobRecord>> History(int limit, std::optional<state::JobKind> kind = std::nullopt);

  BackupSettings settings();
  // Applies `change` to a copy of the settings, validates and stores it, then records
  // `event` in the audit log. Nothing changes when `change` or validation fails.
  Status ChangeSettings(const std::string& event, const state::Actor& actor,
                        const std::function<Status(BackupSettings&)>& change);
  // "Use This Location": saved only when backups can go there now (reachable and writable).
  Status ChangeStorage(const StorageSettings& storage, const state::Actor& actor);
  // The next `count` run times of `schedule` from now (nothing is saved).
  Result<std::vector<date::sys_seconds>> PreviewSchedule(const Schedule& schedule, int count);

  DmsState Dms();
  // Sets the DMS once. kAlreadyExists when set; kInvalidArgument for a DMS breaking a rule.
  Status SetDms(const SecureBuffer& dms, const SecureBuffer& confirmation, bool keep_restore_key,
                const state::Actor& actor);

  // Backup files on the configured storage, newest first, each with its Backup Details.
  // kFailedPrecondition without storage.
  Result<BackupList> ListBackups();
  Result<BackupDetails> DetailsOf(const std::string& name);
  // The storage to browse: `url`, or the configured one when empty; `path` checked.
  Result<OpenedStorage> OpenStorage(std::string_view url, std::string_view path);
  // The Backup Details of file `path` of any storage at `url` (the storage browser's click),
  // the whole file read unless its integrity verdict is remembered.
  Result<BackupDetails> FileDetails(storage::Backend& backend, std::string_view url, std::string_view path);
  // Opens backup file `name` of the configured storage to be downloaded; audited
  // (backup.downloaded). kInvalidArgument for a name that is not a backup file name.
  Result<BackupDownload> OpenBackupFile(const std::string& name, const Requester& requester);
  // Deletes backup file `name` of the configured storage; audited (backup.deleted).
  // kFailedPrecondition (EBUSY) while a job runs: a backup's retention or a restore may use it.
  Status DeleteBackup(const std::string& name, const Requester& requester);

  // A backup uploaded through the browser, for an appliance whose storage is not set up (a
  // fresh one in disaster recovery). One at a time, in <state_dir>/uploads: AcceptUpload
  // moves the file the server streamed to disk (`part`, on the same filesystem) there as
  // `name`, replacing the one before, and reads its Backup Details (or why they cannot be
  // read: another domain's backup needs its DMS, a damaged file is said to be damaged).
  // kInvalidArgument for a name that is not a backup file name; EBUSY while a restore runs.
  Result<BackupListing> AcceptUpload(const std::string& part, const std::string& name, const Requester& requester);
  Result<std::optional<BackupListing>> UploadedBackup();
  Status DiscardUpload(const Requester& requester);
  // Where the server streams uploads (<state_dir>/uploads, 0700, made at start).
  std::string UploadDir() const;

  // The USB drives attached now (as the last scan found them), and a scan now.
  std::vector<storage::UsbDrive> UsbDrives();
  Status RescanUsb();

  // Runs `change` (an account change) while no restore runs or starts: a restore may swap
  // the accounts in, and a change made meanwhile would be lost. kFailedPrecondition (EBUSY)
  // while a restore runs.
  Status WhileNoRestore(const std::function<Status()>& change);

 private:
  BackupService(ServiceOptions options, EnginePorts ports);
  Status Init();
  void Audit(std::string_view event, const state::Actor& actor, std::string_view outcome,
             const nlohmann::json& fields = nlohmann::json::object());
  Status Busy() const;  // REQUIRES: mu_ held, current_ set
  Result<state::JobRecord> StartBackupJob(state::JobTrigger trigger, const Requester& requester);
  Result<state::JobRecord> BeginJob(state::JobKind kind, state::JobTrigger trigger, const Requester& requester);
  void RunScheduledBackup(state::JobTrigger trigger, date::sys_seconds due) override;
  void RunBackup(state::JobRecord job, Requester requester, BackupSettings settings);
  void RunRestore(state::JobRecord job, Requester requester, BackupSettings settings, RestoreJobOptions options);
  void RunRollback(state::JobRecord job, Requester requester);
  void FinishJob(state::JobRecord& job, const Requester& requester, const Status& status, int64_t started_ms);
  std::string Retain(storage::Backend& storage, const BackupSettings& settings, const archive::DeviceIdentity& device,
                     const std::string& keep_name);
  Result<std::unique_ptr<storage::Backend>> OpenConfigured(const BackupSettings& settings);
  Result<std::unique_ptr<storage::Backend>> OpenUploads();
  // At start: the upload directory exists (0700) and holds no part of an upload cut short.
  Status PrepareUploads();
  // The storage a restore reads: the configured one or the uploads.
  Result<std::unique_ptr<storage::Backend>> OpenRestoreSource(const RestoreJobOptions& options,
                                                              const BackupSettings& settings);
  // What backups are judged by, read once per listing: the domain's public key (none when
  // it cannot be had), this device's id and the last backup it made.
  struct Judge {
    std::optional<crypto::PublicKey> trusted;
    std::optional<crypto::RevocationList> revocations;
    std::string device_id;
    appliance::ChainLink last;
  };
  Judge JudgeBy();
  // Sets details.newer_backup when this device made a later backup than this one.
  static void NoteChain(BackupDetails& details, const Judge& judge);
  // One backup file of a listing: its details (integrity remembered) or why they cannot be
  // read, dated by its header.
  BackupListing ListingOf(storage::Backend& backend, std::string_view url, const storage::Entry& entry,
                          const Judge& judge);
  void MonitorLoop();  // keeps readiness_ fresh: every readiness_interval, or when stale
  void RefreshReadiness();

  const ServiceOptions options_;
  EnginePorts ports_;
  std::unique_ptr<state::StateDb> db_;
  std::unique_ptr<state::JobHistory> history_;
  std::unique_ptr<SettingsStore> store_;
  std::unique_ptr<Scheduler> scheduler_;

  std::mutex settings_mu_;  // serialises settings changes (read-modify-write)

  std::mutex mu_;  // guards everything below
  std::condition_variable wake_;
  BackupSettings settings_;
  std::optional<state::JobRecord> current_;  // the running job
  std::optional<state::JobRecord> last_success_;
  std::optional<state::JobRecord> last_finished_;
  int64_t failures_total_ = 0;
  int account_changes_ = 0;  // WhileNoRestore calls running
  Readiness readiness_;
  std::optional<storage::Capacity> appliance_disk_;  // refreshed with readiness_
  // The rollback point's size: measured (a walk of its tree) only at start and after a
  // restore, rollback or discard, the only things that change it.
  uint64_t rollback_point_bytes_ = 0;
  bool rollback_point_measured_ = false;
  bool readiness_stale_ = true;
  bool stopping_ = false;

  IntegrityMemo integrity_memo_;
  JobProgress progress_;
  std::atomic<bool> cancel_{false};
  std::atomic<int64_t> writing_started_ms_{0};
  std::thread job_thread_;
  std::thread monitor_thread_;
};

}  // namespace keepsake::service
