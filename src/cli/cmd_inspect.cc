// `keepsake inspect FILE [--json]`: the Backup Details, readable without the DMS.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "archive/backup_file.h"
#include "base/encoding.h"
#include "base/file_io.h"
#include "base/strings.h"
#include "cli/commands.h"
#include "crypto/device_certificate.h"
#include "crypto/keystore.h"
#include "crypto/revocation.h"
#include "service/storage_browser.h"
#include "web/api_json.h"

namespace keepsake::cli {
namespace {

struct InspectOptions {
  std::string file;
  bool json = false;
};

// The human wording of the domain verdict (the JSON carries web's words for the same).
std::string_view TrustText(service::DomainTrust trust) {
  switch (trust) {
    case service::DomainTrust::kThisDomain:
      return "valid, made in this device's domain";
    case service::DomainTrust::kOtherDomain:
      return "valid, but made in ANOTHER domain than this device's";
    case service::DomainTrust::kRevokedSigner:
      return "valid, but signed by a device key this domain REVOKED for its time";
    case service::DomainTrust::kUnknown:
      break;
  }
  return "consistent, not checked against a trusted key (this device has no Domain Master Secret)";
}

Status RunInspect(const CliContext& ctx, const InspectOptions& opt) {
  ASSIGN_OR_RETURN(auto source, FileSource::Open(opt.file));
  // The header signature is checked against the key the header names; whether that key is
  // this device's domain is the question of trust. A keystore that cannot be read leaves it
  // open, as on a device without one.
  auto key = crypto::LoadKeystorePublicKey(ctx.state_dir);
  std::optional<crypto::PublicKey> trusted = key.ok() ? *key : std::nullopt;
  // The whole file is read once: header, then the body's framing and trailer (no secret).
  auto details =
      service::ReadBackupDetails(*source, trusted, date::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  if (!details.ok()) return std::move(details).status().WithContext(opt.file);
  if (trusted) {
    auto revocations = crypto::LoadRevocations(ctx.state_dir, *trusted);
    if (!revocations.ok()) return std::move(revocations).status();
    service::NoteRevocation(*details, &*revocations);
  }
  const archive::BackupHeader& h = details->header;
  const service::IntegrityVerdict& integrity = details->integrity;
  std::error_code ec;
  uint64_t file_size = std::filesystem::file_size(opt.file, ec);
  std::string_view trust = TrustText(details->trust);

  if (opt.json) {
    nlohmann::json j = web::BackupDetailsToJson(*details);
    j["file"] = {{"path", opt.file}, {"size", file_size}};
    // ensure_ascii: whatever a header holds reaches the terminal as \u escapes.
    fmt::print("{}\n", j.dump(2, ' ', /*ensure_ascii=*/true));
  } else {
    // Every string from the file is printed through Printable, though the parser already
    // refused control characters: what reaches a terminal never depends on one check.
    auto text = [](std::string_view s) { return Printable(s); };
    fmt::print("File:               {}\n", text(opt.file));
    fmt::print("Backup file name:   {}\n", text(h.file_name));
    fmt::print("Backup id:          {}\n", text(h.backup_id));
    fmt::print("Created (UTC):      {}\n", text(h.created_at));
    fmt::print("Device:             {} ({}), id {}\n", text(h.device.hostname), text(h.device.model),
               text(h.device.device_id));
    fmt::print("Firmware version:   {}\n", text(h.device.firmware_version));
    if (h.chain.sequence > 0) {
      fmt::print("Sequence:           backup {} of its device{}\n", h.chain.sequence,
                 h.chain.previous_header_sha256 ? fmt::format(", after the one whose header hashes to {}",
                                                              ToHex(*h.chain.previous_header_sha256).substr(0, 16))
                                                : "");
    }
    if (std::string base = std::filesystem::path(opt.file).filename().string(); base != h.file_name) {
      fmt::print("Note:               made as {}: this file was renamed or copied\n", text(h.file_name));
    }
    fmt::print("Domain fingerprint: {}\n", h.DomainFingerprint());
    if (h.signer) {
      fmt::print("Signed by:          device {}, key {} ({}), certified {}\n", text(h.signer->device_id),
                 crypto::DeviceFingerprint(h.signer->device_public_key), ToHex(h.signer->device_public_key),
                 h.signer->certified_at);
    }
    fmt::print("Format:             version {}\n", h.format_version);
    fmt::print("Signature:          {}\n", trust);
    fmt::print("Integrity:          {}\n",
               integrity.intact ? (h.is_v2() ? "intact: the signed trailer and chunk tree match every chunk"
                                             : "intact: the signed trailer and whole-file hash match every byte")
                                : "DAMAGED: " + text(integrity.damage));
    fmt::print("Components:\n");
    for (const auto& c : h.components) {
      fmt::print("  {:<16} {:>8} files  {:>10}{}\n", text(c.name), c.files, HumanBytes(c.bytes),
                 c.note.empty() ? "" : "  (" + text(c.note) + ")");
    }
    fmt::print("Input size:         {} ({} bytes)\n", HumanBytes(h.InputBytes()), h.InputBytes());
    fmt::print("Sealed size:        {} ({} bytes), zstd level {}, XChaCha20-Poly1305{}\n", HumanBytes(file_size),
               file_size, h.compression_level,
               h.is_v2() ? fmt::format(", {} chunks that open on their own", HumanBytes(h.chunk_size)) : "");
  }
  if (!integrity.intact) {
    return Status::Corruption(fmt::format("the file is damaged: {}", integrity.damage)).WithContext(opt.file);
  }
  return Status();
}

}  // namespace

void AddInspectCommand(CLI::App& app, const CliContext& ctx, Runner& run) {
  auto opt = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show a backup's Backup Details (no DMS needed)");
  cmd->add_option("file", opt->file, "Backup file")->required();
  cmd->add_flag("--json", opt->json, "Print JSON for machines");
  cmd->callback([&ctx, &run, opt] { run = [&ctx, opt] { return RunInspect(ctx, *opt); }; });
}

}  // namespace keepsake::cli
