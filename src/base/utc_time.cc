#include "base/utc_time.h"

#include <sstream>

namespace keepsake {

std::string FormatUtc(std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<date::sys_seconds> ParseUtc(std::string_view text) {
  if (text.size() != 20 || text[19] != 'Z') return std::nullopt;
  for (size_t i = 0; i < 4; ++i) {  // a year of four digits: glibc writes "-100" for year -100
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  std::istringstream in{std::string(text)};
  date::sys_seconds when;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", when);
  if (in.fail() || FormatUtc(when) != text) return std::nullopt;  // also refuses "24:00:00", "02-30"
  return when;
}

}  // namespace keepsake
