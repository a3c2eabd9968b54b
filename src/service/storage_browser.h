// The storage browser of the Backup Settings: one directory of a storage at a time
// (directories to go down into, backup files to click for their Backup Details, the way
// one level up), and the storage information the administrator decides on: permission,
// used / remaining / total space, and the low-space warning. Every path is relative to the
// storage root and checked by storage::CheckPath, so nothing above the root can be named;
// symlinks out of the root are refused by the backends. Thread-safe (no shared state).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/domain_keys.h"
#include "storage/backend.h"

namespace keepsake::service {

// {url, path, permission "read/write"|"read-only"|"none", can_read, can_write,
//  total_bytes, used_bytes, free_bytes, total, used, free (human units), free_percent,
//  low_space, warning (a sentence, or null)} of directory `dir` of `backend` at `url`.
Result<nlohmann::json> StorageInfo(storage::Backend& backend, std::string_view url, std::string_view dir);

// The space fields of StorageInfo() (also the status's "storage" object).
nlohmann::json CapacityToJson(const storage::Capacity& capacity);

// "read/write", "read-only", "write-only" or "none".
std::string PermissionText(const storage::Access& access);

// The "Less than 20% ..." warning, or "" when there is enough free space.
std::string LowSpaceWarning(const storage::Capacity& capacity);

// {url, path, parent (null at the root), entries: [{name, type "directory"|"file", size,
// modified, backup (a Keepsake backup file name)}], info: StorageInfo()} for directory
// `dir`, names containing `filter` (case-insensitive) only. Directories come first; files
// being written (".<name>.partial") are not shown.
Result<nlohmann::json> BrowseStorage(storage::Backend& backend, std::string_view url, std::string_view dir,
                                     std::string_view filter);

// The Backup Details of backup file `path`: its signed header as JSON, after the signature
// was checked, plus whether it belongs to this appliance's domain (when `keys` are known).
// kCorruption / kPermissionDenied if the file is not a valid, authentic Keepsake backup.
Result<nlohmann::json> BackupFileDetails(storage::Backend& backend, std::string_view path,
                                         const std::optional<crypto::DomainKeys>& keys);

}  // namespace keepsake::service
