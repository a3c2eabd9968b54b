// `keepsake restore FILE [--components LIST] [--keep LIST] [--dry-run] [--dms-file F]`,
// `keepsake rollback` and `keepsake recover`.
#include <fmt/format.h>

#include <filesystem>

#include "appliance/backup_chain.h"
#include "appliance/device_identity.h"
#include "appliance/layout.h"
#include "appliance/restore.h"
#include "auth/account_store.h"
#include "base/file_io.h"
#include "base/strings.h"
#include "cli/commands.h"
#include "cli/secret_input.h"
#include "crypto/keystore.h"

namespace keepsake::cli {
namespace {

struct RestoreOptions {
  std::string file;
  std::string components;
  std::string keep;
  std::string dms_file;
  bool dry_run = false;
};

// A backup of this appliance older than the last one it made, or under another name than
// it was made with, is said so: a replayed copy goes back further than its name says.
void ReportReplay(const CliContext& ctx, const std::string& file, const archive::BackupHeader& h) {
  if (std::filesystem::path(file).filename().string() != h.file_name) {
    fmt::print("Note: the backup was made as {}: this file was renamed or copied.\n", Printable(h.file_name));
  }
  auto device = appliance::LoadDeviceIdentity(ctx.state_dir);
  auto last = appliance::LoadLastBackup(ctx.state_dir);
  if (h.chain.sequence > 0 && device.ok() && device->device_id == h.device.device_id && last.ok() &&
      last->sequence > h.chain.sequence) {
    fmt::print("Note: this is backup {} of this appliance, made {}; its newest is backup {}, made {} ({}).\n",
               h.chain.sequence, h.created_at, last->sequence, last->created_at, Printable(last->file_name));
  }
}

Status RunRestore(const CliContext& ctx, const RestoreOptions& opt) {
  appliance::RestoreRequest req;
  req.root = ctx.appliance_root;
  req.state_dir = ctx.state_dir;
  req.dry_run = opt.dry_run;
  if (!opt.components.empty()) {
    ASSIGN_OR_RETURN(req.components, appliance::ParseComponentList(opt.components));
  }
  if (!opt.keep.empty()) {
    ASSIGN_OR_RETURN(req.keep, appliance::ParseComponentList(opt.keep));
  }
  ASSIGN_OR_RETURN(std::optional<crypto::DomainKeys> device_keys, crypto::LoadKeystoreIfSet(ctx.state_dir));
  if (device_keys) req.device_keys = &*device_keys;
  req.superseded.push_back({std::string(auth::kOtpUserSupersededBy), auth::OtpUserPath(ctx.state_dir)});
  std::optional<SecureBuffer> dms;
  if (!opt.dms_file.empty()) {
    ASSIGN_OR_RETURN(dms, ReadSecretFile(opt.dms_file));
    req.dms = &*dms;
  }
  auto file = FileSource::Open(opt.file);
  if (!file.ok()) return std::move(file).status().WithContext(opt.file);
  auto report = appliance::RestoreBackup(**file, req);
  if (!report.ok()) return std::move(report).status().WithContext(opt.file);
  if (!report->recovered.empty()) fmt::print("{}\n", report->recovered);
  ReportReplay(ctx, opt.file, report->header);
  std::string names;
  for (const auto& c : report->components) names += (names.empty() ? "" : ", ") + c;
  if (opt.dry_run) {
    fmt::print("{}: verified ({} files, {} bytes); a restore would replace: {}. Nothing was changed.\n", opt.file,
               report->files, report->bytes, names);
    return Status();
  }
  if (report->adopted_domain) {
    fmt::print("This appliance joined domain {} of the backup.\n", report->header.DomainFingerprint());
  }
  fmt::print("{}: restored {} (backup of {} made {}). The previous state is kept: 'keepsake rollback' returns to it.\n",
             opt.file, names, report->header.device.hostname, report->header.created_at);
  if (!report->superseded_removed.empty())
    fmt::print("The Initial OTP User was removed: log in with the restored accounts.\n");
  return Status();
}

Status RunRollback(const CliContext& ctx) {
  ASSIGN_OR_RETURN(std::string what, appliance::RollbackToLastPoint(ctx.appliance_root));
  fmt::print("{}\n", what);
  return Status();
}

Status RunRecover(const CliContext& ctx) {
  ASSIGN_OR_RETURN(std::string what, appliance::RecoverInterruptedRestore(ctx.appliance_root));
  fmt::print("{}\n", what.empty() ? "nothing to recover: no restore was interrupted" : what);
  return Status();
}

}  // namespace

void AddRestoreCommands(CLI::App& app, const CliContext& ctx, Runner& run) {
  auto opt = std::make_shared<RestoreOptions>();
  CLI::App* cmd = app.add_subcommand("restore", "Restore a backup onto this appliance (verified first, rollback kept)");
  cmd->add_option("file", opt->file, "Backup file")->required();
  cmd->add_option("--components", opt->components,
                  "Components to restore: firmware, cluster, network, database-settings, accounts, database, "
                  "system (= cluster,network,database-settings,accounts), all (default: all in the backup)");
  cmd->add_option("--keep", opt->keep, "Components to keep as they are on this appliance (e.g. network)");
  cmd->add_flag("--dry-run", opt->dry_run, "Verify the backup and the checks only; change nothing");
  cmd->add_option("--dms-file", opt->dms_file,
                  "Domain Master Secret of the backup's domain (restoring onto another or a fresh appliance)");
  cmd->callback([&ctx, &run, opt] { run = [&ctx, opt] { return RunRestore(ctx, *opt); }; });

  CLI::App* rollback = app.add_subcommand("rollback", "Return the appliance to the state before the last restore");
  rollback->callback([&ctx, &run] { run = [&ctx] { return RunRollback(ctx); }; });

  CLI::App* recover = app.add_subcommand("recover", "Finish or undo a restore interrupted by a crash");
  recover->callback([&ctx, &run] { run = [&ctx] { return RunRecover(ctx); }; });
}

}  // namespace keepsake::cli
