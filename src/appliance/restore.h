// Restoring a backup onto the appliance, and returning to the last rollback point.
//
// A restore verifies the whole backup into a staging area before anything live is touched,
// checks compatibility, then swaps the selected components in through the journal of
// swap_journal.h, keeping the displaced state as the rollback point. docs/RESTORE.md gives
// the guarantees in an administrator's words. Not thread-safe: one restore per root.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/header.h"
#include "archive/unlock.h"
#include "base/byte_stream.h"

namespace keepsake::appliance {

// A file outside the appliance root that a restored component makes obsolete: removed as
// part of the swap (the journal carries it, so a restore completed after a crash removes it
// too). The rule comes from the layer that owns the file (auth: the Initial OTP User's
// credential goes once the accounts come from a backup).
struct SupersededFile {
  std::string component;  // e.g. "accounts"
  std::string path;
};

struct RestoreRequest {
  std::string root;                                 // the appliance state root
  std::string state_dir;                            // keystore, device id
  std::vector<std::string> components;              // empty: every component in the backup
  std::vector<std::string> keep;                    // components to leave as they are (e.g. "network")
  bool dry_run = false;                             // verify and check only
  const crypto::DomainKeys* device_keys = nullptr;  // this device's domain, if it has one
  const SecureBuffer* dms = nullptr;                // typed by the administrator
  bool keep_restore_key = false;                    // a device joining the domain (no keys yet) keeps the restore key
  std::vector<SupersededFile> superseded;           // removed when their component is restored
  // Called once everything was verified and staged, right before the swap begins.
  std::function<void()> on_applying;
};

struct RestoreReport {
  archive::BackupHeader header;
  std::vector<std::string> components;  // restored (or, for a dry run, that would be)
  uint64_t files = 0;
  uint64_t bytes = 0;
  bool adopted_domain = false;                  // this device joined the backup's domain
  std::vector<std::string> superseded_removed;  // paths of `superseded` that were removed
  std::string recovered;                        // what start-up recovery did first, if anything
};

// kUnauthenticated (other domain, wrong DMS), kNotSupported (newer firmware or format),
// kInvalidArgument (unknown or absent component), kCorruption (any failed check),
// kNoSpace, kFailedPrecondition (no keys and no DMS). On any error the appliance is as it
// was; only a device without a domain may have adopted the backup's domain.
// `backup` is read once, from its start: every decision is made on the header that the body
// it then verifies is bound to.
Result<RestoreReport> RestoreBackup(ByteSource& backup, const RestoreRequest& request);

// Swaps the last rollback point back in; the displaced state becomes the new rollback
// point, so a rollback can itself be undone. kNotFound without a rollback point.
Result<std::string> RollbackToLastPoint(const std::string& root);

// The last rollback point (what a rollback would bring back) and the bytes it holds on the
// appliance's disk; nullopt when there is none.
struct RollbackPointInfo {
  std::string created_at;   // when the state it holds was replaced (UTC, RFC 3339)
  std::string replaced_by;  // what replaced it: the backup file name, or "a rollback"
  uint64_t bytes = 0;
};
Result<std::optional<RollbackPointInfo>> DescribeRollbackPoint(const std::string& root);

// Deletes the last rollback point, giving its space back; a rollback is then no longer
// possible. kNotFound without one; kFailedPrecondition while a restore or rollback runs.
Status DiscardRollbackPoint(const std::string& root);

// Completes or undoes a restore interrupted by a crash (see swap_journal.h); every command
// that touches the appliance calls it first. Returns what it did, "" if nothing.
Result<std::string> RecoverInterruptedRestore(const std::string& root);

}  // namespace keepsake::appliance
