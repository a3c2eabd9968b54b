// Schedule: the administrator's Automated Backup Schedule, its JSON form for the API and the
// state DB, and CompiledSchedule, which answers "when is the next run?" for the scheduler.
//
// Every kind, presets included, compiles to one Quartz expression (service/quartz_cron.h)
// evaluated in local civil time of the schedule's IANA time zone. Daylight saving time
// (docs/SCHEDULE.md):
//   - a local time that does not exist (spring-forward gap) runs at the instant it would
//     have been had the clock not jumped, i.e. with the offset in force before the change:
//     02:30 on the March change in Europe/Berlin runs at 03:30 CEST. No run is skipped.
//   - a local time that occurs twice (fall-back) runs once, at its first occurrence.
//   - runs that land on the same instant are one run.
// Offsets come from the system tzdata through the date library, which reads the listed
// transitions only (up to 2037 in Debian's files): later years use the last listed offset.
//
// Schedule is a plain value. CompiledSchedule is immutable after Compile(): its const
// methods are safe to call from several threads.
#pragma once

#include <date/tz.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "service/quartz_cron.h"

namespace keepsake::service {

enum class ScheduleKind { kNone, kHourly, kDaily, kWeekly, kMonthly, kCron };

// Each kind reads only the fields listed for it; the others are ignored.
struct Schedule {
  ScheduleKind kind = ScheduleKind::kNone;  // none is the default: no scheduled backups
  int minute = 0;                           // 0-59: hourly, daily, weekly, monthly
  int hour = 0;                             // 0-23: daily, weekly, monthly
  int day_of_week = 1;                      // 1-7, 1 = Sunday: weekly
  int day_of_month = 1;                     // 1-28, or -1 = last day of the month: monthly
  std::string cron;                         // Quartz expression: cron
  std::string time_zone = "UTC";            // IANA name, e.g. "Europe/Berlin": all but none

  bool operator==(const Schedule&) const = default;
};

inline constexpr int kLastDayOfMonth = -1;

// The zone of that name, or UTC when tzdata no longer knows it (names are validated when
// saved; the system's tzdata may change after).
const date::time_zone& ZoneOrUtc(const std::string& name);

// "none", "hourly", "daily", "weekly", "monthly", "cron".
std::string_view ScheduleKindName(ScheduleKind kind);

// OK when every field the kind reads is in range, the cron expression parses and the time
// zone is known. Otherwise kInvalidArgument naming the field: "schedule: hour 24 is out of
// range 0-23", "schedule: unknown time zone \"Mars/Base\"", or the cron expression's error.
Status ValidateSchedule(const Schedule& schedule);

// The Quartz expression the kind compiles to: daily 02:30 is "0 30 2 * * ?", weekly on
// Friday "0 M H ? * 6", monthly on the last day "0 M H L * ?", cron its own text. Empty for
// none. Does not validate.
std::string QuartzExpression(const Schedule& schedule);

// {"kind":"daily","hour":2,"minute":30,"time_zone":"UTC","expression":"0 30 2 * * ?"}:
// "kind", the fields the kind reads, and "expression" (QuartzExpression) for every kind
// but none. Does not validate.
nlohmann::json ScheduleToJson(const Schedule& schedule);

// Inverse of ScheduleToJson, validated. "kind" and the fields the kind reads are required,
// except "time_zone", which defaults to "UTC"; fields of other kinds are accepted and
// ignored, as is "expression" (it is derived). kInvalidArgument naming the field for a
// missing or mistyped field, an unknown kind, an unknown key, or a ValidateSchedule error.
Result<Schedule> ScheduleFromJson(const nlohmann::json& j);

class CompiledSchedule {
 public:
  // Validates `schedule` (kInvalidArgument as ValidateSchedule) and resolves its zone.
  static Result<CompiledSchedule> Compile(const Schedule& schedule);

  // False for kind none: such a schedule never runs.
  bool enabled() const { return cron_.has_value(); }

  // The Quartz expression evaluated; empty when disabled.
  const std::string& expression() const { return expression_; }

  // The first run strictly after `after`, or nullopt when disabled or when the expression
  // never fires again (its years are exhausted; the search ends with 2099). Successive
  // calls fed their own answer give strictly increasing instants.
  std::optional<date::sys_seconds> NextAfter(date::sys_seconds after) const;

  // Up to `count` successive runs after `after`, ascending (the UI previews 5). Fewer when
  // the schedule runs out; empty when disabled.
  std::vector<date::sys_seconds> NextRuns(date::sys_seconds after, int count) const;

 private:
  CompiledSchedule() = default;

  std::optional<CronExpression> cron_;
  std::string expression_;
  const date::time_zone* zone_ = nullptr;  // owned by the date library's tz database
};

}  // namespace keepsake::service
