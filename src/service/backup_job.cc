#include "service/backup_job.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include "appliance/backup_chain.h"
#include "appliance/backup_plan.h"
#include "appliance/restore.h"
#include "archive/backup_name.h"
#include "base/log.h"
#include "base/strings.h"

namespace keepsake::service {
namespace {

// Passes bytes on until the job is cancelled; the pipeline then fails with kCancelled and
// unwinds, and the storage writer, never committed, removes its partial.
class CancellableSink final : public ByteSink {
 public:
  CancellableSink(ByteSink& next, const std::atomic<bool>& cancel) : next_(next), cancel_(cancel) {}
  Status Write(std::span<const std::byte> data) override {
    if (cancel_.load(std::memory_order_relaxed)) return Status::Cancelled("backup aborted: service stopped");
    return next_.Write(data);
  }
  Status Finish() override { return next_.Finish(); }

 private:
  ByteSink& next_;
  const std::atomic<bool>& cancel_;
};

// A fresh name: a second backup within the same second gets "-2", and so on.
Result<std::unique_ptr<storage::Writer>> CreateBackupFile(storage::Backend& backend, const BackupJobRequest& req,
                                                          std::string& name) {
  for (int seq = 1; seq < 100; ++seq) {
    name = archive::MakeBackupName(req.prefix, req.device.hostname, req.now, seq);
    auto writer = backend.NewWriter(storage::JoinPath(req.dir, name));
    if (writer.ok() || writer.status().code() != ErrorCode::kAlreadyExists) return writer;
  }
  return Status::AlreadyExists("too many backups named for the same second");
}

}  // namespace

Result<BackupJobResult> RunBackupJob(const BackupJobRequest& req, storage::Backend& storage, JobProgress& progress,
                                     const std::atomic<bool>& cancel) {
  KS_CHECK(req.keys != nullptr);
  RETURN_IF_ERROR(archive::ValidatePrefix(req.prefix));
  progress.phase = JobPhase::kPreparing;
  BackupJobResult result;
  archive::DeviceIdentity device = req.device;
  // The plan holds the database snapshot open until the backup is sealed.
  appliance::AppliancePlan plan;
  if (req.sources.empty()) {
    ASSIGN_OR_RETURN(result.recovered, appliance::RecoverInterruptedRestore(req.appliance_root));
    ASSIGN_OR_RETURN(plan, appliance::PlanApplianceBackup(req.appliance_root));
    appliance::FillApplianceIdentity(req.appliance_root, device);
  } else {
    plan.sources = req.sources;
  }
  ASSIGN_OR_RETURN(archive::TreeScan scan, archive::ScanSources(plan.sources));
  progress.bytes_total = scan.total_bytes;
  if (cancel) return Status::Cancelled("backup aborted: service stopped");
  // Fail before writing anything rather than after filling the storage.
  uint64_t needed = req.expected_size.value_or(scan.total_bytes);
  ASSIGN_OR_RETURN(storage::Capacity capacity, storage.GetCapacity());
  if (capacity.free < needed) {
    return Status::NoSpace(fmt::format("Insufficient storage space: {} needed, {} available", HumanBytes(needed),
                                       HumanBytes(capacity.free)));
  }

  std::string name;
  ASSIGN_OR_RETURN(auto writer, CreateBackupFile(storage, req, name));
  storage::WriterSink file_sink(*writer);
  CancellableSink sink(file_sink, cancel);
  archive::NewBackup backup{name, static_cast<std::time_t>(req.now), device, {}};
  if (!req.state_dir.empty()) {
    ASSIGN_OR_RETURN(appliance::ChainLink last, appliance::LoadLastBackup(req.state_dir));
    backup.chain = appliance::NextInChain(last);
  }
  progress.phase = JobPhase::kWriting;
  auto on_progress = [&progress, &cancel](uint64_t done) {
    progress.bytes_done.store(done, std::memory_order_relaxed);
    return !cancel.load(std::memory_order_relaxed);
  };
  auto sealed = archive::SealBackup(scan, backup, *req.keys, sink, req.seal, on_progress);
  if (cancel) return Status::Cancelled("backup aborted: service stopped");
  Status written = sealed.status();
  if (written.ok()) {
    result.header = sealed->header;
    progress.phase = JobPhase::kCommitting;
    written = writer->Commit();
  }
  if (written.code() == ErrorCode::kNoSpace) {
    writer.reset();  // removes the partial
    return Status::NoSpace(
        fmt::format("Insufficient storage space: the storage ran out of space during the "
                    "backup; the partial file was removed ({})",
                    written.message()));
  }
  RETURN_IF_ERROR(written);
  if (!req.state_dir.empty()) {
    // Committed: the next backup chains to this one. Not recording it is no reason to call
    // the backup failed; the next one then shares its number, which listings show.
    Status recorded = appliance::RecordBackup(
        req.state_dir, {result.header.chain.sequence, sealed->digest, result.header.created_at, name});
    if (!recorded.ok()) log::warn("the backup chain could not be recorded: {}", recorded.message());
  }
  ASSIGN_OR_RETURN(storage::Entry entry, storage.Stat(storage::JoinPath(req.dir, name)));
  result.name = name;
  result.size = entry.size;
  return result;
}

}  // namespace keepsake::service
