// `keepsake dms set` and `keepsake dms show`.
#include <fmt/format.h>

#include "base/encoding.h"
#include "cli/commands.h"
#include "cli/secret_input.h"
#include "crypto/dms_text.h"
#include "crypto/keystore.h"

namespace keepsake::cli {
namespace {

struct SetOptions {
  std::string dms_file;
  crypto::KdfParams kdf;
  bool test_weak_kdf = false;
};

Status RunSet(const CliContext& ctx, const SetOptions& opt) {
  // Checked first so that nobody types a secret twice only to be told it is set already.
  if (crypto::KeystoreExists(ctx.state_dir)) {
    return Status::AlreadyExists("The Domain Master Secret is already set and cannot be changed or deleted");
  }
  RETURN_IF_ERROR(crypto::ValidateNewKdfParams(opt.kdf, opt.test_weak_kdf));
  SecureBuffer dms, confirmation;
  if (!opt.dms_file.empty()) {
    ASSIGN_OR_RETURN(dms, ReadSecretFile(opt.dms_file));
    confirmation = SecureBuffer::CopyOf(dms.span());
  } else {
    ASSIGN_OR_RETURN(dms, ReadSecretFromTerminal("Domain Master Secret (at least 8 characters): "));
    ASSIGN_OR_RETURN(confirmation, ReadSecretFromTerminal("Confirm the Domain Master Secret: "));
  }
  ASSIGN_OR_RETURN(crypto::DomainKeys keys, crypto::CreateKeystore(ctx.state_dir, dms, confirmation, opt.kdf));
  fmt::print("Domain Master Secret set. Domain fingerprint: {}\n", crypto::DomainFingerprint(keys.public_key));
  if (auto normalized = crypto::NormalizeDms(dms); normalized.ok()) {
    crypto::DmsStrength strength = crypto::RateDms(*normalized);
    fmt::print("Strength: {} (about 2^{:.0f} guesses)\n", strength.words, strength.bits);
  }
  fmt::print(
      "Keep the Domain Master Secret safe: restoring a backup on another appliance needs it, "
      "and it cannot be recovered or changed.\n");
  return Status();
}

Status RunShow(const CliContext& ctx) {
  ASSIGN_OR_RETURN(crypto::DomainKeys keys, crypto::LoadKeystore(ctx.state_dir));
  fmt::print("Domain fingerprint: {}\n", crypto::DomainFingerprint(keys.public_key));
  fmt::print("Public key:         {}\n", ToHex(keys.public_key));
  fmt::print("Key derivation:     Argon2id, {} passes, {} KiB\n", keys.kdf.opslimit, keys.kdf.memlimit_kib);
  return Status();
}

}  // namespace

void AddDmsCommands(CLI::App& app, const CliContext& ctx, Runner& run) {
  CLI::App* dms = app.add_subcommand("dms", "Domain Master Secret: set it once, show its fingerprint");
  dms->require_subcommand(1);

  auto opt = std::make_shared<SetOptions>();
  CLI::App* set = dms->add_subcommand("set", "Set the Domain Master Secret (once; it can never be changed)");
  set->add_option("--dms-file", opt->dms_file,
                  "Read the secret from the first line of this file instead of the terminal");
  set->add_option("--kdf-ops", opt->kdf.opslimit, "Argon2id passes (default 3)");
  set->add_option("--kdf-mem-kib", opt->kdf.memlimit_kib, "Argon2id memory in KiB (default 262144)");
  set->add_flag("--test-weak-kdf", opt->test_weak_kdf,
                "Test suites only: allow a cost below the default (libsodium's MODERATE), the minimum otherwise");
  set->callback([&ctx, &run, opt] { run = [&ctx, opt] { return RunSet(ctx, *opt); }; });

  CLI::App* show = dms->add_subcommand("show", "Show the domain fingerprint (never the secret)");
  show->callback([&ctx, &run] { run = [&ctx] { return RunShow(ctx); }; });
}

}  // namespace keepsake::cli
