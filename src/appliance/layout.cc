#include "appliance/layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "base/file_io.h"

namespace keepsake::appliance {

const std::vector<ComponentSpec>& Components() {
  static const std::vector<ComponentSpec> kComponents = {
      {"firmware", {"firmware", "config"}, "firmware and service configuration"},
      {"cluster", {"system/cluster"}, "cluster settings"},
      {"network", {"system/network"}, "network settings"},
      {"database-settings", {"system/database"}, "database settings"},
      {"accounts", {"system/accounts"}, "OAuth user accounts"},
      {"database", {"db"}, "the internal database"},
  };
  return kComponents;
}

const ComponentSpec* FindComponent(std::string_view name) {
  for (const auto& c : Components()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Result<std::vector<std::string>> ParseComponentList(std::string_view list) {
  std::vector<std::string> out;
  auto add = [&](const std::string& name) {
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    std::string name(list.substr(start, end - start));
    start = end + 1;
    if (name.empty()) continue;
    if (name == "all") {
      for (const auto& c : Components()) add(c.name);
    } else if (name == "system") {
      for (const char* n : {"cluster", "network", "database-settings", "accounts"}) add(n);
    } else if (FindComponent(name) != nullptr) {
      add(name);
    } else {
      std::string known = "system, all";
      for (const auto& c : Components()) known += ", " + c.name;
      return Status::InvalidArgument(fmt::format("unknown component '{}' (known: {})", name, known));
    }
  }
  if (out.empty()) return Status::InvalidArgument("no component selected");
  // Keep the table's order whatever order the user typed.
  std::vector<std::string> ordered;
  for (const auto& c : Components()) {
    if (std::find(out.begin(), out.end(), c.name) != out.end()) ordered.push_back(c.name);
  }
  return ordered;
}

std::string WorkDir(const std::string& root) { return root + "/.keepsake"; }

Result<std::string> ReadFirmwareVersion(const std::string& root) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(root + "/firmware/VERSION", 4096));
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (line.starts_with("firmware=")) return std::string(line.substr(9));
    pos = end + 1;
  }
  return Status::NotFound(fmt::format("{}/firmware/VERSION: no 'firmware=' line", root));
}

int CompareVersions(std::string_view a, std::string_view b) {
  auto next = [](std::string_view& s) -> long {
    long v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    size_t used = static_cast<size_t>(ptr - s.data());
    s.remove_prefix(std::min(s.size(), used + (used < s.size() ? 1 : 0)));
    return ec == std::errc() ? v : 0;
  };
  while (!a.empty() || !b.empty()) {
    long x = next(a), y = next(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

}  // namespace keepsake::appliance
