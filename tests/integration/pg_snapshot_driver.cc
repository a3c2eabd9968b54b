// Test driver for tests/integration/test_postgres_snapshot.py: the appliance layer's
// PostgreSQL snapshot and restore, without the rest of a backup.
//
//   pg_snapshot_driver dump ROOT TMPDIR OUTFILE   snapshot, list Items(), copy the dump out
//   pg_snapshot_driver restore ROOT DUMPFILE      restore the dump
//
// Settings come from ROOT/system/database/connection.json. Each item is printed as
// "item<TAB>archive_path<TAB>disk_path<TAB>recursive|entry". Errors go to stderr as
// "pg_snapshot_driver: <CODE>: <message>"; exit 0 on success, 1 on error, 2 on bad usage.
#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "appliance/database_settings.h"
#include "appliance/database_snapshot.h"
#include "appliance/postgres_snapshot.h"

namespace keepsake::appliance {
namespace {

Status Dump(const std::string& root, const std::string& tmp_dir, const std::string& out_file) {
  ASSIGN_OR_RETURN(DatabaseSettings settings, LoadDatabaseSettings(root));
  if (settings.engine != DatabaseSettings::Engine::kPostgresql) {
    return Status::InvalidArgument(fmt::format("{}: not a PostgreSQL configuration", root));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<DatabaseSnapshot> snapshot, TakeDatabaseSnapshot(root, settings, tmp_dir));
  std::string dump_disk_path;
  for (const auto& item : snapshot->Items()) {
    fmt::print("item\t{}\t{}\t{}\n", item.archive_path, item.disk_path, item.recursive ? "recursive" : "entry");
    if (item.archive_path == kPostgresDumpPath) dump_disk_path = item.disk_path;
  }
  std::fflush(stdout);
  if (dump_disk_path.empty()) return Status::Internal("the snapshot has no dump item");
  std::error_code ec;
  std::filesystem::copy_file(dump_disk_path, out_file, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return StatusFromErrno(ec.value(), fmt::format("copying {} to {}", dump_disk_path, out_file));
  return Status();
}

Status Restore(const std::string& root, const std::string& dump_file) {
  ASSIGN_OR_RETURN(DatabaseSettings settings, LoadDatabaseSettings(root));
  if (settings.engine != DatabaseSettings::Engine::kPostgresql) {
    return Status::InvalidArgument(fmt::format("{}: not a PostgreSQL configuration", root));
  }
  return RestorePostgres(settings, dump_file);
}

}  // namespace
}  // namespace keepsake::appliance

int main(int argc, char** argv) {
  using namespace keepsake::appliance;  // NOLINT: a test driver's main
  std::string mode = argc > 1 ? argv[1] : "";
  keepsake::Status st;
  if (mode == "dump" && argc == 5) {
    st = Dump(argv[2], argv[3], argv[4]);
  } else if (mode == "restore" && argc == 4) {
    st = Restore(argv[2], argv[3]);
  } else {
    std::fprintf(stderr, "usage: pg_snapshot_driver dump ROOT TMPDIR OUTFILE | restore ROOT DUMPFILE\n");
    return 2;
  }
  if (!st.ok()) {
    std::fprintf(stderr, "pg_snapshot_driver: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
