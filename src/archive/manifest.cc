#include "archive/manifest.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <unordered_set>

#include "archive/format.h"
#include "base/json_fields.h"

namespace keepsake::archive {

using nlohmann::json;

namespace {

std::string_view TypeName(EntryType t) {
  switch (t) {
    case EntryType::kFile:
      return "file";
    case EntryType::kDir:
      return "dir";
    case EntryType::kSymlink:
      return "symlink";
  }
  return "file";
}

}  // namespace

std::string SerializeManifest(const Manifest& m) {
  json components = json::array();
  for (const auto& c : m.components) {
    json entries = json::array();
    for (const auto& e : c.entries) {
      json item = {{"path", e.path}, {"type", TypeName(e.type)}, {"mode", e.mode}, {"mtime", e.mtime}};
      if (e.type == EntryType::kFile) {
        item["size"] = e.size;
        item["sha256"] = e.sha256;
      }
      if (e.type == EntryType::kSymlink) item["target"] = e.target;
      entries.push_back(std::move(item));
    }
    components.push_back({{"name", c.name}, {"entries", std::move(entries)}});
  }
  json j = {{"manifest_version", 1},
            {"backup_id", m.backup_id},
            {"device", DeviceToJson(m.device)},
            {"components", std::move(components)}};
  return j.dump(1) + "\n";
}

Result<Manifest> ParseManifest(std::string_view text) {
  RETURN_IF_ERROR(CheckJsonText(text, kMaxManifestDepth, "manifest: the manifest"));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("manifest: not a JSON object");
  JsonFields f(j, "manifest");
  ASSIGN_OR_RETURN(uint64_t version, f.Uint("manifest_version"));
  if (version != 1) return f.Bad("manifest_version", "unknown version");
  Manifest m;
  ASSIGN_OR_RETURN(m.backup_id, f.Text("backup_id", 64));
  ASSIGN_OR_RETURN(JsonFields device, f.Object("device"));
  ASSIGN_OR_RETURN(m.device, DeviceFromJson(device));
  ASSIGN_OR_RETURN(const json* components, f.Array("components", 64));
  // Every path once: the tar check counts listed entries against the members it saw, so a
  // path listed twice would otherwise cover a member the manifest does not list.
  std::unordered_set<std::string> paths;
  for (const json& c : *components) {
    JsonFields cf(c, "manifest", "components[].");
    ManifestComponent comp;
    ASSIGN_OR_RETURN(comp.name, cf.Text("name", 64));
    ASSIGN_OR_RETURN(const json* entries, cf.Array("entries", 10'000'000));
    for (const json& e : *entries) {
      JsonFields ef(e, "manifest", "entries[].");
      ManifestEntry entry;
      ASSIGN_OR_RETURN(entry.path, ef.Text("path", 4096));
      if (!paths.insert(entry.path).second) {
        return Status::Corruption(fmt::format("manifest: '{}' is listed twice", entry.path));
      }
      ASSIGN_OR_RETURN(std::string type, ef.Text("type", 16));
      if (type == "file") {
        entry.type = EntryType::kFile;
      } else if (type == "dir") {
        entry.type = EntryType::kDir;
      } else if (type == "symlink") {
        entry.type = EntryType::kSymlink;
      } else {
        return ef.Bad("type", fmt::format("'{}' is not file, dir or symlink", type));
      }
      ASSIGN_OR_RETURN(uint64_t mode, ef.Uint("mode"));
      entry.mode = static_cast<uint32_t>(mode & 07777);
      ASSIGN_OR_RETURN(entry.mtime, ef.Int("mtime"));
      if (entry.type == EntryType::kFile) {
        ASSIGN_OR_RETURN(entry.size, ef.Uint("size"));
        ASSIGN_OR_RETURN(entry.sha256, ef.Text("sha256", 64));
      }
      if (entry.type == EntryType::kSymlink) {
        ASSIGN_OR_RETURN(entry.target, ef.Text("target", 4096));
      }
      comp.entries.push_back(std::move(entry));
    }
    for (const auto& seen : m.components) {
      if (seen.name == comp.name) return f.Bad("components", fmt::format("'{}' is listed twice", comp.name));
    }
    m.components.push_back(std::move(comp));
  }
  return m;
}

}  // namespace keepsake::archive
