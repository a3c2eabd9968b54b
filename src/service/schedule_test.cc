#include "service/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace keepsake::service {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

date::sys_seconds Utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  return date::sys_days{date::year{y} / date::month{mo} / date::day{d}} + hours{h} + minutes{mi};
}

Schedule Daily(int hour, int minute, std::string zone = "UTC") {
  Schedule s;
  s.kind = ScheduleKind::kDaily;
  s.hour = hour;
  s.minute = minute;
  s.time_zone = std::move(zone);
  return s;
}

Schedule Hourly(int minute, std::string zone = "UTC") {
  Schedule s;
  s.kind = ScheduleKind::kHourly;
  s.minute = minute;
  s.time_zone = std::move(zone);
  return s;
}

Schedule Cron(std::string text, std::string zone = "UTC") {
  Schedule s;
  s.kind = ScheduleKind::kCron;
  s.cron = std::move(text);
  s.time_zone = std::move(zone);
  return s;
}

CompiledSchedule CompileOk(const Schedule& s) {
  Result<CompiledSchedule> c = CompiledSchedule::Compile(s);
  EXPECT_TRUE(c.ok()) << c.status().message();
  if (!c.ok()) return CompiledSchedule::Compile(Schedule{}).value();
  return std::move(c).value();
}

std::vector<date::sys_seconds> Runs(const Schedule& s, date::sys_seconds after, int count) {
  return CompileOk(s).NextRuns(after, count);
}

#define EXPECT_CONTAINS(haystack, needle) EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

// --- presets, validation, JSON --------------------------------------------------------

TEST(ScheduleTest, DefaultIsNoneAndNeverRuns) {
  Schedule s;
  EXPECT_EQ(s.kind, ScheduleKind::kNone);
  EXPECT_TRUE(ValidateSchedule(s).ok());
  CompiledSchedule c = CompileOk(s);
  EXPECT_FALSE(c.enabled());
  EXPECT_EQ(c.NextAfter(Utc(2026, 1, 1)), std::nullopt);
  EXPECT_TRUE(c.NextRuns(Utc(2026, 1, 1), 5).empty());
  EXPECT_EQ(ScheduleToJson(s), nlohmann::json({{"kind", "none"}}));
}

TEST(ScheduleTest, KindNames) {
  EXPECT_EQ(ScheduleKindName(ScheduleKind::kNone), "none");
  EXPECT_EQ(ScheduleKindName(ScheduleKind::kHourly), "hourly");
  EXPECT_EQ(ScheduleKindName(ScheduleKind::kDaily), "daily");
  EXPECT_EQ(ScheduleKindName(ScheduleKind::kWeekly), "weekly");
  EXPECT_EQ(ScheduleKindName(ScheduleKind::kMonthly), "monthly");
  EXPECT_EQ(ScheduleKindName(ScheduleKind::kCron), "cron");
}

TEST(ScheduleTest, PresetsBecomeQuartzExpressions) {
  EXPECT_EQ(QuartzExpression(Hourly(15)), "0 15 * * * ?");
  EXPECT_EQ(QuartzExpression(Daily(2, 30)), "0 30 2 * * ?");
  Schedule weekly;
  weekly.kind = ScheduleKind::kWeekly;
  weekly.day_of_week = 6;  // Friday
  weekly.hour = 23;
  weekly.minute = 5;
  EXPECT_EQ(QuartzExpression(weekly), "0 5 23 ? * 6");
  Schedule monthly;
  monthly.kind = ScheduleKind::kMonthly;
  monthly.day_of_month = kLastDayOfMonth;
  monthly.hour = 4;
  monthly.minute = 0;
  EXPECT_EQ(QuartzExpression(monthly), "0 0 4 L * ?");
  monthly.day_of_month = 15;
  EXPECT_EQ(QuartzExpression(monthly), "0 0 4 15 * ?");
  EXPECT_EQ(QuartzExpression(Cron("0 0 0 ? * FRI")), "0 0 0 ? * FRI");
  EXPECT_EQ(QuartzExpression(Schedule{}), "");
  EXPECT_EQ(CompileOk(weekly).expression(), "0 5 23 ? * 6");
}

TEST(ScheduleTest, ValidationNamesTheField) {
  Status hour = ValidateSchedule(Daily(24, 0));
  EXPECT_EQ(hour.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(hour.message(), "schedule: hour 24 is out of range 0-23");
  EXPECT_EQ(ValidateSchedule(Hourly(60)).message(), "schedule: minute 60 is out of range 0-59");
  EXPECT_EQ(ValidateSchedule(Hourly(-1)).message(), "schedule: minute -1 is out of range 0-59");
  Schedule weekly = Daily(1, 0);
  weekly.kind = ScheduleKind::kWeekly;
  weekly.day_of_week = 0;
  EXPECT_EQ(ValidateSchedule(weekly).message(), "schedule: day_of_week 0 is out of range 1-7");
  Schedule monthly = Daily(1, 0);
  monthly.kind = ScheduleKind::kMonthly;
  monthly.day_of_month = 29;
  EXPECT_CONTAINS(ValidateSchedule(monthly).message(), "schedule: day_of_month 29 is out of range 1-28");
  monthly.day_of_month = 0;
  EXPECT_CONTAINS(ValidateSchedule(monthly).message(), "day_of_month 0");
  monthly.day_of_month = kLastDayOfMonth;
  EXPECT_TRUE(ValidateSchedule(monthly).ok());
}

TEST(ScheduleTest, FieldsOfOtherKindsAreIgnored) {
  Schedule hourly = Hourly(10);
  hourly.hour = 99;
  hourly.day_of_month = 31;
  EXPECT_TRUE(ValidateSchedule(hourly).ok());
}

TEST(ScheduleTest, UnknownTimeZone) {
  Status s = ValidateSchedule(Daily(2, 0, "Mars/Base"));
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "schedule: unknown time zone \"Mars/Base\"");
  EXPECT_FALSE(ValidateSchedule(Daily(2, 0, "")).ok());
  EXPECT_FALSE(ValidateSchedule(Daily(2, 0, std::string(200, 'x'))).ok());
  EXPECT_TRUE(ValidateSchedule(Daily(2, 0, "Europe/Berlin")).ok());
  EXPECT_TRUE(ValidateSchedule(Daily(2, 0, "America/New_York")).ok());
  EXPECT_EQ(CompiledSchedule::Compile(Daily(2, 0, "Mars/Base")).status().code(), ErrorCode::kInvalidArgument);
}

TEST(ScheduleTest, CronErrorsPassThrough) {
  Status s = ValidateSchedule(Cron("0 0 0 32 * ?"));
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "cron expression: field 4 (day of month) \"32\": value out of range 1-31");
  EXPECT_CONTAINS(ValidateSchedule(Cron("")).message(), "expected 6 or 7 fields, got 0");
  EXPECT_CONTAINS(ValidateSchedule(Cron(std::string(300, '*'))).message(), "longer than 256 characters");
}

TEST(ScheduleTest, ToJsonHasOnlyTheKindsFields) {
  EXPECT_EQ(ScheduleToJson(Daily(2, 30)),
            nlohmann::json::parse(R"({"kind":"daily","hour":2,"minute":30,"time_zone":"UTC",
                                     "expression":"0 30 2 * * ?"})"));
  EXPECT_EQ(ScheduleToJson(Hourly(5, "Europe/Berlin")),
            nlohmann::json::parse(R"({"kind":"hourly","minute":5,"time_zone":"Europe/Berlin",
                                     "expression":"0 5 * * * ?"})"));
  Schedule monthly = Daily(3, 0);
  monthly.kind = ScheduleKind::kMonthly;
  monthly.day_of_month = kLastDayOfMonth;
  EXPECT_EQ(ScheduleToJson(monthly), nlohmann::json::parse(R"({"kind":"monthly","day_of_month":-1,"hour":3,"minute":0,
                                     "time_zone":"UTC","expression":"0 0 3 L * ?"})"));
  EXPECT_EQ(ScheduleToJson(Cron("0 0 0 ? * FRI")),
            nlohmann::json::parse(R"({"kind":"cron","cron":"0 0 0 ? * FRI","time_zone":"UTC",
                                     "expression":"0 0 0 ? * FRI"})"));
}

TEST(ScheduleTest, JsonRoundTrip) {
  Schedule weekly = Daily(23, 59, "America/New_York");
  weekly.kind = ScheduleKind::kWeekly;
  weekly.day_of_week = 7;
  Schedule monthly = Daily(0, 0, "Europe/Berlin");
  monthly.kind = ScheduleKind::kMonthly;
  monthly.day_of_month = 28;
  for (const Schedule& s : {Schedule{}, Hourly(59), Daily(2, 30), weekly, monthly, Cron("0 0/30 8-18 ? * MON-FRI")}) {
    Result<Schedule> back = ScheduleFromJson(ScheduleToJson(s));
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, s) << ScheduleToJson(s).dump();
  }
}

class ScheduleFromJsonTest : public ::testing::Test {
 protected:
  // The error for the JSON `text`, after checking it is kInvalidArgument.
  std::string Error(std::string_view text) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << text;
    Result<Schedule> s = ScheduleFromJson(j);
    EXPECT_FALSE(s.ok()) << text;
    if (s.ok()) return "";
    EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
    return s.status().message();
  }
};

TEST_F(ScheduleFromJsonTest, TimeZoneDefaultsToUtc) {
  Result<Schedule> s = ScheduleFromJson(nlohmann::json::parse(R"({"kind":"daily","hour":2,"minute":30})"));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*s, Daily(2, 30));
}

TEST_F(ScheduleFromJsonTest, FieldsOfOtherKindsAreAcceptedAndDropped) {
  Result<Schedule> s = ScheduleFromJson(nlohmann::json::parse(
      R"({"kind":"hourly","minute":7,"hour":99,"day_of_week":3,"cron":"junk","expression":"x"})"));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*s, Hourly(7));
}

TEST_F(ScheduleFromJsonTest, UnknownKind) {
  EXPECT_EQ(Error(R"({"kind":"yearly"})"),
            "schedule: unknown kind \"yearly\" (expected none, hourly, daily, weekly, monthly or cron)");
  EXPECT_EQ(Error(R"({"kind":2})"), "schedule: field \"kind\" must be a string");
  EXPECT_EQ(Error(R"({"minute":2})"), "schedule: field \"kind\" is required");
}

TEST_F(ScheduleFromJsonTest, WrongTypes) {
  EXPECT_EQ(Error(R"({"kind":"daily","hour":"2","minute":0})"), "schedule: field \"hour\" must be an integer");
  EXPECT_EQ(Error(R"({"kind":"daily","hour":2.5,"minute":0})"), "schedule: field \"hour\" must be an integer");
  EXPECT_EQ(Error(R"({"kind":"hourly","minute":null})"), "schedule: field \"minute\" must be an integer");
  EXPECT_EQ(Error(R"({"kind":"cron","cron":5})"), "schedule: field \"cron\" must be a string");
  EXPECT_EQ(Error(R"({"kind":"daily","hour":1,"minute":0,"time_zone":["UTC"]})"),
            "schedule: field \"time_zone\" must be a string");
  // Mistyped even though the kind would ignore it.
  EXPECT_EQ(Error(R"({"kind":"hourly","minute":1,"hour":true})"), "schedule: field \"hour\" must be an integer");
  EXPECT_EQ(Error(R"({"kind":"hourly","minute":1,"expression":1})"), "schedule: field \"expression\" must be a string");
  EXPECT_EQ(Error("[1,2]"), "schedule: expected a JSON object");
}

TEST_F(ScheduleFromJsonTest, UnknownKey) {
  EXPECT_EQ(Error(R"({"kind":"hourly","minute":1,"minutes":2})"), "schedule: unknown field \"minutes\"");
}

TEST_F(ScheduleFromJsonTest, MissingField) {
  EXPECT_EQ(Error(R"({"kind":"daily","minute":0})"), "schedule: field \"hour\" is required for kind daily");
  EXPECT_EQ(Error(R"({"kind":"cron"})"), "schedule: field \"cron\" is required for kind cron");
  EXPECT_EQ(Error(R"({"kind":"weekly","hour":1,"minute":0})"),
            "schedule: field \"day_of_week\" is required for kind weekly");
}

TEST_F(ScheduleFromJsonTest, ValuesAreValidated) {
  EXPECT_EQ(Error(R"({"kind":"daily","hour":24,"minute":0})"), "schedule: hour 24 is out of range 0-23");
  EXPECT_EQ(Error(R"({"kind":"daily","hour":4294967298,"minute":0})"),
            "schedule: hour 4294967298 is out of range 0-23");
  EXPECT_EQ(Error(R"({"kind":"daily","hour":-4294967298,"minute":0})"),
            "schedule: hour -4294967298 is out of range 0-23");
  EXPECT_CONTAINS(Error(R"({"kind":"daily","hour":1,"minute":18446744073709551615})"), "schedule: minute");
  EXPECT_EQ(Error(R"({"kind":"daily","hour":1,"minute":0,"time_zone":"Mars/Base"})"),
            "schedule: unknown time zone \"Mars/Base\"");
  EXPECT_CONTAINS(Error(R"({"kind":"cron","cron":"0 0 0 * *"})"), "cron expression: expected 6 or 7 fields, got 5");
}

// --- next runs in UTC -----------------------------------------------------------------

TEST(CompiledScheduleTest, DailyInUtc) {
  CompiledSchedule c = CompileOk(Daily(2, 30));
  EXPECT_TRUE(c.enabled());
  EXPECT_EQ(c.NextAfter(Utc(2026, 3, 1)), Utc(2026, 3, 1, 2, 30));
  EXPECT_EQ(c.NextAfter(Utc(2026, 3, 1, 2, 30)), Utc(2026, 3, 2, 2, 30));
}

TEST(CompiledScheduleTest, WeeklyOnFriday) {
  Schedule s = Daily(22, 0);
  s.kind = ScheduleKind::kWeekly;
  s.day_of_week = 6;
  // 2026-03-01 is a Sunday.
  EXPECT_EQ(Runs(s, Utc(2026, 3, 1), 2), (std::vector<date::sys_seconds>{Utc(2026, 3, 6, 22), Utc(2026, 3, 13, 22)}));
}

TEST(CompiledScheduleTest, MonthlyOnLastDay) {
  Schedule s = Daily(23, 0);
  s.kind = ScheduleKind::kMonthly;
  s.day_of_month = kLastDayOfMonth;
  EXPECT_EQ(Runs(s, Utc(2028, 1, 15), 3),
            (std::vector<date::sys_seconds>{Utc(2028, 1, 31, 23), Utc(2028, 2, 29, 23), Utc(2028, 3, 31, 23)}));
}

TEST(CompiledScheduleTest, LeapDayCron) {
  EXPECT_EQ(CompileOk(Cron("0 0 12 29 2 ?")).NextAfter(Utc(2026, 3, 1)), Utc(2028, 2, 29, 12));
  // In a zone, too: the jump between offset periods must not skip the leap day.
  EXPECT_EQ(CompileOk(Cron("0 0 12 29 2 ?", "Europe/Berlin")).NextAfter(Utc(2026, 3, 1)), Utc(2028, 2, 29, 11));
}

TEST(CompiledScheduleTest, NeverFiringCronIsNullopt) {
  for (const char* zone : {"UTC", "Europe/Berlin", "Australia/Lord_Howe"}) {
    CompiledSchedule c = CompileOk(Cron("0 0 0 30 2 ?", zone));
    EXPECT_TRUE(c.enabled());
    EXPECT_EQ(c.NextAfter(Utc(2026, 1, 1)), std::nullopt) << zone;
  }
}

TEST(CompiledScheduleTest, YearRangeExhausted) {
  CompiledSchedule c = CompileOk(Cron("0 0 0 1 1 ? 2027", "America/New_York"));
  EXPECT_EQ(c.NextAfter(Utc(2026, 6, 1)), Utc(2027, 1, 1, 5));
  EXPECT_EQ(c.NextAfter(Utc(2027, 1, 1, 5)), std::nullopt);
}

TEST(CompiledScheduleTest, NextRunsAreAscending) {
  CompiledSchedule c = CompileOk(Cron("0 0/20 9-10 ? * MON-FRI", "Europe/Berlin"));
  std::vector<date::sys_seconds> runs = c.NextRuns(Utc(2026, 3, 6, 9), 5);  // Friday, 10:00 CET
  ASSERT_EQ(runs.size(), 5u);
  EXPECT_EQ(runs, (std::vector<date::sys_seconds>{Utc(2026, 3, 6, 9, 20), Utc(2026, 3, 6, 9, 40), Utc(2026, 3, 9, 8),
                                                  Utc(2026, 3, 9, 8, 20), Utc(2026, 3, 9, 8, 40)}));
  EXPECT_TRUE(std::is_sorted(runs.begin(), runs.end()));
  EXPECT_TRUE(c.NextRuns(Utc(2026, 3, 6, 9), 0).empty());
}

TEST(CompiledScheduleTest, NextRunsStopWhenTheScheduleRunsOut) {
  EXPECT_EQ(Runs(Cron("0 0 0 1 1 ? 2030-2031"), Utc(2026, 1, 1), 5),
            (std::vector<date::sys_seconds>{Utc(2030, 1, 1), Utc(2031, 1, 1)}));
}

// --- daylight saving time -------------------------------------------------------------
// Europe/Berlin 2026: 02:00 CET -> 03:00 CEST on March 29 at 01:00 UTC; 03:00 CEST ->
// 02:00 CET on October 25 at 01:00 UTC. America/New_York 2026: 02:00 EST -> 03:00 EDT on
// March 8 at 07:00 UTC; 02:00 EDT -> 01:00 EST on November 1 at 06:00 UTC.

TEST(ScheduleDstTest, BerlinDailyInSpringGapRunsWithTheWinterOffset) {
  // 02:30 does not exist on March 29: it runs at 01:30 UTC = 03:30 CEST, and is not skipped.
  EXPECT_EQ(
      Runs(Daily(2, 30, "Europe/Berlin"), Utc(2026, 3, 27, 12), 3),
      (std::vector<date::sys_seconds>{Utc(2026, 3, 28, 1, 30), Utc(2026, 3, 29, 1, 30), Utc(2026, 3, 30, 0, 30)}));
}

TEST(ScheduleDstTest, BerlinDailyInAutumnRunsOnceAtFirstOccurrence) {
  // 02:30 happens twice on October 25: 00:30 UTC (CEST) and 01:30 UTC (CET). Only the first.
  CompiledSchedule c = CompileOk(Daily(2, 30, "Europe/Berlin"));
  EXPECT_EQ(
      c.NextRuns(Utc(2026, 10, 23, 12), 3),
      (std::vector<date::sys_seconds>{Utc(2026, 10, 24, 0, 30), Utc(2026, 10, 25, 0, 30), Utc(2026, 10, 26, 1, 30)}));
  // Asked between the two occurrences, it does not run at the second.
  EXPECT_EQ(c.NextAfter(Utc(2026, 10, 25, 1, 0)), Utc(2026, 10, 26, 1, 30));
}

TEST(ScheduleDstTest, NewYorkDailyInSpringGapRunsWithTheWinterOffset) {
  EXPECT_EQ(Runs(Daily(2, 30, "America/New_York"), Utc(2026, 3, 6, 12), 3),
            (std::vector<date::sys_seconds>{Utc(2026, 3, 7, 7, 30), Utc(2026, 3, 8, 7, 30), Utc(2026, 3, 9, 6, 30)}));
}

TEST(ScheduleDstTest, NewYorkDailyInAutumn) {
  // 02:30 is not repeated in New York (01:00-01:59 is): it simply moves to EST.
  EXPECT_EQ(
      Runs(Daily(2, 30, "America/New_York"), Utc(2026, 10, 30, 12), 3),
      (std::vector<date::sys_seconds>{Utc(2026, 10, 31, 6, 30), Utc(2026, 11, 1, 7, 30), Utc(2026, 11, 2, 7, 30)}));
  // 01:30 is repeated: it runs at its first occurrence, 05:30 UTC (EDT), not at 06:30 UTC.
  EXPECT_EQ(Runs(Daily(1, 30, "America/New_York"), Utc(2026, 10, 31, 12), 2),
            (std::vector<date::sys_seconds>{Utc(2026, 11, 1, 5, 30), Utc(2026, 11, 2, 6, 30)}));
}

TEST(ScheduleDstTest, BerlinHourlyInSpringRunsEveryRealHour) {
  // Local 00:30, 01:30 CET, 02:30 (missing: 01:30 UTC), 03:30 CEST (also 01:30 UTC: one
  // run), 04:30 CEST.
  EXPECT_EQ(Runs(Hourly(30, "Europe/Berlin"), Utc(2026, 3, 28, 23), 4),
            (std::vector<date::sys_seconds>{Utc(2026, 3, 28, 23, 30), Utc(2026, 3, 29, 0, 30), Utc(2026, 3, 29, 1, 30),
                                            Utc(2026, 3, 29, 2, 30)}));
}

TEST(ScheduleDstTest, BerlinHourlyInAutumnSkipsTheRepeatedHour) {
  // Local 01:30 CEST, 02:30 CEST, [02:30 CET repeated: not run], 03:30 CET.
  EXPECT_EQ(
      Runs(Hourly(30, "Europe/Berlin"), Utc(2026, 10, 24, 23), 3),
      (std::vector<date::sys_seconds>{Utc(2026, 10, 24, 23, 30), Utc(2026, 10, 25, 0, 30), Utc(2026, 10, 25, 2, 30)}));
}

TEST(ScheduleDstTest, NewYorkHourlyInSpringRunsEveryRealHour) {
  EXPECT_EQ(Runs(Hourly(30, "America/New_York"), Utc(2026, 3, 8, 6), 3),
            (std::vector<date::sys_seconds>{Utc(2026, 3, 8, 6, 30), Utc(2026, 3, 8, 7, 30), Utc(2026, 3, 8, 8, 30)}));
}

TEST(ScheduleDstTest, NewYorkHourlyInAutumnSkipsTheRepeatedHour) {
  // Local 00:30 EDT, 01:30 EDT, [01:30 EST repeated: not run], 02:30 EST.
  EXPECT_EQ(
      Runs(Hourly(30, "America/New_York"), Utc(2026, 11, 1, 4), 3),
      (std::vector<date::sys_seconds>{Utc(2026, 11, 1, 4, 30), Utc(2026, 11, 1, 5, 30), Utc(2026, 11, 1, 7, 30)}));
}

TEST(ScheduleDstTest, GapTimesAreOrderedByInstantNotByLocalTime) {
  // 02:59 (missing, 01:59 UTC) comes after 03:00 CEST (01:00 UTC); 02:00 (missing) and
  // 03:00 CEST are the same instant, as are 02:59 and 03:59 CEST.
  EXPECT_EQ(Runs(Cron("0 0,59 2,3 29 3 ? 2026", "Europe/Berlin"), Utc(2026, 3, 28), 5),
            (std::vector<date::sys_seconds>{Utc(2026, 3, 29, 1, 0), Utc(2026, 3, 29, 1, 59)}));
}

// A reference built the slow way: every matching local time in a window, mapped through the
// date library's local_info (the offset before the transition for missing and repeated
// times), sorted and deduplicated. NextRuns must list exactly these instants.
void ExpectMatchesReference(const std::string& expression, const std::string& zone_name, date::sys_seconds from,
                            date::sys_seconds to) {
  SCOPED_TRACE(expression + " in " + zone_name);
  const date::time_zone* zone = date::locate_zone(zone_name);
  Result<CronExpression> cron = CronExpression::Parse(expression);
  ASSERT_TRUE(cron.ok());
  std::set<date::sys_seconds> want;
  date::local_seconds l{from.time_since_epoch() - hours{48}};
  const date::local_seconds end{to.time_since_epoch() + hours{48}};
  while (auto next = cron->NextLocal(l)) {
    if (*next > end) break;
    l = *next;
    date::sys_seconds u{l.time_since_epoch() - zone->get_info(l).first.offset};
    if (u > from && u <= to) want.insert(u);
  }
  CompiledSchedule c = CompileOk(Cron(expression, zone_name));
  std::vector<date::sys_seconds> got;
  for (auto t = c.NextAfter(from); t && *t <= to; t = c.NextAfter(*t)) got.push_back(*t);
  EXPECT_EQ(got, std::vector<date::sys_seconds>(want.begin(), want.end()));
}

TEST(ScheduleDstTest, AgreesWithReferenceAcrossAYearOfTransitions) {
  // Lord Howe Island shifts by 30 minutes; Berlin and New York by an hour.
  for (const char* zone : {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"}) {
    for (const char* expr : {"0 */15 * * * ?", "0 30 2 * * ?", "0 0,59 1-3 * * ?", "0 45 1 ? * SUN"}) {
      ExpectMatchesReference(expr, zone, Utc(2026, 1, 1), Utc(2027, 1, 1));
    }
  }
}

}  // namespace
}  // namespace keepsake::service
