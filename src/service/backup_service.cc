#include "service/backup_service.h"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <cerrno>

#include "appliance/device_identity.h"
#include "appliance/restore.h"
#include "archive/backup_name.h"
#include "base/log.h"
#include "crypto/device_certificate.h"
#include "crypto/keystore.h"

namespace keepsake::service {
namespace {

using state::JobKind;
using state::JobRecord;
using state::JobResult;
using state::JobTrigger;

const Requester kScheduler{kSchedulerActor, false};

}  // namespace

BackupService::BackupService(ServiceOptions options, EnginePorts ports)
    : options_(std::move(options)), ports_(std::move(ports)) {
  if (!ports_.open_backend) ports_.open_backend = [](std::string_view url) { return storage::OpenBackend(url); };
  if (!ports_.usb_drives) ports_.usb_drives = [] { return std::vector<storage::UsbDrive>(); };
  if (!ports_.rescan_usb) ports_.rescan_usb = [] { return Status(); };
  if (!ports_.keys) ports_.keys = NewKeystoreKeySource(options_.state_dir, options_.kdf);
}

BackupService::~BackupService() { Stop(); }

void BackupService::Audit(std::string_view event, const state::Actor& actor, std::string_view outcome,
                          const nlohmann::json& fields) {
  ports_.audit->Record(ports_.clock->Now(), event, actor, outcome, fields);
}

Result<std::unique_ptr<BackupService>> BackupService::Open(ServiceOptions options, EnginePorts ports) {
  KS_CHECK(ports.clock != nullptr && ports.audit != nullptr);
  std::unique_ptr<BackupService> service(new BackupService(std::move(options), std::move(ports)));
  RETURN_IF_ERROR(service->Init());
  return service;
}

Status BackupService::Init() {
  RETURN_IF_ERROR(crypto::EnsureStateDir(options_.state_dir));
  ASSIGN_OR_RETURN(db_, state::StateDb::Open(options_.state_dir + "/state.db"));
  history_ = std::make_unique<state::JobHistory>(*db_);
  store_ = std::make_unique<SettingsStore>(*db_);
  ASSIGN_OR_RETURN(settings_, store_->Load());

  // A restore cut short by a crash is completed or undone before anything else.
  auto recovered = appliance::RecoverInterruptedRestore(options_.appliance_root);
  if (!recovered.ok()) return std::move(recovered).status().WithContext("recovering an interrupted restore");
  if (!recovered->empty()) {
    log::warn("{}", *recovered);
    Audit("restore.recovered", kServiceActor, "done", {{"detail", *recovered}});
  }
  ASSIGN_OR_RETURN(int interrupted, history_->MarkInterrupted(ports_.clock->Now()));
  if (interrupted > 0) {
    log::warn("{} job(s) were interrupted by an unexpected stop; recorded in the history", interrupted);
    Audit("job.interrupted", kServiceActor, "interrupted", {{"jobs", interrupted}});
  }
  RETURN_IF_ERROR(PrepareUploads());
  // A backup cut short by a crash left a partial file on the storage.
  if (settings_.storage.type != "none") {
    auto backend = OpenConfigured(settings_);
    Status cleaned = backend.ok() ? storage::RemovePartials(**backend, "") : backend.status();
    if (!cleaned.ok()) log::warn("could not clean up partial backup files: {}", cleaned.message());
  }
  ASSIGN_OR_RETURN(last_success_, history_->LastSucceeded(JobKind::kBackup));
  ASSIGN_OR_RETURN(last_finished_, history_->LastFinished(JobKind::kBackup));
  ASSIGN_OR_RETURN(failures_total_, history_->CountFailed(JobKind::kBackup));
  scheduler_ = std::make_unique<Scheduler>(*ports_.clock, *store_, static_cast<ScheduledJobs&>(*this));
  RETURN_IF_ERROR(scheduler_->Init(settings_.schedule));
  RefreshReadiness();
  monitor_thread_ = std::thread([this] { MonitorLoop(); });
  return Status();
}

void BackupService::StartScheduler() {
  std::lock_guard lock(mu_);
  if (!stopping_) scheduler_->Start();
}

void BackupService::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    if (current_ && current_->kind == JobKind::kBackup) cancel_ = true;
  }
  wake_.notify_all();
  if (scheduler_) scheduler_->Stop();
  if (monitor_thread_.joinable()) monitor_thread_.join();
  if (job_thread_.joinable()) job_thread_.join();
}

Status BackupService::Busy() const {
  return Status::FailedPrecondition(current_->kind == JobKind::kBackup ? "a backup is already in progress"
                                                                       : "a restore is in progress")
      .WithErrno(EBUSY);
}

Result<std::unique_ptr<storage::Backend>> BackupService::OpenConfigured(const BackupSettings& settings) {
  if (settings.storage.type == "none") return NoStorageConfigured();
  return ports_.open_backend(settings.storage.url());
}

Result<JobRecord> BackupService::BeginJob(JobKind kind, JobTrigger trigger, const Requester& requester) {
  // REQUIRES: mu_ held
  if (stopping_) return Status::Unavailable("the backup service is stopping").WithErrno(ECANCELED);
  if (current_) return Busy();
  ASSIGN_OR_RETURN(JobRecord job, history_->Start(kind, trigger, requester.actor.account, ports_.clock->Now()));
  current_ = job;
  progress_.Reset();
  cancel_ = false;
  writing_started_ms_ = SteadyMillis();
  // The previous job's thread has finished (current_ was empty); reap it.
  if (job_thread_.joinable()) job_thread_.join();
  return job;
}

Result<JobRecord> BackupService::StartBackup(const Requester& requester) {
  if (requester.otp_session) {
    return Status::FailedPrecondition(
        "Backups cannot be created while logged in as the Initial OTP User: log in with an OAuth user "
        "account and remove the OTP User.");
  }
  return StartBackupJob(JobTrigger::kManual, requester);
}

Result<JobRecord> BackupService::StartBackupJob(JobTrigger trigger, const Requester& requester) {
  BackupSettings settings = this->settings();
  {
    std::lock_guard lock(mu_);
    if (current_) return Busy();
  }
  // Checked fresh, not from the cache: the administrator may just have fixed something.
  // Space is checked by the job itself, against the last backup's size.
  Readiness ready = CheckReadiness(settings, ports_, 0);
  std::unique_lock lock(mu_);
  readiness_ = ready;
  if (!ready.blockers.empty()) {
    if (current_) return Busy();
    std::string reasons;
    for (const Status& b : ready.blockers) reasons += (reasons.empty() ? "" : " ") + b.message();
    lock.unlock();
    Audit("backup.refused", requester.actor, "refused",
          {{"trigger", state::JobTriggerName(trigger)}, {"reason", reasons}});
    return Status::FailedPrecondition("A backup cannot be created now. " + reasons);
  }
  ASSIGN_OR_RETURN(JobRecord job, BeginJob(JobKind::kBackup, trigger, requester));
  job_thread_ = std::thread([this, job, requester, settings] { RunBackup(job, requester, settings); });
  return job;
}

void BackupService::RunScheduledBackup(JobTrigger trigger, date::sys_seconds due) {
  auto started = StartBackupJob(trigger, kScheduler);
  if (started.ok() || started.status().sys_errno() == ECANCELED) return;  // running, or stopping
  const Status& why = started.status();
  log::warn("scheduled backup due at {} not started: {}", date::format("%FT%TZ", due), why.message());
  auto job = history_->Start(JobKind::kBackup, trigger, kScheduler.actor.account, ports_.clock->Now());
  if (!job.ok()) return;
  job->ended_at = job->started_at;
  job->duration_ms = 0;
  // Another job running is a skipped run, not a failure of the appliance.
  job->result = why.sys_errno() == EBUSY ? JobResult::kSkipped : JobResult::kFailed;
  job->error = why.message();
  (void)history_->Finish(*job);
  std::lock_guard lock(mu_);
  if (job->result == JobResult::kFailed) ++failures_total_;
}

Result<JobRecord> BackupService::StartRestore(RestoreJobOptions options, const Requester& requester) {
  RETURN_IF_ERROR(archive::CheckBackupName(options.file));
  {
    std::lock_guard lock(mu_);  // a busy service says so before the storage is asked
    if (current_) return Busy();
  }
  BackupSettings settings = this->settings();
  ASSIGN_OR_RETURN(auto backend, OpenRestoreSource(options, settings));
  ASSIGN_OR_RETURN(storage::Entry entry, backend->Stat(options.file));
  std::unique_lock lock(mu_);
  // Account changes are short (one password hash): let those under way finish first.
  wake_.wait(lock, [this] { return account_changes_ == 0 || stopping_; });
  ASSIGN_OR_RETURN(JobRecord job,
                   BeginJob(JobKind::kRestore, options.dry_run ? JobTrigger::kDryRun : JobTrigger::kManual, requester));
  job.file = options.file;
  job.size = entry.size;
  progress_.bytes_total = entry.size;
  job_thread_ =
      std::thread([this, job, requester, settings, opts = std::make_shared<RestoreJobOptions>(std::move(options))] {
        RunRestore(job, requester, settings, std::move(*opts));
      });
  return job;
}

Result<std::optional<appliance::RollbackPointInfo>> BackupService::RollbackPoint() {
  {
    std::lock_guard lock(mu_);  // a running restore is replacing it: there is nothing stable to show
    if (current_ && current_->kind == JobKind::kRestore) return Busy();
  }
  return appliance::DescribeRollbackPoint(options_.appliance_root);
}

Result<JobRecord> BackupService::StartRollback(const Requester& requester) {
  ASSIGN_OR_RETURN(std::optional<appliance::RollbackPointInfo> point, RollbackPoint());
  if (!point) return Status::NotFound("There is no rollback point: no restore has replaced this appliance's state.");
  std::unique_lock lock(mu_);
  wake_.wait(lock, [this] { return account_changes_ == 0 || stopping_; });
  ASSIGN_OR_RETURN(JobRecord job, BeginJob(JobKind::kRestore, JobTrigger::kRollback, requester));
  job_thread_ = std::thread([this, job, requester] { RunRollback(job, requester); });
  return job;
}

Status BackupService::DiscardRollbackPoint(const Requester& requester) {
  {
    std::lock_guard lock(mu_);
    if (current_ && current_->kind == JobKind::kRestore) return Busy();
  }
  // A restore that starts meanwhile and this contend for the appliance's work lock: the
  // second one is refused, naming the first.
  Status st = appliance::DiscardRollbackPoint(options_.appliance_root);
  Audit("rollback.discarded", requester.actor, st.ok() ? "done" : "refused",
        st.ok() ? nlohmann::json::object() : nlohmann::json{{"error", st.message()}});
  {
    std::lock_guard lock(mu_);  // its space is back: the status says so soon
    rollback_point_measured_ = false;
    readiness_stale_ = true;
  }
  wake_.notify_all();
  return st;
}

Status BackupService::WhileNoRestore(const std::function<Status()>& change) {
  {
    std::lock_guard lock(mu_);
    if (current_ && current_->kind == JobKind::kRestore) {
      return Status::FailedPrecondition("accounts cannot be changed while a restore is in progress").WithErrno(EBUSY);
    }
    ++account_changes_;
  }
  Status st = change();
  {
    std::lock_guard lock(mu_);
    --account_changes_;
  }
  wake_.notify_all();
  return st;
}

BackupSettings BackupService::settings() {
  std::lock_guard lock(mu_);
  return settings_;
}

Status BackupService::ChangeSettings(const std::string& event, const state::Actor& actor,
                                     const std::function<Status(BackupSettings&)>& change) {
  std::lock_guard serial(settings_mu_);
  BackupSettings next = settings();
  BackupSettings before = next;
  Status st = change(next);
  if (st.ok()) st = store_->Save(next);
  if (!st.ok()) {
    Audit(event, actor, "refused", {{"error", st.message()}});
    return st;
  }
  {
    std::lock_guard lock(mu_);
    settings_ = next;
    readiness_stale_ = true;
  }
  Audit(event, actor, "changed");
  // A new schedule counts from now: saving it never triggers a backup for times before.
  RETURN_IF_ERROR(scheduler_->SetSchedule(next.schedule, next.schedule != before.schedule));
  wake_.notify_all();
  return Status();
}

Status BackupService::ChangeStorage(const StorageSettings& storage, const state::Actor& actor) {
  if (storage.type != "none") {
    ASSIGN_OR_RETURN(auto backend, ports_.open_backend(storage.url()));
    ASSIGN_OR_RETURN(storage::Access access, backend->GetAccess(""));
    if (!access.can_write) {
      return Status::PermissionDenied(fmt::format("{}: the location is not writable", storage.url()));
    }
  }
  return ChangeSettings("storage.changed", actor, [&](BackupSettings& s) {
    s.storage = storage;
    return Status();
  });
}

Result<std::vector<date::sys_seconds>> BackupService::PreviewSchedule(const Schedule& schedule, int count) {
  ASSIGN_OR_RETURN(CompiledSchedule compiled, CompiledSchedule::Compile(schedule));
  return compiled.NextRuns(ports_.clock->Now(), count);
}

void BackupService::RefreshReadiness() {
  BackupSettings s = settings();
  uint64_t estimate = 0;
  {
    std::lock_guard lock(mu_);
    if (last_success_ && last_success_->size) estimate = *last_success_->size;
  }
  Readiness r = CheckReadiness(s, ports_, estimate);
  std::optional<storage::Capacity> disk;
  if (struct statvfs v{}; statvfs(options_.appliance_root.c_str(), &v) == 0) {
    disk = storage::Capacity{static_cast<uint64_t>(v.f_blocks) * v.f_frsize,
                             static_cast<uint64_t>(v.f_blocks - v.f_bfree) * v.f_frsize,
                             static_cast<uint64_t>(v.f_bavail) * v.f_frsize};
  }
  std::optional<uint64_t> point_bytes;
  bool measure = false;
  {
    std::lock_guard lock(mu_);  // a restore is replacing the point: keep what was known
    measure = !rollback_point_measured_ && !(current_ && current_->kind == JobKind::kRestore);
  }
  if (measure) {
    auto point = appliance::DescribeRollbackPoint(options_.appliance_root);
    if (point.ok()) point_bytes = *point ? (*point)->bytes : 0;
  }
  std::lock_guard lock(mu_);
  readiness_ = std::move(r);
  appliance_disk_ = disk;
  if (point_bytes) {
    rollback_point_bytes_ = *point_bytes;
    rollback_point_measured_ = true;
  }
  readiness_stale_ = false;
}

void BackupService::MonitorLoop() {
  std::unique_lock lock(mu_);
  auto last_refresh = std::chrono::steady_clock::now();
  while (!stopping_) {
    auto due = last_refresh + options_.readiness_interval;
    if (readiness_stale_ || std::chrono::steady_clock::now() >= due) {
      lock.unlock();
      RefreshReadiness();
      last_refresh = std::chrono::steady_clock::now();
      lock.lock();
      continue;
    }
    wake_.wait_until(lock, due);
  }
}

ServiceStatus BackupService::GetStatus() {
  ServiceStatus s;
  s.now = ports_.clock->Now();
  s.next_run = scheduler_->NextRun();
  std::lock_guard lock(mu_);
  s.state = !current_                            ? ServiceState::kIdle
            : current_->kind == JobKind::kBackup ? ServiceState::kBackupRunning
                                                 : ServiceState::kRestoreRunning;
  if (current_) {
    RunningJob running;
    running.job = *current_;
    running.phase = progress_.phase;
    running.bytes_done = progress_.bytes_done;
    running.bytes_total = progress_.bytes_total;
    int64_t elapsed_ms = SteadyMillis() - writing_started_ms_;
    uint64_t done = running.bytes_done, total = running.bytes_total;
    if (done > 0 && total > done && elapsed_ms > 0) {
      running.eta_seconds = static_cast<int64_t>(static_cast<double>(elapsed_ms) / done * (total - done) / 1000);
    }
    s.running = std::move(running);
  }
  s.last_success = last_success_;
  if (last_finished_ && last_finished_->result != JobResult::kSucceeded) s.last_failure = last_finished_;
  s.failures_total = failures_total_;
  s.schedule_set = settings_.schedule.kind != ScheduleKind::kNone;
  s.schedule_zone = &ZoneOrUtc(settings_.schedule.time_zone);
  s.blockers = readiness_.blockers;
  s.capacity = readiness_.capacity;
  s.access = readiness_.access;
  s.appliance_disk = appliance_disk_;
  s.rollback_point_bytes = rollback_point_bytes_;
  return s;
}

Result<std::vector<JobRecord>> BackupService::History(int limit, std::optional<JobKind> kind) {
  return history_->List(limit, kind);
}

DmsState BackupService::Dms() {
  auto keys = ports_.keys->Load();
  DmsState state;
  if (!keys.ok()) {
    state.set = true;
    state.error = keys.status().message();
    return state;
  }
  if (!*keys) return state;
  const crypto::DomainKeys& k = **keys;
  state.set = true;
  state.fingerprint = crypto::DomainFingerprint(k.public_key);
  if (k.device) state.device_key = crypto::DeviceFingerprint(k.device->certificate.device_public_key);
  state.restore_key_kept = k.device ? !k.box_secret_key.empty() : true;
  state.backup_format = k.device ? 2 : 1;
  return state;
}

Status BackupService::SetDms(const SecureBuffer& dms, const SecureBuffer& confirmation, bool keep_restore_key,
                             const state::Actor& actor) {
  auto keys = ports_.keys->Create(dms, confirmation, keep_restore_key);
  if (!keys.ok()) {
    Audit("dms.set", actor, "refused", {{"error", keys.status().message()}});
    return std::move(keys).status();
  }
  // Keeping the restore key is a trade-off an auditor must see: whoever copies this
  // appliance's disk can then open every backup of the domain.
  Audit("dms.set", actor, "done",
        {{"fingerprint", crypto::DomainFingerprint(keys->public_key)},
         {"restore_key", keep_restore_key ? "kept on this appliance" : "not kept (write-only appliance)"}});
  {
    std::lock_guard lock(mu_);
    readiness_stale_ = true;
  }
  wake_.notify_all();
  return Status();
}

}  // namespace keepsake::service
