#include "service/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <limits>

namespace keepsake::service {
namespace {

using std::chrono::seconds;

constexpr size_t kMaxCronLength = 256;     // keeps error messages that quote it readable
constexpr size_t kMaxTimeZoneLength = 64;  // the longest IANA name is about 32

constexpr std::array<ScheduleKind, 6> kKinds = {ScheduleKind::kNone,   ScheduleKind::kHourly,  ScheduleKind::kDaily,
                                                ScheduleKind::kWeekly, ScheduleKind::kMonthly, ScheduleKind::kCron};

bool UsesMinute(ScheduleKind k) {
  return k == ScheduleKind::kHourly || k == ScheduleKind::kDaily || k == ScheduleKind::kWeekly ||
         k == ScheduleKind::kMonthly;
}
bool UsesHour(ScheduleKind k) {
  return k == ScheduleKind::kDaily || k == ScheduleKind::kWeekly || k == ScheduleKind::kMonthly;
}

Status CheckRange(std::string_view name, int64_t value, int lo, int hi) {
  if (value < lo || value > hi) {
    return Status::InvalidArgument(fmt::format("schedule: {} {} is out of range {}-{}", name, value, lo, hi));
  }
  return Status();
}

Status CheckDayOfMonth(int64_t value) {
  if (value == kLastDayOfMonth || (value >= 1 && value <= 28)) return Status();
  // 29-31 would silently skip short months; "last day" is the way to run at month end.
  return Status::InvalidArgument(
      fmt::format("schedule: day_of_month {} is out of range 1-28 (or -1 for the last day of the month)", value));
}

// The date library reports an unknown zone (or an unreadable tz database) by throwing.
const date::time_zone* FindZone(const std::string& name) {
  if (name.empty() || name.size() > kMaxTimeZoneLength) return nullptr;
  try {
    const date::time_zone* zone = date::locate_zone(name);
    // Loads the zone's transitions now, so that later lookups cannot fail.
    (void)zone->get_info(date::sys_seconds{});
    return zone;
  } catch (const std::exception&) {
    return nullptr;
  }
}

Status CheckTimeZone(const std::string& name) {
  if (FindZone(name) != nullptr) return Status();
  if (name.size() > kMaxTimeZoneLength) return Status::InvalidArgument("schedule: unknown time zone (name too long)");
  return Status::InvalidArgument(fmt::format("schedule: unknown time zone \"{}\"", name));
}

Status MissingField(std::string_view key, ScheduleKind kind) {
  return Status::InvalidArgument(
      fmt::format("schedule: field \"{}\" is required for kind {}", key, ScheduleKindName(kind)));
}

// Reads an optional integer field; `present` tells whether it was there.
Status ReadInt(const nlohmann::json& j, const char* key, int64_t& out, bool& present) {
  auto it = j.find(key);
  present = it != j.end();
  if (!present) return Status();
  if (!it->is_number_integer()) {
    return Status::InvalidArgument(fmt::format("schedule: field \"{}\" must be an integer", key));
  }
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    out = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                         : static_cast<int64_t>(u);
  } else {
    out = it->get<int64_t>();
  }
  return Status();
}

Status ReadString(const nlohmann::json& j, const char* key, std::string& out, bool& present) {
  auto it = j.find(key);
  present = it != j.end();
  if (!present) return Status();
  if (!it->is_string()) return Status::InvalidArgument(fmt::format("schedule: field \"{}\" must be a string", key));
  out = it->get<std::string>();
  return Status();
}

date::local_seconds ToLocal(date::sys_seconds t, seconds offset) {
  return date::local_seconds{t.time_since_epoch() + offset};
}

date::sys_seconds ToSys(date::local_seconds t, seconds offset) {
  return date::sys_seconds{t.time_since_epoch() - offset};
}

}  // namespace

const date::time_zone& ZoneOrUtc(const std::string& name) {
  const date::time_zone* zone = FindZone(name);
  return zone != nullptr ? *zone : *date::locate_zone("UTC");
}

std::string_view ScheduleKindName(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::kNone:
      return "none";
    case ScheduleKind::kHourly:
      return "hourly";
    case ScheduleKind::kDaily:
      return "daily";
    case ScheduleKind::kWeekly:
      return "weekly";
    case ScheduleKind::kMonthly:
      return "monthly";
    case ScheduleKind::kCron:
      return "cron";
  }
  return "unknown";
}

Status ValidateSchedule(const Schedule& s) {
  switch (s.kind) {
    case ScheduleKind::kNone:
      return Status();  // nothing runs, so nothing else matters
    case ScheduleKind::kHourly:
    case ScheduleKind::kDaily:
    case ScheduleKind::kWeekly:
    case ScheduleKind::kMonthly:
      RETURN_IF_ERROR(CheckRange("minute", s.minute, 0, 59));
      if (UsesHour(s.kind)) RETURN_IF_ERROR(CheckRange("hour", s.hour, 0, 23));
      if (s.kind == ScheduleKind::kWeekly) RETURN_IF_ERROR(CheckRange("day_of_week", s.day_of_week, 1, 7));
      if (s.kind == ScheduleKind::kMonthly) RETURN_IF_ERROR(CheckDayOfMonth(s.day_of_month));
      break;
    case ScheduleKind::kCron:
      if (s.cron.size() > kMaxCronLength) {
        return Status::InvalidArgument(fmt::format("cron expression: longer than {} characters", kMaxCronLength));
      }
      RETURN_IF_ERROR(CronExpression::Parse(s.cron).status());
      break;
    default:
      return Status::InvalidArgument(fmt::format("schedule: unknown kind {}", static_cast<int>(s.kind)));
  }
  return CheckTimeZone(s.time_zone);
}

std::string QuartzExpression(const Schedule& s) {
  switch (s.kind) {
    case ScheduleKind::kNone:
      return "";
    case ScheduleKind::kHourly:
      return fmt::format("0 {} * * * ?", s.minute);
    case ScheduleKind::kDaily:
      return fmt::format("0 {} {} * * ?", s.minute, s.hour);
    case ScheduleKind::kWeekly:
      return fmt::format("0 {} {} ? * {}", s.minute, s.hour, s.day_of_week);
    case ScheduleKind::kMonthly:
      if (s.day_of_month == kLastDayOfMonth) return fmt::format("0 {} {} L * ?", s.minute, s.hour);
      return fmt::format("0 {} {} {} * ?", s.minute, s.hour, s.day_of_month);
    case ScheduleKind::kCron:
      return s.cron;
  }
  return "";
}

nlohmann::json ScheduleToJson(const Schedule& s) {
  nlohmann::json j = nlohmann::json::object();
  j["kind"] = std::string(ScheduleKindName(s.kind));
  if (s.kind == ScheduleKind::kNone) return j;
  if (UsesMinute(s.kind)) j["minute"] = s.minute;
  if (UsesHour(s.kind)) j["hour"] = s.hour;
  if (s.kind == ScheduleKind::kWeekly) j["day_of_week"] = s.day_of_week;
  if (s.kind == ScheduleKind::kMonthly) j["day_of_month"] = s.day_of_month;
  if (s.kind == ScheduleKind::kCron) j["cron"] = s.cron;
  j["time_zone"] = s.time_zone;
  j["expression"] = QuartzExpression(s);
  return j;
}

Result<Schedule> ScheduleFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::InvalidArgument("schedule: expected a JSON object");
  static constexpr std::array<std::string_view, 8> kKeys = {"kind",         "minute", "hour",      "day_of_week",
                                                            "day_of_month", "cron",   "time_zone", "expression"};
  for (const auto& item : j.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), item.key()) == kKeys.end()) {
      std::string key = item.key().substr(0, 64);
      return Status::InvalidArgument(fmt::format("schedule: unknown field \"{}\"", key));
    }
  }

  std::string kind_name;
  bool present = false;
  RETURN_IF_ERROR(ReadString(j, "kind", kind_name, present));
  if (!present) return Status::InvalidArgument("schedule: field \"kind\" is required");
  Schedule s;
  auto kind =
      std::find_if(kKinds.begin(), kKinds.end(), [&](ScheduleKind k) { return ScheduleKindName(k) == kind_name; });
  if (kind == kKinds.end()) {
    return Status::InvalidArgument(
        fmt::format("schedule: unknown kind \"{}\" (expected none, hourly, daily, weekly, monthly or cron)",
                    kind_name.substr(0, 64)));
  }
  s.kind = *kind;

  // Every known field is type-checked, but only those the kind reads are kept: the UI may
  // send the fields of the kind the administrator switched away from.
  struct IntField {
    const char* key;
    int* target;
    bool used;
    int lo;
    int hi;
  };
  const IntField int_fields[] = {
      {"minute", &s.minute, UsesMinute(s.kind), 0, 59},
      {"hour", &s.hour, UsesHour(s.kind), 0, 23},
      {"day_of_week", &s.day_of_week, s.kind == ScheduleKind::kWeekly, 1, 7},
      {"day_of_month", &s.day_of_month, s.kind == ScheduleKind::kMonthly, kLastDayOfMonth, 28},
  };
  for (const IntField& f : int_fields) {
    int64_t value = 0;
    RETURN_IF_ERROR(ReadInt(j, f.key, value, present));
    if (!f.used) continue;
    if (!present) return MissingField(f.key, s.kind);
    // Range-check before narrowing to int; ValidateSchedule has the final word below.
    if (std::string_view(f.key) == "day_of_month") {
      RETURN_IF_ERROR(CheckDayOfMonth(value));
    } else {
      RETURN_IF_ERROR(CheckRange(f.key, value, f.lo, f.hi));
    }
    *f.target = static_cast<int>(value);
  }

  std::string text;
  RETURN_IF_ERROR(ReadString(j, "cron", text, present));
  if (s.kind == ScheduleKind::kCron) {
    if (!present) return MissingField("cron", s.kind);
    s.cron = std::move(text);
  }
  RETURN_IF_ERROR(ReadString(j, "time_zone", text, present));
  if (s.kind != ScheduleKind::kNone && present) s.time_zone = std::move(text);
  RETURN_IF_ERROR(ReadString(j, "expression", text, present));  // derived: type-checked, ignored

  RETURN_IF_ERROR(ValidateSchedule(s));
  return s;
}

Result<CompiledSchedule> CompiledSchedule::Compile(const Schedule& schedule) {
  RETURN_IF_ERROR(ValidateSchedule(schedule));
  CompiledSchedule compiled;
  if (schedule.kind == ScheduleKind::kNone) return compiled;
  compiled.zone_ = FindZone(schedule.time_zone);
  if (compiled.zone_ == nullptr) {  // ValidateSchedule found it: only a changing tz database gets here
    return Status::InvalidArgument(fmt::format("schedule: unknown time zone \"{}\"", schedule.time_zone));
  }
  ASSIGN_OR_RETURN(CronExpression cron, CronExpression::Parse(QuartzExpression(schedule)));
  compiled.expression_ = cron.text();
  compiled.cron_ = std::move(cron);
  return compiled;
}

// Run instants per UTC offset period [begin, end) of the zone (sys_info), in order; the
// first period holding a run holds the earliest one. Within a period with offset `o`,
// entered from a period with offset `prev`:
//   - regular runs: local times L = u + o for u in the period, except, after a fall-back
//     (o < prev), the first (prev - o) of the period: those local times occurred already
//     in the previous period, and a repeated local time runs only at its first occurrence;
//   - after a spring-forward (o > prev), the skipped local times L in [begin + prev,
//     begin + o) run at L - prev, as if the clock had not jumped. They land in
//     [begin, begin + o - prev) among the regular runs, and may coincide with them
//     (hourly at :30 in Berlin: 02:30 gap and 03:30 CEST are both 01:30 UTC): one run.
std::optional<date::sys_seconds> CompiledSchedule::NextAfter(date::sys_seconds after) const {
  if (!cron_) return std::nullopt;
  // No zone offset has ever exceeded a day either way, so a local time L is always the
  // run instant of some u in (L - 1 day, L + 1 day).
  constexpr seconds kMaxOffset = std::chrono::hours{24};
  // Periods before 1800 are the zone's first (local mean time); there is no earlier one.
  const date::sys_seconds kOldest{date::sys_days{date::year{1800} / 1 / 1}};
  const date::sys_seconds horizon{date::sys_days{date::year{CronExpression::kMaxYear + 1} / 1 / 2}};

  date::sys_seconds from = after + seconds{1};  // inclusive lower bound for the answer
  while (from < horizon) {
    const date::sys_info info = zone_->get_info(from);
    const seconds o = info.offset;
    const seconds prev = info.begin > kOldest ? zone_->get_info(info.begin - seconds{1}).offset : o;
    std::optional<date::sys_seconds> best;

    if (o > prev) {
      const date::local_seconds gap_end = ToLocal(info.begin, o);
      std::optional<date::local_seconds> l = cron_->NextLocal(ToLocal(from, prev) - seconds{1});
      if (l && *l < gap_end) best = ToSys(*l, prev);
    }
    date::sys_seconds regular_from = from;
    if (o < prev) regular_from = std::max(from, info.begin + (prev - o));
    if (regular_from < info.end) {
      std::optional<date::local_seconds> l = cron_->NextLocal(ToLocal(regular_from, o) - seconds{1});
      if (l) {
        date::sys_seconds u = ToSys(*l, o);
        if (u < info.end && (!best || u < *best)) best = u;
      }
    }
    if (best) return best;

    // Nothing in this period: jump to the period of the next matching local time, which
    // matters for expressions that fire rarely ("0 0 12 29 2 ?").
    if (info.end >= horizon) return std::nullopt;
    std::optional<date::local_seconds> next = cron_->NextLocal(ToLocal(info.end, -kMaxOffset) - seconds{1});
    if (!next) return std::nullopt;
    from = std::max(info.end, ToSys(*next, kMaxOffset));
  }
  return std::nullopt;
}

std::vector<date::sys_seconds> CompiledSchedule::NextRuns(date::sys_seconds after, int count) const {
  std::vector<date::sys_seconds> runs;
  for (int i = 0; i < count; ++i) {
    std::optional<date::sys_seconds> next = NextAfter(after);
    if (!next) break;
    runs.push_back(*next);
    after = *next;
  }
  return runs;
}

}  // namespace keepsake::service
