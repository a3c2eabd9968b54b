// `keepsake device revoke`, `keepsake device revocations`, `keepsake device
// install-revocations`: the domain's revocation list of device keys (crypto/revocation.h).
#include <fmt/format.h>

#include <ctime>

#include "base/encoding.h"
#include "base/file_io.h"
#include "base/strings.h"
#include "base/utc_time.h"
#include "cli/commands.h"
#include "cli/secret_input.h"
#include "crypto/device_certificate.h"
#include "crypto/keystore.h"
#include "crypto/revocation.h"

namespace keepsake::cli {
namespace {

struct RevokeOptions {
  std::string device_key;  // hex, as `keepsake inspect` and `dms show` print it
  std::string device_id;
  std::string refuse_from;  // UTC; default now
  std::string dms_file;
};

void PrintList(const crypto::RevocationList& list) {
  if (list.serial == 0) {
    fmt::print("No device key is revoked in this domain.\n");
    return;
  }
  fmt::print("Revocation list {} of domain {}, issued {}\n", list.serial,
             crypto::DomainFingerprint(list.domain_public_key), list.issued_at);
  for (const crypto::RevokedDevice& r : list.revoked) {
    fmt::print("  device {} key {}: backups made from {} on are refused\n", Printable(r.device_id),
               crypto::DeviceFingerprint(r.device_public_key), r.refuse_from);
  }
}

Status RunRevoke(const CliContext& ctx, const RevokeOptions& opt) {
  ASSIGN_OR_RETURN(crypto::DomainKeys member, crypto::LoadKeystore(ctx.state_dir));
  auto key_bytes = FromHex(opt.device_key, crypto::kPublicKeySize);
  if (!key_bytes.ok()) {
    return Status::InvalidArgument(
        "--device-key must be the device's public key: 64 hex digits, as "
        "'keepsake inspect' prints it under Signed by");
  }
  crypto::RevokedDevice revoked;
  std::copy(key_bytes->begin(), key_bytes->end(), revoked.device_public_key.begin());
  revoked.device_id = opt.device_id;
  if (revoked.device_id.empty() || revoked.device_id.size() > crypto::kMaxDeviceIdSize) {
    return Status::InvalidArgument("--device-id must name the device (1 to 128 bytes)");
  }
  revoked.refuse_from = opt.refuse_from.empty() ? FormatUtc(std::time(nullptr)) : opt.refuse_from;
  if (!ParseUtc(revoked.refuse_from)) {
    return Status::InvalidArgument("--refuse-from must be a UTC time such as 2026-11-26T04:12:00Z");
  }
  if (member.device && member.device->certificate.device_public_key == revoked.device_public_key) {
    return Status::InvalidArgument("that is this appliance's own key: revoke it from another appliance of the domain");
  }
  ASSIGN_OR_RETURN(crypto::RevocationList list, crypto::LoadRevocations(ctx.state_dir, member.public_key));

  // Only the domain key signs a list: derive it from the DMS, as this domain's keystore says.
  SecureBuffer dms;
  if (!opt.dms_file.empty()) {
    ASSIGN_OR_RETURN(dms, ReadSecretFile(opt.dms_file));
  } else {
    ASSIGN_OR_RETURN(dms, ReadSecretFromTerminal("Domain Master Secret: "));
  }
  ASSIGN_OR_RETURN(crypto::DomainKeys domain, crypto::DeriveDomainKeys(dms, member.salt, member.kdf));
  if (domain.public_key != member.public_key) {
    return Status::Unauthenticated(fmt::format("wrong Domain Master Secret: it does not open domain {}",
                                               crypto::DomainFingerprint(member.public_key)));
  }
  std::erase_if(list.revoked,
                [&](const crypto::RevokedDevice& r) { return r.device_public_key == revoked.device_public_key; });
  list.revoked.push_back(revoked);
  list.serial += 1;
  list.issued_at = FormatUtc(std::time(nullptr));
  std::string text = crypto::SignRevocationList(domain, list);
  ASSIGN_OR_RETURN(crypto::RevocationList installed,
                   crypto::InstallRevocations(ctx.state_dir, text, member.public_key));
  PrintList(installed);
  fmt::print(
      "Saved as {}. Install the same file on every other appliance of the domain with "
      "'keepsake device install-revocations FILE'.\n",
      crypto::RevocationsPath(ctx.state_dir));
  return Status();
}

Status RunShowList(const CliContext& ctx) {
  ASSIGN_OR_RETURN(std::optional<crypto::PublicKey> domain, crypto::LoadKeystorePublicKey(ctx.state_dir));
  if (!domain) return Status::FailedPrecondition("no Domain Master Secret is set on this device");
  ASSIGN_OR_RETURN(crypto::RevocationList list, crypto::LoadRevocations(ctx.state_dir, *domain));
  PrintList(list);
  return Status();
}

Status RunInstall(const CliContext& ctx, const std::string& file) {
  ASSIGN_OR_RETURN(std::optional<crypto::PublicKey> domain, crypto::LoadKeystorePublicKey(ctx.state_dir));
  if (!domain) return Status::FailedPrecondition("no Domain Master Secret is set on this device");
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(file, 2 << 20));
  auto list = crypto::InstallRevocations(ctx.state_dir, text, *domain);
  if (!list.ok()) return std::move(list).status().WithContext(file);
  PrintList(*list);
  return Status();
}

}  // namespace

void AddDeviceCommands(CLI::App& app, const CliContext& ctx, Runner& run) {
  CLI::App* device = app.add_subcommand("device", "Device keys of the domain: revoke one, show or install the list");
  device->require_subcommand(1);

  auto opt = std::make_shared<RevokeOptions>();
  CLI::App* revoke = device->add_subcommand(
      "revoke", "Refuse, on this appliance and wherever the list is installed, backups a device key signs from now on");
  revoke->add_option("--device-key", opt->device_key, "The device's public key (hex)")->required();
  revoke->add_option("--device-id", opt->device_id, "The device id its certificate names")->required();
  revoke->add_option("--refuse-from", opt->refuse_from,
                     "Refuse its backups made from this UTC time on (default: now; give its certification time to "
                     "refuse every backup it made)");
  revoke->add_option("--dms-file", opt->dms_file,
                     "Read the secret from the first line of this file instead of the terminal");
  revoke->callback([&ctx, &run, opt] { run = [&ctx, opt] { return RunRevoke(ctx, *opt); }; });

  CLI::App* list = device->add_subcommand("revocations", "Show the revocation list installed here");
  list->callback([&ctx, &run] { run = [&ctx] { return RunShowList(ctx); }; });

  auto file = std::make_shared<std::string>();
  CLI::App* install =
      device->add_subcommand("install-revocations", "Install a newer revocation list made on another appliance");
  install->add_option("file", *file, "The revocations.json another appliance saved")->required();
  install->callback([&ctx, &run, file] { run = [&ctx, file] { return RunInstall(ctx, *file); }; });
}

}  // namespace keepsake::cli
