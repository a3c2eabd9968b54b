// `keepsake inspect FILE [--json]`: the Backup Details, readable without the DMS.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "archive/backup_file.h"
#include "base/file_io.h"
#include "base/strings.h"
#include "cli/commands.h"
#include "crypto/keystore.h"

namespace keepsake::cli {
namespace {

struct InspectOptions {
  std::string file;
  bool json = false;
};

Status RunInspect(const CliContext& ctx, const InspectOptions& opt) {
  ASSIGN_OR_RETURN(auto source, FileSource::Open(opt.file));
  auto sealed = archive::ReadSealedHeader(*source);
  if (!sealed.ok()) return std::move(sealed).status().WithContext(opt.file);
  const archive::BackupHeader& h = sealed->header;
  std::error_code ec;
  uint64_t file_size = std::filesystem::file_size(opt.file, ec);

  // The header signature checked out against the key the header names; whether that key
  // is this device's domain is the question of trust.
  std::string trust;
  auto device_keys = crypto::LoadKeystore(ctx.state_dir);
  if (device_keys.ok()) {
    Status same = archive::CheckSameDomain(h, *device_keys);
    trust = same.ok() ? "valid, made in this device's domain" : "valid, but made in ANOTHER domain than this device's";
  } else {
    trust = "consistent, not checked against a trusted key (this device has no Domain Master Secret)";
  }

  if (opt.json) {
    nlohmann::json j = nlohmann::json::parse(archive::SerializeHeader(h));
    j["file"] = {{"path", opt.file}, {"size", file_size}};
    j["signature"] = trust;
    fmt::print("{}\n", j.dump(2));
    return Status();
  }
  fmt::print("File:               {}\n", opt.file);
  fmt::print("Backup file name:   {}\n", h.file_name);
  fmt::print("Backup id:          {}\n", h.backup_id);
  fmt::print("Created (UTC):      {}\n", h.created_at);
  fmt::print("Device:             {} ({}), id {}\n", h.device.hostname, h.device.model, h.device.device_id);
  fmt::print("Firmware version:   {}\n", h.device.firmware_version);
  fmt::print("Domain fingerprint: {}\n", h.DomainFingerprint());
  fmt::print("Signature:          {}\n", trust);
  fmt::print("Components:\n");
  for (const auto& c : h.components) {
    fmt::print("  {:<16} {:>8} files  {:>10}{}\n", c.name, c.files, HumanBytes(c.bytes),
               c.note.empty() ? "" : "  (" + c.note + ")");
  }
  fmt::print("Input size:         {} ({} bytes)\n", HumanBytes(h.InputBytes()), h.InputBytes());
  fmt::print("Sealed size:        {} ({} bytes), zstd level {}, XChaCha20-Poly1305\n", HumanBytes(file_size),
             file_size, h.compression_level);
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
