#include "appliance/postgres_snapshot.h"

#include <fmt/format.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "base/subprocess.h"

namespace keepsake::appliance {
namespace {

// libpq gives up connecting after this long (a host that drops packets would otherwise hang
// the job for minutes); the dump or restore itself has no limit, it grows with the data.
constexpr int kConnectTimeoutSeconds = 15;

constexpr char kDumpFileName[] = "internal.pgdump";
constexpr char kNoPasswordFile[] = "/dev/null/no-password-file";

// The tools' environment: the password file (or none) is ours to choose, never a stray
// PGPASSWORD, PGSERVICE or ~/.pgpass of whoever started the process.
std::vector<std::string> ToolEnvironment(const DatabaseSettings& settings) {
  return {
      // Without a password file: a path that can never exist (libpq skips a missing passfile
      // silently, but warns about /dev/null, "not a plain file").
      fmt::format("PGPASSFILE={}", settings.password_file.empty() ? kNoPasswordFile : settings.password_file),
      fmt::format("PGCONNECT_TIMEOUT={}", kConnectTimeoutSeconds),
      "PGAPPNAME=keepsake",
      "PGPASSWORD",
      "PGSERVICE",
      "PGSERVICEFILE",
      "PGOPTIONS",
      "PGSSLMODE",
  };
}

std::vector<std::string> ConnectionArgs(const DatabaseSettings& settings) {
  return {"--no-password", "-h", settings.host, "-p", std::to_string(settings.port), "-U", settings.user};
}

std::string Where(const DatabaseSettings& settings) {
  return fmt::format("PostgreSQL at {}:{}", settings.host, settings.port);
}

// libpq silently skips a password file it cannot use and then reports only "no password
// supplied": check it first to say what is actually wrong.
Status CheckPasswordFile(const DatabaseSettings& settings) {
  if (settings.password_file.empty()) return Status();
  const std::string& path = settings.password_file;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return StatusFromErrno(errno, fmt::format("database password_file {}", path));
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(fmt::format("database password_file {}: not a regular file", path));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Status::PermissionDenied(
        fmt::format("database password_file {}: readable by group or others (mode {:04o}); libpq ignores such a file: "
                    "make it mode 0600",
                    path, st.st_mode & 07777));
  }
  return Status();
}

bool Contains(std::string_view text, std::string_view what) { return text.find(what) != std::string_view::npos; }

// "pg_dump: error: ..." for the first line that reports the error, skipping warnings and
// notices before it; the generic description when no line does.
std::string FirstErrorLine(const std::vector<std::string>& argv, const ProcessResult& result) {
  std::string_view err = result.stderr_text;
  while (!err.empty()) {
    std::string_view line = err.substr(0, err.find('\n'));
    err.remove_prefix(std::min(err.size(), line.size() + 1));
    if (Contains(line, "error:") || Contains(line, "FATAL:")) {
      ProcessResult one;
      one.stderr_text = std::string(line);
      return DescribeFailure(argv, one);
    }
  }
  return DescribeFailure(argv, result);
}

// Turns a failed pg_dump / pg_restore run into a Status an administrator can act on.
Status ToolFailure(const DatabaseSettings& settings, const std::vector<std::string>& argv,
                   const ProcessResult& result) {
  const std::string& err = result.stderr_text;
  std::string first = FirstErrorLine(argv, result);
  if (Contains(err, "password authentication failed") || Contains(err, "no password supplied") ||
      Contains(err, "authentication failed for user")) {
    std::string hint =
        settings.password_file.empty()
            ? std::string("no password is configured: set \"password_file\" in system/database/connection.json")
            : fmt::format(
                  "check the password in {} (a line host:port:dbname:user:password matching {}:{}:{}:{}, "
                  "mode 0600)",
                  settings.password_file, settings.host, settings.port, settings.dbname, settings.user);
    return Status::PermissionDenied(
        fmt::format("{} refused user \"{}\": {}; {}", Where(settings), settings.user, first, hint));
  }
  if (Contains(err, "no pg_hba.conf entry")) {
    return Status::PermissionDenied(fmt::format("{} does not admit user \"{}\" from this host (pg_hba.conf): {}",
                                                Where(settings), settings.user, first));
  }
  // Connection-level failures: nothing listens, the host is unknown or unreachable, or the
  // server is starting, stopping or full. A retry later may succeed.
  if (Contains(err, "could not translate host name") || Contains(err, "Connection refused") ||
      Contains(err, "timeout expired") || Contains(err, "No route to host") ||
      Contains(err, "Network is unreachable") || Contains(err, "server closed the connection unexpectedly") ||
      Contains(err, "the database system is starting up") || Contains(err, "the database system is shutting down") ||
      Contains(err, "the database system is in recovery mode") || Contains(err, "too many clients already") ||
      Contains(err, "could not connect to server") ||
      (Contains(err, "connection to server") && Contains(err, "failed:") && !Contains(err, "FATAL:"))) {
    return Status::Unavailable(
        fmt::format("{} is unreachable: {}; check that the internal database server is running and accepts TCP "
                    "connections on {}:{} (postgresql.conf listen_addresses and port), then retry",
                    Where(settings), first, settings.host, settings.port));
  }
  if (Contains(err, "database \"" + settings.dbname + "\" does not exist")) {
    return Status::NotFound(fmt::format("{}: database \"{}\" does not exist", Where(settings), settings.dbname));
  }
  return Status::IoError(first);
}

Status RunTool(const DatabaseSettings& settings, const std::vector<std::string>& argv) {
  RETURN_IF_ERROR(CheckPasswordFile(settings));
  ProcessOptions options;
  options.extra_env = ToolEnvironment(settings);
  ASSIGN_OR_RETURN(ProcessResult result, RunProcessAnyExit(argv, options));
  if (!result.success()) return ToolFailure(settings, argv, result);
  return Status();
}

// The dump in a private temporary directory, which also stands in for the db/ directory
// entry of the archive (there is no root/db for PostgreSQL; mkdtemp makes it mode 0700).
class PostgresSnapshot final : public DatabaseSnapshot {
 public:
  explicit PostgresSnapshot(std::string dir) : dir_(std::move(dir)) {}
  ~PostgresSnapshot() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::vector<archive::ComponentSource::Item> Items() const override {
    std::string archive_dir = std::filesystem::path(kPostgresDumpPath).parent_path().string();
    return {{archive_dir, dir_, false}, {kPostgresDumpPath, dir_ + "/" + kDumpFileName, true}};
  }

 private:
  std::string dir_;
};

}  // namespace

Result<std::unique_ptr<DatabaseSnapshot>> SnapshotPostgres(const DatabaseSettings& settings,
                                                           const std::string& tmp_dir) {
  std::string dir = tmp_dir + "/pg-snapshot-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return StatusFromErrno(errno, dir);
  // Owns the directory from here on: any failure below removes it.
  auto snapshot = std::make_unique<PostgresSnapshot>(dir);
  std::vector<std::string> argv = {"pg_dump", "-Fc"};
  for (std::string& arg : ConnectionArgs(settings)) argv.push_back(std::move(arg));
  // --dbname rather than a positional name: a name starting with '-' stays a name.
  argv.insert(argv.end(), {"-f", dir + "/" + kDumpFileName, "--dbname", settings.dbname});
  RETURN_IF_ERROR(RunTool(settings, argv));
  return std::unique_ptr<DatabaseSnapshot>(std::move(snapshot));
}

Status RestorePostgres(const DatabaseSettings& settings, const std::string& dump_path) {
  struct stat st;
  if (stat(dump_path.c_str(), &st) != 0) return StatusFromErrno(errno, dump_path);
  std::vector<std::string> argv = {"pg_restore",           "--clean",    "--if-exists",
                                   "--single-transaction", "--no-owner", "--exit-on-error"};
  for (std::string& arg : ConnectionArgs(settings)) argv.push_back(std::move(arg));
  argv.insert(argv.end(), {"--dbname", settings.dbname, dump_path});
  return RunTool(settings, argv);
}

}  // namespace keepsake::appliance
