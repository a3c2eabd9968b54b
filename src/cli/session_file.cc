#include "cli/session_file.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/file_io.h"

namespace keepsake::cli {

std::string SessionFilePath() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg ? xdg : std::string(home && *home ? home : "/root") + "/.config";
  return base + "/keepsake/session.json";
}

Result<std::optional<StoredSession>> LoadSession() {
  std::string path = SessionFilePath();
  auto text = ReadSmallFile(path, 16 * 1024);
  if (!text.ok() && text.status().code() == ErrorCode::kNotFound) return std::optional<StoredSession>();
  if (!text.ok()) return std::move(text).status();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.value("access_token", nlohmann::json()).is_string()) {
    return Status::Corruption(fmt::format("{}: damaged session file; run `keepsake login` again", path));
  }
  StoredSession s;
  s.server = j.value("server", "");
  s.access_token = j.value("access_token", "");
  s.refresh_token = j.value("refresh_token", "");
  return std::optional<StoredSession>(s);
}

Status SaveSession(const StoredSession& s) {
  std::string path = SessionFilePath();
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return StatusFromErrno(ec.value(), dir.string());
  ::chmod(dir.c_str(), 0700);
  nlohmann::json j = {{"server", s.server}, {"access_token", s.access_token}, {"refresh_token", s.refresh_token}};
  return ReplaceFileAtomic(path, j.dump() + "\n", 0600);
}

Status RemoveSession() {
  std::error_code ec;
  std::filesystem::remove(SessionFilePath(), ec);
  if (ec) return StatusFromErrno(ec.value(), SessionFilePath());
  return Status();
}

}  // namespace keepsake::cli
