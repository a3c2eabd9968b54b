#include "archive/manifest.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace keepsake::archive {

using nlohmann::json;

namespace {

std::string_view TypeName(EntryType t) {
  switch (t) {
    case EntryType::kFile: return "file";
    case EntryType::kDir: return "dir";
    case EntryType::kSymlink: return "symlink";
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
            {"device",
             {{"device_id", m.device.device_id},
              {"hostname", m.device.hostname},
              {"model", m.device.model},
              {"firmware_version", m.device.firmware_version}}},
            {"components", std::move(components)}};
  return j.dump(1) + "\n";
}

Result<Manifest> ParseManifest(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  auto bad = [](std::string_view what) { return Status::Corruption(fmt::format("manifest: {}", what)); };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (j.value("manifest_version", 0) != 1) return bad("unknown manifest_version");
  Manifest m;
  m.backup_id = j.value("backup_id", "");
  if (j.contains("device") && j["device"].is_object()) {
    const json& d = j["device"];
    m.device = {d.value("device_id", ""), d.value("hostname", ""), d.value("model", ""),
                d.value("firmware_version", "")};
  }
  if (!j.contains("components") || !j["components"].is_array()) return bad("no components");
  for (const json& c : j["components"]) {
    if (!c.is_object() || !c.contains("entries") || !c["entries"].is_array()) return bad("malformed component");
    ManifestComponent comp;
    comp.name = c.value("name", "");
    for (const json& e : c["entries"]) {
      if (!e.is_object() || !e.contains("path") || !e["path"].is_string()) return bad("entry without a path");
      ManifestEntry entry;
      entry.path = e["path"].get<std::string>();
      std::string type = e.value("type", "");
      if (type == "file") {
        entry.type = EntryType::kFile;
      } else if (type == "dir") {
        entry.type = EntryType::kDir;
      } else if (type == "symlink") {
        entry.type = EntryType::kSymlink;
      } else {
        return bad(fmt::format("entry '{}' has unknown type '{}'", entry.path, type));
      }
      entry.size = e.value("size", uint64_t{0});
      entry.mode = e.value("mode", uint32_t{0});
      entry.mtime = e.value("mtime", int64_t{0});
      entry.sha256 = e.value("sha256", "");
      entry.target = e.value("target", "");
      comp.entries.push_back(std::move(entry));
    }
    m.components.push_back(std::move(comp));
  }
  return m;
}

}  // namespace keepsake::archive
