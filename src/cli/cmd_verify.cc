// `keepsake verify FILE [--dms-file F]`: decrypt and check everything, write nothing.
#include <fmt/format.h>

#include "archive/backup_file.h"
#include "base/file_io.h"
#include "cli/commands.h"

namespace keepsake::cli {
namespace {

struct VerifyOptions {
  std::string file;
  std::string dms_file;
};

Status RunVerify(const CliContext& ctx, const VerifyOptions& opt) {
  ASSIGN_OR_RETURN(auto keys, UnlockKeys::Load(ctx, opt.dms_file));
  ASSIGN_OR_RETURN(auto source, FileSource::Open(opt.file));
  auto result = archive::UnsealBackup(*source, keys->unlocker(), "");
  if (!result.ok()) return std::move(result).status().WithContext(opt.file);
  fmt::print("{}: OK, {} files ({} bytes) verified against the manifest; signatures valid\n", opt.file,
             result->contents.files, result->contents.bytes);
  return Status();
}

}  // namespace

void AddVerifyCommand(CLI::App& app, const CliContext& ctx, Runner& run) {
  auto opt = std::make_shared<VerifyOptions>();
  CLI::App* cmd = app.add_subcommand("verify", "Decrypt and check a whole backup without writing anything");
  cmd->add_option("file", opt->file, "Backup file")->required();
  cmd->add_option("--dms-file", opt->dms_file, "Domain Master Secret of the backup's domain, from this file");
  cmd->callback([&ctx, &run, opt] { run = [&ctx, opt] { return RunVerify(ctx, *opt); }; });
}

}  // namespace keepsake::cli
