#include "appliance/database_settings.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "archive/tar_reader.h"
#include "base/file_io.h"
#include "base/json_fields.h"

namespace keepsake::appliance {

std::string DatabaseSettings::Describe() const {
  std::string where = external ? "external" : "internal";
  if (engine == Engine::kSqlite) return fmt::format("{} SQLite ({})", where, sqlite_path);
  return fmt::format("{} PostgreSQL at {}:{}/{}", where, host, port, dbname);
}

Result<DatabaseSettings> LoadDatabaseSettings(const std::string& root) {
  std::string path = root + "/system/database/connection.json";
  DatabaseSettings s;
  auto text = ReadSmallFile(path, 64 * 1024);
  if (!text.ok()) {
    if (text.status().code() == ErrorCode::kNotFound) return s;
    return std::move(text).status();
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption(fmt::format("{}: not a JSON object", path));
  JsonFields f(j, path);
  ASSIGN_OR_RETURN(std::string engine, f.OptionalString("engine", "sqlite"));
  if (engine == "sqlite") {
    s.engine = DatabaseSettings::Engine::kSqlite;
  } else if (engine == "postgresql") {
    s.engine = DatabaseSettings::Engine::kPostgresql;
  } else {
    return f.Bad("engine", "must be \"sqlite\" or \"postgresql\"");
  }
  ASSIGN_OR_RETURN(std::string location, f.OptionalString("location", "internal"));
  if (location != "internal" && location != "external")
    return f.Bad("location", "must be \"internal\" or \"external\"");
  s.external = location == "external";
  ASSIGN_OR_RETURN(s.sqlite_path, f.OptionalString("path", s.sqlite_path));
  if (!archive::CheckArchivePath(s.sqlite_path).ok() || !s.sqlite_path.starts_with("db/")) {
    return f.Bad("path", "must be a relative path below db/ in the appliance root");
  }
  ASSIGN_OR_RETURN(s.host, f.OptionalString("host", s.host));
  ASSIGN_OR_RETURN(uint64_t port, f.OptionalUint("port", static_cast<uint64_t>(s.port)));
  if (port == 0 || port > 65535) return f.Bad("port", "must be 1..65535");
  s.port = static_cast<int>(port);
  ASSIGN_OR_RETURN(s.dbname, f.OptionalString("dbname", s.dbname));
  ASSIGN_OR_RETURN(s.user, f.OptionalString("user", s.user));
  ASSIGN_OR_RETURN(s.password_file, f.OptionalString("password_file", ""));
  return s;
}

}  // namespace keepsake::appliance
