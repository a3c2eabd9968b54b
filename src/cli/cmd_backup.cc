// `keepsake backup --out DIR [--prefix P] [--source DIR]`: seal the appliance (its
// components, the database as a consistent snapshot) or, with --source, any directory tree.
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "archive/backup_file.h"
#include "appliance/backup_plan.h"
#include "appliance/restore.h"
#include "archive/backup_name.h"
#include "base/file_io.h"
#include "cli/commands.h"
#include "cli/device.h"
#include "crypto/keystore.h"

namespace keepsake::cli {
namespace {

struct BackupOptions {
  std::string source;
  std::string out_dir;
  std::string prefix;
  archive::SealOptions seal;
};

// Creates the output file under a fresh name; a second backup in the same second gets "-2".
Result<std::unique_ptr<AtomicFile>> CreateOutput(const BackupOptions& opt, const std::string& hostname,
                                                 std::time_t now, std::string& name) {
  for (int seq = 1; seq < 100; ++seq) {
    name = archive::MakeBackupName(opt.prefix, hostname, now, seq);
    auto file = AtomicFile::Create(opt.out_dir + "/" + name, 0600);
    if (file.ok() || file.status().code() != ErrorCode::kAlreadyExists) return file;
  }
  return Status::AlreadyExists(fmt::format("{}: too many backups named for the same second", opt.out_dir));
}

Status RunBackup(const CliContext& ctx, const BackupOptions& opt) {
  RETURN_IF_ERROR(archive::ValidatePrefix(opt.prefix));
  std::error_code ec;
  if (!opt.source.empty() && !std::filesystem::is_directory(opt.source, ec)) {
    return Status::InvalidArgument(fmt::format("{}: source is not a directory", opt.source));
  }
  if (!std::filesystem::is_directory(opt.out_dir, ec)) {
    return Status::NotFound(fmt::format("{}: output directory does not exist", opt.out_dir));
  }
  ASSIGN_OR_RETURN(crypto::DomainKeys keys, crypto::LoadKeystore(ctx.state_dir));
  ASSIGN_OR_RETURN(archive::DeviceIdentity device, LoadDeviceIdentity(ctx.state_dir));
  // The plan holds the database snapshot open until the backup is sealed.
  appliance::AppliancePlan plan;
  if (opt.source.empty()) {
    ASSIGN_OR_RETURN(std::string recovered, appliance::RecoverInterruptedRestore(ctx.appliance_root));
    if (!recovered.empty()) fmt::print(stderr, "keepsake: {}\n", recovered);
    ASSIGN_OR_RETURN(plan, appliance::PlanApplianceBackup(ctx.appliance_root));
    appliance::FillApplianceIdentity(ctx.appliance_root, device);
  } else {
    plan.sources = {{"tree", {{"", opt.source, true}}, ""}};
  }
  ASSIGN_OR_RETURN(archive::TreeScan scan, archive::ScanSources(plan.sources));

  std::time_t now = std::time(nullptr);
  std::string name;
  ASSIGN_OR_RETURN(auto file, CreateOutput(opt, device.hostname, now, name));
  archive::BackupHeader header;
  header.backup_id = archive::NewBackupId();
  header.file_name = name;
  header.created_at = archive::FormatUtc(now);
  header.device = device;
  ASSIGN_OR_RETURN(archive::BackupHeader written, archive::SealBackup(scan, std::move(header), keys, *file, opt.seal));
  RETURN_IF_ERROR(file->Commit());
  fmt::print("{}\n", file->path());
  return Status();
}

}  // namespace

void AddBackupCommand(CLI::App& app, const CliContext& ctx, Runner& run) {
  auto opt = std::make_shared<BackupOptions>();
  CLI::App* cmd = app.add_subcommand("backup", "Back up the appliance (or a directory tree) into a new sealed file");
  cmd->add_option("--source", opt->source, "Back up this directory tree instead of the appliance");
  cmd->add_option("--out", opt->out_dir, "Directory to write the backup file into")->required();
  cmd->add_option("--prefix", opt->prefix, "Backup filename prefix (letters, digits, - _ ., at most 64)");
  cmd->add_option("--zstd-level", opt->seal.zstd.level, "zstd compression level 1..19 (default 2)")
      ->check(CLI::Range(1, 19));
  cmd->add_option("--zstd-workers", opt->seal.zstd.workers, "zstd worker threads (default: one per core)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--chunk-size", opt->seal.chunk_size, "Plaintext bytes per encrypted chunk (default 1 MiB)")
      ->check(CLI::Range(1024, 1 << 24));
  cmd->callback([&ctx, &run, opt] { run = [&ctx, opt] { return RunBackup(ctx, *opt); }; });
}

}  // namespace keepsake::cli
