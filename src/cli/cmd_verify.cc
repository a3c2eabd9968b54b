// `keepsake verify FILE [--dms-file F]`: decrypt and check everything, write nothing.
#include <fmt/format.h>

#include "archive/backup_file.h"
#include "base/file_io.h"
#include "base/strings.h"
#include "cli/commands.h"

namespace keepsake::cli {
namespace {

struct VerifyOptions {
  std::string file;
  std::string dms_file;
};

// A write-only appliance checks what needs no secret: the header's signature and its
// device certificate, that the domain is this one and the device not revoked, and every
// chunk against the signed chunk tree. The content needs the DMS.
Status VerifyWithoutOpening(const UnlockKeys& keys, ByteSource& source, const std::string& file) {
  ASSIGN_OR_RETURN(archive::SealedHeader sealed, archive::ReadSealedHeader(source));
  const archive::Unlocker unlocker = keys.unlocker();
  RETURN_IF_ERROR(archive::CheckTrusted(sealed.header, unlocker.device_keys->public_key, unlocker.revocations));
  if (!sealed.header.is_v2()) {
    return archive::UnlockFileKey(sealed.header, unlocker).status();  // says what to type
  }
  RETURN_IF_ERROR(archive::CheckBodyIntegrity(source, sealed));
  fmt::print(
      "{}: INTACT, signed by device {} of this domain (signatures, certificate and every chunk checked); the "
      "content was not opened: this appliance is write-only, give --dms-file to check every file too\n",
      file, Printable(sealed.header.signer->device_id));
  return Status();
}

Status RunVerify(const CliContext& ctx, const VerifyOptions& opt) {
  ASSIGN_OR_RETURN(auto keys, UnlockKeys::Load(ctx, opt.dms_file));
  ASSIGN_OR_RETURN(auto source, FileSource::Open(opt.file));
  if (keys->write_only()) return VerifyWithoutOpening(*keys, *source, opt.file).WithContext(opt.file);
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
