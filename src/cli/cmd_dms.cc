// `keepsake dms set`, `keepsake dms join` and `keepsake dms show`.
#include <fmt/format.h>

#include <ctime>

#include "appliance/device_identity.h"
#include "archive/sealed_reader.h"
#include "base/encoding.h"
#include "base/file_io.h"
#include "cli/commands.h"
#include "cli/secret_input.h"
#include "crypto/device_certificate.h"
#include "crypto/dms_text.h"
#include "crypto/keystore.h"

namespace keepsake::cli {
namespace {

struct SetOptions {
  std::string dms_file;
  crypto::KdfParams kdf;
  bool test_weak_kdf = false;
  bool keep_restore_key = false;
};

struct JoinOptions {
  std::string backup;
  std::string dms_file;
  bool keep_restore_key = false;
};

constexpr char kAlreadySet[] = "The Domain Master Secret is already set and cannot be changed or deleted";

Result<crypto::NewDevice> ThisDevice(const CliContext& ctx, bool keep_restore_key) {
  ASSIGN_OR_RETURN(archive::DeviceIdentity device, appliance::LoadDeviceIdentity(ctx.state_dir));
  return crypto::NewDevice{device.device_id, std::time(nullptr), keep_restore_key};
}

void PrintMember(const crypto::DomainKeys& keys) {
  fmt::print("Domain fingerprint: {}\n", crypto::DomainFingerprint(keys.public_key));
  if (keys.device) {
    fmt::print("Device key:         {} (certified for device {})\n",
               crypto::DeviceFingerprint(keys.device->certificate.device_public_key),
               keys.device->certificate.device_id);
  }
  fmt::print("Restore key:        {}\n", keys.box_secret_key.empty()
                                             ? "not kept: restores on this appliance ask for the DMS (write-only)"
                                             : "kept on this appliance: restores here need no DMS");
}

Status RunSet(const CliContext& ctx, const SetOptions& opt) {
  // Checked first so that nobody types a secret twice only to be told it is set already.
  if (crypto::KeystoreExists(ctx.state_dir)) return Status::AlreadyExists(kAlreadySet);
  RETURN_IF_ERROR(crypto::ValidateNewKdfParams(opt.kdf, opt.test_weak_kdf));
  ASSIGN_OR_RETURN(crypto::NewDevice device, ThisDevice(ctx, opt.keep_restore_key));
  SecureBuffer dms, confirmation;
  if (!opt.dms_file.empty()) {
    ASSIGN_OR_RETURN(dms, ReadSecretFile(opt.dms_file));
    confirmation = SecureBuffer::CopyOf(dms.span());
  } else {
    ASSIGN_OR_RETURN(dms, ReadSecretFromTerminal("Domain Master Secret (at least 8 characters): "));
    ASSIGN_OR_RETURN(confirmation, ReadSecretFromTerminal("Confirm the Domain Master Secret: "));
  }
  ASSIGN_OR_RETURN(crypto::DomainKeys keys, crypto::CreateKeystore(ctx.state_dir, dms, confirmation, opt.kdf, device));
  fmt::print("Domain Master Secret set.\n");
  PrintMember(keys);
  if (auto normalized = crypto::NormalizeDms(dms); normalized.ok()) {
    crypto::DmsStrength strength = crypto::RateDms(*normalized);
    fmt::print("Strength:           {} (about 2^{:.0f} guesses)\n", strength.words, strength.bits);
  }
  fmt::print(
      "Keep the Domain Master Secret safe: restoring a backup on another appliance needs it, "
      "and it cannot be recovered or changed.\n");
  return Status();
}

// Another appliance of an existing domain: the domain's salt and KDF parameters come from
// one of its backups (whose header names them), the DMS proves membership, and this
// appliance gets its own certified signing key.
Status RunJoin(const CliContext& ctx, const JoinOptions& opt) {
  if (crypto::KeystoreExists(ctx.state_dir)) return Status::AlreadyExists(kAlreadySet);
  ASSIGN_OR_RETURN(crypto::NewDevice device, ThisDevice(ctx, opt.keep_restore_key));
  ASSIGN_OR_RETURN(auto source, FileSource::Open(opt.backup));
  auto sealed = archive::ReadSealedHeader(*source);
  if (!sealed.ok()) return std::move(sealed).status().WithContext(opt.backup);
  const archive::BackupHeader& h = sealed->header;
  SecureBuffer dms;
  if (!opt.dms_file.empty()) {
    ASSIGN_OR_RETURN(dms, ReadSecretFile(opt.dms_file));
  } else {
    ASSIGN_OR_RETURN(
        dms, ReadSecretFromTerminal(fmt::format("Domain Master Secret of domain {}: ", h.DomainFingerprint()).c_str()));
  }
  ASSIGN_OR_RETURN(crypto::DomainKeys keys,
                   crypto::AdoptDomain(ctx.state_dir, dms, h.domain_salt, h.kdf, h.domain_public_key, device));
  fmt::print("This appliance joined the domain.\n");
  PrintMember(keys);
  return Status();
}

Status RunShow(const CliContext& ctx) {
  ASSIGN_OR_RETURN(crypto::DomainKeys keys, crypto::LoadKeystore(ctx.state_dir));
  PrintMember(keys);
  fmt::print("Public key:         {}\n", ToHex(keys.public_key));
  if (keys.device) fmt::print("Device public key:  {}\n", ToHex(keys.device->certificate.device_public_key));
  fmt::print("Key derivation:     Argon2id, {} passes, {} KiB\n", keys.kdf.opslimit, keys.kdf.memlimit_kib);
  fmt::print("Backups written as: format {}\n", keys.device ? 2 : 1);
  return Status();
}

}  // namespace

void AddDmsCommands(CLI::App& app, const CliContext& ctx, Runner& run) {
  CLI::App* dms = app.add_subcommand("dms", "Domain Master Secret: set it once, join a domain, show its fingerprint");
  dms->require_subcommand(1);
  const char* keep_help =
      "Keep the domain's restore key on this appliance, so that restores here need no DMS; whoever copies its "
      "disk can then read every backup of the domain (off by default: docs/RESTORE.md)";

  auto opt = std::make_shared<SetOptions>();
  CLI::App* set = dms->add_subcommand("set", "Set the Domain Master Secret (once; it can never be changed)");
  set->add_option("--dms-file", opt->dms_file,
                  "Read the secret from the first line of this file instead of the terminal");
  set->add_option("--kdf-ops", opt->kdf.opslimit, "Argon2id passes (default 3)");
  set->add_option("--kdf-mem-kib", opt->kdf.memlimit_kib, "Argon2id memory in KiB (default 262144)");
  set->add_flag("--test-weak-kdf", opt->test_weak_kdf,
                "Test suites only: allow a cost below the default (libsodium's MODERATE), the minimum otherwise");
  set->add_flag("--keep-restore-key", opt->keep_restore_key, keep_help);
  set->callback([&ctx, &run, opt] { run = [&ctx, opt] { return RunSet(ctx, *opt); }; });

  auto join = std::make_shared<JoinOptions>();
  CLI::App* j = dms->add_subcommand("join", "Make this appliance a member of an existing domain, with its own key");
  j->add_option("--backup", join->backup, "A backup of the domain (its header names the domain)")->required();
  j->add_option("--dms-file", join->dms_file,
                "Read the secret from the first line of this file instead of the terminal");
  j->add_flag("--keep-restore-key", join->keep_restore_key, keep_help);
  j->callback([&ctx, &run, join] { run = [&ctx, join] { return RunJoin(ctx, *join); }; });

  CLI::App* show = dms->add_subcommand("show", "Show the domain and device key fingerprints (never a secret)");
  show->callback([&ctx, &run] { run = [&ctx] { return RunShow(ctx); }; });
}

}  // namespace keepsake::cli
