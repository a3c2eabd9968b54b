// keepsake: the command-line tool. Backups and restores of the appliance, offline work on
// backup files (inspect, verify, decrypt, extract) and this device's domain (dms set/show).
#include <fmt/format.h>
#include <sodium.h>

#include <cstdlib>

#include "base/harden_process.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"

int main(int argc, char** argv) {
  using namespace keepsake::cli;
  keepsake::HardenProcess();
  if (sodium_init() < 0) {
    fmt::print(stderr, "keepsake: libsodium failed to initialise\n");
    return kExitFailure;
  }
  CliContext ctx;
  if (const char* env = std::getenv("KEEPSAKE_STATE_DIR"); env != nullptr && *env != '\0') ctx.state_dir = env;
  if (const char* env = std::getenv("KEEPSAKE_APPLIANCE_ROOT"); env != nullptr && *env != '\0') {
    ctx.appliance_root = env;
  }

  if (const char* env = std::getenv("KEEPSAKE_SERVER"); env != nullptr && *env != '\0') ctx.server = env;
  if (const char* env = std::getenv("KEEPSAKE_CA_FILE"); env != nullptr && *env != '\0') ctx.ca_file = env;

  CLI::App app{"keepsake: encrypted, signed backups of the appliance"};
  app.add_option("--state-dir", ctx.state_dir, "Where the keystore and settings live (env KEEPSAKE_STATE_DIR)");
  app.add_option("--appliance-root", ctx.appliance_root,
                 "The appliance state backed up and restored (env KEEPSAKE_APPLIANCE_ROOT)");
  app.add_option("--server", ctx.server, "keepsaked's API address (env KEEPSAKE_SERVER)");
  app.add_option("--ca-file", ctx.ca_file,
                 "Certificate(s) trusted for the API (env KEEPSAKE_CA_FILE; default <state dir>/tls/cert.pem)");
  app.require_subcommand(1);
  Runner run;
  AddDmsCommands(app, ctx, run);
  AddDeviceCommands(app, ctx, run);
  AddBackupCommand(app, ctx, run);
  AddInspectCommand(app, ctx, run);
  AddVerifyCommand(app, ctx, run);
  AddExtractCommand(app, ctx, run);
  AddDecryptCommand(app, ctx, run);
  AddRestoreCommands(app, ctx, run);
  AddStatusCommand(app, ctx, run);
  AddBackupNowCommand(app, ctx, run);
  AddHistoryCommand(app, ctx, run);
  AddScheduleCommands(app, ctx, run);
  AddLoginCommands(app, ctx, run);
  AddUsersCommands(app, ctx, run);
  AddStorageCommands(app, ctx, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  try {
    keepsake::Status st = run();
    if (!st.ok()) {
      fmt::print(stderr, "keepsake: {}\n", st.message());
      return ExitCodeFor(st);
    }
    return kExitOk;
  } catch (const std::exception& e) {  // last resort: a library threw
    fmt::print(stderr, "keepsake: internal error: {}\n", e.what());
    return kExitFailure;
  }
}
