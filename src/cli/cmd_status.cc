// `keepsake status [--json]`: the Backup Status, as the Webconf's Backup page shows it.
#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace keepsake::cli {
namespace {

std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

Status PrintStatus(const CliContext& ctx, bool json) {
  ApiClient api(ClientOptions(ctx));
  ASSIGN_OR_RETURN(nlohmann::json s, api.Get("/api/v1/status"));
  if (json) {
    fmt::print("{}\n", s.dump(2));
    return Status();
  }
  fmt::print("Backup Status:                    {}\n", Str(s, "state"));
  if (s["job"].is_object()) {
    const auto& job = s["job"];
    std::string percent = job["percent"].is_number() ? fmt::format("{}%", job["percent"].get<int>()) : "-";
    std::string eta =
        job["eta_seconds"].is_number() ? fmt::format(", about {} s left", job["eta_seconds"].get<int64_t>()) : "";
    fmt::print("  Job {} ({}): {} {}{}\n", job["id"].get<int64_t>(), Str(job, "trigger"), Str(job, "phase"), percent,
               eta);
  }
  const auto& last = s["last_successful_backup"];
  fmt::print(
      "Last Successful Backup:           {}\n",
      last.is_object() ? fmt::format("{} ({}) {}", Str(last, "time"), Str(last, "ago"), Str(last, "file")) : "never");
  const auto& next = s["next_scheduled_backup"];
  if (next.is_object()) {
    fmt::print("Next Scheduled Backup Execution:  {} ({})\n", Str(next, "local"), Str(next, "in"));
  } else {
    fmt::print("Next Scheduled Backup Execution:  Schedule Disabled\n");
    for (const auto& reason : s["schedule_disabled_reasons"]) fmt::print("  - {}\n", reason.get<std::string>());
  }
  for (const auto& warning : s["warnings"]) fmt::print("Warning: {}\n", warning.get<std::string>());
  return Status();
}

}  // namespace

void AddStatusCommand(CLI::App& app, const CliContext& ctx, Runner& run) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("status", "Show the Backup Status (from keepsaked)");
  cmd->add_flag("--json", *json, "Print the API's JSON answer");
  cmd->callback([&ctx, &run, json] { run = [&ctx, json] { return PrintStatus(ctx, *json); }; });
}

}  // namespace keepsake::cli
