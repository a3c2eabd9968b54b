#include "service/backup_service.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include "appliance/device_identity.h"
#include "appliance/restore.h"
#include "archive/backup_name.h"
#include "archive/sealed_reader.h"
#include "base/log.h"
#include "base/strings.h"
#include "crypto/keystore.h"
#include "service/backup_job.h"
#include "service/human_time.h"
#include "service/storage_browser.h"

namespace keepsake::service {
namespace {

const Actor kService{"keepsaked", ""};
const Actor kScheduler{"scheduler", ""};

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

date::sys_seconds FromUnix(int64_t t) { return date::sys_seconds(std::chrono::seconds(t)); }
int64_t ToUnix(date::sys_seconds t) { return t.time_since_epoch().count(); }

const date::time_zone* ZoneOrUtc(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {  // validated when saved; tzdata may have changed since
    return date::locate_zone("UTC");
  }
}

// Lowers the calling thread's CPU priority; threads it starts (zstd workers, pipeline
// stages) inherit it.
void LowerThreadPriority(int nice) {
  if (nice > 0) setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), nice);
}

}  // namespace

BackupService::BackupService(ServiceOptions options, std::unique_ptr<Clock> clock)
    : options_(std::move(options)), clock_(std::move(clock)) {}

BackupService::~BackupService() { Stop(); }

int64_t BackupService::NowUnix() const { return ToUnix(clock_->Now()); }

void BackupService::Audit(std::string_view event, const Actor& actor, std::string_view outcome,
                          const nlohmann::json& fields) {
  Status st = audit_->Append(NowUnix(), event, actor, outcome, fields);
  if (!st.ok()) log::error("audit log: {}", st.message());
}

Result<std::unique_ptr<BackupService>> BackupService::Open(ServiceOptions options, std::unique_ptr<Clock> clock) {
  std::unique_ptr<BackupService> service(new BackupService(std::move(options), std::move(clock)));
  RETURN_IF_ERROR(service->Init());
  return service;
}

void BackupService::StartScheduler() {
  std::lock_guard lock(mu_);
  if (stopping_ || scheduler_thread_.joinable()) return;
  scheduler_thread_ = std::thread([this] { SchedulerLoop(); });
}

Status BackupService::Init() {
  RETURN_IF_ERROR(crypto::EnsureStateDir(options_.state_dir));
  ASSIGN_OR_RETURN(db_, StateDb::Open(options_.state_dir + "/state.db"));
  ASSIGN_OR_RETURN(audit_, AuditLog::Open(options_.state_dir + "/audit.log"));
  history_ = std::make_unique<JobHistory>(*db_);
  store_ = std::make_unique<SettingsStore>(*db_);
  ASSIGN_OR_RETURN(settings_, store_->Load());

  // A restore cut short by a crash is completed or undone before anything else.
  auto recovered = appliance::RecoverInterruptedRestore(options_.appliance_root);
  if (!recovered.ok()) return std::move(recovered).status().WithContext("recovering an interrupted restore");
  if (!recovered->empty()) {
    log::warn("{}", *recovered);
    Audit("restore.recovered", kService, "done", {{"detail", *recovered}});
  }
  ASSIGN_OR_RETURN(int interrupted, history_->MarkInterrupted(NowUnix()));
  if (interrupted > 0) {
    log::warn("{} job(s) were interrupted by an unexpected stop; recorded in the history", interrupted);
    Audit("job.interrupted", kService, "interrupted", {{"jobs", interrupted}});
  }
  // A backup cut short by a crash left a partial file on the storage.
  if (settings_.storage.type != "none") {
    auto backend = storage::OpenBackend(settings_.storage.url());
    Status cleaned = backend.ok() ? storage::RemovePartials(**backend, "") : backend.status();
    if (!cleaned.ok()) log::warn("could not clean up partial backup files: {}", cleaned.message());
  }
  ASSIGN_OR_RETURN(last_success_, history_->LastSucceeded("backup"));
  ASSIGN_OR_RETURN(last_finished_, history_->LastFinished("backup"));
  ASSIGN_OR_RETURN(failures_total_, history_->CountFailed("backup"));
  ASSIGN_OR_RETURN(int64_t anchor, store_->ScheduleAnchor());
  if (anchor == 0) RETURN_IF_ERROR(store_->SetScheduleAnchor(NowUnix()));
  RefreshReadiness();
  RecomputeNextRun();
  return Status();
}

void BackupService::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    if (current_ && current_->kind == "backup") cancel_ = true;
  }
  wake_.notify_all();
  if (scheduler_thread_.joinable()) scheduler_thread_.join();
  if (job_thread_.joinable()) job_thread_.join();
}

Result<JobRecord> BackupService::BeginJob(const std::string& kind, const std::string& trigger,
                                          const Actor& requester) {
  // REQUIRES: mu_ held
  if (stopping_) return Status::Unavailable("the backup service is stopping");
  if (current_) {
    return Status::FailedPrecondition(current_->kind == "backup" ? "a backup is already in progress"
                                                                 : "a restore is in progress");
  }
  ASSIGN_OR_RETURN(int64_t id, history_->Start(kind, trigger, requester.account, NowUnix()));
  JobRecord job;
  job.id = id;
  job.kind = kind;
  job.trigger = trigger;
  job.requester = requester.account;
  job.started_at = NowUnix();
  job.result = "running";
  current_ = job;
  progress_.Reset();
  cancel_ = false;
  writing_started_ms_ = SteadyMs();
  // The previous job's thread has finished (current_ was empty); reap it.
  if (job_thread_.joinable()) job_thread_.join();
  return job;
}

Result<JobRecord> BackupService::StartBackup(const std::string& trigger, const Actor& requester) {
  BackupSettings settings = this->settings();
  // Checked fresh, not from the cache: the administrator may just have fixed something.
  Readiness ready = CheckReadiness(options_.state_dir, settings, 0);
  std::unique_lock lock(mu_);
  readiness_ = ready;
  if (current_) {
    return Status::FailedPrecondition(current_->kind == "backup" ? "a backup is already in progress"
                                                                 : "a restore is in progress");
  }
  if (!ready.blockers.empty()) {
    std::string reasons = fmt::format("{}", fmt::join(ready.blockers, " "));
    lock.unlock();
    Audit("backup.refused", requester, "refused", {{"trigger", trigger}, {"reason", reasons}});
    return Status::FailedPrecondition("A backup cannot be created now. " + reasons);
  }
  ASSIGN_OR_RETURN(JobRecord job, BeginJob("backup", trigger, requester));
  job_thread_ = std::thread([this, job, requester, settings] { RunBackup(job, requester, settings); });
  return job;
}

void BackupService::RunBackup(JobRecord job, Actor requester, BackupSettings settings) {
  LowerThreadPriority(options_.job_nice);
  Audit("backup.started", requester, "started", {{"job", job.id}, {"trigger", job.trigger}});
  int64_t started_ms = SteadyMs();
  BackupJobResult result;
  std::string retention_note;
  Status status = [&]() -> Status {
    ASSIGN_OR_RETURN(crypto::DomainKeys keys, crypto::LoadKeystore(options_.state_dir));
    ASSIGN_OR_RETURN(archive::DeviceIdentity device, appliance::LoadDeviceIdentity(options_.state_dir));
    ASSIGN_OR_RETURN(auto backend, storage::OpenBackend(settings.storage.url()));
    // One job runs at a time, so any partial file here was left by an earlier job that the
    // storage cut short (an NFS server or a USB drive gone mid-write): clean it up now.
    if (Status cleaned = storage::RemovePartials(*backend, ""); !cleaned.ok()) {
      log::warn("could not clean up partial backup files: {}", cleaned.message());
    }
    BackupJobRequest req;
    req.appliance_root = options_.appliance_root;
    req.device = device;
    req.keys = &keys;
    req.prefix = settings.prefix;
    req.now = job.started_at;
    req.seal = options_.seal;
    {
      std::lock_guard lock(mu_);
      if (last_success_ && last_success_->size) req.expected_size = last_success_->size;
    }
    auto done = RunBackupJob(req, *backend, progress_, cancel_);
    if (!done.ok()) return std::move(done).status();
    result = std::move(*done);
    if (!result.recovered.empty()) log::warn("{}", result.recovered);
    progress_.phase = JobPhase::kRetention;
    retention_note = ApplyRetention(*backend, settings, device, result.name);
    return Status();
  }();
  job.file = result.name;
  if (status.ok()) job.size = result.size;
  job.error = status.ok() ? retention_note : status.message();
  FinishJob(job, requester, status, started_ms);
}

void BackupService::FinishJob(JobRecord& job, const Actor& requester, const Status& status, int64_t started_ms) {
  job.ended_at = NowUnix();
  job.duration_ms = SteadyMs() - started_ms;
  if (status.ok()) {
    job.result = "succeeded";
  } else if (status.code() == ErrorCode::kCancelled) {
    job.result = "aborted";
    job.error = "aborted: service stopped";
  } else {
    job.result = "failed";
  }
  Status recorded = history_->Finish(job);
  if (!recorded.ok()) log::error("job history: {}", recorded.message());
  std::string event = job.kind + (status.ok() ? ".finished" : job.result == "aborted" ? ".aborted" : ".failed");
  nlohmann::json fields = {{"job", job.id}, {"file", job.file}, {"duration_ms", *job.duration_ms}};
  if (!status.ok()) fields["error"] = job.error;
  Audit(event, requester, job.result, fields);
  if (status.ok()) {
    log::info("{} {} {}: {} in {} ms", job.kind, job.id, job.result, job.file, *job.duration_ms);
  } else {
    log::warn("{} {} {}: {}", job.kind, job.id, job.result, job.error);
  }
  {
    std::lock_guard lock(mu_);
    if (job.kind == "backup") {
      last_finished_ = job;
      if (status.ok()) last_success_ = job;
      if (job.result == "failed") ++failures_total_;
    }
    current_.reset();
    progress_.Reset();
    readiness_stale_ = true;
  }
  wake_.notify_all();
}

std::string BackupService::ApplyRetention(storage::Backend& backend, const BackupSettings& settings,
                                          const archive::DeviceIdentity& device, const std::string& keep_name) {
  const RetentionPolicy& policy = settings.retention;
  if (policy.keep_last == 0 && policy.keep_daily == 0 && policy.keep_weekly == 0 && policy.keep_monthly == 0) return "";
  auto listing = backend.List("");
  if (!listing.ok()) return "retention not applied: " + listing.status().message();
  std::vector<std::string> names;
  for (const auto& e : *listing) {
    if (!e.is_dir) names.push_back(e.name);
  }
  auto candidates = RetentionCandidates(names, device.hostname, settings.prefix);
  std::vector<std::string> removed;
  std::vector<std::string> problems;
  for (const std::string& name : SelectForRemoval(candidates, policy, *ZoneOrUtc(settings.schedule.time_zone))) {
    if (name == keep_name) continue;
    // The name says this device; the signed header must say so too before a file goes.
    auto reader = backend.NewReader(name);
    if (!reader.ok()) {
      problems.push_back(reader.status().message());
      continue;
    }
    storage::ReaderSource source(std::move(*reader));
    auto sealed = archive::ReadSealedHeader(source);
    if (!sealed.ok() || sealed->header.device.device_id != device.device_id) {
      log::info("retention: keeping {}: not a backup of this device", name);
      continue;
    }
    Status st = backend.Remove(name);
    if (st.ok()) {
      removed.push_back(name);
    } else {
      problems.push_back(st.message());
    }
  }
  if (!removed.empty()) {
    Audit("retention.removed", kService, "done", {{"files", removed}});
    log::info("retention removed {} old backup(s)", removed.size());
  }
  if (!problems.empty()) return fmt::format("retention: {}", fmt::join(problems, "; "));
  return "";
}

Result<JobRecord> BackupService::StartRestore(RestoreJobOptions options, const Actor& requester) {
  if (options.file.find('/') != std::string::npos || !archive::ParseBackupName(options.file)) {
    return Status::InvalidArgument(fmt::format("\"{}\" is not a backup file name", options.file));
  }
  {
    std::lock_guard lock(mu_);
    if (current_) {
      return Status::FailedPrecondition(current_->kind == "backup" ? "a backup is already in progress"
                                                                   : "a restore is in progress");
    }
  }
  BackupSettings settings = this->settings();
  if (settings.storage.type == "none") {
    return Status::FailedPrecondition("No backup storage is configured: choose where backups are first.");
  }
  ASSIGN_OR_RETURN(auto backend, storage::OpenBackend(settings.storage.url()));
  RETURN_IF_ERROR(backend->Stat(options.file).status());
  std::unique_lock lock(mu_);
  ASSIGN_OR_RETURN(JobRecord job, BeginJob("restore", options.dry_run ? "dry-run" : "manual", requester));
  job.file = options.file;
  job_thread_ = std::thread([this, job, requester, settings,
                             opts = std::make_shared<RestoreJobOptions>(std::move(options))] {
    RunRestore(job, requester, settings, std::move(*opts));
  });
  return job;
}

void BackupService::RunRestore(JobRecord job, Actor requester, BackupSettings settings, RestoreJobOptions options) {
  LowerThreadPriority(options_.job_nice);
  Audit("restore.started", requester, "started", {{"job", job.id}, {"file", job.file}, {"dry_run", options.dry_run}});
  int64_t started_ms = SteadyMs();
  Status status = [&]() -> Status {
    ASSIGN_OR_RETURN(auto backend, storage::OpenBackend(settings.storage.url()));
    std::optional<crypto::DomainKeys> keys;
    if (crypto::KeystoreExists(options_.state_dir)) {
      ASSIGN_OR_RETURN(keys, crypto::LoadKeystore(options_.state_dir));
    }
    appliance::RestoreRequest req;
    req.root = options_.appliance_root;
    req.state_dir = options_.state_dir;
    req.components = options.components;
    req.keep = options.keep;
    req.dry_run = options.dry_run;
    req.device_keys = keys ? &*keys : nullptr;
    req.dms = options.dms ? &*options.dms : nullptr;
    storage::Backend* b = backend.get();
    appliance::BackupOpener open = [&]() -> Result<std::unique_ptr<ByteSource>> {
      ASSIGN_OR_RETURN(auto reader, b->NewReader(job.file));
      return std::unique_ptr<ByteSource>(new storage::ReaderSource(std::move(reader)));
    };
    progress_.phase = JobPhase::kWriting;
    ASSIGN_OR_RETURN(appliance::RestoreReport report, appliance::RestoreBackup(open, req));
    job.size = report.bytes;
    job.error = fmt::format("{} {} ({} files)", options.dry_run ? "would restore" : "restored",
                            fmt::join(report.components, ", "), report.files);
    return Status();
  }();
  if (!status.ok()) job.error = status.message();
  FinishJob(job, requester, status, started_ms);
}

BackupSettings BackupService::settings() {
  std::lock_guard lock(mu_);
  return settings_;
}

Status BackupService::ChangeSettings(const std::string& event, const Actor& actor,
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
  // A new schedule counts from now: saving it never triggers a backup for times before.
  if (next.schedule != before.schedule) {
    RETURN_IF_ERROR(store_->SetScheduleAnchor(NowUnix()));
  }
  {
    std::lock_guard lock(mu_);
    settings_ = next;
    readiness_stale_ = true;
  }
  Audit(event, actor, "changed");
  RecomputeNextRun();
  wake_.notify_all();
  return Status();
}

Result<nlohmann::json> BackupService::PreviewSchedule(const Schedule& schedule, int count) {
  ASSIGN_OR_RETURN(CompiledSchedule compiled, CompiledSchedule::Compile(schedule));
  nlohmann::json j = ScheduleToJson(schedule);
  nlohmann::json runs = nlohmann::json::array();
  const date::time_zone* zone = ZoneOrUtc(schedule.time_zone);
  for (date::sys_seconds t : compiled.NextRuns(clock_->Now(), count)) {
    runs.push_back({{"time", FormatUtcIso(t)}, {"local", FormatLocal(t, *zone)}, {"unix", ToUnix(t)}});
  }
  j["next_runs"] = runs;
  return j;
}

void BackupService::RecomputeNextRun() {
  BackupSettings s = settings();
  auto compiled = CompiledSchedule::Compile(s.schedule);
  auto anchor = store_->ScheduleAnchor();
  std::optional<date::sys_seconds> next;
  if (compiled.ok() && anchor.ok()) next = compiled->NextAfter(FromUnix(*anchor));
  std::lock_guard lock(mu_);
  next_run_ = next;
}

void BackupService::RefreshReadiness() {
  BackupSettings s = settings();
  uint64_t estimate = 0;
  {
    std::lock_guard lock(mu_);
    if (last_success_ && last_success_->size) estimate = *last_success_->size;
  }
  Readiness r = CheckReadiness(options_.state_dir, s, estimate);
  std::lock_guard lock(mu_);
  readiness_ = std::move(r);
  readiness_stale_ = false;
}

void BackupService::SchedulerLoop() {
  auto last_refresh = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    bool refresh = readiness_stale_ ||
                   std::chrono::steady_clock::now() - last_refresh >= options_.readiness_interval;
    if (refresh) {
      lock.unlock();
      RefreshReadiness();
      last_refresh = std::chrono::steady_clock::now();
      lock.lock();
      continue;
    }
    date::sys_seconds now = clock_->Now();
    if (next_run_ && *next_run_ <= now) {
      date::sys_seconds due = *next_run_;
      lock.unlock();
      // More than a minute late: the appliance was down (or busy) at the time; one
      // catch-up run stands for every run missed.
      std::string trigger = now - due > std::chrono::minutes(1) ? "catch-up" : "schedule";
      Status anchored = store_->SetScheduleAnchor(ToUnix(now));
      if (!anchored.ok()) log::error("schedule: {}", anchored.message());
      auto started = StartBackup(trigger, kScheduler);
      if (!started.ok() && started.status().code() == ErrorCode::kUnavailable) {  // stopping
        lock.lock();
        continue;
      }
      if (!started.ok()) {
        log::warn("scheduled backup due at {} not started: {}", FormatUtcIso(due), started.status().message());
        auto id = history_->Start("backup", trigger, kScheduler.account, ToUnix(now));
        if (id.ok()) {
          JobRecord job;
          job.id = *id;
          job.ended_at = ToUnix(now);
          job.duration_ms = 0;
          bool busy = started.status().message() == "a backup is already in progress" ||
                      started.status().message() == "a restore is in progress";
          job.result = busy ? "skipped" : "failed";
          job.error = started.status().message();
          (void)history_->Finish(job);
          std::lock_guard l(mu_);
          if (job.result == "failed") ++failures_total_;
        }
      }
      RecomputeNextRun();
      lock.lock();
      // Even if the anchor could not be stored (disk full), this run is handled: never spin.
      if (next_run_ && *next_run_ <= now) {
        auto compiled = CompiledSchedule::Compile(settings_.schedule);
        next_run_ = compiled.ok() ? compiled->NextAfter(now) : std::nullopt;
      }
      continue;
    }
    auto sleep = clock_->max_sleep();
    if (next_run_) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*next_run_ - now);
      sleep = std::min(sleep, std::max(until, std::chrono::milliseconds(1)));
    }
    wake_.wait_for(lock, sleep);
  }
}

nlohmann::json BackupService::GetStatus() {
  date::sys_seconds now = clock_->Now();
  std::unique_lock lock(mu_);
  nlohmann::json j;
  j["state"] = !current_ ? "NOT RUNNING" : current_->kind == "backup" ? "BACKUP IN PROGRESS" : "RESTORE IN PROGRESS";
  if (current_) {
    uint64_t done = progress_.bytes_done, total = progress_.bytes_total;
    nlohmann::json job = {{"id", current_->id},
                          {"kind", current_->kind},
                          {"trigger", current_->trigger},
                          {"started_at", FormatUtcIso(FromUnix(current_->started_at))},
                          {"phase", JobPhaseName(progress_.phase)},
                          {"bytes_done", done},
                          {"bytes_total", total}};
    job["percent"] = total ? nlohmann::json(std::min<uint64_t>(100, done * 100 / total)) : nlohmann::json(nullptr);
    int64_t elapsed_ms = SteadyMs() - writing_started_ms_;
    if (done > 0 && total > done && elapsed_ms > 0) {
      job["eta_seconds"] = static_cast<int64_t>(static_cast<double>(elapsed_ms) / done * (total - done) / 1000);
    } else {
      job["eta_seconds"] = nullptr;
    }
    j["job"] = job;
  } else {
    j["job"] = nullptr;
  }
  if (last_success_) {
    date::sys_seconds t = FromUnix(last_success_->ended_at.value_or(last_success_->started_at));
    j["last_successful_backup"] = {{"time", FormatUtcIso(t)},
                                   {"ago", HumanAgo(t, now)},
                                   {"file", last_success_->file},
                                   {"size", last_success_->size.value_or(0)}};
  } else {
    j["last_successful_backup"] = nullptr;
  }
  if (last_finished_ && last_finished_->result != "succeeded") {
    j["last_failure"] = {{"time", FormatUtcIso(FromUnix(last_finished_->ended_at.value_or(0)))},
                         {"error", last_finished_->error}};
  }
  std::vector<std::string> reasons = readiness_.blockers;
  if (settings_.schedule.kind == ScheduleKind::kNone) {
    reasons.insert(reasons.begin(), "No automated backup schedule is set.");
  }
  if (next_run_ && reasons.empty()) {
    const date::time_zone* zone = ZoneOrUtc(settings_.schedule.time_zone);
    j["next_scheduled_backup"] = {{"time", FormatUtcIso(*next_run_)},
                                  {"local", FormatLocal(*next_run_, *zone)},
                                  {"in", HumanIn(*next_run_, now)}};
  } else {
    j["next_scheduled_backup"] = nullptr;
    if (!next_run_ && reasons.empty()) reasons.push_back("The schedule has no future run time.");
  }
  j["schedule_disabled"] = !reasons.empty();
  j["schedule_disabled_reasons"] = reasons;
  j["backup_blockers"] = readiness_.blockers;
  nlohmann::json ready = ReadinessToJson(readiness_);
  j["warnings"] = ready["warnings"];
  j["storage"] = ready["storage"];
  return j;
}

Result<std::vector<JobRecord>> BackupService::History(int limit, const std::string& kind) {
  return history_->List(limit, kind);
}

std::string BackupService::Metrics() {
  std::lock_guard lock(mu_);
  std::string out;
  auto gauge = [&out](std::string_view name, std::string_view help, std::string_view type, double value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
  };
  gauge("keepsake_last_success_timestamp_seconds", "Unix time the last successful backup finished (0: never).",
        "gauge", last_success_ ? static_cast<double>(last_success_->ended_at.value_or(0)) : 0);
  gauge("keepsake_last_backup_duration_seconds", "Duration of the last successful backup.", "gauge",
        last_success_ ? last_success_->duration_ms.value_or(0) / 1000.0 : 0);
  gauge("keepsake_last_backup_size_bytes", "Size of the last successful backup file.", "gauge",
        last_success_ ? static_cast<double>(last_success_->size.value_or(0)) : 0);
  gauge("keepsake_backup_failures_total", "Backups that failed or were interrupted.", "counter",
        static_cast<double>(failures_total_));
  gauge("keepsake_backup_in_progress", "1 while a backup runs.", "gauge", current_ && current_->kind == "backup");
  gauge("keepsake_restore_in_progress", "1 while a restore runs.", "gauge", current_ && current_->kind == "restore");
  gauge("keepsake_schedule_disabled", "1 when no scheduled backup will run.", "gauge",
        !next_run_ || !readiness_.blockers.empty());
  return out;
}

nlohmann::json BackupService::DmsInfo() {
  if (!crypto::KeystoreExists(options_.state_dir)) return {{"set", false}};
  auto keys = crypto::LoadKeystore(options_.state_dir);
  if (!keys.ok()) return {{"set", true}, {"error", keys.status().message()}};
  return {{"set", true}, {"fingerprint", crypto::DomainFingerprint(keys->public_key)}};
}

Status BackupService::SetDms(const SecureBuffer& dms, const SecureBuffer& confirmation, const Actor& actor) {
  auto keys = crypto::CreateKeystore(options_.state_dir, dms, confirmation, options_.kdf);
  if (!keys.ok()) {
    Audit("dms.set", actor, "refused", {{"error", keys.status().message()}});
    return std::move(keys).status();
  }
  Audit("dms.set", actor, "done", {{"fingerprint", crypto::DomainFingerprint(keys->public_key)}});
  {
    std::lock_guard lock(mu_);
    readiness_stale_ = true;
  }
  wake_.notify_all();
  return Status();
}

Result<nlohmann::json> BackupService::ListBackups() {
  BackupSettings s = settings();
  if (s.storage.type == "none") return Status::FailedPrecondition("No backup storage is configured.");
  ASSIGN_OR_RETURN(auto backend, storage::OpenBackend(s.storage.url()));
  ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, backend->List(""));
  std::optional<crypto::DomainKeys> keys;
  if (auto loaded = crypto::LoadKeystore(options_.state_dir); loaded.ok()) keys = std::move(*loaded);
  std::vector<std::pair<std::time_t, nlohmann::json>> found;
  for (const auto& e : entries) {
    auto parsed = archive::ParseBackupName(e.name);
    if (e.is_dir || !parsed) continue;
    nlohmann::json item = {{"name", e.name}, {"size", e.size}, {"size_human", HumanBytes(e.size)},
                           {"created_at", FormatUtcIso(FromUnix(parsed->when))}};
    auto details = BackupFileDetails(*backend, e.name, keys);
    if (details.ok()) {
      item["details"] = *details;
    } else {
      item["details"] = nullptr;
      item["error"] = details.status().message();
    }
    found.emplace_back(parsed->when, std::move(item));
  }
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  nlohmann::json list = nlohmann::json::array();
  for (auto& [when, item] : found) list.push_back(std::move(item));
  return nlohmann::json{{"storage", s.storage.url()}, {"backups", list}};
}

Result<nlohmann::json> BackupService::BackupDetails(const std::string& name) {
  if (!archive::ParseBackupName(name)) {
    return Status::InvalidArgument(fmt::format("\"{}\" is not a backup file name", name));
  }
  BackupSettings s = settings();
  if (s.storage.type == "none") return Status::FailedPrecondition("No backup storage is configured.");
  ASSIGN_OR_RETURN(auto backend, storage::OpenBackend(s.storage.url()));
  return FileDetails(*backend, name);
}

Result<nlohmann::json> BackupService::FileDetails(storage::Backend& backend, std::string_view path) {
  std::optional<crypto::DomainKeys> keys;
  if (auto loaded = crypto::LoadKeystore(options_.state_dir); loaded.ok()) keys = std::move(*loaded);
  return BackupFileDetails(backend, path, keys);
}

}  // namespace keepsake::service
