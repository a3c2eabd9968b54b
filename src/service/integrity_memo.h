// Integrity verdicts already reached (archive::CheckIntegrity reads a whole file), so that
// listings read each backup once rather than on every page load. A verdict is remembered for
// one file as its storage describes it (storage URL, path, size, mtime) and for its header's
// digest: a file replaced or rewritten is read again. A remembered verdict is a statement
// about the moment of its check, which every answer carries (IntegrityVerdict::checked_at).
// Held in memory: a restarted daemon reads each backup once more. Bounded: when full, it
// forgets everything and starts over. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "service/storage_browser.h"
#include "storage/backend.h"

namespace keepsake::service {

class IntegrityMemo {
 public:
  static constexpr size_t kMaxEntries = 20000;

  // ReadBackupDetails of `path` (listed or stat'ed as `file`) on `backend` at `url`, with
  // the body read only when no verdict is remembered for this file and header.
  Result<BackupDetails> Read(storage::Backend& backend, std::string_view url, std::string_view path,
                             const storage::Entry& file, const std::optional<crypto::PublicKey>& public_key,
                             date::sys_seconds now);

 private:
  std::mutex mu_;
  std::map<std::string, IntegrityVerdict> verdicts_;
};

}  // namespace keepsake::service
