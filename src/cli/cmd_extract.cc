// `keepsake extract FILE --to DIR [--dms-file F]`: verify and unpack into a new directory.
#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "archive/backup_file.h"
#include "base/file_io.h"
#include "cli/commands.h"

namespace keepsake::cli {
namespace {

struct ExtractOptions {
  std::string file;
  std::string to;
  std::string dms_file;
};

Status RunExtract(const CliContext& ctx, const ExtractOptions& opt) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path target = fs::absolute(opt.to, ec);
  if (fs::exists(target, ec) && !(fs::is_directory(target, ec) && fs::is_empty(target, ec))) {
    return Status::AlreadyExists(
        fmt::format("{}: exists and is not an empty directory; nothing was extracted", opt.to));
  }
  ASSIGN_OR_RETURN(auto keys, UnlockKeys::Load(ctx, opt.dms_file));
  ASSIGN_OR_RETURN(auto source, FileSource::Open(opt.file));

  // Unpack into a staging directory beside the target; only a fully verified backup is
  // moved into place, so a failure leaves nothing behind.
  std::string staging = (target.parent_path() / ("." + target.filename().string() + ".partial-XXXXXX")).string();
  if (mkdtemp(staging.data()) == nullptr) return StatusFromErrno(errno, staging);
  auto result = archive::UnsealBackup(*source, keys->unlocker(), staging);
  Status st = result.ok() ? Status() : std::move(result).status().WithContext(opt.file);
  if (st.ok() && rename(staging.c_str(), target.c_str()) != 0) st = StatusFromErrno(errno, opt.to);
  if (!st.ok()) {
    fs::remove_all(staging, ec);
    return st;
  }
  RETURN_IF_ERROR(FsyncDir(target.parent_path().string()));
  fmt::print("{}: {} files ({} bytes) extracted to {}\n", opt.file, result->contents.files, result->contents.bytes,
             opt.to);
  return Status();
}

}  // namespace

void AddExtractCommand(CLI::App& app, const CliContext& ctx, Runner& run) {
  auto opt = std::make_shared<ExtractOptions>();
  CLI::App* cmd = app.add_subcommand("extract", "Verify a backup and unpack it into a new directory");
  cmd->add_option("file", opt->file, "Backup file")->required();
  cmd->add_option("--to", opt->to, "Directory to create (must not exist, or be empty)")->required();
  cmd->add_option("--dms-file", opt->dms_file, "Domain Master Secret of the backup's domain, from this file");
  cmd->callback([&ctx, &run, opt] { run = [&ctx, opt] { return RunExtract(ctx, *opt); }; });
}

}  // namespace keepsake::cli
