#include "daemon/config.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace keepsake::daemon {
namespace {

Status Bad(const std::string& path, const toml::source_region& where, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}:{}: {}", path, where.begin.line, what));
}

template <typename T>
Status Read(const std::string& path, const toml::key& key, const toml::node& node, T& out) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!node.is_string()) return Bad(path, node.source(), fmt::format("{} must be a string", key.str()));
    out = **node.as_string();
  } else {
    if (!node.is_integer()) return Bad(path, node.source(), fmt::format("{} must be a whole number", key.str()));
    int64_t v = **node.as_integer();
    if (v < 0 || v > std::numeric_limits<int32_t>::max()) {
      return Bad(path, node.source(), fmt::format("{} = {} is out of range", key.str(), v));
    }
    out = static_cast<T>(v);
  }
  return Status();
}

}  // namespace

Status LoadConfigFile(const std::string& path, DaemonConfig& config) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("{}: configuration file not found or not readable", path));
  std::stringstream text;
  text << in.rdbuf();
  toml::table table;
  try {  // Debian's toml++ is built with exceptions: parse errors arrive as toml::parse_error
    table = toml::parse(text.str(), path);
  } catch (const toml::parse_error& err) {
    return Bad(path, err.source(), err.description());
  }
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    Status st;
    if (name == "state_dir") st = Read(path, key, node, config.state_dir);
    else if (name == "appliance_root") st = Read(path, key, node, config.appliance_root);
    else if (name == "listen") st = Read(path, key, node, config.listen);
    else if (name == "log_level") st = Read(path, key, node, config.log_level);
    else if (name == "http_threads") st = Read(path, key, node, config.http_threads);
    else if (name == "zstd_level") st = Read(path, key, node, config.zstd_level);
    else if (name == "job_nice") st = Read(path, key, node, config.job_nice);
    else if (name == "kdf_ops") st = Read(path, key, node, config.kdf.opslimit);
    else if (name == "kdf_mem_kib") st = Read(path, key, node, config.kdf.memlimit_kib);
    else st = Bad(path, key.source(), fmt::format("unknown setting \"{}\"", name));
    RETURN_IF_ERROR(st);
  }
  return Status();
}

Status ParseListen(const std::string& listen, std::string& host, int& port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument(fmt::format("listen address \"{}\": expected HOST:PORT", listen));
  }
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port_text = listen.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || p < 0 || p > 65535) {
    return Status::InvalidArgument(fmt::format("listen address \"{}\": port must be 0-65535", listen));
  }
  port = static_cast<int>(p);
  return Status();
}

}  // namespace keepsake::daemon
