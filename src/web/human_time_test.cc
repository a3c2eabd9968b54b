#include "web/human_time.h"

#include <gtest/gtest.h>

#include "base/utc_time.h"

namespace keepsake::web {
namespace {

using std::chrono::seconds;

// 2026-11-26T09:00:00Z
const date::sys_seconds kNow = date::sys_days{date::year{2026} / 11 / 26} + std::chrono::hours{9};

std::string Ago(int64_t s) { return HumanAgo(kNow - seconds{s}, kNow); }
std::string In(int64_t s) { return HumanIn(kNow + seconds{s}, kNow); }

constexpr int64_t kDay = 86400;

TEST(HumanAgoTest, UnderAMinuteIsJustNow) {
  EXPECT_EQ(Ago(0), "just now");
  EXPECT_EQ(Ago(59), "just now");
}

TEST(HumanAgoTest, MinutesFloor) {
  EXPECT_EQ(Ago(60), "1 minute ago");
  EXPECT_EQ(Ago(119), "1 minute ago");
  EXPECT_EQ(Ago(120), "2 minutes ago");
  EXPECT_EQ(Ago(5 * 60 + 59), "5 minutes ago");
  EXPECT_EQ(Ago(3599), "59 minutes ago");
}

TEST(HumanAgoTest, HoursFloor) {
  EXPECT_EQ(Ago(3600), "1 hour ago");
  EXPECT_EQ(Ago(7199), "1 hour ago");
  EXPECT_EQ(Ago(3 * 3600), "3 hours ago");
  EXPECT_EQ(Ago(86399), "23 hours ago");
}

TEST(HumanAgoTest, DaysUpToSixty) {
  EXPECT_EQ(Ago(86400), "1 day ago");
  EXPECT_EQ(Ago(2 * kDay + 86399), "2 days ago");
  EXPECT_EQ(Ago(60 * kDay + 86399), "60 days ago");
}

TEST(HumanAgoTest, ThenMonthsOfThirtyDaysAndYearsOf365) {
  EXPECT_EQ(Ago(61 * kDay), "2 months ago");
  EXPECT_EQ(Ago(89 * kDay), "2 months ago");
  EXPECT_EQ(Ago(90 * kDay), "3 months ago");
  EXPECT_EQ(Ago(364 * kDay), "12 months ago");
  EXPECT_EQ(Ago(365 * kDay), "1 year ago");
  EXPECT_EQ(Ago(729 * kDay), "1 year ago");
  EXPECT_EQ(Ago(730 * kDay), "2 years ago");
}

TEST(HumanAgoTest, FutureAfterAClockChange) {
  EXPECT_EQ(Ago(-1), "in the future");
  EXPECT_EQ(Ago(-3600), "in the future");
}

TEST(HumanInTest, DueIsNow) {
  EXPECT_EQ(In(0), "now");
  EXPECT_EQ(In(-30), "now");
}

TEST(HumanInTest, Boundaries) {
  EXPECT_EQ(In(1), "in less than a minute");
  EXPECT_EQ(In(59), "in less than a minute");
  EXPECT_EQ(In(60), "in 1 minute");
  EXPECT_EQ(In(119), "in 1 minute");
  EXPECT_EQ(In(3599), "in 59 minutes");
  EXPECT_EQ(In(3600), "in 1 hour");
  EXPECT_EQ(In(4 * 3600 + 59 * 60), "in 4 hours");
  EXPECT_EQ(In(86399), "in 23 hours");
  EXPECT_EQ(In(86400), "in 1 day");
  EXPECT_EQ(In(3 * kDay), "in 3 days");
  EXPECT_EQ(In(400 * kDay), "in 1 year");
}

TEST(HumanTimeFormatTest, UtcIso) {
  EXPECT_EQ(FormatUtc(kNow), "2026-11-26T09:00:00Z");
  EXPECT_EQ(FormatUtc(date::sys_seconds{}), "1970-01-01T00:00:00Z");
}

TEST(HumanTimeFormatTest, LocalCarriesTheZoneAbbreviation) {
  EXPECT_EQ(FormatLocal(kNow, *date::locate_zone("Europe/Berlin")), "2026-11-26 10:00:00 CET");
  date::sys_seconds summer = date::sys_days{date::year{2026} / 7 / 1} + std::chrono::hours{9};
  EXPECT_EQ(FormatLocal(summer, *date::locate_zone("Europe/Berlin")), "2026-07-01 11:00:00 CEST");
  EXPECT_EQ(FormatLocal(kNow, *date::locate_zone("UTC")), "2026-11-26 09:00:00 UTC");
  EXPECT_EQ(FormatLocal(kNow, *date::locate_zone("America/New_York")), "2026-11-26 04:00:00 EST");
}

}  // namespace
}  // namespace keepsake::web
