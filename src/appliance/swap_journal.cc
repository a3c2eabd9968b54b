#include "appliance/swap_journal.h"

#include <fmt/format.h>
#include <stdio.h>

#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "appliance/crash_point.h"
#include "appliance/layout.h"
#include "archive/backup_name.h"
#include "base/file_io.h"
#include "base/json_fields.h"

namespace keepsake::appliance {
namespace fs = std::filesystem;
namespace {

struct Journal {
  SwapPlan plan;
  std::string state;
};

std::string JournalPath(const std::string& root) { return WorkDir(root) + "/journal.json"; }

Status WriteJournal(const std::string& root, const Journal& j) {
  nlohmann::json doc = {{"version", 1},
                        {"state", j.state},
                        {"kind", j.plan.kind},
                        {"label", j.plan.label},
                        {"paths", j.plan.paths},
                        {"existed", j.plan.existed},
                        {"postgres_dump", j.plan.postgres_dump},
                        {"staging", j.plan.staging},
                        {"remove_when_done", j.plan.remove_when_done}};
  return ReplaceFileAtomic(JournalPath(root), doc.dump(1) + "\n", 0600);
}

Result<SwapPlan> ParsePlan(const JsonFields& f) {
  SwapPlan plan;
  ASSIGN_OR_RETURN(plan.kind, f.OptionalString("kind", "restore"));
  ASSIGN_OR_RETURN(plan.label, f.OptionalString("label", ""));
  ASSIGN_OR_RETURN(plan.postgres_dump, f.OptionalString("postgres_dump", ""));
  ASSIGN_OR_RETURN(plan.staging, f.OptionalString("staging", "staging"));
  if (plan.staging != "staging" && plan.staging != "rollback") return f.Bad("staging", "unknown directory");
  if (f.Find("remove_when_done") != nullptr) {
    ASSIGN_OR_RETURN(const nlohmann::json* list, f.Array("remove_when_done", 16));
    for (const auto& item : *list) {
      if (!item.is_string()) return f.Bad("remove_when_done", "not a string");
      plan.remove_when_done.push_back(item.get<std::string>());
    }
  }
  ASSIGN_OR_RETURN(const nlohmann::json* paths, f.Array("paths", 64));
  ASSIGN_OR_RETURN(const nlohmann::json* existed, f.Array("existed", 64));
  if (paths->size() != existed->size()) return f.Bad("existed", "does not match paths");
  for (size_t i = 0; i < paths->size(); ++i) {
    if (!(*paths)[i].is_string() || !(*existed)[i].is_boolean()) return f.Bad("paths", "malformed entry");
    plan.paths.push_back((*paths)[i].get<std::string>());
    plan.existed.push_back((*existed)[i].get<bool>());
  }
  return plan;
}

Result<std::optional<Journal>> ReadJournal(const std::string& root) {
  auto text = ReadSmallFile(JournalPath(root), 1 << 20);
  if (!text.ok()) {
    if (text.status().code() == ErrorCode::kNotFound) return std::optional<Journal>();
    return std::move(text).status();
  }
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded()) return Status::Corruption(fmt::format("{}: not JSON", JournalPath(root)));
  JsonFields f(doc, JournalPath(root));
  Journal j;
  ASSIGN_OR_RETURN(j.state, f.String("state"));
  ASSIGN_OR_RETURN(j.plan, ParsePlan(f));
  return std::optional<Journal>(std::move(j));
}

Status FsyncParent(const fs::path& p) { return FsyncDir(p.parent_path().string()); }

Status Rename(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (ec) return StatusFromErrno(ec.value(), to.parent_path().string());
  if (rename(from.c_str(), to.c_str()) != 0)
    return StatusFromErrno(errno, fmt::format("moving {} to {}", from.string(), to.string()));
  RETURN_IF_ERROR(FsyncParent(from));
  return FsyncParent(to);
}

Status RemoveAll(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) return StatusFromErrno(ec.value(), p.string());
  return Status();
}

bool Exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

// Puts every moved path back: the old state, exactly. New content that was already moved
// in returns to the staging directory (for a rollback, that is the rollback point). Idempotent.
Status RollBack(const std::string& root, const SwapPlan& plan) {
  const fs::path work = WorkDir(root);
  for (size_t k = plan.paths.size(); k-- > 0;) {
    fs::path live = fs::path(root) / plan.paths[k];
    fs::path saved = work / "rollback.next" / plan.paths[k];
    fs::path fresh = work / plan.staging / plan.paths[k];
    // `live` holds new content exactly when the old one was moved out, or there was none.
    bool live_is_new = plan.existed[k] ? Exists(saved) : true;
    if (live_is_new && Exists(live)) {
      RETURN_IF_ERROR(RemoveAll(fresh));
      RETURN_IF_ERROR(Rename(live, fresh));
    }
    if (plan.existed[k] && Exists(saved)) RETURN_IF_ERROR(Rename(saved, live));
  }
  return Status();
}

// After "done": the displaced state becomes the rollback point. Idempotent.
Status Finish(const std::string& root, const SwapPlan& plan) {
  const fs::path work = WorkDir(root);
  if (Exists(work / "rollback.next")) {
    nlohmann::json info = {{"created_at", FormatUtc(std::time(nullptr))},
                           {"replaced_by", plan.label},
                           {"paths", plan.paths},
                           {"existed", plan.existed}};
    RETURN_IF_ERROR(ReplaceFileAtomic((work / "rollback.next" / "info.json").string(), info.dump(1) + "\n", 0600));
    // The staging directory may be the old rollback point itself (a rollback): both go.
    RETURN_IF_ERROR(RemoveAll(work / plan.staging));
    RETURN_IF_ERROR(RemoveAll(work / "rollback"));
    RETURN_IF_ERROR(Rename(work / "rollback.next", work / "rollback"));
  }
  CrashPoint("rollback-point-kept");
  for (const auto& path : plan.remove_when_done) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) return StatusFromErrno(errno, path);
  }
  // After a rollback, "rollback" is already the new rollback point.
  if (plan.staging != "rollback") RETURN_IF_ERROR(RemoveAll(work / plan.staging));
  if (unlink(JournalPath(root).c_str()) != 0 && errno != ENOENT) return StatusFromErrno(errno, JournalPath(root));
  return FsyncDir(work.string());
}

Status ApplyDump(const std::string& root, const SwapPlan& plan, const DumpApplier& apply_dump) {
  if (plan.postgres_dump.empty()) return Status();
  if (!apply_dump) return Status::Internal("a database dump is pending but no way to apply it was given");
  return apply_dump(WorkDir(root) + "/" + plan.postgres_dump);
}

}  // namespace

Status RunSwap(const std::string& root, const SwapPlan& plan, const DumpApplier& apply_dump) {
  KS_CHECK(plan.paths.size() == plan.existed.size());
  const fs::path work = WorkDir(root);
  RETURN_IF_ERROR(RemoveAll(work / "rollback.next"));
  // Always present until Finish() renames it, so that its absence means "renamed".
  std::error_code ec;
  fs::create_directories(work / "rollback.next", ec);
  if (ec) return StatusFromErrno(ec.value(), (work / "rollback.next").string());
  Journal j{plan, "swapping"};
  RETURN_IF_ERROR(WriteJournal(root, j));
  CrashPoint("journal-written");
  Status st;
  for (size_t i = 0; i < plan.paths.size() && st.ok(); ++i) {
    fs::path live = fs::path(root) / plan.paths[i];
    fs::path fresh = work / plan.staging / plan.paths[i];
    if (plan.existed[i] && Exists(live)) {
      st = Rename(live, work / "rollback.next" / plan.paths[i]);
      CrashPoint("moved-old", static_cast<int>(i));
    }
    if (st.ok() && Exists(fresh)) {
      st = Rename(fresh, live);
      CrashPoint("moved-new", static_cast<int>(i));
    }
  }
  if (st.ok() && !plan.postgres_dump.empty()) {
    j.state = "applying-db";
    RETURN_IF_ERROR(WriteJournal(root, j));
    CrashPoint("files-swapped");
    // pg_restore runs in one transaction: when it fails the database is unchanged, so the
    // files are put back too. (After a crash nobody knows; recovery applies it again.)
    st = ApplyDump(root, plan, apply_dump);
    CrashPoint("db-applied");
  }
  if (!st.ok()) {
    // Back to "swapping" first, so that a crash during the undo also ends in the old state.
    Status undo = Status();
    if (j.state != "swapping") {
      j.state = "swapping";
      undo = WriteJournal(root, j);
    }
    if (undo.ok()) undo = RollBack(root, plan);
    if (undo.ok()) undo = RemoveAll(work / "rollback.next");
    if (undo.ok() && plan.staging == "staging") undo = RemoveAll(work / "staging");
    if (undo.ok() && unlink(JournalPath(root).c_str()) != 0) undo = StatusFromErrno(errno, JournalPath(root));
    if (!undo.ok()) {
      return Status::Internal(
          fmt::format("{}; putting the old state back also failed ({}); it will be retried at the next start",
                      st.message(), undo.message()));
    }
    return std::move(st).WithContext("restore undone, the appliance is unchanged");
  }
  j.state = "done";
  RETURN_IF_ERROR(WriteJournal(root, j));
  CrashPoint("done-written");
  RETURN_IF_ERROR(Finish(root, plan));
  CrashPoint("finished");
  return Status();
}

Result<std::string> RecoverSwap(const std::string& root, const DumpApplier& apply_dump) {
  ASSIGN_OR_RETURN(std::optional<Journal> j, ReadJournal(root));
  const fs::path work = WorkDir(root);
  if (!j) {
    // No journal: at most the staging area (and the empty rollback.next) of a restore that
    // never began to swap.
    RETURN_IF_ERROR(RemoveAll(work / "staging"));
    RETURN_IF_ERROR(RemoveAll(work / "rollback.next"));
    return std::string();
  }
  if (j->state == "swapping") {
    RETURN_IF_ERROR(RollBack(root, j->plan));
    RETURN_IF_ERROR(RemoveAll(work / "rollback.next"));
    if (j->plan.staging == "staging") RETURN_IF_ERROR(RemoveAll(work / "staging"));
    if (unlink(JournalPath(root).c_str()) != 0) return StatusFromErrno(errno, JournalPath(root));
    RETURN_IF_ERROR(FsyncDir(work.string()));
    return fmt::format("an interrupted {} ({}) was rolled back: the appliance is in its previous state", j->plan.kind,
                       j->plan.label);
  }
  if (j->state == "applying-db") {
    Status st = ApplyDump(root, j->plan, apply_dump);
    if (!st.ok()) {
      return std::move(st).WithContext(
          "a restore was interrupted while its database was being restored and must be completed; "
          "make the database reachable, then run 'keepsake recover'");
    }
    j->state = "done";
    RETURN_IF_ERROR(WriteJournal(root, *j));
  }
  if (j->state == "done") {
    RETURN_IF_ERROR(Finish(root, j->plan));
    return fmt::format("an interrupted {} ({}) was completed", j->plan.kind, j->plan.label);
  }
  return Status::Corruption(fmt::format("{}: unknown state '{}'", JournalPath(root), j->state));
}

Result<std::optional<RollbackPoint>> ReadRollbackPoint(const std::string& root) {
  std::string path = WorkDir(root) + "/rollback/info.json";
  auto text = ReadSmallFile(path, 1 << 20);
  if (!text.ok()) {
    if (text.status().code() == ErrorCode::kNotFound) return std::optional<RollbackPoint>();
    return std::move(text).status();
  }
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded()) return Status::Corruption(fmt::format("{}: not JSON", path));
  JsonFields f(doc, path);
  RollbackPoint point;
  ASSIGN_OR_RETURN(point.created_at, f.OptionalString("created_at", ""));
  ASSIGN_OR_RETURN(point.replaced_by, f.OptionalString("replaced_by", ""));
  ASSIGN_OR_RETURN(SwapPlan plan, ParsePlan(f));
  point.paths = std::move(plan.paths);
  point.existed = std::move(plan.existed);
  return std::optional<RollbackPoint>(std::move(point));
}

}  // namespace keepsake::appliance
