// Which database the appliance uses, from system/database/connection.json:
//   {"engine": "sqlite" | "postgresql", "location": "internal" | "external",
//    "path": "db/internal.sqlite",                       (sqlite, relative to the root)
//    "host": "127.0.0.1", "port": 5432, "dbname": "appliance", "user": "appliance",
//    "password_file": "/path/0600 file"}                 (postgresql)
// Without the file: the embedded default, an internal SQLite database at db/internal.sqlite.
// An external database is never backed up; only these settings are (component
// "database-settings"). Value type.
#pragma once

#include <string>

#include "base/status.h"

namespace keepsake::appliance {

struct DatabaseSettings {
  enum class Engine { kSqlite, kPostgresql };
  Engine engine = Engine::kSqlite;
  bool external = false;
  std::string sqlite_path = "db/internal.sqlite";  // relative to the appliance root
  std::string host = "127.0.0.1";
  int port = 5432;
  std::string dbname = "appliance";
  std::string user = "appliance";
  std::string password_file;  // libpq passfile format; empty: no password

  std::string Describe() const;  // "internal SQLite", "external PostgreSQL at host:port/db"
};

// kCorruption naming the bad field; kInvalidArgument for a path outside the root.
Result<DatabaseSettings> LoadDatabaseSettings(const std::string& root);

}  // namespace keepsake::appliance
