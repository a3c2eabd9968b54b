// The storage browser of the Backup Settings, as typed values: one directory of a storage
// at a time (directories to go down into, backup files to click for their Backup Details,
// the way one level up), and the storage information the administrator decides on
// (permission, space). Every path is relative to the storage root and checked by
// storage::CheckPath, so nothing above the root can be named; symlinks out of the root are
// refused by the backends. web/ words and serialises these. Thread-safe (no shared state).
#pragma once

#include <date/date.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/backup_chain.h"
#include "archive/header.h"
#include "archive/sealed_reader.h"
#include "crypto/domain_keys.h"
#include "crypto/revocation.h"
#include "storage/backend.h"

namespace keepsake::service {

struct StorageInfo {
  std::string url;
  std::string path;  // "" for the root
  storage::Access access;
  storage::Capacity capacity;
};

struct StorageListing {
  StorageInfo info;
  std::optional<std::string> parent;    // one level up; nullopt at the root
  std::vector<storage::Entry> entries;  // directories first; no partial files
};

// Permission and space of directory `dir` of `backend` at `url`.
Result<StorageInfo> ReadStorageInfo(storage::Backend& backend, std::string_view url, std::string_view dir);

// Directory `dir`, names containing `filter` (case-insensitive) only. Directories come
// first; files being written (".<name>.partial") are not shown.
Result<StorageListing> BrowseStorage(storage::Backend& backend, std::string_view url, std::string_view dir,
                                     std::string_view filter);

// Whose domain a backup belongs to, as far as this appliance can tell.
enum class DomainTrust : uint8_t {
  kThisDomain,     // signed by this appliance's domain key (v2: by a device key it certified)
  kOtherDomain,    // self-consistent, signed by another domain's key
  kUnknown,        // this appliance has no Domain Master Secret to compare with
  kRevokedSigner,  // this domain's, but signed by a device key the domain revoked for its time
};

// Whether the whole file is what its signer wrote (archive::CheckIntegrity: trailer
// signature and whole-file hash, no secret needed), and when that was found.
struct IntegrityVerdict {
  bool intact = false;
  std::string damage;  // why not, when not intact
  date::sys_seconds checked_at{};
};

// The Backup Details of a backup file: its signed header, after the signature was checked,
// and the verdict on the rest of the file.
struct BackupDetails {
  archive::BackupHeader header;
  DomainTrust trust = DomainTrust::kUnknown;
  std::string trust_note;  // kRevokedSigner: which device, from when
  IntegrityVerdict integrity;
  // A backup this appliance made that is older than the last one it made: that last one
  // (a restore of it goes back further than the administrator may think; a copy of it under
  // a newer name is a replay). Set by the service, which knows the device's chain.
  std::optional<appliance::ChainLink> newer_backup;
};

// A verdict already known for a header (a memo of earlier checks), or nullopt to read the
// body now.
using KnownIntegrity = std::function<std::optional<IntegrityVerdict>(const archive::SealedHeader&)>;

// Reads the backup at `source` once: the header (kCorruption / kNotSupported when it is not
// a valid, authentic Keepsake header: nothing then can be shown), the domain verdict against
// `public_key` (this appliance's domain, if it has one), and, unless `known` has it, the
// body's integrity, as checked at `now`. A damaged body is a verdict, not an error.
Result<BackupDetails> ReadBackupDetails(ByteSource& source, const std::optional<crypto::PublicKey>& public_key,
                                        date::sys_seconds now, const KnownIntegrity& known = {});

// kThisDomain becomes kRevokedSigner when `revocations` revoke the device key that signed it
// (format v2), with the reason in `trust_note`.
void NoteRevocation(BackupDetails& details, const crypto::RevocationList* revocations);

}  // namespace keepsake::service
