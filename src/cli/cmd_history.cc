// `keepsake history [--limit N] [--json]`: the job history kept by keepsaked.
#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace keepsake::cli {
namespace {

Status PrintHistory(const CliContext& ctx, int limit, bool json) {
  ApiClient api(ClientOptions(ctx));
  ASSIGN_OR_RETURN(nlohmann::json history, api.Get(fmt::format("/api/v1/jobs?limit={}", limit)));
  if (json) {
    fmt::print("{}\n", history.dump(2));
    return Status();
  }
  fmt::print("{:>5}  {:<8} {:<9} {:<21} {:<12} {:>12}  {}\n", "ID", "KIND", "TRIGGER", "STARTED", "RESULT", "SIZE",
             "FILE / ERROR");
  for (const auto& job : history["jobs"]) {
    std::string size = job["size"].is_number() ? std::to_string(job["size"].get<uint64_t>()) : "-";
    std::string detail = job["file"].get<std::string>();
    for (const char* note : {"error", "summary"}) {
      const std::string text = job.value(note, "");
      if (!text.empty()) detail += (detail.empty() ? "" : ": ") + text;
    }
    fmt::print("{:>5}  {:<8} {:<9} {:<21} {:<12} {:>12}  {}\n", job["id"].get<int64_t>(),
               job["kind"].get<std::string>(), job["trigger"].get<std::string>(), job["started_at"].get<std::string>(),
               job["result"].get<std::string>(), size, detail);
  }
  return Status();
}

}  // namespace

void AddHistoryCommand(CLI::App& app, const CliContext& ctx, Runner& run) {
  struct Options {
    int limit = 20;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("history", "Show the job history (from keepsaked)");
  cmd->add_option("--limit", opt->limit, "How many jobs, newest first")->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", opt->json, "Print the API's JSON answer");
  cmd->callback([&ctx, &run, opt] { run = [&ctx, opt] { return PrintHistory(ctx, opt->limit, opt->json); }; });
}

}  // namespace keepsake::cli
