// Backups on the configured storage and the storage browser's access to any storage:
// listings with their Backup Details, one backup's details, the USB drives.
#include <fmt/format.h>

#include "archive/backup_name.h"
#include "crypto/keystore.h"
#include "service/backup_service.h"

namespace keepsake::service {

std::optional<crypto::DomainKeys> BackupService::TrustedKeys() {
  // A keystore that cannot be read gives no trust verdict rather than no listing.
  auto keys = ports_.keys->Load();
  return keys.ok() ? std::move(*keys) : std::nullopt;
}

Result<BackupList> BackupService::ListBackups() {
  BackupSettings s = settings();
  ASSIGN_OR_RETURN(auto backend, OpenConfigured(s));
  ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, backend->List(""));
  std::optional<crypto::DomainKeys> trusted = TrustedKeys();
  BackupList list;
  list.url = s.storage.url();
  for (const auto& e : entries) {
    auto parsed = archive::ParseBackupName(e.name);
    if (e.is_dir || !parsed) continue;
    BackupListing item;
    item.entry = e;
    item.created = date::sys_seconds(std::chrono::seconds(parsed->when));
    auto details = ReadBackupDetails(*backend, e.name, trusted);
    if (details.ok()) {
      item.details = std::move(*details);
    } else {
      item.error = details.status().message();
    }
    list.backups.push_back(std::move(item));
  }
  std::stable_sort(list.backups.begin(), list.backups.end(),
                   [](const BackupListing& a, const BackupListing& b) { return a.created > b.created; });
  return list;
}

Result<BackupDetails> BackupService::DetailsOf(const std::string& name) {
  RETURN_IF_ERROR(archive::CheckBackupName(name));
  ASSIGN_OR_RETURN(auto backend, OpenConfigured(settings()));
  return FileDetails(*backend, name);
}

Result<OpenedStorage> BackupService::OpenStorage(std::string_view url, std::string_view path) {
  OpenedStorage opened;
  std::string wanted(url);
  if (wanted.empty()) {
    wanted = settings().storage.url();
    if (wanted.empty()) {
      return Status::FailedPrecondition("No backup storage is configured: give the storage to browse as ?url=");
    }
  }
  ASSIGN_OR_RETURN(opened.url, storage::NormalizeStorageUrl(wanted));
  RETURN_IF_ERROR(storage::CheckPath(path));
  opened.path = path;
  ASSIGN_OR_RETURN(opened.backend, ports_.open_backend(opened.url));
  return opened;
}

Result<BackupDetails> BackupService::FileDetails(storage::Backend& backend, std::string_view path) {
  return ReadBackupDetails(backend, path, TrustedKeys());
}

std::vector<storage::UsbDrive> BackupService::UsbDrives() { return ports_.usb_drives(); }

Status BackupService::RescanUsb() { return ports_.rescan_usb(); }

}  // namespace keepsake::service
