// `keepsake backup --out DIR [--prefix P] [--source DIR]`: seal the appliance (its
// components, the database as a consistent snapshot) or, with --source, any directory tree.
#include <fmt/format.h>

#include <filesystem>

#include "appliance/device_identity.h"
#include "archive/backup_name.h"
#include "cli/commands.h"
#include "crypto/keystore.h"
#include "service/backup_job.h"
#include "storage/local_backend.h"

namespace keepsake::cli {
namespace {

struct BackupOptions {
  std::string source;
  std::string out_dir;
  std::string prefix;
  archive::SealOptions seal;
};

// The same job the daemon runs, onto a local directory.
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
  service::BackupJobRequest req;
  ASSIGN_OR_RETURN(req.device, appliance::LoadDeviceIdentity(ctx.state_dir));
  if (opt.source.empty()) req.state_dir = ctx.state_dir;  // the appliance's own backups form its chain
  std::string out_dir = std::filesystem::absolute(opt.out_dir, ec).lexically_normal().string();
  ASSIGN_OR_RETURN(auto storage, storage::OpenLocalBackend(out_dir));
  if (opt.source.empty()) {
    req.appliance_root = ctx.appliance_root;
  } else {
    req.sources = {{"tree", {{"", opt.source, true}}, ""}};
  }
  req.keys = &keys;
  req.prefix = opt.prefix;
  req.now = std::time(nullptr);
  req.seal = opt.seal;
  service::JobProgress progress;
  std::atomic<bool> never_cancelled{false};
  ASSIGN_OR_RETURN(service::BackupJobResult result, service::RunBackupJob(req, *storage, progress, never_cancelled));
  if (!result.recovered.empty()) fmt::print(stderr, "keepsake: {}\n", result.recovered);
  fmt::print("{}\n", (std::filesystem::path(opt.out_dir) / result.name).string());
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
  cmd->add_option("--chunk-size", opt->seal.chunk_size,
                  "Plaintext bytes per encrypted chunk (default: format v1 1 MiB, v2 4 MiB of tar)")
      ->check(CLI::Range(1024, 1 << 24));
  cmd->callback([&ctx, &run, opt] { run = [&ctx, opt] { return RunBackup(ctx, *opt); }; });
}

}  // namespace keepsake::cli
