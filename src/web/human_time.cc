#include "web/human_time.h"

#include <fmt/format.h>

#include <ctime>

#include "base/utc_time.h"

namespace keepsake::web {
namespace {

using std::chrono::seconds;

std::string Count(int64_t n, const char* unit) { return fmt::format("{} {}{}", n, unit, n == 1 ? "" : "s"); }

// REQUIRES: span >= 60 s.
std::string Span(seconds span) {
  constexpr int64_t kMinute = 60, kHour = 60 * kMinute, kDay = 24 * kHour;
  const int64_t s = span.count();
  if (s < kHour) return Count(s / kMinute, "minute");
  if (s < kDay) return Count(s / kHour, "hour");
  const int64_t days = s / kDay;
  if (days <= 60) return Count(days, "day");
  if (days < 365) return Count(days / 30, "month");
  return Count(days / 365, "year");
}

}  // namespace

std::string HumanAgo(date::sys_seconds then, date::sys_seconds now) {
  if (then > now) return "in the future";
  if (now - then < seconds{60}) return "just now";
  return Span(now - then) + " ago";
}

std::string HumanIn(date::sys_seconds when, date::sys_seconds now) {
  if (when <= now) return "now";
  if (when - now < seconds{60}) return "in less than a minute";
  return "in " + Span(when - now);
}

std::string FormatLocal(date::sys_seconds when, const date::time_zone& zone) {
  return date::format("%Y-%m-%d %H:%M:%S %Z", date::make_zoned(&zone, when));
}

}  // namespace keepsake::web
