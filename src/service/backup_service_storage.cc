// Backups on the configured storage and the storage browser's access to any storage:
// listings with their Backup Details, one backup's details, the USB drives.
#include <fmt/format.h>

#include "appliance/device_identity.h"
#include "archive/backup_name.h"
#include "base/utc_time.h"
#include "crypto/keystore.h"
#include "service/backup_service.h"

namespace keepsake::service {

std::optional<crypto::PublicKey> BackupService::TrustedPublicKey() {
  // A keystore that cannot be read gives no trust verdict rather than no listing.
  auto key = ports_.keys->PublicKey();
  return key.ok() ? *key : std::nullopt;
}

void BackupService::NoteChain(BackupDetails& details) {
  const archive::BackupHeader& h = details.header;
  if (h.chain.sequence == 0) return;
  auto device = appliance::LoadDeviceIdentity(options_.state_dir);
  if (!device.ok() || device->device_id != h.device.device_id) return;
  auto last = appliance::LoadLastBackup(options_.state_dir);
  if (last.ok() && last->sequence > h.chain.sequence) details.newer_backup = *last;
}

BackupListing BackupService::ListingOf(storage::Backend& backend, std::string_view url, const storage::Entry& entry,
                                       const std::optional<crypto::PublicKey>& trusted) {
  BackupListing item;
  item.entry = entry;
  auto details = integrity_memo_.Read(backend, url, entry.name, entry, trusted, ports_.clock->Now());
  if (details.ok()) {
    // The header's own time, which its signature covers, not the name's, which anyone with
    // access to the storage can choose.
    item.created = *ParseUtc(details->header.created_at);
    NoteChain(*details);
    item.details = std::move(*details);
  } else {
    if (auto parsed = archive::ParseBackupName(entry.name)) {
      item.created = date::sys_seconds(std::chrono::seconds(parsed->when));
    }
    item.error = details.status().message();
  }
  return item;
}

Result<BackupList> BackupService::ListBackups() {
  BackupSettings s = settings();
  ASSIGN_OR_RETURN(auto backend, OpenConfigured(s));
  ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, backend->List(""));
  std::optional<crypto::PublicKey> trusted = TrustedPublicKey();
  BackupList list;
  list.url = s.storage.url();
  for (const auto& e : entries) {
    if (e.is_dir || !archive::ParseBackupName(e.name)) continue;
    list.backups.push_back(ListingOf(*backend, list.url, e, trusted));
  }
  std::stable_sort(list.backups.begin(), list.backups.end(),
                   [](const BackupListing& a, const BackupListing& b) { return a.created > b.created; });
  return list;
}

Result<BackupDetails> BackupService::DetailsOf(const std::string& name) {
  RETURN_IF_ERROR(archive::CheckBackupName(name));
  BackupSettings s = settings();
  ASSIGN_OR_RETURN(auto backend, OpenConfigured(s));
  return FileDetails(*backend, s.storage.url(), name);
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

Result<BackupDetails> BackupService::FileDetails(storage::Backend& backend, std::string_view url,
                                                 std::string_view path) {
  RETURN_IF_ERROR(storage::CheckPath(path));
  ASSIGN_OR_RETURN(storage::Entry file, backend.Stat(path));
  ASSIGN_OR_RETURN(BackupDetails details,
                   integrity_memo_.Read(backend, url, path, file, TrustedPublicKey(), ports_.clock->Now()));
  NoteChain(details);
  return details;
}

std::vector<storage::UsbDrive> BackupService::UsbDrives() { return ports_.usb_drives(); }

Status BackupService::RescanUsb() { return ports_.rescan_usb(); }

}  // namespace keepsake::service
