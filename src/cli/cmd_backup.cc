// `keepsake backup --source DIR --out DIR [--prefix P]`: seal a directory tree.
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "archive/backup_file.h"
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
  if (!std::filesystem::is_directory(opt.source, ec)) {
    return Status::InvalidArgument(fmt::format("{}: source is not a directory", opt.source));
  }
  if (!std::filesystem::is_directory(opt.out_dir, ec)) {
    return Status::NotFound(fmt::format("{}: output directory does not exist", opt.out_dir));
  }
  ASSIGN_OR_RETURN(crypto::DomainKeys keys, crypto::LoadKeystore(ctx.state_dir));
  ASSIGN_OR_RETURN(archive::DeviceIdentity device, LoadDeviceIdentity(ctx.state_dir));
  ASSIGN_OR_RETURN(archive::TreeScan scan, archive::ScanSources({{"tree", {{"", opt.source}}, ""}}));

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
  CLI::App* cmd = app.add_subcommand("backup", "Seal a directory tree into a new backup file");
  cmd->add_option("--source", opt->source, "Directory to back up")->required();
  cmd->add_option("--out", opt->out_dir, "Directory to write the backup file into")->required();
  cmd->add_option("--prefix", opt->prefix, "Backup filename prefix (letters, digits, - _ ., at most 64)");
  cmd->add_option("--zstd-level", opt->seal.zstd.level, "zstd compression level 1..19 (default 3)")
      ->check(CLI::Range(1, 19));
  cmd->add_option("--zstd-workers", opt->seal.zstd.workers, "zstd worker threads (default: one per core)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--chunk-size", opt->seal.chunk_size, "Plaintext bytes per encrypted chunk (default 1 MiB)")
      ->check(CLI::Range(1024, 1 << 24));
  cmd->callback([&ctx, &run, opt] { run = [&ctx, opt] { return RunBackup(ctx, *opt); }; });
}

}  // namespace keepsake::cli
