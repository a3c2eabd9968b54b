#include "service/quartz_cron.h"

#include <gtest/gtest.h>

#include <chrono>

namespace keepsake::service {
namespace {

date::local_seconds Local(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return date::local_days{date::year{y} / date::month{mo} / date::day{d}} + std::chrono::hours{h} +
         std::chrono::minutes{mi} + std::chrono::seconds{s};
}

class CronTest : public ::testing::Test {
 protected:
  // The next match of `text` strictly after `t`; fails the test if `text` does not parse.
  std::optional<date::local_seconds> Next(std::string_view text, date::local_seconds t) {
    Result<CronExpression> e = CronExpression::Parse(text);
    EXPECT_TRUE(e.ok()) << text << ": " << e.status().message();
    if (!e.ok()) return std::nullopt;
    return e->NextLocal(t);
  }

  // The message of the error parsing `text`, after checking it is kInvalidArgument.
  std::string Error(std::string_view text) {
    Result<CronExpression> e = CronExpression::Parse(text);
    EXPECT_FALSE(e.ok()) << text;
    if (e.ok()) return "";
    EXPECT_EQ(e.status().code(), ErrorCode::kInvalidArgument) << text;
    return e.status().message();
  }
};

#define EXPECT_CONTAINS(haystack, needle) EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

// --- matching -------------------------------------------------------------------------

TEST_F(CronTest, NextIsStrictlyAfter) {
  EXPECT_EQ(Next("0 30 2 * * ?", Local(2026, 3, 1, 2, 30)), Local(2026, 3, 2, 2, 30));
  EXPECT_EQ(Next("0 30 2 * * ?", Local(2026, 3, 1, 2, 29, 59)), Local(2026, 3, 1, 2, 30));
}

TEST_F(CronTest, EverySecondAdvancesOneSecond) {
  EXPECT_EQ(Next("* * * * * ?", Local(2026, 12, 31, 23, 59, 59)), Local(2027, 1, 1));
}

TEST_F(CronTest, MidnightEveryFriday) {
  // 2026-03-01 is a Sunday.
  EXPECT_EQ(Next("0 0 0 ? * FRI", Local(2026, 3, 1)), Local(2026, 3, 6));
  EXPECT_EQ(Next("0 0 0 ? * FRI", Local(2026, 3, 6)), Local(2026, 3, 13));
  EXPECT_EQ(Next("0 0 0 ? * fri", Local(2026, 3, 1)), Local(2026, 3, 6));
  EXPECT_EQ(Next("0 0 0 ? * 6", Local(2026, 3, 1)), Local(2026, 3, 6));
}

TEST_F(CronTest, DayOfWeekRangesAndWrapAround) {
  // MON-FRI from Saturday 2026-03-07 is Monday the 9th.
  EXPECT_EQ(Next("0 0 8 ? * MON-FRI", Local(2026, 3, 7)), Local(2026, 3, 9, 8));
  // FRI-MON wraps: Fri, Sat, Sun, Mon. From Monday the 2nd at noon: Friday the 6th.
  EXPECT_EQ(Next("0 0 0 ? * FRI-MON", Local(2026, 3, 2, 12)), Local(2026, 3, 6));
  EXPECT_EQ(Next("0 0 0 ? * FRI-MON", Local(2026, 3, 8, 12)), Local(2026, 3, 9));
}

TEST_F(CronTest, HourRangeWrapsPastMidnight) {
  EXPECT_EQ(Next("0 0 22-2 * * ?", Local(2026, 3, 1, 23)), Local(2026, 3, 2, 0));
  EXPECT_EQ(Next("0 0 22-2 * * ?", Local(2026, 3, 2, 2)), Local(2026, 3, 2, 22));
}

TEST_F(CronTest, Increments) {
  EXPECT_EQ(Next("0/15 * * * * ?", Local(2026, 3, 1, 10)), Local(2026, 3, 1, 10, 0, 15));
  EXPECT_EQ(Next("0/15 * * * * ?", Local(2026, 3, 1, 10, 0, 45)), Local(2026, 3, 1, 10, 1, 0));
  EXPECT_EQ(Next("0 */5 * * * ?", Local(2026, 3, 1, 10, 7)), Local(2026, 3, 1, 10, 10));
  EXPECT_EQ(Next("10-40/10 * * * * ?", Local(2026, 3, 1, 10, 0, 30)), Local(2026, 3, 1, 10, 0, 40));
  EXPECT_EQ(Next("10-40/10 * * * * ?", Local(2026, 3, 1, 10, 0, 40)), Local(2026, 3, 1, 10, 1, 10));
  // "a/n" runs from a to the end of the field: 50, then 10 past the next hour's first minute.
  EXPECT_EQ(Next("0 50/20 * * * ?", Local(2026, 3, 1, 10, 50)), Local(2026, 3, 1, 11, 50));
}

TEST_F(CronTest, ListsAndMonthNames) {
  EXPECT_EQ(Next("0 0 0 1 JAN,jul ?", Local(2026, 2, 1)), Local(2026, 7, 1));
  EXPECT_EQ(Next("0 0 0 1,15 * ?", Local(2026, 3, 1)), Local(2026, 3, 15));
  EXPECT_EQ(Next("0 0 0 1 MAR-MAY ?", Local(2026, 5, 1)), Local(2027, 3, 1));
}

TEST_F(CronTest, LeapDay) { EXPECT_EQ(Next("0 0 12 29 2 ?", Local(2026, 3, 1)), Local(2028, 2, 29, 12)); }

TEST_F(CronTest, ImpossibleDateNeverFiresAndAnswersQuickly) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Next("0 0 0 30 2 ?", Local(2026, 1, 1)), std::nullopt);
  EXPECT_EQ(Next("0 0 0 31 4,6,9,11 ?", Local(1970, 1, 1)), std::nullopt);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds{1});
}

TEST_F(CronTest, LastDayOfMonth) {
  EXPECT_EQ(Next("0 0 0 L * ?", Local(2026, 2, 1)), Local(2026, 2, 28));
  EXPECT_EQ(Next("0 0 0 L * ?", Local(2028, 2, 1)), Local(2028, 2, 29));
  EXPECT_EQ(Next("0 0 0 L * ?", Local(2026, 4, 30)), Local(2026, 5, 31));
  EXPECT_EQ(Next("0 0 0 L-3 * ?", Local(2026, 2, 1)), Local(2026, 2, 25));
  EXPECT_EQ(Next("0 0 0 l-3 * ?", Local(2026, 3, 1)), Local(2026, 3, 28));
}

TEST_F(CronTest, LastWeekdayOfMonth) {
  // 2026-05-31 is a Sunday, 2026-02-28 a Saturday, 2026-03-31 a Tuesday.
  EXPECT_EQ(Next("0 0 0 LW * ?", Local(2026, 5, 1)), Local(2026, 5, 29));
  EXPECT_EQ(Next("0 0 0 LW * ?", Local(2026, 2, 1)), Local(2026, 2, 27));
  EXPECT_EQ(Next("0 0 0 LW * ?", Local(2026, 3, 1)), Local(2026, 3, 31));
}

TEST_F(CronTest, NearestWeekdayStaysInTheMonth) {
  // 2026-11-15 is a Sunday -> Monday the 16th; 2026-08-15 a Saturday -> Friday the 14th.
  EXPECT_EQ(Next("0 0 0 15W * ?", Local(2026, 11, 1)), Local(2026, 11, 16));
  EXPECT_EQ(Next("0 0 0 15W * ?", Local(2026, 8, 1)), Local(2026, 8, 14));
  EXPECT_EQ(Next("0 0 0 15W * ?", Local(2026, 3, 1)), Local(2026, 3, 16));  // Sunday the 15th
  EXPECT_EQ(Next("0 0 0 15W * ?", Local(2026, 4, 1)), Local(2026, 4, 15));  // a Wednesday
  // 2026-08-01 is a Saturday: Monday the 3rd, not Friday July 31st.
  EXPECT_EQ(Next("0 0 0 1W * ?", Local(2026, 7, 31)), Local(2026, 8, 3));
  // 2026-05-31 is a Sunday: Friday the 29th, not Monday June 1st.
  EXPECT_EQ(Next("0 0 0 31W 5 ?", Local(2026, 5, 1)), Local(2026, 5, 29));
  // Day 31 does not exist in April: no match there.
  EXPECT_EQ(Next("0 0 0 31W 4 ?", Local(2026, 1, 1)), std::nullopt);
}

TEST_F(CronTest, LastGivenWeekdayOfMonth) {
  // Fridays in March 2026: 6, 13, 20, 27.
  EXPECT_EQ(Next("0 0 0 ? * 6L", Local(2026, 3, 1)), Local(2026, 3, 27));
  EXPECT_EQ(Next("0 0 0 ? * FRIL", Local(2026, 3, 1)), Local(2026, 3, 27));
  EXPECT_EQ(Next("0 0 0 ? * 6L", Local(2026, 3, 27)), Local(2026, 4, 24));
}

TEST_F(CronTest, PlainLInDayOfWeekIsSaturday) { EXPECT_EQ(Next("0 0 0 ? * L", Local(2026, 3, 1)), Local(2026, 3, 7)); }

TEST_F(CronTest, NthWeekdayOfMonth) {
  EXPECT_EQ(Next("0 0 0 ? * 6#3", Local(2026, 3, 1)), Local(2026, 3, 20));
  EXPECT_EQ(Next("0 0 0 ? * FRI#1", Local(2026, 3, 1)), Local(2026, 3, 6));
  // Fifth Monday: March 30th, then none in April or May, then June 29th.
  EXPECT_EQ(Next("0 0 0 ? * 2#5", Local(2026, 3, 1)), Local(2026, 3, 30));
  EXPECT_EQ(Next("0 0 0 ? * 2#5", Local(2026, 3, 30)), Local(2026, 6, 29));
}

TEST_F(CronTest, YearField) {
  EXPECT_EQ(Next("0 0 0 1 1 ? 2030", Local(2026, 3, 1)), Local(2030, 1, 1));
  EXPECT_EQ(Next("0 0 0 1 1 ? 2030", Local(2030, 1, 1)), std::nullopt);
  EXPECT_EQ(Next("0 0 0 1 1 ? 2028/2", Local(2028, 1, 1)), Local(2030, 1, 1));
  EXPECT_EQ(Next("0 0 0 1 1 ? 2027-2029", Local(2029, 1, 1)), std::nullopt);
  EXPECT_EQ(Next("0 0 0 1 1 ? *", Local(2026, 3, 1)), Local(2027, 1, 1));
}

TEST_F(CronTest, SearchEndsWith2099) {
  EXPECT_EQ(Next("0 0 0 1 1 ?", Local(2099, 1, 1)), std::nullopt);
  EXPECT_EQ(Next("0 0 0 1 1 ?", Local(1960, 6, 1)), Local(1970, 1, 1));
}

TEST_F(CronTest, KeepsTextWithoutOuterBlanks) {
  Result<CronExpression> e = CronExpression::Parse("  0 0  0 ? * FRI\t");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->text(), "0 0  0 ? * FRI");
}

// --- errors ---------------------------------------------------------------------------

TEST_F(CronTest, WrongFieldCount) {
  EXPECT_EQ(Error("0 0 0 * *"), "cron expression: expected 6 or 7 fields, got 5");
  EXPECT_EQ(Error(""), "cron expression: expected 6 or 7 fields, got 0");
  EXPECT_CONTAINS(Error("0 0 0 1 1 ? 2030 x"), "got 8");
}

TEST_F(CronTest, ValueOutOfRangeNamesFieldAndToken) {
  EXPECT_EQ(Error("0 0 0 32 * ?"), "cron expression: field 4 (day of month) \"32\": value out of range 1-31");
  EXPECT_EQ(Error("60 * * * * ?"), "cron expression: field 1 (seconds) \"60\": value out of range 0-59");
  EXPECT_CONTAINS(Error("0 60 * * * ?"), "field 2 (minutes) \"60\"");
  EXPECT_CONTAINS(Error("0 0 24 * * ?"), "field 3 (hours) \"24\": value out of range 0-23");
  EXPECT_CONTAINS(Error("0 0 0 ? 13 *"), "field 5 (month) \"13\": value out of range 1-12");
  EXPECT_CONTAINS(Error("0 0 0 ? * 0"), "field 6 (day of week) \"0\": value out of range 1-7");
  EXPECT_CONTAINS(Error("0 0 0 1 1 ? 1969"), "field 7 (year) \"1969\": value out of range 1970-2099");
  EXPECT_CONTAINS(Error("0 0 0 1-40 * ?"), "field 4 (day of month) \"1-40\": value out of range");
  EXPECT_CONTAINS(Error("0 0 99999999999 * * ?"), "value out of range 0-23");
}

TEST_F(CronTest, QuestionMarkInExactlyOneDayField) {
  const std::string want = "cron expression: \"?\" must be used in exactly one of day of month and day of week";
  EXPECT_EQ(Error("0 0 0 * * *"), want);
  EXPECT_EQ(Error("0 0 0 ? * ?"), want);
  EXPECT_EQ(Error("0 0 0 1 * MON"), want);
  EXPECT_CONTAINS(Error("0 ? 0 1 * ?"), "field 2 (minutes) \"?\": '?' is only allowed in day of month or day of week");
  EXPECT_CONTAINS(Error("0 0 0 ?,1 * ?"), "'?' must stand alone");
}

TEST_F(CronTest, BadSyntax) {
  EXPECT_CONTAINS(Error("a 0 0 * * ?"), "field 1 (seconds) \"a\": expected a number 0-59");
  EXPECT_CONTAINS(Error("0 0 0 ? FOO *"), "field 5 (month) \"FOO\": expected a number 1-12 or a month name");
  EXPECT_CONTAINS(Error("0 0 0 ? * FRX"), "field 6 (day of week) \"FRX\": expected a number 1-7 or a day name");
  EXPECT_CONTAINS(Error("0 0 0 1,,2 * ?"), "field 4 (day of month) \"1,,2\": empty list item");
  EXPECT_CONTAINS(Error("0 5- * * * ?"), "field 2 (minutes) \"5-\": expected a number");
  EXPECT_CONTAINS(Error("0 /5 * * * ?"), "missing value before '/'");
}

TEST_F(CronTest, BadIncrement) {
  EXPECT_CONTAINS(Error("0/0 * * * * ?"), "field 1 (seconds) \"0/0\": increment out of range 1-60");
  EXPECT_CONTAINS(Error("0 0 0/25 * * ?"), "increment out of range 1-24");
  EXPECT_CONTAINS(Error("0/x * * * * ?"), "expected an increment");
}

TEST_F(CronTest, BadYearRange) {
  EXPECT_CONTAINS(Error("0 0 0 1 1 ? 2030-2028"), "field 7 (year) \"2030-2028\": range start is after range end");
}

TEST_F(CronTest, BadSpecialCharacters) {
  EXPECT_CONTAINS(Error("0 0 0 L-31 * ?"),
                  "field 4 (day of month) \"L-31\": offset from the last day out of range 0-30");
  EXPECT_CONTAINS(Error("0 0 0 1-5W * ?"), "'W' follows a single day");
  EXPECT_CONTAINS(Error("0 0 0 32W * ?"), "field 4 (day of month) \"32W\": value out of range 1-31");
  EXPECT_CONTAINS(Error("0 0 0 ? * 6#6"), "field 6 (day of week) \"6#6\": occurrence after '#' out of range 1-5");
  EXPECT_CONTAINS(Error("0 0 0 ? * 8#1"), "value out of range 1-7");
  EXPECT_CONTAINS(Error("0 0 0 ? * 1-3L"), "'L' follows a single day");
  EXPECT_CONTAINS(Error("0 0 0 ? * 6#"), "occurrence after '#'");
  EXPECT_CONTAINS(Error("0 0 L * * ?"), "field 3 (hours) \"L\": expected a number");
  EXPECT_CONTAINS(Error("0 0 0 ? * 6W"), "field 6 (day of week)");
}

}  // namespace
}  // namespace keepsake::service
