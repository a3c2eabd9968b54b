// The one way Keepsake writes an instant: RFC 3339 / ISO 8601 in UTC, "2026-11-26T09:00:00Z"
// (backup headers, the audit log, the API, the journal). Pure functions: any thread.
#pragma once

#include <date/date.h>

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace keepsake {

std::string FormatUtc(std::time_t when);
inline std::string FormatUtc(date::sys_seconds when) {
  return FormatUtc(static_cast<std::time_t>(when.time_since_epoch().count()));
}

// The inverse of FormatUtc: exactly "YYYY-MM-DDTHH:MM:SSZ", else nullopt.
std::optional<date::sys_seconds> ParseUtc(std::string_view text);

}  // namespace keepsake
