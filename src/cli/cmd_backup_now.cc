// `keepsake backup-now [--wait]`: "Create Backup Now" through keepsaked, optionally
// waiting for the result with a progress bar on a terminal.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace keepsake::cli {
namespace {

void DrawProgress(const nlohmann::json& job) {
  int percent = job["percent"].is_number() ? job["percent"].get<int>() : 0;
  int filled = percent * 30 / 100;
  std::string eta = job["eta_seconds"].is_number() ? fmt::format(" ~{} s left", job["eta_seconds"].get<int64_t>()) : "";
  fmt::print(stderr, "\r[{:=<{}}{: <{}}] {:3}% {:<10}{}   ", "", filled, "", 30 - filled, percent,
             job.value("phase", ""), eta);
}

Status BackupNow(const CliContext& ctx, bool wait) {
  ApiClient api(ClientOptions(ctx));
  ASSIGN_OR_RETURN(nlohmann::json started, api.Post("/api/v1/backups", nlohmann::json::object()));
  int64_t id = started["job"]["id"].get<int64_t>();
  if (!wait) {
    fmt::print("backup started (job {})\n", id);
    return Status();
  }
  bool tty = isatty(STDERR_FILENO);
  for (;;) {
    ASSIGN_OR_RETURN(nlohmann::json status, api.Get("/api/v1/status"));
    const auto& job = status["job"];
    if (!job.is_object() || job["id"].get<int64_t>() != id) break;
    if (tty) DrawProgress(job);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  if (tty) fmt::print(stderr, "\r{: <70}\r", "");
  ASSIGN_OR_RETURN(nlohmann::json history, api.Get("/api/v1/jobs?limit=50"));
  for (const auto& job : history["jobs"]) {
    if (job["id"].get<int64_t>() != id) continue;
    if (job["result"] == "succeeded") {
      fmt::print("{}\n", job["file"].get<std::string>());
      return Status();
    }
    return Status::FromCode(ErrorCode::kIoError, fmt::format("backup {}: {}", job["result"].get<std::string>(),
                                                             job["error"].get<std::string>()));
  }
  return Status::Internal(fmt::format("job {} is not in the history", id));
}

}  // namespace

void AddBackupNowCommand(CLI::App& app, const CliContext& ctx, Runner& run) {
  auto wait = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("backup-now", "Create a backup now (through keepsaked)");
  cmd->add_flag("--wait", *wait, "Wait for the backup to finish; print the file name");
  cmd->callback([&ctx, &run, wait] { run = [&ctx, wait] { return BackupNow(ctx, *wait); }; });
}

}  // namespace keepsake::cli
