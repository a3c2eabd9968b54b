// Backups on the configured storage and the storage browser's access to any storage:
// listings with their Backup Details, one backup's details, the USB drives.
#include <fmt/format.h>

#include "appliance/device_identity.h"
#include "archive/backup_name.h"
#include "base/log.h"
#include "base/utc_time.h"
#include "crypto/keystore.h"
#include "service/backup_service.h"

namespace keepsake::service {

BackupService::Judge BackupService::JudgeBy() {
  Judge judge;
  // A keystore that cannot be read gives no trust verdict rather than no listing; nor does
  // a missing device id or chain stop one (no backup is then said to be superseded).
  auto key = ports_.keys->PublicKey();
  if (key.ok()) judge.trusted = *key;
  if (judge.trusted) {
    // A list that cannot be read is said in the log, not taken for "nothing revoked" silently.
    auto list = crypto::LoadRevocations(options_.state_dir, *judge.trusted);
    if (list.ok()) {
      judge.revocations = std::move(*list);
    } else {
      log::warn("the revocation list cannot be read: {}", list.status().message());
    }
  }
  if (auto device = appliance::LoadDeviceIdentity(options_.state_dir); device.ok()) judge.device_id = device->device_id;
  if (auto last = appliance::LoadLastBackup(options_.state_dir); last.ok()) judge.last = *last;
  return judge;
}

void BackupService::NoteChain(BackupDetails& details, const Judge& judge) {
  const archive::BackupHeader& h = details.header;
  if (h.chain.sequence == 0 || judge.device_id.empty() || judge.device_id != h.device.device_id) return;
  if (judge.last.sequence > h.chain.sequence) details.newer_backup = judge.last;
}

BackupListing BackupService::ListingOf(storage::Backend& backend, std::string_view url, const storage::Entry& entry,
                                       const Judge& judge) {
  BackupListing item;
  item.entry = entry;
  auto details = integrity_memo_.Read(backend, url, entry.name, entry, judge.trusted, ports_.clock->Now());
  if (details.ok()) {
    // The header's own time, which its signature covers, not the name's, which anyone with
    // access to the storage can choose.
    item.created = *ParseUtc(details->header.created_at);
    NoteChain(*details, judge);
    NoteRevocation(*details, judge.revocations ? &*judge.revocations : nullptr);
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
  const Judge judge = JudgeBy();
  BackupList list;
  list.url = s.storage.url();
  for (const auto& e : entries) {
    if (e.is_dir || !archive::ParseBackupName(e.name)) continue;
    list.backups.push_back(ListingOf(*backend, list.url, e, judge));
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
  const Judge judge = JudgeBy();
  ASSIGN_OR_RETURN(BackupDetails details,
                   integrity_memo_.Read(backend, url, path, file, judge.trusted, ports_.clock->Now()));
  NoteChain(details, judge);
  return details;
}

std::vector<storage::UsbDrive> BackupService::UsbDrives() { return ports_.usb_drives(); }

Status BackupService::RescanUsb() { return ports_.rescan_usb(); }

}  // namespace keepsake::service
