#include "service/retention.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <tuple>

#include "archive/backup_name.h"

namespace keepsake::service {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

date::sys_seconds At(int y, unsigned m, unsigned d, int hh = 3, int mm = 0) {
  return date::sys_days{date::year{y} / m / d} + std::chrono::hours{hh} + std::chrono::minutes{mm};
}

std::string Name(date::sys_seconds t, int seq = 1) {
  return archive::MakeBackupName("nightly", "ca-01", t.time_since_epoch().count(), seq);
}

class RetentionTest : public ::testing::Test {
 protected:
  void Add(date::sys_seconds t, int seq = 1) { backups_.push_back({Name(t, seq), t}); }
  // One backup a day at 03:00 UTC from `first` through `last`.
  void AddDaily(date::sys_days first, date::sys_days last) {
    for (date::sys_days d = first; d <= last; d += date::days{1}) Add(d + std::chrono::hours{3});
  }
  std::vector<std::string> Remove(const RetentionPolicy& policy, const char* zone = "UTC") const {
    return SelectForRemoval(backups_, policy, *date::locate_zone(zone));
  }
  // The names SelectForRemoval keeps, newest first.
  std::vector<std::string> Kept(const RetentionPolicy& policy, const char* zone = "UTC") const {
    std::vector<std::string> removed = Remove(policy, zone);
    std::vector<BackupCandidate> sorted = backups_;
    // Newest first; within one second by sequence, as SelectForRemoval orders them.
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return std::tuple(a.created, a.name.size(), a.name) > std::tuple(b.created, b.name.size(), b.name);
    });
    std::vector<std::string> kept;
    for (const auto& b : sorted) {
      if (std::find(removed.begin(), removed.end(), b.name) == removed.end()) kept.push_back(b.name);
    }
    return kept;
  }

  std::vector<BackupCandidate> backups_;
};

TEST_F(RetentionTest, AllZeroKeepsEverything) {
  AddDaily(date::sys_days{date::year{2026} / 1 / 1}, date::sys_days{date::year{2026} / 3 / 1});
  EXPECT_THAT(Remove(RetentionPolicy{}), IsEmpty());
}

TEST_F(RetentionTest, KeepLastRemovesAllButTheNewestOldestFirst) {
  AddDaily(date::sys_days{date::year{2026} / 11 / 20}, date::sys_days{date::year{2026} / 11 / 24});
  EXPECT_THAT(Remove({.keep_last = 2}),
              ElementsAre(Name(At(2026, 11, 20)), Name(At(2026, 11, 21)), Name(At(2026, 11, 22))));
}

TEST_F(RetentionTest, KeepLastLargerThanCountKeepsAll) {
  AddDaily(date::sys_days{date::year{2026} / 11 / 20}, date::sys_days{date::year{2026} / 11 / 24});
  EXPECT_THAT(Remove({.keep_last = 5}), IsEmpty());
  EXPECT_THAT(Remove({.keep_last = 1000}), IsEmpty());
}

TEST_F(RetentionTest, DailyKeepsTheNewestOfEachDay) {
  for (int day : {24, 25, 26}) {
    for (int hour : {1, 9, 17}) Add(At(2026, 11, day, hour));
  }
  EXPECT_THAT(Kept({.keep_daily = 2}), ElementsAre(Name(At(2026, 11, 26, 17)), Name(At(2026, 11, 25, 17))));
}

TEST_F(RetentionTest, DailyCountsOnlyDaysThatHaveABackup) {
  Add(At(2026, 11, 26));
  Add(At(2026, 11, 20));
  Add(At(2026, 11, 10));
  Add(At(2026, 11, 1));
  EXPECT_THAT(Remove({.keep_daily = 3}), ElementsAre(Name(At(2026, 11, 1))));
}

TEST_F(RetentionTest, WeeklyUsesIsoWeeksAcrossTheYearBoundary) {
  Add(At(2026, 12, 27));  // Sunday, 2026-W52
  Add(At(2026, 12, 28));  // Monday, 2026-W53
  Add(At(2026, 12, 31));  // Thursday, 2026-W53
  Add(At(2027, 1, 2));    // Saturday, still 2026-W53
  Add(At(2027, 1, 4));    // Monday, 2027-W01
  EXPECT_THAT(Kept({.keep_weekly = 3}),
              ElementsAre(Name(At(2027, 1, 4)), Name(At(2027, 1, 2)), Name(At(2026, 12, 27))));
  EXPECT_THAT(Remove({.keep_weekly = 2}),
              ElementsAre(Name(At(2026, 12, 27)), Name(At(2026, 12, 28)), Name(At(2026, 12, 31))));
}

TEST_F(RetentionTest, WeekStartsOnMonday) {
  Add(At(2026, 11, 22, 23, 59));  // Sunday
  Add(At(2026, 11, 23, 0, 1));    // Monday
  EXPECT_THAT(Remove({.keep_weekly = 2}), IsEmpty());
}

TEST_F(RetentionTest, MonthlyKeepsTheNewestOfEachCalendarMonth) {
  Add(At(2026, 1, 5));
  Add(At(2026, 1, 31, 23, 59));
  Add(At(2026, 2, 10));
  Add(At(2026, 2, 28));
  Add(At(2026, 3, 1, 0, 0));
  EXPECT_THAT(Kept({.keep_monthly = 2}), ElementsAre(Name(At(2026, 3, 1, 0, 0)), Name(At(2026, 2, 28))));
  EXPECT_THAT(Kept({.keep_monthly = 3}),
              ElementsAre(Name(At(2026, 3, 1, 0, 0)), Name(At(2026, 2, 28)), Name(At(2026, 1, 31, 23, 59))));
}

TEST_F(RetentionTest, MonthlyAcrossTheYearBoundary) {
  Add(At(2025, 12, 15));
  Add(At(2026, 1, 15));
  Add(At(2026, 12, 15));
  EXPECT_THAT(Remove({.keep_monthly = 2}), ElementsAre(Name(At(2025, 12, 15))));
}

// Overlapping rules keep the union, each backup once; a backup kept by one rule still uses
// up its period in the others, so the rules do not reach further back than their counts.
TEST_F(RetentionTest, OverlappingRulesKeepTheUnion) {
  AddDaily(date::sys_days{date::year{2026} / 10 / 1}, date::sys_days{date::year{2026} / 11 / 26});
  RetentionPolicy policy{.keep_last = 2, .keep_daily = 3, .keep_weekly = 2, .keep_monthly = 2};
  EXPECT_THAT(Kept(policy), ElementsAre(Name(At(2026, 11, 26)),    // last, daily, weekly, monthly
                                        Name(At(2026, 11, 25)),    // last, daily
                                        Name(At(2026, 11, 24)),    // daily
                                        Name(At(2026, 11, 22)),    // weekly (Sunday of 2026-W47)
                                        Name(At(2026, 10, 31))));  // monthly
  std::vector<std::string> removed = Remove(policy);
  EXPECT_EQ(removed.size(), backups_.size() - 5);
  EXPECT_EQ(removed.front(), Name(At(2026, 10, 1)));
  EXPECT_EQ(removed.back(), Name(At(2026, 11, 23)));
}

TEST_F(RetentionTest, NewestIsAlwaysKeptWhenAnyRuleIsSet) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> minutes(0, 60 * 24 * 800);
  std::set<int> distinct;  // one backup per minute at most: names must be unique
  while (distinct.size() < 200) distinct.insert(minutes(rng));
  for (int m : distinct) Add(At(2025, 1, 1, 0, 0) + std::chrono::minutes{m});
  std::shuffle(backups_.begin(), backups_.end(), rng);
  auto newest =
      std::max_element(backups_.begin(), backups_.end(), [](auto& a, auto& b) { return a.created < b.created; });
  for (RetentionPolicy policy :
       {RetentionPolicy{.keep_last = 1}, RetentionPolicy{.keep_daily = 1}, RetentionPolicy{.keep_weekly = 1},
        RetentionPolicy{.keep_monthly = 1}, RetentionPolicy{.keep_daily = 7, .keep_monthly = 12}}) {
    std::vector<std::string> removed = Remove(policy);
    EXPECT_THAT(removed, Not(Contains(newest->name))) << RetentionToJson(policy).dump();
    EXPECT_EQ(removed.size(), backups_.size() - Kept(policy).size());
  }
  EXPECT_EQ(Kept({.keep_last = 1}), std::vector<std::string>{newest->name});
}

TEST_F(RetentionTest, InputOrderDoesNotMatter) {
  AddDaily(date::sys_days{date::year{2026} / 9 / 1}, date::sys_days{date::year{2026} / 11 / 26});
  RetentionPolicy policy{.keep_daily = 5, .keep_weekly = 3, .keep_monthly = 2};
  std::vector<std::string> expected = Remove(policy);
  std::shuffle(backups_.begin(), backups_.end(), std::mt19937(7));
  EXPECT_EQ(Remove(policy), expected);
  std::reverse(backups_.begin(), backups_.end());
  EXPECT_EQ(Remove(policy), expected);
}

// 23:30 UTC on 26 November is 00:30 on the 27th in Berlin: another day there.
TEST_F(RetentionTest, TimeZoneDecidesWhichDayABackupBelongsTo) {
  Add(At(2026, 11, 26, 12, 0));
  Add(At(2026, 11, 26, 23, 30));
  EXPECT_THAT(Remove({.keep_daily = 2}, "UTC"), ElementsAre(Name(At(2026, 11, 26, 12, 0))));
  EXPECT_THAT(Remove({.keep_daily = 2}, "Europe/Berlin"), IsEmpty());
}

TEST_F(RetentionTest, TimeZoneDecidesWhichMonthABackupBelongsTo) {
  Add(At(2026, 10, 31, 12, 0));
  Add(At(2026, 10, 31, 23, 30));  // 1 November 00:30 in Berlin (CET)
  EXPECT_THAT(Remove({.keep_monthly = 2}, "UTC"), ElementsAre(Name(At(2026, 10, 31, 12, 0))));
  EXPECT_THAT(Remove({.keep_monthly = 2}, "Europe/Berlin"), IsEmpty());
}

TEST_F(RetentionTest, SameSecondBackupsAreOrderedBySequence) {
  date::sys_seconds t = At(2026, 11, 26);
  for (int seq : {10, 1, 9, 2}) Add(t, seq);
  EXPECT_THAT(Kept({.keep_last = 2}), ElementsAre(Name(t, 10), Name(t, 9)));
  EXPECT_THAT(Remove({.keep_last = 1}), ElementsAre(Name(t, 1), Name(t, 2), Name(t, 9)));
}

TEST(RetentionCandidatesTest, OnlyThisHostsCurrentSeries) {
  date::sys_seconds t = At(2026, 11, 26, 4, 12);
  std::vector<std::string> listing = {
      "nightly_ca-01_20261126T041200Z.ksb",
      "nightly_ca-01_20261126T041200Z-2.ksb",
      "nightly_ca-01_20261125T041200Z.ksb",
      "nightly_ca-02_20261126T041200Z.ksb",           // another device
      "weekly_ca-01_20261126T041200Z.ksb",            // another prefix
      "ca-01_20261126T041200Z.ksb",                   // no prefix
      "old_nightly_ca-01_20261126T041200Z.ksb",       // prefix "old_nightly"
      ".nightly_ca-01_20261126T041200Z.ksb.partial",  // upload in progress
      "nightly_ca-01_20261126T041200Z.ksb.sha256",
      "notes.txt",
      "nightly_ca-01_2026.ksb",
  };
  std::vector<BackupCandidate> candidates = RetentionCandidates(listing, "ca-01", "nightly");
  ASSERT_EQ(candidates.size(), 3u);
  EXPECT_EQ(candidates[0].name, "nightly_ca-01_20261126T041200Z.ksb");
  EXPECT_EQ(candidates[0].created, t);
  EXPECT_EQ(candidates[1].name, "nightly_ca-01_20261126T041200Z-2.ksb");
  EXPECT_EQ(candidates[1].created, t);
  EXPECT_EQ(candidates[2].name, "nightly_ca-01_20261125T041200Z.ksb");
  EXPECT_EQ(candidates[2].created, t - date::days{1});
}

TEST(RetentionCandidatesTest, EmptyPrefixMatchesOnlyNamesWithoutPrefix) {
  std::vector<std::string> listing = {"ca-01_20261126T041200Z.ksb", "nightly_ca-01_20261126T041200Z.ksb"};
  std::vector<BackupCandidate> candidates = RetentionCandidates(listing, "ca-01", "");
  ASSERT_EQ(candidates.size(), 1u);
  EXPECT_EQ(candidates[0].name, "ca-01_20261126T041200Z.ksb");
}

TEST(RetentionCandidatesTest, HostnameIsComparedInItsFileNameForm) {
  std::vector<std::string> listing = {"nightly_ca-01_20261126T041200Z.ksb"};
  EXPECT_EQ(RetentionCandidates(listing, "ca_01", "nightly").size(), 1u);
  EXPECT_THAT(RetentionCandidates(listing, "ca-0", "nightly"), IsEmpty());
  EXPECT_THAT(RetentionCandidates(listing, "CA-01", "nightly"), IsEmpty());
}

TEST(RetentionPolicyTest, ValidateAcceptsZeroToOneThousand) {
  EXPECT_TRUE(ValidateRetention({}).ok());
  EXPECT_TRUE(
      ValidateRetention({.keep_last = 1000, .keep_daily = 1000, .keep_weekly = 1000, .keep_monthly = 1000}).ok());
}

TEST(RetentionPolicyTest, ValidateNamesTheFieldOutOfRange) {
  Status negative = ValidateRetention({.keep_daily = -1});
  EXPECT_EQ(negative.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(negative.message(), "retention: keep_daily -1 is out of range 0-1000");
  Status large = ValidateRetention({.keep_monthly = 1001});
  EXPECT_EQ(large.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(large.message(), "retention: keep_monthly 1001 is out of range 0-1000");
  EXPECT_EQ(ValidateRetention({.keep_last = -5}).message(), "retention: keep_last -5 is out of range 0-1000");
  EXPECT_EQ(ValidateRetention({.keep_weekly = 2000}).message(), "retention: keep_weekly 2000 is out of range 0-1000");
}

TEST(RetentionPolicyTest, JsonRoundTrip) {
  RetentionPolicy policy{.keep_last = 3, .keep_daily = 7, .keep_weekly = 4, .keep_monthly = 12};
  nlohmann::json j = RetentionToJson(policy);
  EXPECT_EQ(j, nlohmann::json::parse(R"({"keep_last":3,"keep_daily":7,"keep_weekly":4,"keep_monthly":12})"));
  Result<RetentionPolicy> back = RetentionFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, policy);
}

TEST(RetentionPolicyTest, JsonMissingKeysAreZero) {
  Result<RetentionPolicy> empty = RetentionFromJson(nlohmann::json::object());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, RetentionPolicy{});
  Result<RetentionPolicy> daily = RetentionFromJson({{"keep_daily", 7}});
  ASSERT_TRUE(daily.ok());
  EXPECT_EQ(*daily, RetentionPolicy{.keep_daily = 7});
}

TEST(RetentionPolicyTest, JsonErrorsNameTheKey) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const Case& c : {
           Case{R"({"keep_yearly": 1})", "retention: unknown key 'keep_yearly'"},
           Case{R"({"keep_daily": "7"})", "retention: keep_daily must be an integer"},
           Case{R"({"keep_daily": 3.5})", "retention: keep_daily must be an integer"},
           Case{R"({"keep_weekly": true})", "retention: keep_weekly must be an integer"},
           Case{R"({"keep_monthly": null})", "retention: keep_monthly must be an integer"},
           Case{R"({"keep_last": -1})", "retention: keep_last -1 is out of range 0-1000"},
           Case{R"({"keep_last": 1001})", "retention: keep_last 1001 is out of range 0-1000"},
           Case{R"({"keep_daily": 4294967297})", "retention: keep_daily 4294967297 is out of range 0-1000"},
           Case{R"({"keep_daily": 18446744073709551615})",
                "retention: keep_daily 18446744073709551615 is out of range 0-1000"},
           Case{R"({"keep_daily": -9223372036854775808})",
                "retention: keep_daily -9223372036854775808 is out of range 0-1000"},
           Case{R"([1, 2])", "retention: expected a JSON object"},
           Case{R"(7)", "retention: expected a JSON object"},
       }) {
    Result<RetentionPolicy> r = RetentionFromJson(nlohmann::json::parse(c.json));
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << c.json;
    EXPECT_EQ(r.status().message(), c.message) << c.json;
  }
}

}  // namespace
}  // namespace keepsake::service
