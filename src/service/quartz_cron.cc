#include "service/quartz_cron.h"

#include <fmt/format.h>

#include <cctype>
#include <vector>

#include "base/strings.h"

namespace keepsake::service {
namespace {

struct Field {
  int number;  // 1-based position, as administrators count
  const char* name;
  int min;
  int max;
  bool wraps;  // a-b with a > b wraps around (not for years)
};

constexpr Field kSeconds{1, "seconds", 0, 59, true};
constexpr Field kMinutes{2, "minutes", 0, 59, true};
constexpr Field kHours{3, "hours", 0, 23, true};
constexpr Field kDayOfMonth{4, "day of month", 1, 31, true};
constexpr Field kMonth{5, "month", 1, 12, true};
constexpr Field kDayOfWeek{6, "day of week", 1, 7, true};
constexpr Field kYear{7, "year", CronExpression::kMinYear, CronExpression::kMaxYear, false};

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

Status FieldError(const Field& f, std::string_view token, std::string_view why) {
  return Status::InvalidArgument(
      fmt::format("cron expression: field {} ({}) \"{}\": {}", f.number, f.name, token, why));
}

Status OutOfRange(const Field& f, std::string_view token) {
  return FieldError(f, token, fmt::format("value out of range {}-{}", f.min, f.max));
}

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A decimal number of at most 9 digits (no overflow), or nullopt.
std::optional<int> ParseNumber(std::string_view s) {
  if (!IsDigits(s) || s.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// A number or, in the month and day-of-week fields, a three-letter name; range-checked.
// `item` is the list item that holds `s`, quoted in errors.
Result<int> ParseValue(const Field& f, std::string_view s, std::string_view item) {
  if (std::optional<int> v = ParseNumber(s)) {
    if (*v < f.min || *v > f.max) return OutOfRange(f, item);
    return *v;
  }
  if (f.number == kMonth.number) {
    for (size_t i = 0; i < kMonthNames.size(); ++i) {
      if (EqualsIgnoreCase(s, kMonthNames[i])) return static_cast<int>(i) + 1;
    }
    return FieldError(f, item, "expected a number 1-12 or a month name JAN-DEC");
  }
  if (f.number == kDayOfWeek.number) {
    for (size_t i = 0; i < kDayNames.size(); ++i) {
      if (EqualsIgnoreCase(s, kDayNames[i])) return static_cast<int>(i) + 1;
    }
    return FieldError(f, item, "expected a number 1-7 or a day name SUN-SAT");
  }
  if (IsDigits(s)) return OutOfRange(f, item);  // too many digits
  return FieldError(f, item, fmt::format("expected a number {}-{}", f.min, f.max));
}

// One list item of the plain forms: *  a  a-b  a/n  a-b/n  */n. Sets bit (value - base).
template <size_t N>
Status ParseRangeItem(const Field& f, std::string_view item, std::bitset<N>& bits, int base = 0) {
  std::string_view range = item;
  int step = 1;
  bool has_step = false;
  if (size_t slash = item.find('/'); slash != std::string_view::npos) {
    range = item.substr(0, slash);
    std::string_view step_text = item.substr(slash + 1);
    std::optional<int> s = ParseNumber(step_text);
    const int span = f.max - f.min + 1;
    if (!s) return FieldError(f, item, fmt::format("expected an increment 1-{} after '/'", span));
    if (*s < 1 || *s > span) return FieldError(f, item, fmt::format("increment out of range 1-{}", span));
    step = *s;
    has_step = true;
  }
  if (range.empty()) return FieldError(f, item, "missing value before '/'");
  int first = f.min;
  int last = f.max;
  if (range != "*") {
    if (size_t dash = range.find('-'); dash != std::string_view::npos) {
      ASSIGN_OR_RETURN(first, ParseValue(f, range.substr(0, dash), item));
      ASSIGN_OR_RETURN(last, ParseValue(f, range.substr(dash + 1), item));
      if (last < first) {
        if (!f.wraps) return FieldError(f, item, "range start is after range end");
        last += f.max - f.min + 1;  // FRI-MON, 22-2: wrap through the start of the cycle
      }
    } else {
      ASSIGN_OR_RETURN(first, ParseValue(f, range, item));
      last = has_step ? f.max : first;  // Quartz: "a/n" runs from a to the end of the field
    }
  }
  const int span = f.max - f.min + 1;
  for (int v = first; v <= last; v += step) bits.set((v - f.min) % span + f.min - base);
  return Status();
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::vector<std::string_view> SplitFields(std::string_view s) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsBlank(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !IsBlank(s[i])) ++i;
    if (i > start) fields.push_back(s.substr(start, i - start));
  }
  return fields;
}

// Every item of a ','-separated field must be non-empty, and '?' may only stand alone.
Status CheckItems(const Field& f, std::string_view field, const std::vector<std::string_view>& items) {
  for (std::string_view item : items) {
    if (item.empty()) return FieldError(f, field, "empty list item");
    if (item.find('?') != std::string_view::npos) {
      if (f.number != kDayOfMonth.number && f.number != kDayOfWeek.number) {
        return FieldError(f, field, "'?' is only allowed in day of month or day of week");
      }
      if (items.size() > 1 || item != "?") return FieldError(f, field, "'?' must stand alone");
    }
  }
  return Status();
}

template <size_t N>
Status ParsePlainField(const Field& f, std::string_view field, std::bitset<N>& bits, int base = 0) {
  std::vector<std::string_view> items = Split(field, ',');
  RETURN_IF_ERROR(CheckItems(f, field, items));
  for (std::string_view item : items) RETURN_IF_ERROR(ParseRangeItem(f, item, bits, base));
  return Status();
}

bool IsUpper(std::string_view s, char c) {
  return !s.empty() && std::toupper(static_cast<unsigned char>(s.back())) == c;
}

}  // namespace

Result<CronExpression> CronExpression::Parse(std::string_view text) {
  CronExpression e;
  std::vector<std::string_view> fields = SplitFields(text);
  if (fields.size() != 6 && fields.size() != 7) {
    return Status::InvalidArgument(fmt::format("cron expression: expected 6 or 7 fields, got {}", fields.size()));
  }
  e.text_ = std::string(fields.front().data(), fields.back().data() + fields.back().size() - fields.front().data());

  RETURN_IF_ERROR(ParsePlainField(kSeconds, fields[0], e.seconds_));
  RETURN_IF_ERROR(ParsePlainField(kMinutes, fields[1], e.minutes_));
  RETURN_IF_ERROR(ParsePlainField(kHours, fields[2], e.hours_));
  RETURN_IF_ERROR(ParsePlainField(kMonth, fields[4], e.months_));
  if (fields.size() == 7) {
    RETURN_IF_ERROR(ParsePlainField(kYear, fields[6], e.years_, kMinYear));
  } else {
    e.years_.set();
  }

  // Day of month: plain items plus L, L-n, LW and nW.
  {
    const Field& f = kDayOfMonth;
    std::vector<std::string_view> items = Split(fields[3], ',');
    RETURN_IF_ERROR(CheckItems(f, fields[3], items));
    for (std::string_view item : items) {
      if (item == "?") {
        e.dom_question_ = true;
      } else if (EqualsIgnoreCase(item, "L")) {
        e.dom_last_offsets_.set(0);
      } else if (EqualsIgnoreCase(item, "LW")) {
        e.dom_last_weekday_ = true;
      } else if (item.size() > 2 && EqualsIgnoreCase(item.substr(0, 2), "L-")) {
        std::optional<int> n = ParseNumber(item.substr(2));
        if (!n || *n > 30) return FieldError(f, item, "offset from the last day out of range 0-30");
        e.dom_last_offsets_.set(*n);
      } else if (IsUpper(item, 'W')) {
        std::string_view day = item.substr(0, item.size() - 1);
        if (!IsDigits(day)) return FieldError(f, item, "'W' follows a single day, as in 15W");
        ASSIGN_OR_RETURN(int n, ParseValue(f, day, item));
        e.dom_nearest_weekday_.set(n);
      } else {
        RETURN_IF_ERROR(ParseRangeItem(f, item, e.dom_days_));
      }
    }
  }

  // Day of week: plain items plus L (= SAT), nL and n#k.
  {
    const Field& f = kDayOfWeek;
    std::vector<std::string_view> items = Split(fields[5], ',');
    RETURN_IF_ERROR(CheckItems(f, fields[5], items));
    for (std::string_view item : items) {
      if (item == "?") {
        e.dow_question_ = true;
      } else if (EqualsIgnoreCase(item, "L")) {
        e.dow_days_.set(7);
      } else if (size_t hash = item.find('#'); hash != std::string_view::npos) {
        ASSIGN_OR_RETURN(int day, ParseValue(f, item.substr(0, hash), item));
        std::optional<int> k = ParseNumber(item.substr(hash + 1));
        if (!k || *k < 1 || *k > 5) return FieldError(f, item, "occurrence after '#' out of range 1-5");
        e.dow_nth_[*k - 1].set(day);
      } else if (IsUpper(item, 'L')) {
        std::string_view day = item.substr(0, item.size() - 1);
        if (day.find_first_of("-/*") != std::string_view::npos) {
          return FieldError(f, item, "'L' follows a single day, as in 6L");
        }
        ASSIGN_OR_RETURN(int n, ParseValue(f, day, item));
        e.dow_last_.set(n);
      } else {
        RETURN_IF_ERROR(ParseRangeItem(f, item, e.dow_days_));
      }
    }
  }

  if (e.dom_question_ == e.dow_question_) {
    return Status::InvalidArgument(
        "cron expression: \"?\" must be used in exactly one of day of month and day of week");
  }
  return e;
}

std::bitset<32> CronExpression::DaysMatching(date::year y, date::month m) const {
  std::bitset<32> out;
  const int last = static_cast<int>(unsigned{(y / m / date::last).day()});
  // Quartz day of week: 1 = Sunday; date::weekday::c_encoding(): 0 = Sunday.
  auto weekday_of = [&](int d) { return static_cast<int>(date::weekday{date::sys_days{y / m / d}}.c_encoding()) + 1; };
  if (dow_question_) {
    for (int d = 1; d <= last; ++d) {
      if (dom_days_.test(d)) out.set(d);
    }
    for (int n = 0; n < static_cast<int>(dom_last_offsets_.size()); ++n) {
      if (dom_last_offsets_.test(n) && last - n >= 1) out.set(last - n);
    }
    if (dom_last_weekday_) {
      int wd = weekday_of(last);
      out.set(wd == 7 ? last - 1 : wd == 1 ? last - 2 : last);
    }
    // Nearest weekday never crosses into another month: 1W on a Saturday is Monday the 3rd.
    for (int n = 1; n <= 31; ++n) {
      if (!dom_nearest_weekday_.test(n) || n > last) continue;
      int wd = weekday_of(n);
      int d = n;
      if (wd == 7) d = (n == 1) ? n + 2 : n - 1;
      if (wd == 1) d = (n == last) ? n - 2 : n + 1;
      out.set(d);
    }
  } else {
    for (int d = 1; d <= last; ++d) {
      int wd = weekday_of(d);
      int occurrence = (d - 1) / 7;  // 0 for days 1-7, 1 for 8-14, ...
      if (dow_days_.test(wd) || dow_nth_[occurrence].test(wd) || (dow_last_.test(wd) && d + 7 > last)) {
        out.set(d);
      }
    }
  }
  return out;
}

std::optional<date::local_seconds> CronExpression::NextLocal(date::local_seconds t) const {
  using std::chrono::seconds;
  const date::local_seconds floor{date::local_days{date::year{kMinYear} / 1 / 1}};
  date::local_seconds start = t + seconds{1};
  if (start < floor) start = floor;
  const date::local_days start_day = date::floor<date::days>(start);
  const date::year_month_day ymd{start_day};
  const date::hh_mm_ss<seconds> tod{start - start_day};
  const int sy = static_cast<int>(ymd.year());
  const int smo = static_cast<int>(unsigned{ymd.month()});
  const int sd = static_cast<int>(unsigned{ymd.day()});
  const int sh = static_cast<int>(tod.hours().count());
  const int smi = static_cast<int>(tod.minutes().count());
  const int ss = static_cast<int>(tod.seconds().count());

  // Walk the fields from the largest down. Only the first candidate at each level can be
  // constrained by `start`; every later one starts at the field's minimum. A day that
  // matches always has a matching time unless it is the start day itself, so this touches
  // at most a few days' worth of hours, minutes and seconds.
  for (int y = sy; y <= kMaxYear; ++y) {
    const bool y_start = y == sy;
    if (!years_.test(y - kMinYear)) continue;
    for (int mo = y_start ? smo : 1; mo <= 12; ++mo) {
      const bool mo_start = y_start && mo == smo;
      if (!months_.test(mo)) continue;
      const std::bitset<32> days = DaysMatching(date::year{y}, date::month(mo));
      for (int d = mo_start ? sd : 1; d <= 31; ++d) {
        const bool d_start = mo_start && d == sd;
        if (!days.test(d)) continue;
        for (int h = d_start ? sh : 0; h < 24; ++h) {
          const bool h_start = d_start && h == sh;
          if (!hours_.test(h)) continue;
          for (int mi = h_start ? smi : 0; mi < 60; ++mi) {
            const bool mi_start = h_start && mi == smi;
            if (!minutes_.test(mi)) continue;
            for (int s = mi_start ? ss : 0; s < 60; ++s) {
              if (!seconds_.test(s)) continue;
              return date::local_days{date::year{y} / mo / d} + std::chrono::hours{h} + std::chrono::minutes{mi} +
                     seconds{s};
            }
          }
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace keepsake::service
