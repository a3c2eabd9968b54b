#include "service/storage_browser.h"

#include <algorithm>

#include "archive/sealed_reader.h"
#include "archive/unlock.h"

namespace keepsake::service {
namespace {

// "a/b/c" -> "a/b"; "a" -> ""; the root has no parent.
std::optional<std::string> ParentOf(std::string_view dir) {
  if (dir.empty() || dir == ".") return std::nullopt;
  size_t slash = dir.rfind('/');
  return std::string(slash == std::string_view::npos ? std::string_view() : dir.substr(0, slash));
}

}  // namespace

Result<StorageInfo> ReadStorageInfo(storage::Backend& backend, std::string_view url, std::string_view dir) {
  RETURN_IF_ERROR(storage::CheckPath(dir));
  StorageInfo info;
  ASSIGN_OR_RETURN(info.access, backend.GetAccess(dir));
  ASSIGN_OR_RETURN(info.capacity, backend.GetCapacity());
  info.url = url;
  info.path = dir == "." ? "" : dir;
  return info;
}

Result<StorageListing> BrowseStorage(storage::Backend& backend, std::string_view url, std::string_view dir,
                                     std::string_view filter) {
  RETURN_IF_ERROR(storage::CheckPath(dir));
  StorageListing listing;
  ASSIGN_OR_RETURN(listing.entries, backend.List(dir, filter));
  std::erase_if(listing.entries, [](const storage::Entry& e) { return !e.is_dir && storage::IsPartialName(e.name); });
  // Directories first, each group in the backend's name order.
  std::stable_partition(listing.entries.begin(), listing.entries.end(),
                        [](const storage::Entry& e) { return e.is_dir; });
  ASSIGN_OR_RETURN(listing.info, ReadStorageInfo(backend, url, dir));
  listing.parent = ParentOf(dir);
  return listing;
}

Result<BackupDetails> ReadBackupDetails(ByteSource& source, const std::optional<crypto::DomainKeys>& keys) {
  ASSIGN_OR_RETURN(archive::SealedHeader sealed, archive::ReadSealedHeader(source));
  BackupDetails details;
  details.header = std::move(sealed.header);
  if (keys) {
    details.trust =
        archive::CheckSameDomain(details.header, *keys).ok() ? DomainTrust::kThisDomain : DomainTrust::kOtherDomain;
  }
  return details;
}

Result<BackupDetails> ReadBackupDetails(storage::Backend& backend, std::string_view path,
                                        const std::optional<crypto::DomainKeys>& keys) {
  RETURN_IF_ERROR(storage::CheckPath(path));
  ASSIGN_OR_RETURN(auto reader, backend.NewReader(path));
  storage::ReaderSource source(std::move(reader));
  return ReadBackupDetails(source, keys);
}

}  // namespace keepsake::service
