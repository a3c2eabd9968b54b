// keepsake: the command-line tool. Backups and restores of the appliance, offline work on
// backup files (inspect, verify, decrypt, extract) and this device's domain (dms set/show).
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstdlib>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_codes.h"

namespace {

// Secrets live in this process's memory: no core dumps, no ptrace by other users.
void HardenProcess() {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace keepsake::cli;
  HardenProcess();
  if (sodium_init() < 0) {
    fmt::print(stderr, "keepsake: libsodium failed to initialise\n");
    return kExitFailure;
  }
  CliContext ctx;
  if (const char* env = std::getenv("KEEPSAKE_STATE_DIR"); env != nullptr && *env != '\0') ctx.state_dir = env;
  if (const char* env = std::getenv("KEEPSAKE_APPLIANCE_ROOT"); env != nullptr && *env != '\0') {
    ctx.appliance_root = env;
  }

  CLI::App app{"keepsake: encrypted, signed backups of the appliance"};
  app.add_option("--state-dir", ctx.state_dir, "Where the keystore and settings live (env KEEPSAKE_STATE_DIR)");
  app.add_option("--appliance-root", ctx.appliance_root,
                 "The appliance state backed up and restored (env KEEPSAKE_APPLIANCE_ROOT)");
  app.require_subcommand(1);
  Runner run;
  AddDmsCommands(app, ctx, run);
  AddBackupCommand(app, ctx, run);
  AddInspectCommand(app, ctx, run);
  AddVerifyCommand(app, ctx, run);
  AddExtractCommand(app, ctx, run);
  AddDecryptCommand(app, ctx, run);
  AddRestoreCommands(app, ctx, run);

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
