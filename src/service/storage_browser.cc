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

Result<BackupDetails> ReadBackupDetails(ByteSource& source, const std::optional<crypto::PublicKey>& public_key,
                                        date::sys_seconds now, const KnownIntegrity& known) {
  ASSIGN_OR_RETURN(archive::SealedHeader sealed, archive::ReadSealedHeader(source));
  BackupDetails details;
  if (public_key) {
    details.trust = archive::CheckSameDomain(sealed.header, *public_key).ok() ? DomainTrust::kThisDomain
                                                                              : DomainTrust::kOtherDomain;
  }
  std::optional<IntegrityVerdict> verdict = known ? known(sealed) : std::nullopt;
  if (!verdict) {
    Status body = archive::CheckBodyIntegrity(source, sealed);
    // A storage that fails to serve the file says nothing about the file: that is an error.
    if (!body.ok() && body.code() != ErrorCode::kCorruption) return body;
    verdict = IntegrityVerdict{body.ok(), body.ok() ? "" : body.message(), now};
  }
  details.integrity = std::move(*verdict);
  details.header = std::move(sealed.header);
  return details;
}

void NoteRevocation(BackupDetails& details, const crypto::RevocationList* revocations) {
  if (details.trust != DomainTrust::kThisDomain) return;
  Status st = archive::CheckSignerNotRevoked(details.header, revocations);
  if (st.ok()) return;
  details.trust = DomainTrust::kRevokedSigner;
  details.trust_note = st.message();
}

}  // namespace keepsake::service
