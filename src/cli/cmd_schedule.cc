// `keepsake schedule show` and `keepsake schedule set --kind daily --hour 2 --minute 30 ...`:
// the Automated Backup Schedule kept by keepsaked.
#include <fmt/format.h>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace keepsake::cli {
namespace {

void PrintSchedule(const nlohmann::json& s) {
  fmt::print("Schedule:   {}\n", s.value("kind", ""));
  if (s.contains("expression")) fmt::print("Expression: {}\n", s["expression"].get<std::string>());
  if (s.contains("time_zone")) fmt::print("Time zone:  {}\n", s["time_zone"].get<std::string>());
  if (s.contains("next_runs") && !s["next_runs"].empty()) {
    fmt::print("Next runs:\n");
    for (const auto& run : s["next_runs"]) fmt::print("  {}\n", run.value("local", run.value("time", "")));
  }
}

struct SetOptions {
  std::string kind;
  int hour = -1, minute = -1, day_of_week = -1, day_of_month = 0;
  std::string cron, time_zone;
};

Status SetSchedule(const CliContext& ctx, const SetOptions& opt) {
  nlohmann::json body = {{"kind", opt.kind}};
  if (opt.hour >= 0) body["hour"] = opt.hour;
  if (opt.minute >= 0) body["minute"] = opt.minute;
  if (opt.day_of_week >= 0) body["day_of_week"] = opt.day_of_week;
  if (opt.day_of_month != 0) body["day_of_month"] = opt.day_of_month;
  if (!opt.cron.empty()) body["cron"] = opt.cron;
  if (!opt.time_zone.empty()) body["time_zone"] = opt.time_zone;
  ApiClient api(ClientOptions(ctx));
  ASSIGN_OR_RETURN(nlohmann::json saved, api.Put("/api/v1/schedule", body));
  PrintSchedule(saved);
  return Status();
}

}  // namespace

void AddScheduleCommands(CLI::App& app, const CliContext& ctx, Runner& run) {
  CLI::App* group = app.add_subcommand("schedule", "Show or set the Automated Backup Schedule (through keepsaked)");
  group->require_subcommand(1);
  auto json = std::make_shared<bool>(false);
  CLI::App* show = group->add_subcommand("show", "Show the schedule and its next run times");
  show->add_flag("--json", *json, "Print the API's JSON answer");
  show->callback([&ctx, &run, json] {
    run = [&ctx, json]() -> Status {
      ApiClient api(ClientOptions(ctx));
      ASSIGN_OR_RETURN(nlohmann::json s, api.Get("/api/v1/schedule"));
      if (*json) {
        fmt::print("{}\n", s.dump(2));
      } else {
        PrintSchedule(s);
      }
      return Status();
    };
  });
  auto opt = std::make_shared<SetOptions>();
  CLI::App* set = group->add_subcommand("set", "Set the schedule (saving it creates no backup)");
  set->add_option("--kind", opt->kind, "none, hourly, daily, weekly, monthly or cron")->required();
  set->add_option("--hour", opt->hour, "Hour of day 0-23 (daily, weekly, monthly)");
  set->add_option("--minute", opt->minute, "Minute of hour 0-59");
  set->add_option("--day-of-week", opt->day_of_week, "1-7, 1 = Sunday (weekly)");
  set->add_option("--day-of-month", opt->day_of_month, "1-28, or -1 for the last day (monthly)");
  set->add_option("--cron", opt->cron, "Quartz expression, e.g. \"0 0 0 ? * FRI\" (cron)");
  set->add_option("--time-zone", opt->time_zone, "IANA time zone, e.g. Europe/Berlin");
  set->callback([&ctx, &run, opt] { run = [&ctx, opt] { return SetSchedule(ctx, *opt); }; });
}

}  // namespace keepsake::cli
