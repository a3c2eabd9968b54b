// `keepsake decrypt FILE -o OUT.tar.zst [--dms-file F]`: the body as a standard .tar.zst.
#include <fmt/format.h>

#include "archive/backup_file.h"
#include "base/file_io.h"
#include "cli/commands.h"

namespace keepsake::cli {
namespace {

struct DecryptOptions {
  std::string file;
  std::string out;
  std::string dms_file;
};

Status RunDecrypt(const CliContext& ctx, const DecryptOptions& opt) {
  ASSIGN_OR_RETURN(auto keys, UnlockKeys::Load(ctx, opt.dms_file));
  ASSIGN_OR_RETURN(auto source, FileSource::Open(opt.file));
  // Mode 0600: the output is the backup's plaintext.
  ASSIGN_OR_RETURN(auto out, AtomicFile::Create(opt.out, 0600));
  Status st = archive::DecryptBackup(*source, keys->unlocker(), *out);
  if (!st.ok()) return std::move(st).WithContext(opt.file);
  RETURN_IF_ERROR(out->Commit());
  fmt::print("{}: decrypted to {} (inspect with: tar --zstd -tvf {})\n", opt.file, opt.out, opt.out);
  return Status();
}

}  // namespace

void AddDecryptCommand(CLI::App& app, const CliContext& ctx, Runner& run) {
  auto opt = std::make_shared<DecryptOptions>();
  CLI::App* cmd = app.add_subcommand("decrypt", "Verify a backup and write its content as a plain .tar.zst");
  cmd->add_option("file", opt->file, "Backup file")->required();
  cmd->add_option("-o,--output", opt->out, "Output file (.tar.zst; must not exist)")->required();
  cmd->add_option("--dms-file", opt->dms_file, "Domain Master Secret of the backup's domain, from this file");
  cmd->callback([&ctx, &run, opt] { run = [&ctx, opt] { return RunDecrypt(ctx, *opt); }; });
}

}  // namespace keepsake::cli
