// A backup file as a whole: downloaded, deleted, or uploaded for a restore on an appliance
// whose storage is not set up (disaster recovery onto a fresh appliance).
#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>

#include "archive/backup_name.h"
#include "base/log.h"
#include "service/backup_service.h"

namespace keepsake::service {

namespace fs = std::filesystem;

namespace {
// What the integrity memo calls the uploads directory (a storage of its own).
constexpr std::string_view kUploadsUrl = "uploads:";
}  // namespace

Result<BackupDownload> BackupService::OpenBackupFile(const std::string& name, const Requester& requester) {
  RETURN_IF_ERROR(archive::CheckBackupName(name));
  ASSIGN_OR_RETURN(auto backend, OpenConfigured(settings()));
  ASSIGN_OR_RETURN(storage::Entry entry, backend->Stat(name));
  if (entry.is_dir) return Status::InvalidArgument(fmt::format("\"{}\" is a directory", name));
  BackupDownload download;
  ASSIGN_OR_RETURN(download.reader, backend->NewReader(name));
  download.size = entry.size;
  Audit("backup.downloaded", requester.actor, "started", {{"file", name}, {"size", entry.size}});
  return download;
}

Status BackupService::DeleteBackup(const std::string& name, const Requester& requester) {
  RETURN_IF_ERROR(archive::CheckBackupName(name));
  {
    std::lock_guard lock(mu_);
    if (current_) return Busy();
  }
  // A job that starts meanwhile and wants this file fails cleanly: a restore verifies what
  // it reads before it changes anything.
  ASSIGN_OR_RETURN(auto backend, OpenConfigured(settings()));
  ASSIGN_OR_RETURN(storage::Entry entry, backend->Stat(name));
  if (entry.is_dir) return Status::InvalidArgument(fmt::format("\"{}\" is a directory", name));
  Status removed = backend->Remove(name);
  Audit("backup.deleted", requester.actor, removed.ok() ? "succeeded" : "failed",
        removed.ok() ? nlohmann::json{{"file", name}, {"size", entry.size}}
                     : nlohmann::json{{"file", name}, {"error", removed.message()}});
  return removed;
}

std::string BackupService::UploadDir() const { return options_.state_dir + "/uploads"; }

Status BackupService::PrepareUploads() {
  // Uploads are whole backups of the appliance: readable by the service alone, whatever
  // mode an older directory had.
  if ((::mkdir(UploadDir().c_str(), 0700) != 0 && errno != EEXIST) || ::chmod(UploadDir().c_str(), 0700) != 0) {
    return Status::IoError(
        fmt::format("{}: cannot create the upload directory (0700): {}", UploadDir(), strerror(errno)));
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(UploadDir(), ec)) {
    if (e.path().extension() == ".part") fs::remove(e.path(), ec);
  }
  return Status();
}

Result<std::unique_ptr<storage::Backend>> BackupService::OpenUploads() {
  return storage::OpenBackend("file://" + UploadDir());
}

Result<std::unique_ptr<storage::Backend>> BackupService::OpenRestoreSource(const RestoreJobOptions& options,
                                                                           const BackupSettings& settings) {
  if (options.from_upload) return OpenUploads();
  return OpenConfigured(settings);
}

Result<BackupListing> BackupService::AcceptUpload(const std::string& part, const std::string& name,
                                                  const Requester& requester) {
  RETURN_IF_ERROR(archive::CheckBackupName(name));
  if (fs::path(part).parent_path() != fs::path(UploadDir())) {
    return Status::Internal(fmt::format("{}: an upload outside {}", part, UploadDir()));
  }
  {
    std::lock_guard lock(mu_);  // a restore may be reading the upload this one replaces
    if (current_ && current_->kind == state::JobKind::kRestore) return Busy();
  }
  ASSIGN_OR_RETURN(auto uploads, OpenUploads());
  ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, uploads->List(""));
  for (const auto& e : entries) {  // one upload at a time: the one before goes
    if (!e.is_dir && archive::ParseBackupName(e.name)) RETURN_IF_ERROR(uploads->Remove(e.name));
  }
  std::error_code ec;
  fs::rename(part, fs::path(UploadDir()) / name, ec);
  if (ec) return Status::IoError(fmt::format("{}: cannot keep the upload: {}", name, ec.message()));
  ASSIGN_OR_RETURN(std::optional<BackupListing> listing, UploadedBackup());
  if (!listing) return Status::Internal("the upload vanished as it was kept");
  Audit("backup.uploaded", requester.actor, listing->details ? "succeeded" : "unreadable",
        {{"file", name}, {"size", listing->entry.size}, {"error", listing->error}});
  return std::move(*listing);
}

Result<std::optional<BackupListing>> BackupService::UploadedBackup() {
  ASSIGN_OR_RETURN(auto uploads, OpenUploads());
  ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, uploads->List(""));
  for (const auto& e : entries) {
    if (e.is_dir || !archive::ParseBackupName(e.name)) continue;
    return std::optional<BackupListing>(ListingOf(*uploads, kUploadsUrl, e, JudgeBy()));
  }
  return std::optional<BackupListing>();
}

Status BackupService::DiscardUpload(const Requester& requester) {
  {
    std::lock_guard lock(mu_);
    if (current_ && current_->kind == state::JobKind::kRestore) return Busy();
  }
  ASSIGN_OR_RETURN(std::optional<BackupListing> upload, UploadedBackup());
  if (!upload) return Status::NotFound("there is no uploaded backup");
  ASSIGN_OR_RETURN(auto uploads, OpenUploads());
  RETURN_IF_ERROR(uploads->Remove(upload->entry.name));
  Audit("backup.upload_discarded", requester.actor, "succeeded", {{"file", upload->entry.name}});
  return Status();
}

}  // namespace keepsake::service
