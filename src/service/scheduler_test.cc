#include "service/scheduler.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <vector>

namespace keepsake::service {
namespace {

using state::JobTrigger;
using namespace std::chrono_literals;

date::sys_seconds At(int y, unsigned m, unsigned d, int hh, int mm = 0) {
  return date::sys_days{date::year{y} / m / d} + std::chrono::hours{hh} + std::chrono::minutes{mm};
}

class FakeAnchors final : public AnchorStore {
 public:
  Result<std::optional<date::sys_seconds>> ScheduleAnchor() override {
    std::lock_guard lock(mu_);
    return anchor_;
  }
  Status SetScheduleAnchor(date::sys_seconds anchor) override {
    std::lock_guard lock(mu_);
    if (fail_) return Status::NoSpace("state.db: disk full");
    anchor_ = anchor;
    return Status();
  }
  std::optional<date::sys_seconds> anchor() {
    std::lock_guard lock(mu_);
    return anchor_;
  }
  void set_fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }

 private:
  std::mutex mu_;
  std::optional<date::sys_seconds> anchor_;
  bool fail_ = false;
};

// The engine's side, recorded: which runs the scheduler asked for.
class FakeJobs final : public ScheduledJobs {
 public:
  struct Run {
    JobTrigger trigger;
    date::sys_seconds due;
  };
  void RunScheduledBackup(JobTrigger trigger, date::sys_seconds due) override {
    std::lock_guard lock(mu_);
    runs_.push_back({trigger, due});
    cv_.notify_all();
  }
  // Waits (at most 5 s) until `n` runs were asked for; returns them.
  std::vector<Run> WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 5s, [&] { return runs_.size() >= n; });
    return runs_;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return runs_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Run> runs_;
};

Schedule DailyAt(int hour) {
  Schedule s;
  s.kind = ScheduleKind::kDaily;
  s.hour = hour;
  return s;
}

class SchedulerTest : public ::testing::Test {
 protected:
  ManualClock clock_{At(2026, 1, 1, 0)};
  FakeAnchors anchors_;
  FakeJobs jobs_;
  Scheduler scheduler_{clock_, anchors_, jobs_};
};

TEST_F(SchedulerTest, AFreshApplianceOwesNoRunsForItsPast) {
  ASSERT_TRUE(scheduler_.Init(DailyAt(2)).ok());
  EXPECT_EQ(anchors_.anchor(), At(2026, 1, 1, 0));
  EXPECT_EQ(scheduler_.NextRun(), At(2026, 1, 1, 2));
}

TEST_F(SchedulerTest, NoScheduleHasNoNextRun) {
  ASSERT_TRUE(scheduler_.Init(Schedule{}).ok());
  EXPECT_EQ(scheduler_.NextRun(), std::nullopt);
}

TEST_F(SchedulerTest, FiresOnTimeAsScheduleAndMovesOn) {
  ASSERT_TRUE(scheduler_.Init(DailyAt(2)).ok());
  scheduler_.Start();
  clock_.Set(At(2026, 1, 1, 1, 59));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(jobs_.count(), 0u) << "not due yet";
  clock_.Set(At(2026, 1, 1, 2) + 5s);
  auto runs = jobs_.WaitFor(1);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].trigger, JobTrigger::kSchedule);
  EXPECT_EQ(runs[0].due, At(2026, 1, 1, 2));
  EXPECT_EQ(scheduler_.NextRun(), At(2026, 1, 2, 2));
  EXPECT_EQ(anchors_.anchor(), At(2026, 1, 1, 2) + 5s);
}

TEST_F(SchedulerTest, OneCatchUpStandsForEveryMissedRun) {
  ASSERT_TRUE(scheduler_.Init(DailyAt(2)).ok());
  clock_.Set(At(2026, 1, 4, 12));  // down for three and a half days
  scheduler_.Start();
  auto runs = jobs_.WaitFor(1);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(jobs_.count(), 1u) << "one catch-up, not three";
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs[0].trigger, JobTrigger::kCatchUp);
  EXPECT_EQ(scheduler_.NextRun(), At(2026, 1, 5, 2));
}

TEST_F(SchedulerTest, ANewScheduleCountsFromNow) {
  ASSERT_TRUE(scheduler_.Init(Schedule{}).ok());
  clock_.Set(At(2026, 1, 3, 12));
  ASSERT_TRUE(scheduler_.SetSchedule(DailyAt(2), /*changed=*/true).ok());
  EXPECT_EQ(scheduler_.NextRun(), At(2026, 1, 4, 2)) << "no run for the days before the schedule was saved";
  scheduler_.Start();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(jobs_.count(), 0u);
}

TEST_F(SchedulerTest, OtherSettingsSavedKeepTheAnchor) {
  ASSERT_TRUE(scheduler_.Init(DailyAt(2)).ok());
  clock_.Set(At(2026, 1, 1, 1));
  ASSERT_TRUE(scheduler_.SetSchedule(DailyAt(2), /*changed=*/false).ok());
  EXPECT_EQ(anchors_.anchor(), At(2026, 1, 1, 0));
}

TEST_F(SchedulerTest, AnAnchorThatCannotBeStoredDoesNotMakeItSpin) {
  ASSERT_TRUE(scheduler_.Init(DailyAt(2)).ok());
  anchors_.set_fail(true);
  clock_.Set(At(2026, 1, 1, 2) + 1s);
  scheduler_.Start();
  jobs_.WaitFor(1);
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(jobs_.count(), 1u) << "the run is handled even though the disk is full";
  EXPECT_EQ(scheduler_.NextRun(), At(2026, 1, 2, 2));
}

TEST_F(SchedulerTest, StopJoinsAndIsIdempotent) {
  ASSERT_TRUE(scheduler_.Init(DailyAt(2)).ok());
  scheduler_.Start();
  scheduler_.Stop();
  scheduler_.Stop();
  clock_.Set(At(2026, 1, 1, 3));
  std::this_thread::sleep_for(10ms);
  EXPECT_EQ(jobs_.count(), 0u);
}

}  // namespace
}  // namespace keepsake::service
