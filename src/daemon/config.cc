#include "daemon/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

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
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!node.is_boolean()) return Bad(path, node.source(), fmt::format("{} must be true or false", key.str()));
    out = **node.as_boolean();
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
  // toml++ iterates keys in name order: report the bad line that comes first in the file.
  Status first;
  uint32_t first_line = 0;
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    Status st;
    if (name == "state_dir")
      st = Read(path, key, node, config.state_dir);
    else if (name == "appliance_root")
      st = Read(path, key, node, config.appliance_root);
    else if (name == "listen")
      st = Read(path, key, node, config.listen);
    else if (name == "log_level")
      st = Read(path, key, node, config.log_level);
    else if (name == "http_threads")
      st = Read(path, key, node, config.http_threads);
    else if (name == "http_client_connections")
      st = Read(path, key, node, config.http_client_connections);
    else if (name == "http_head_seconds")
      st = Read(path, key, node, config.http_head_seconds);
    else if (name == "zstd_level")
      st = Read(path, key, node, config.zstd_level);
    else if (name == "job_nice")
      st = Read(path, key, node, config.job_nice);
    else if (name == "kdf_ops")
      st = Read(path, key, node, config.kdf.opslimit);
    else if (name == "kdf_mem_kib")
      st = Read(path, key, node, config.kdf.memlimit_kib);
    else if (name == "test_weak_kdf")
      st = Read(path, key, node, config.test_weak_kdf);
    else if (name == "tls_cert")
      st = Read(path, key, node, config.tls_cert);
    else if (name == "tls_key")
      st = Read(path, key, node, config.tls_key);
    else if (name == "plain_http")
      st = Read(path, key, node, config.plain_http);
    else if (name == "password_hash_ops")
      st = Read(path, key, node, config.password_hash_ops);
    else if (name == "password_hash_mem_kib")
      st = Read(path, key, node, config.password_hash_mem_kib);
    else if (name == "access_token_seconds")
      st = Read(path, key, node, config.access_token_seconds);
    else if (name == "session_seconds")
      st = Read(path, key, node, config.session_seconds);
    else if (name == "usb_poll_seconds")
      st = Read(path, key, node, config.usb_poll_seconds);
    else if (name == "usb_mount_dir")
      st = Read(path, key, node, config.usb_mount_dir);
    else if (name == "webconf_dir")
      st = Read(path, key, node, config.webconf_dir);
    else if (name == "usb_admit_loop_devices")
      st = Read(path, key, node, config.usb_admit_loop_devices);
    else
      st = Bad(path, key.source(), fmt::format("unknown setting \"{}\"", name));
    if (!st.ok() && (first.ok() || key.source().begin.line < first_line)) {
      first = st;
      first_line = key.source().begin.line;
    }
  }
  return first;
}

Status ValidateConfig(const DaemonConfig& c) {
  auto range = [](std::string_view what, int64_t v, int64_t lo, int64_t hi) {
    if (v >= lo && v <= hi) return Status();
    return Status::InvalidArgument(fmt::format("{} = {} is out of range {}..{}", what, v, lo, hi));
  };
  RETURN_IF_ERROR(range("zstd_level", c.zstd_level, 1, 19));
  RETURN_IF_ERROR(range("http_threads", c.http_threads, 1, 256));
  RETURN_IF_ERROR(range("http_client_connections", c.http_client_connections, 1, 10000));
  RETURN_IF_ERROR(range("http_head_seconds", c.http_head_seconds, 1, 300));
  RETURN_IF_ERROR(range("job_nice", c.job_nice, 0, 19));
  RETURN_IF_ERROR(range("access_token_seconds", c.access_token_seconds, 1, 24 * 3600));
  RETURN_IF_ERROR(range("session_seconds", c.session_seconds, c.access_token_seconds, 30 * 24 * 3600));
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error"};
  if (std::find(std::begin(kLevels), std::end(kLevels), c.log_level) == std::end(kLevels)) {
    return Status::InvalidArgument(
        fmt::format("log_level \"{}\" is not one of trace, debug, info, warn, error", c.log_level));
  }
  if (c.state_dir.empty() || c.appliance_root.empty()) {
    return Status::InvalidArgument("state_dir and appliance_root must not be empty");
  }
  RETURN_IF_ERROR(range("usb_poll_seconds", c.usb_poll_seconds, 1, 24 * 3600));
  // Everything mounted below it is unmounted at start-up: it must be a directory of its own.
  const std::string& mount_dir = c.usb_mount_dir;
  if (mount_dir.size() < 2 || mount_dir.front() != '/' || mount_dir.back() == '/' ||
      mount_dir.find("//") != std::string::npos || mount_dir.find("/.") != std::string::npos) {
    return Status::InvalidArgument(fmt::format(
        "usb_mount_dir \"{}\" must be an absolute, canonical path of a directory of its own (not \"/\")", mount_dir));
  }
  std::string host;
  int port = 0;
  RETURN_IF_ERROR(ParseListen(c.listen, host, port));
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return Status::InvalidArgument("tls_cert and tls_key go together: set both or neither");
  }
  return crypto::ValidateNewKdfParams(c.kdf, c.test_weak_kdf);
}

Status ParseListen(const std::string& listen, std::string& host, int& port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument(fmt::format("listen address \"{}\": expected HOST:PORT", listen));
  }
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port_text = listen.substr(colon + 1);
  bool digits = !port_text.empty() && port_text.size() <= 5 &&
                std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; });
  long p = digits ? std::strtol(port_text.c_str(), nullptr, 10) : -1;
  if (p < 0 || p > 65535) {
    return Status::InvalidArgument(fmt::format("listen address \"{}\": port must be 0-65535", listen));
  }
  port = static_cast<int>(p);
  return Status();
}

}  // namespace keepsake::daemon
