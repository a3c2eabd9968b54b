// The `keepsake` subcommands. Each Add*Command registers one subcommand (or a group) on the
// CLI11 app; when the user picks it, its runner is stored in `run` and main() calls it
// after parsing. Runners return a Status; main() prints it and maps it to an exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "archive/unlock.h"
#include "cli/api_client.h"
#include "crypto/domain_keys.h"
#include "crypto/revocation.h"

namespace keepsake::cli {

struct CliContext {
  std::string state_dir = "/var/lib/keepsake";        // --state-dir, KEEPSAKE_STATE_DIR
  std::string appliance_root = "/var/lib/appliance";  // --appliance-root, KEEPSAKE_APPLIANCE_ROOT
  std::string server = "https://127.0.0.1:8443";      // keepsaked's API: --server, KEEPSAKE_SERVER
  std::string ca_file;  // trusted certificate(s) for the API: --ca-file, KEEPSAKE_CA_FILE;
                        // default <state dir>/tls/cert.pem, the daemon's own certificate
};

using Runner = std::function<Status()>;

void AddDmsCommands(CLI::App& app, const CliContext& ctx, Runner& run);
void AddDeviceCommands(CLI::App& app, const CliContext& ctx, Runner& run);
void AddBackupCommand(CLI::App& app, const CliContext& ctx, Runner& run);
void AddInspectCommand(CLI::App& app, const CliContext& ctx, Runner& run);
void AddVerifyCommand(CLI::App& app, const CliContext& ctx, Runner& run);
void AddExtractCommand(CLI::App& app, const CliContext& ctx, Runner& run);
void AddDecryptCommand(CLI::App& app, const CliContext& ctx, Runner& run);
void AddRestoreCommands(CLI::App& app, const CliContext& ctx, Runner& run);
// Clients of the daemon's API.
void AddStatusCommand(CLI::App& app, const CliContext& ctx, Runner& run);
void AddBackupNowCommand(CLI::App& app, const CliContext& ctx, Runner& run);
void AddHistoryCommand(CLI::App& app, const CliContext& ctx, Runner& run);
void AddScheduleCommands(CLI::App& app, const CliContext& ctx, Runner& run);
void AddLoginCommands(CLI::App& app, const CliContext& ctx, Runner& run);
void AddUsersCommands(CLI::App& app, const CliContext& ctx, Runner& run);
void AddStorageCommands(CLI::App& app, const CliContext& ctx, Runner& run);

// How the client commands reach the daemon: server, CA file (default: the daemon's own
// certificate in the state directory), the stored session.
ApiClientOptions ClientOptions(const CliContext& ctx);

// The keys a command that opens a backup uses: the DMS from --dms-file when given, else
// this device's keystore. Owns what the Unlocker points to.
class UnlockKeys {
 public:
  // kFailedPrecondition when there is neither a --dms-file nor a keystore.
  static Result<std::unique_ptr<UnlockKeys>> Load(const CliContext& ctx, const std::string& dms_file);
  archive::Unlocker unlocker() const;
  // A v2 appliance without the restore key and no DMS given: backups can be checked here
  // (signatures, certificate, chunk tree), not opened.
  bool write_only() const {
    return !dms_ && device_keys_ && device_keys_->device && device_keys_->box_secret_key.empty();
  }

 private:
  std::optional<crypto::DomainKeys> device_keys_;
  std::optional<SecureBuffer> dms_;
  std::optional<crypto::RevocationList> revocations_;
};

}  // namespace keepsake::cli
