#include "service/integrity_memo.h"

#include <fmt/format.h>

#include "base/encoding.h"

namespace keepsake::service {

Result<BackupDetails> IntegrityMemo::Read(storage::Backend& backend, std::string_view url, std::string_view path,
                                          const storage::Entry& file,
                                          const std::optional<crypto::PublicKey>& public_key, date::sys_seconds now) {
  RETURN_IF_ERROR(storage::CheckPath(path));
  std::string key;
  auto known = [&](const archive::SealedHeader& header) -> std::optional<IntegrityVerdict> {
    key = fmt::format("{}\n{}\n{}\n{}\n{}", url, path, file.size, file.mtime, ToHex(header.digest));
    std::lock_guard lock(mu_);
    auto it = verdicts_.find(key);
    if (it == verdicts_.end()) return std::nullopt;
    return it->second;
  };
  ASSIGN_OR_RETURN(auto reader, backend.NewReader(path));
  storage::ReaderSource source(std::move(reader));
  ASSIGN_OR_RETURN(BackupDetails details, ReadBackupDetails(source, public_key, now, known));
  std::lock_guard lock(mu_);
  if (verdicts_.size() >= kMaxEntries) verdicts_.clear();
  verdicts_.insert_or_assign(key, details.integrity);
  return details;
}

}  // namespace keepsake::service
