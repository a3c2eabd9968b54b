#include "appliance/restore.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "appliance/crash_point.h"
#include "appliance/database_settings.h"
#include "appliance/device_identity.h"
#include "appliance/layout.h"
#include "appliance/postgres_snapshot.h"
#include "appliance/swap_journal.h"
#include "archive/backup_file.h"
#include "base/file_io.h"
#include "base/strings.h"
#include "crypto/keystore.h"
#include "crypto/revocation.h"

namespace keepsake::appliance {
namespace fs = std::filesystem;
namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

DumpApplier PostgresApplier(const std::string& root) {
  return [root](const std::string& dump) -> Status {
    ASSIGN_OR_RETURN(DatabaseSettings settings, LoadDatabaseSettings(root));
    if (settings.engine != DatabaseSettings::Engine::kPostgresql || settings.external) {
      return Status::FailedPrecondition(
          "the backup holds a PostgreSQL dump but this appliance's database settings name no internal PostgreSQL");
    }
    return RestorePostgres(settings, dump);
  };
}

Result<std::vector<std::string>> SelectComponents(const archive::BackupHeader& header, const RestoreRequest& req) {
  std::vector<std::string> in_backup;
  for (const auto& c : header.components) {
    if (FindComponent(c.name) == nullptr) {
      return Status::NotSupported(fmt::format("the backup has a component '{}' this firmware does not know", c.name));
    }
    in_backup.push_back(c.name);
  }
  std::vector<std::string> selected = req.components.empty() ? in_backup : req.components;
  for (const auto& name : selected) {
    if (!Contains(in_backup, name)) {
      std::string have;
      for (const auto& n : in_backup) have += (have.empty() ? "" : ", ") + n;
      return Status::InvalidArgument(fmt::format("the backup has no component '{}' (it has: {})", name, have));
    }
  }
  std::erase_if(selected, [&](const std::string& n) { return Contains(req.keep, n); });
  if (selected.empty()) return Status::InvalidArgument("no component left to restore");
  // The table's order, whatever order the request gave.
  std::vector<std::string> ordered;
  for (const auto& spec : Components()) {
    if (Contains(selected, spec.name)) ordered.push_back(spec.name);
  }
  return ordered;
}

Status CheckFirmware(const archive::BackupHeader& header, const std::string& root) {
  auto here = ReadFirmwareVersion(root);
  if (!here.ok()) return Status();  // an empty appliance (disaster recovery) accepts any firmware
  if (CompareVersions(header.device.firmware_version, *here) > 0) {
    return Status::NotSupported(
        fmt::format("the backup was made on firmware {}, newer than this appliance's {}; update the firmware first",
                    header.device.firmware_version, *here));
  }
  return Status();
}

Status CheckSpace(const std::string& root, uint64_t needed) {
  struct statvfs st;
  if (statvfs(root.c_str(), &st) != 0) return StatusFromErrno(errno, root);
  uint64_t free = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  if (free < needed + needed / 10) {
    return Status::NoSpace(fmt::format("not enough space to stage the restore in {}: {} bytes needed, {} available",
                                       root, needed + needed / 10, free));
  }
  return Status();
}

// The backup is signed, but its content is still not trusted for safety: only known
// component paths, and no symlink that leads out of the appliance root.
Status CheckStaged(const fs::path& staging, const std::vector<std::string>& allowed_paths) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(staging, fs::directory_options::none, ec), end; !ec && it != end;
       it.increment(ec)) {
    fs::path rel = it->path().lexically_relative(staging);
    std::string rel_str = rel.generic_string();
    bool inside = false, above = false;
    for (const auto& p : allowed_paths) {
      if (rel_str == p || rel_str.starts_with(p + "/")) inside = true;
      if (p.starts_with(rel_str + "/")) above = true;
    }
    if (!inside && !above) {
      return Status::Corruption(
          fmt::format("the backup holds '{}', which belongs to no component", Printable(rel_str)));
    }
    if (above && !it->is_directory(ec)) {
      return Status::Corruption(fmt::format("the backup holds '{}' where a directory is expected", Printable(rel_str)));
    }
    if (it->is_symlink(ec)) {
      fs::path target = fs::read_symlink(it->path(), ec);
      fs::path resolved = (rel.parent_path() / target).lexically_normal();
      if (target.is_absolute() || resolved.empty() || *resolved.begin() == "..") {
        return Status::Corruption(fmt::format("the backup holds a symlink '{}' -> '{}' that leads out of the appliance",
                                              Printable(rel_str), Printable(target.string())));
      }
    }
  }
  if (ec) return StatusFromErrno(ec.value(), staging.string());
  return Status();
}

}  // namespace

namespace {

// One restore, rollback or recovery at a time per appliance: an exclusive lock on a file in
// the work directory, released when the process ends, however it ends.
class WorkLock {
 public:
  static Result<WorkLock> Take(const std::string& root) {
    std::error_code ec;
    fs::create_directories(WorkDir(root), ec);
    if (ec) return StatusFromErrno(ec.value(), WorkDir(root));
    std::string path = WorkDir(root) + "/lock";
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return StatusFromErrno(errno, path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      return Status::FailedPrecondition(
          fmt::format("{}: a restore or rollback is already running on this appliance; wait for it to finish", root));
    }
    return WorkLock(fd);
  }
  WorkLock(WorkLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~WorkLock() {
    if (fd_ >= 0) close(fd_);
  }

 private:
  explicit WorkLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace

Result<std::string> RecoverInterruptedRestore(const std::string& root) {
  ASSIGN_OR_RETURN(WorkLock lock, WorkLock::Take(root));
  return RecoverSwap(root, PostgresApplier(root));
}

namespace {

// The firmware's own version file describes the software that runs, not its configuration:
// it stays as it is whatever configuration comes back.
Status KeepFirmwareVersion(const std::string& root, const fs::path& staging) {
  std::error_code ec;
  fs::path here = fs::path(root) / "firmware/VERSION";
  if (!fs::exists(here, ec) || !fs::is_directory(staging / "firmware", ec)) return Status();
  fs::copy_file(here, staging / "firmware/VERSION", fs::copy_options::overwrite_existing, ec);
  if (ec) return StatusFromErrno(ec.value(), (staging / "firmware/VERSION").string());
  return Status();
}

}  // namespace

Result<RestoreReport> RestoreBackup(ByteSource& backup, const RestoreRequest& req) {
  RestoreReport report;
  ASSIGN_OR_RETURN(WorkLock lock, WorkLock::Take(req.root));
  ASSIGN_OR_RETURN(report.recovered, RecoverSwap(req.root, PostgresApplier(req.root)));

  // 1. Header: authentic, of this domain (or a domain this device may adopt), compatible.
  // The file is read once: the header decided on here is the one the body read next is
  // bound to (chunks and trailer), whatever the storage serves.
  ASSIGN_OR_RETURN(archive::SealedHeader sealed, archive::ReadSealedHeader(backup));
  const archive::BackupHeader& h = sealed.header;
  std::optional<crypto::RevocationList> revocations;
  if (req.device_keys != nullptr) {
    ASSIGN_OR_RETURN(revocations, crypto::LoadRevocations(req.state_dir, req.device_keys->public_key));
    RETURN_IF_ERROR(archive::CheckTrusted(h, req.device_keys->public_key, &*revocations));
  } else if (req.dms == nullptr) {
    return Status::FailedPrecondition(
        "this appliance has no Domain Master Secret yet; give the backup's DMS to restore it here");
  }
  RETURN_IF_ERROR(CheckFirmware(h, req.root));
  ASSIGN_OR_RETURN(report.components, SelectComponents(h, req));

  // 2. Verify everything into the staging area; nothing live is touched.
  const fs::path work = WorkDir(req.root);
  const fs::path staging = work / "staging";
  std::error_code ec;
  fs::create_directories(work, ec);
  if (ec) return StatusFromErrno(ec.value(), work.string());
  RETURN_IF_ERROR(CheckSpace(req.root, h.InputBytes()));
  fs::remove_all(staging, ec);
  fs::create_directory(staging, ec);
  if (ec) return StatusFromErrno(ec.value(), staging.string());
  auto discard = [&](Status st) {
    fs::remove_all(staging, ec);
    return st;
  };
  {
    archive::Unlocker unlocker{req.device_keys, req.dms, revocations ? &*revocations : nullptr};
    auto unpacked = archive::UnsealBody(backup, sealed, unlocker, staging.string());
    if (!unpacked.ok()) return discard(std::move(unpacked).status());
    report.files = unpacked->files;
    report.bytes = unpacked->bytes;
  }
  report.header = h;
  std::vector<std::string> all_paths;
  for (const auto& spec : Components()) all_paths.insert(all_paths.end(), spec.paths.begin(), spec.paths.end());
  if (Status st = CheckStaged(staging, all_paths); !st.ok()) return discard(std::move(st));
  if (Status st = KeepFirmwareVersion(req.root, staging); !st.ok()) return discard(std::move(st));
  // Everything staged must be on disk before the journal lets it replace the live state:
  // otherwise a power cut after "restored" could leave empty or partial files.
  if (Status st = SyncFileSystem(staging.string()); !st.ok()) return discard(std::move(st));
  CrashPoint("staged");
  if (req.dry_run) return discard(Status()).ok() ? Result<RestoreReport>(std::move(report)) : Status::Internal("");

  // 3. A device without a domain joins the backup's (disaster recovery).
  if (req.device_keys == nullptr) {
    auto device = LoadDeviceIdentity(req.state_dir);
    if (!device.ok()) return discard(std::move(device).status());
    crypto::NewDevice member{device->device_id, std::time(nullptr), req.keep_restore_key};
    auto adopted = crypto::AdoptDomain(req.state_dir, *req.dms, h.domain_salt, h.kdf, h.domain_public_key, member);
    if (!adopted.ok()) return discard(std::move(adopted).status());
    report.adopted_domain = true;
  }

  // 4. Swap the selected components in; the displaced state becomes the rollback point.
  SwapPlan plan;
  plan.label = h.file_name;
  for (const auto& name : report.components) {
    if (name == "database" && fs::exists(staging / "db/internal.pgdump", ec)) {
      plan.postgres_dump = "staging/db/internal.pgdump";
      continue;
    }
    for (const auto& path : FindComponent(name)->paths) {
      plan.paths.push_back(path);
      plan.existed.push_back(fs::exists(fs::symlink_status(fs::path(req.root) / path, ec)));
    }
  }
  // Files that the restored components make obsolete go with the swap: the journal carries
  // them, so that a restore completed after a crash removes them too.
  for (const SupersededFile& f : req.superseded) {
    if (Contains(report.components, f.component) && fs::exists(f.path, ec)) {
      plan.remove_when_done.push_back(fs::absolute(f.path).string());
      report.superseded_removed.push_back(f.path);
    }
  }
  if (req.on_applying) req.on_applying();
  RETURN_IF_ERROR(RunSwap(req.root, plan, PostgresApplier(req.root)));
  return report;
}

Result<std::optional<RollbackPointInfo>> DescribeRollbackPoint(const std::string& root) {
  ASSIGN_OR_RETURN(std::optional<RollbackPoint> point, ReadRollbackPoint(root));
  if (!point) return std::optional<RollbackPointInfo>();
  RollbackPointInfo info{point->created_at, point->replaced_by, 0};
  std::error_code ec;
  // Not following symlinks: the point holds the appliance's files as they were, links too.
  for (auto it = fs::recursive_directory_iterator(fs::path(WorkDir(root)) / "rollback", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) info.bytes += it->file_size(ec);
  }
  return std::optional<RollbackPointInfo>(std::move(info));
}

Status DiscardRollbackPoint(const std::string& root) {
  ASSIGN_OR_RETURN(WorkLock lock, WorkLock::Take(root));
  ASSIGN_OR_RETURN(std::string recovered, RecoverSwap(root, PostgresApplier(root)));
  ASSIGN_OR_RETURN(std::optional<RollbackPoint> point, ReadRollbackPoint(root));
  if (!point) return Status::NotFound(fmt::format("{}: there is no rollback point to discard", root));
  // Renamed first, in one step, so that a crash while deleting leaves no half rollback point
  // that a later rollback could swap in.
  const fs::path work = WorkDir(root);
  const fs::path doomed = work / "rollback.discarded";
  std::error_code ec;
  fs::remove_all(doomed, ec);
  fs::rename(work / "rollback", doomed, ec);
  if (ec) return StatusFromErrno(ec.value(), (work / "rollback").string());
  RETURN_IF_ERROR(SyncFileSystem(work.string()));
  fs::remove_all(doomed, ec);
  if (ec) return StatusFromErrno(ec.value(), doomed.string());
  return Status();
}

Result<std::string> RollbackToLastPoint(const std::string& root) {
  ASSIGN_OR_RETURN(WorkLock lock, WorkLock::Take(root));
  ASSIGN_OR_RETURN(std::string recovered, RecoverSwap(root, PostgresApplier(root)));
  ASSIGN_OR_RETURN(std::optional<RollbackPoint> point, ReadRollbackPoint(root));
  if (!point) return Status::NotFound(fmt::format("{}: there is no rollback point to return to", root));
  const fs::path work = WorkDir(root);
  std::error_code ec;
  // The rollback point is the staging area of an ordinary swap.
  SwapPlan plan;
  plan.kind = "rollback";
  plan.staging = "rollback";
  plan.label = "a rollback";
  for (const auto& path : point->paths) {
    plan.paths.push_back(path);
    plan.existed.push_back(fs::exists(fs::symlink_status(fs::path(root) / path, ec)));
  }
  RETURN_IF_ERROR(RunSwap(root, plan, {}));
  return fmt::format("returned to the state saved at {} (before {})", point->created_at, point->replaced_by);
}

}  // namespace keepsake::appliance
