// Human wording of times for the Backup Status page and the CLI: "3 hours ago", "in 4 hours",
// "2026-11-26T09:00:00Z", "2026-11-26 10:00:00 CET".
//
// Relative wording floors to the largest whole unit: seconds below a minute, then minutes,
// hours, days up to 60 days, months of 30 days, years of 365 days. A fixed month and year
// keep the wording monotonic and independent of the calendar and the time zone; it is for
// reading at a glance, not for arithmetic.
//
// Pure functions: safe to call from any thread.
#pragma once

#include <date/tz.h>

#include <string>

namespace keepsake::web {

// How long ago `then` was: "just now" (under 60 s), "1 minute ago", "5 minutes ago",
// "1 hour ago", "2 days ago", "2 months ago", "1 year ago". A `then` after `now` (the clock
// was set back) is "in the future".
std::string HumanAgo(date::sys_seconds then, date::sys_seconds now);

// How long until `when`: "in less than a minute", "in 1 minute", "in 4 hours", "in 3 days";
// "now" when `when` is not after `now` (a job that is due).
std::string HumanIn(date::sys_seconds when, date::sys_seconds now);

// Local wall time with the zone's abbreviation for display: "2026-11-26 10:00:00 CET".
std::string FormatLocal(date::sys_seconds when, const date::time_zone& zone);

}  // namespace keepsake::web
