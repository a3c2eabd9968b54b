#include "appliance/backup_chain.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "base/json_fields.h"

namespace keepsake::appliance {
namespace {

std::string ChainPath(const std::string& state_dir) { return state_dir + "/backup-chain.json"; }

}  // namespace

Result<ChainLink> LoadLastBackup(const std::string& state_dir) {
  const std::string path = ChainPath(state_dir);
  auto text = ReadSmallFile(path, 4096);
  if (!text.ok()) {
    if (text.status().code() == ErrorCode::kNotFound) return ChainLink{};
    return std::move(text).status();
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption(fmt::format("{}: not a JSON object", path));
  JsonFields f(j, path);
  ChainLink link;
  ASSIGN_OR_RETURN(link.sequence, f.Uint("sequence"));
  RETURN_IF_ERROR(f.HexInto("header_sha256", link.header_sha256));
  ASSIGN_OR_RETURN(link.created_at, f.Text("created_at", 64));
  ASSIGN_OR_RETURN(link.file_name, f.Text("file_name", 255));
  return link;
}

archive::BackupChain NextInChain(const ChainLink& last) {
  archive::BackupChain chain;
  chain.sequence = last.sequence + 1;
  if (last.sequence > 0) chain.previous_header_sha256 = last.header_sha256;
  return chain;
}

Status RecordBackup(const std::string& state_dir, const ChainLink& link) {
  ASSIGN_OR_RETURN(ChainLink last, LoadLastBackup(state_dir));
  if (last.sequence >= link.sequence) return Status();
  nlohmann::json j = {{"sequence", link.sequence},
                      {"header_sha256", ToHex(link.header_sha256)},
                      {"created_at", link.created_at},
                      {"file_name", link.file_name}};
  return ReplaceFileAtomic(ChainPath(state_dir), j.dump(2) + "\n", 0600);
}

}  // namespace keepsake::appliance
