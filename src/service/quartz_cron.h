// CronExpression: a Quartz-style cron expression and the next local civil time it matches.
// The scheduler turns every backup schedule, presets included, into one of these, so there
// is a single schedule engine. docs/SCHEDULE.md is the administrator's reference.
//
// Grammar (fields separated by blanks; names and letters are case-insensitive):
//
//   seconds minutes hours day-of-month month day-of-week [year]
//   0-59    0-59    0-23  1-31         1-12  1-7 (1=SUN)  1970-2099
//                                      JAN-DEC SUN-SAT
//
//   every field:   *  a  a-b  a/n  a-b/n  */n  and ','-separated lists of these;
//                  a-b with a > b wraps around (hours 22-2, day of week FRI-MON), not in year
//   day of month:  ?  L (last day)  L-n (n days before the last)  LW (last weekday)
//                  nW (weekday nearest to day n, within the month)
//   day of week:   ?  L (= 7 = SAT)  nL (last day n of the month)  n#k (k-th day n, k 1-5)
//   exactly one of day of month and day of week is '?', as in Quartz.
//
// A parsed expression is immutable: its const methods are safe to call from several threads.
#pragma once

#include <date/date.h>

#include <array>
#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace keepsake::service {

class CronExpression {
 public:
  // Years outside this range never match: searches stop at the end of kMaxYear.
  static constexpr int kMinYear = 1970;
  static constexpr int kMaxYear = 2099;

  // Success: the expression is well formed (6 or 7 fields, values in range, '?' in exactly
  // one of the day fields). Otherwise kInvalidArgument with a message naming the field and
  // the token: `cron expression: field 4 (day of month) "32": value out of range 1-31`.
  static Result<CronExpression> Parse(std::string_view text);

  // The first local civil time strictly after `t` that matches, at whole-second resolution,
  // or nullopt when none does up to the end of kMaxYear (e.g. "0 0 0 30 2 ?"). Times before
  // kMinYear are searched from its first second. Skips field by field, so it is fast even
  // for expressions that never fire.
  std::optional<date::local_seconds> NextLocal(date::local_seconds t) const;

  // The text as given, without leading and trailing blanks.
  const std::string& text() const { return text_; }

 private:
  CronExpression() = default;

  // The days of month `m` of year `y` that the day-of-month or day-of-week field selects (index
  // 1-31). Only the field that is not '?' constrains the day.
  std::bitset<32> DaysMatching(date::year y, date::month m) const;

  std::string text_;
  std::bitset<60> seconds_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<13> months_;                      // 1-12
  std::bitset<kMaxYear - kMinYear + 1> years_;  // year - kMinYear

  // Day of month; ignored when dom_question_.
  bool dom_question_ = false;
  std::bitset<32> dom_days_;             // plain days 1-31
  std::bitset<31> dom_last_offsets_;     // L-n sets bit n; L sets bit 0
  bool dom_last_weekday_ = false;        // LW
  std::bitset<32> dom_nearest_weekday_;  // nW sets bit n

  // Day of week, 1 = Sunday; ignored when dow_question_.
  bool dow_question_ = false;
  std::bitset<8> dow_days_;                // plain weekdays 1-7
  std::bitset<8> dow_last_;                // nL sets bit n
  std::array<std::bitset<8>, 5> dow_nth_;  // n#k sets bit n of dow_nth_[k - 1]
};

}  // namespace keepsake::service
