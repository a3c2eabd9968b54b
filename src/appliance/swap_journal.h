// Swapping components into the appliance so that a crash at any instant leaves either the
// old or the new state, never a mix.
//
// Everything happens inside WorkDir(root) (".keepsake/", same file system as the root):
//   staging/       the new content, fully verified, laid out like the root
//   rollback.next/ where the current content is moved, path by path
//   rollback/      the last rollback point (a previous state, with info.json)
//   journal.json   the plan and its progress, rewritten atomically and synced
// Journal states: "swapping" (a crash rolls back: every moved path returns), "applying-db"
// (files are in; a crash rolls forward: the database dump is applied again, it is
// idempotent), "done" (a crash finishes the clean-up). Renames are atomic, every step is
// idempotent, and recovery can itself be interrupted and run again. Not thread-safe: one
// restore at a time per root.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace keepsake::appliance {

struct SwapPlan {
  std::string kind = "restore";               // "restore" or "rollback"
  std::string label;                          // backup file name or "rollback point of ..."
  std::vector<std::string> paths;             // relative to the root, in order
  std::vector<bool> existed;                  // per path: present before the swap
  std::string postgres_dump;                  // relative to WorkDir, applied after the files; or empty
  std::string staging = "staging";            // where the new content waits, relative to WorkDir
  std::vector<std::string> remove_when_done;  // absolute paths deleted once the swap is done
};

// Applies a PostgreSQL dump (path given) to the live database; idempotent.
using DumpApplier = std::function<Status(const std::string& dump_path)>;

// Runs `plan` with its staging directory already filled: journal, swap, database, finish. On an error
// before the files are all in, the old state is put back and the error returned.
Status RunSwap(const std::string& root, const SwapPlan& plan, const DumpApplier& apply_dump);

// Finishes or undoes a swap interrupted by a crash; a no-op without a journal.
// Returns a description of what was done ("" when nothing was pending).
Result<std::string> RecoverSwap(const std::string& root, const DumpApplier& apply_dump);

// The last rollback point, if any: what it would bring back.
struct RollbackPoint {
  std::string created_at;
  std::string replaced_by;  // label of the swap that displaced this state
  std::vector<std::string> paths;
  std::vector<bool> existed;
};
Result<std::optional<RollbackPoint>> ReadRollbackPoint(const std::string& root);

}  // namespace keepsake::appliance
