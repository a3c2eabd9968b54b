// The jobs themselves, on the job thread: a backup (then retention) and a restore, and
// how each ends (history, audit log, status). Started by backup_service.cc.
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "appliance/device_identity.h"
#include "appliance/restore.h"
#include "base/log.h"
#include "crypto/keystore.h"
#include "service/backup_job.h"
#include "service/backup_service.h"
#include "service/retention_runner.h"

namespace keepsake::service {
namespace {

using state::JobKind;
using state::JobRecord;
using state::JobResult;

// Lowers the calling thread's CPU priority; threads it starts (zstd workers, pipeline
// stages) inherit it.
void LowerThreadPriority(int nice) {
  if (nice > 0) setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), nice);
}

// The bytes a restore has read of its backup file, for the progress of the status.
class CountingSource final : public ByteSource {
 public:
  CountingSource(std::unique_ptr<ByteSource> inner, std::atomic<uint64_t>& done)
      : inner_(std::move(inner)), done_(done) {
    done_ = 0;
  }
  Result<size_t> Read(std::span<std::byte> buf) override {
    ASSIGN_OR_RETURN(size_t n, inner_->Read(buf));
    done_.fetch_add(n, std::memory_order_relaxed);
    return n;
  }

 private:
  std::unique_ptr<ByteSource> inner_;
  std::atomic<uint64_t>& done_;
};

}  // namespace

void BackupService::RunBackup(JobRecord job, Requester requester, BackupSettings settings) {
  LowerThreadPriority(options_.job_nice);
  Audit("backup.started", requester.actor, "started",
        {{"job", job.id}, {"trigger", state::JobTriggerName(job.trigger)}});
  int64_t started_ms = SteadyMillis();
  BackupJobResult result;
  std::string retention_note;
  Status status = [&]() -> Status {
    ASSIGN_OR_RETURN(std::optional<crypto::DomainKeys> loaded, ports_.keys->Load());
    if (!loaded) return NoDmsSet();
    const crypto::DomainKeys& keys = *loaded;
    ASSIGN_OR_RETURN(archive::DeviceIdentity device, appliance::LoadDeviceIdentity(options_.state_dir));
    ASSIGN_OR_RETURN(auto backend, OpenConfigured(settings));
    // One job runs at a time, so any partial file here was left by an earlier job that the
    // storage cut short (an NFS server or a USB drive gone mid-write): clean it up now.
    if (Status cleaned = storage::RemovePartials(*backend, ""); !cleaned.ok()) {
      log::warn("could not clean up partial backup files: {}", cleaned.message());
    }
    BackupJobRequest req;
    req.appliance_root = options_.appliance_root;
    req.device = device;
    req.state_dir = options_.state_dir;
    req.keys = &keys;
    req.prefix = settings.prefix;
    req.now = job.started_at.time_since_epoch().count();
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
    retention_note = Retain(*backend, settings, device, result.name);
    return Status();
  }();
  job.file = result.name;
  if (status.ok()) {
    job.size = result.size;
    job.summary = retention_note;
  } else {
    job.error = status.message();
  }
  FinishJob(job, requester, status, started_ms);
}

void BackupService::FinishJob(JobRecord& job, const Requester& requester, const Status& status, int64_t started_ms) {
  job.ended_at = ports_.clock->Now();
  job.duration_ms = SteadyMillis() - started_ms;
  if (status.ok()) {
    job.result = JobResult::kSucceeded;
  } else if (status.code() == ErrorCode::kCancelled) {
    job.result = JobResult::kAborted;
    job.error = "aborted: service stopped";
  } else {
    job.result = JobResult::kFailed;
  }
  Status recorded = history_->Finish(job);
  if (!recorded.ok()) log::error("job history: {}", recorded.message());
  std::string_view kind = state::JobKindName(job.kind);
  std::string_view result = state::JobResultName(job.result);
  std::string event = fmt::format("{}.{}", kind, status.ok() ? "finished" : result == "aborted" ? "aborted" : "failed");
  nlohmann::json fields = {{"job", job.id}, {"file", job.file}, {"duration_ms", *job.duration_ms}};
  if (!status.ok()) fields["error"] = job.error;
  Audit(event, requester.actor, result, fields);
  if (status.ok()) {
    log::info("{} {} {}: {} in {} ms", kind, job.id, result, job.file, *job.duration_ms);
  } else {
    log::warn("{} {} {}: {}", kind, job.id, result, job.error);
  }
  {
    std::lock_guard lock(mu_);
    if (job.kind == JobKind::kBackup) {
      last_finished_ = job;
      if (status.ok()) last_success_ = job;
      if (job.result == JobResult::kFailed) ++failures_total_;
    }
    if (job.kind == JobKind::kRestore) rollback_point_measured_ = false;  // it made a new one
    current_.reset();
    progress_.Reset();
    readiness_stale_ = true;
  }
  wake_.notify_all();
}

std::string BackupService::Retain(storage::Backend& backend, const BackupSettings& settings,
                                  const archive::DeviceIdentity& device, const std::string& keep_name) {
  const Judge judge = JudgeBy();
  BackendRetentionStore store(backend, [&](const storage::Entry& file) -> Result<BackupDetails> {
    ASSIGN_OR_RETURN(BackupDetails details, integrity_memo_.Read(backend, settings.storage.url(), file.name, file,
                                                                 judge.trusted, ports_.clock->Now()));
    // A revoked device's backup is never counted as kept (nor deleted): as another domain's.
    NoteRevocation(details, judge.revocations ? &*judge.revocations : nullptr);
    return details;
  });
  RetentionOutcome outcome = ApplyRetention(store, settings.retention, ZoneOrUtc(settings.schedule.time_zone), device,
                                            settings.prefix, keep_name);
  if (!outcome.removed.empty()) {
    Audit("retention.removed", kServiceActor, "done", {{"files", outcome.removed}});
    log::info("retention removed {} old backup(s)", outcome.removed.size());
  }
  if (!outcome.problems.empty()) return fmt::format("retention: {}", fmt::join(outcome.problems, "; "));
  return "";
}

void BackupService::RunRestore(JobRecord job, Requester requester, BackupSettings settings, RestoreJobOptions options) {
  LowerThreadPriority(options_.job_nice);
  Audit("restore.started", requester.actor, "started",
        {{"job", job.id}, {"file", job.file}, {"dry_run", options.dry_run}});
  int64_t started_ms = SteadyMillis();
  Status status = [&]() -> Status {
    ASSIGN_OR_RETURN(auto backend, OpenRestoreSource(options, settings));
    ASSIGN_OR_RETURN(std::optional<crypto::DomainKeys> keys, ports_.keys->Load());
    appliance::RestoreRequest req;
    req.root = options_.appliance_root;
    req.state_dir = options_.state_dir;
    req.components = options.components;
    req.keep = options.keep;
    req.dry_run = options.dry_run;
    req.device_keys = keys ? &*keys : nullptr;
    req.dms = options.dms ? &*options.dms : nullptr;
    req.superseded = ports_.superseded_by_restore;
    req.on_applying = [this] { progress_.phase = JobPhase::kApplying; };
    ASSIGN_OR_RETURN(auto reader, backend->NewReader(job.file));
    CountingSource source(std::make_unique<storage::ReaderSource>(std::move(reader)), progress_.bytes_done);
    progress_.phase = JobPhase::kWriting;  // reading, verifying and unpacking to staging
    ASSIGN_OR_RETURN(appliance::RestoreReport report, appliance::RestoreBackup(source, req));
    job.summary = fmt::format("{} {} ({} files)", options.dry_run ? "would restore" : "restored",
                              fmt::join(report.components, ", "), report.files);
    if (options.from_upload && !options.dry_run) {
      // Restored: the upload (as large as the appliance's database) gives its space back.
      if (Status gone = backend->Remove(job.file); !gone.ok()) {
        log::warn("the uploaded backup could not be removed after the restore: {}", gone.message());
      }
    }
    return Status();
  }();
  if (!status.ok()) job.error = status.message();
  FinishJob(job, requester, status, started_ms);
}

void BackupService::RunRollback(JobRecord job, Requester requester) {
  LowerThreadPriority(options_.job_nice);
  Audit("rollback.started", requester.actor, "started", {{"job", job.id}});
  int64_t started_ms = SteadyMillis();
  progress_.phase = JobPhase::kApplying;
  auto done = appliance::RollbackToLastPoint(options_.appliance_root);
  if (done.ok()) {
    job.summary = *done;
  } else {
    job.error = done.status().message();
  }
  FinishJob(job, requester, done.status(), started_ms);
}

}  // namespace keepsake::service
