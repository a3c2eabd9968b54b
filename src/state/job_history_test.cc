#include "state/job_history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/test_temp_dir.h"

namespace keepsake::state {
namespace {

date::sys_seconds T(int64_t unix_seconds) { return date::sys_seconds(std::chrono::seconds(unix_seconds)); }

using ::testing::ElementsAre;

// A JobHistory over a fresh state database, with helpers that record jobs the way the
// service does: Start, then Finish with the outcome.
class JobHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = StateDb::Open(dir_ + "/state.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    history_ = std::make_unique<JobHistory>(*db_);
  }

  int64_t StartJob(const std::string& kind, int64_t started_at, const std::string& trigger = "manual") {
    auto job = history_->Start(*ParseJobKind(kind), *ParseJobTrigger(trigger), "admin", T(started_at));
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    return job.ok() ? job->id : -1;
  }

  // Starts and finishes a job with `result`; returns its id.
  int64_t AddJob(const std::string& kind, const std::string& result, int64_t started_at) {
    int64_t id = StartJob(kind, started_at);
    JobRecord done;
    done.id = id;
    done.result = *ParseJobResult(result);
    done.ended_at = T(started_at + 10);
    Status st = history_->Finish(done);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return id;
  }

  std::vector<JobRecord> ListOk(int limit, const std::string& kind = "") {
    auto jobs = history_->List(limit, kind.empty() ? std::nullopt : ParseJobKind(kind));
    EXPECT_TRUE(jobs.ok()) << jobs.status().ToString();
    return jobs.ok() ? *jobs : std::vector<JobRecord>{};
  }

  JobRecord Only(int64_t id) {
    for (const JobRecord& j : ListOk(1000)) {
      if (j.id == id) return j;
    }
    ADD_FAILURE() << "no job " << id;
    return {};
  }

  static std::vector<int64_t> Ids(const std::vector<JobRecord>& jobs) {
    std::vector<int64_t> ids;
    for (const auto& j : jobs) ids.push_back(j.id);
    return ids;
  }

  TestTempDir tmp_{"ks_job_history"};  // declared first: removed after db_ closes
  std::string dir_ = tmp_.path();
  std::unique_ptr<StateDb> db_;
  std::unique_ptr<JobHistory> history_;
};

TEST_F(JobHistoryTest, StartRecordsRunningJobWithoutOutcome) {
  int64_t id = StartJob("backup", 1700000000, "schedule");
  JobRecord j = Only(id);
  EXPECT_EQ(j.kind, JobKind::kBackup);
  EXPECT_EQ(j.trigger, JobTrigger::kSchedule);
  EXPECT_EQ(j.requester, "admin");
  EXPECT_EQ(j.started_at, T(1700000000));
  EXPECT_EQ(j.result, JobResult::kRunning);
  EXPECT_EQ(j.ended_at, std::nullopt);
  EXPECT_EQ(j.size, std::nullopt);
  EXPECT_EQ(j.duration_ms, std::nullopt);
  EXPECT_EQ(j.file, "");
  EXPECT_EQ(j.error, "");
}

TEST_F(JobHistoryTest, StartReturnsIncreasingIds) {
  int64_t first = StartJob("backup", 100);
  int64_t second = StartJob("restore", 100);
  EXPECT_GT(first, 0);
  EXPECT_GT(second, first);
}

TEST_F(JobHistoryTest, FinishStoresEveryField) {
  int64_t id = StartJob("backup", 1700000000);
  JobRecord done;
  done.id = id;
  done.result = JobResult::kSucceeded;
  done.ended_at = T(1700000042);
  done.size = 5'000'000'000ULL;  // beyond 32 bits
  done.file = "nightly_ca-01_20231114T221320Z.ksb";
  done.error = "";
  done.duration_ms = 42'123;
  ASSERT_TRUE(history_->Finish(done).ok());
  JobRecord j = Only(id);
  EXPECT_EQ(j.result, JobResult::kSucceeded);
  EXPECT_EQ(j.ended_at, T(1700000042));
  EXPECT_EQ(j.size, 5'000'000'000ULL);
  EXPECT_EQ(j.file, "nightly_ca-01_20231114T221320Z.ksb");
  EXPECT_EQ(j.duration_ms, 42'123);
  // Start's fields are untouched.
  EXPECT_EQ(j.kind, JobKind::kBackup);
  EXPECT_EQ(j.started_at, T(1700000000));
}

TEST_F(JobHistoryTest, FinishWithoutOptionalFieldsStoresNulls) {
  int64_t id = StartJob("restore", 1700000000);
  JobRecord done;
  done.id = id;
  done.result = JobResult::kFailed;
  done.error = "file:///srv/backups: directory does not exist";
  ASSERT_TRUE(history_->Finish(done).ok());
  JobRecord j = Only(id);
  EXPECT_EQ(j.result, JobResult::kFailed);
  EXPECT_EQ(j.error, "file:///srv/backups: directory does not exist");
  EXPECT_EQ(j.ended_at, std::nullopt);
  EXPECT_EQ(j.size, std::nullopt);
  EXPECT_EQ(j.duration_ms, std::nullopt);
}

TEST_F(JobHistoryTest, FinishKeepsZeroSizeDistinctFromNull) {
  int64_t id = StartJob("backup", 1);
  JobRecord done;
  done.id = id;
  done.result = JobResult::kSucceeded;
  done.size = 0;
  done.duration_ms = 0;
  ASSERT_TRUE(history_->Finish(done).ok());
  JobRecord j = Only(id);
  EXPECT_EQ(j.size, 0u);
  EXPECT_EQ(j.duration_ms, 0);
}

TEST_F(JobHistoryTest, ListIsNewestFirst) {
  int64_t a = AddJob("backup", "succeeded", 100);
  int64_t b = AddJob("restore", "failed", 200);
  int64_t c = StartJob("backup", 300);
  EXPECT_THAT(Ids(ListOk(10)), ElementsAre(c, b, a));
}

TEST_F(JobHistoryTest, ListStopsAtLimit) {
  AddJob("backup", "succeeded", 100);
  int64_t b = AddJob("backup", "succeeded", 200);
  int64_t c = AddJob("backup", "succeeded", 300);
  EXPECT_THAT(Ids(ListOk(2)), ElementsAre(c, b));
}

TEST_F(JobHistoryTest, ListFiltersByKind) {
  int64_t a = AddJob("backup", "succeeded", 100);
  int64_t b = AddJob("restore", "succeeded", 200);
  int64_t c = AddJob("backup", "failed", 300);
  EXPECT_THAT(Ids(ListOk(10, "backup")), ElementsAre(c, a));
  EXPECT_THAT(Ids(ListOk(10, "restore")), ElementsAre(b));
}

TEST_F(JobHistoryTest, ListOfEmptyHistoryIsEmpty) { EXPECT_TRUE(ListOk(10).empty()); }

TEST_F(JobHistoryTest, LastSucceededIsNewestSucceededOfThatKind) {
  AddJob("backup", "succeeded", 100);
  int64_t newest = AddJob("backup", "succeeded", 200);
  AddJob("backup", "failed", 300);
  AddJob("restore", "succeeded", 400);
  StartJob("backup", 500);
  auto last = history_->LastSucceeded(JobKind::kBackup);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->id, newest);
}

TEST_F(JobHistoryTest, LastSucceededIsNulloptWithoutSuccess) {
  AddJob("backup", "failed", 100);
  AddJob("restore", "succeeded", 200);
  auto last = history_->LastSucceeded(JobKind::kBackup);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_FALSE(last->has_value());
}

TEST_F(JobHistoryTest, LastFinishedSkipsRunningJobs) {
  AddJob("backup", "succeeded", 100);
  int64_t failed = AddJob("backup", "failed", 200);
  StartJob("backup", 300);
  AddJob("restore", "succeeded", 400);
  auto last = history_->LastFinished(JobKind::kBackup);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->id, failed);
  EXPECT_EQ((*last)->result, JobResult::kFailed);
}

TEST_F(JobHistoryTest, LastFinishedIsNulloptWhileOnlyRunning) {
  StartJob("backup", 100);
  auto last = history_->LastFinished(JobKind::kBackup);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_FALSE(last->has_value());
}

TEST_F(JobHistoryTest, CountFailedCountsFailedAndInterruptedOnly) {
  AddJob("backup", "failed", 100);
  AddJob("backup", "interrupted", 200);
  AddJob("backup", "aborted", 300);
  AddJob("backup", "succeeded", 400);
  StartJob("backup", 500);
  AddJob("restore", "failed", 600);
  auto n = history_->CountFailed(JobKind::kBackup);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);
}

TEST_F(JobHistoryTest, MarkInterruptedFinishesRunningJobsWithExplanation) {
  int64_t a = StartJob("backup", 100);
  int64_t b = StartJob("restore", 200);
  auto n = history_->MarkInterrupted(T(999));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);
  for (int64_t id : {a, b}) {
    JobRecord j = Only(id);
    EXPECT_EQ(j.result, JobResult::kInterrupted);
    EXPECT_EQ(j.ended_at, T(999));
    EXPECT_EQ(j.error, "interrupted: the service stopped unexpectedly during this job");
  }
}

TEST_F(JobHistoryTest, MarkInterruptedLeavesFinishedJobsAlone) {
  int64_t done = AddJob("backup", "succeeded", 100);
  int64_t failed = AddJob("backup", "failed", 200);
  StartJob("backup", 300);
  auto n = history_->MarkInterrupted(T(999));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(Only(done).result, JobResult::kSucceeded);
  EXPECT_EQ(Only(done).ended_at, T(110));
  EXPECT_EQ(Only(done).error, "");
  EXPECT_EQ(Only(failed).result, JobResult::kFailed);
}

TEST_F(JobHistoryTest, MarkInterruptedWithNothingRunningReturnsZero) {
  AddJob("backup", "succeeded", 100);
  auto n = history_->MarkInterrupted(T(999));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 0);
}

TEST_F(JobHistoryTest, HistorySurvivesReopen) {
  int64_t id = AddJob("backup", "succeeded", 100);
  history_.reset();
  db_.reset();
  auto db = StateDb::Open(dir_ + "/state.db");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  db_ = std::move(db).value();
  history_ = std::make_unique<JobHistory>(*db_);
  EXPECT_THAT(Ids(ListOk(10)), ElementsAre(id));
}

// Schema 3 keeps what a succeeded job did (a restore's "restored ...") in `summary`; earlier
// versions kept it in `error`, which now only a job that did not succeed has.
TEST(JobHistoryMigrationTest, SuccessSummariesMoveOutOfTheErrorField) {
  TestTempDir tmp("ks_job_history_migration");
  const std::string path = tmp.path() + "/state.db";
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    const char* v2 =
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, trigger TEXT NOT NULL,"
        " requester TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, result TEXT NOT NULL,"
        " size INTEGER, file TEXT, error TEXT, duration_ms INTEGER);"
        "CREATE TABLE tokens (hash TEXT PRIMARY KEY, username TEXT NOT NULL COLLATE NOCASE, kind TEXT NOT NULL,"
        " expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, family TEXT NOT NULL);"
        "INSERT INTO jobs(kind, trigger, requester, started_at, ended_at, result, error)"
        " VALUES ('restore', 'manual', 'admin', 100, 110, 'succeeded', 'restored config (3 files)'),"
        "        ('backup', 'manual', 'admin', 200, 210, 'failed', 'No space left');"
        "PRAGMA user_version = 2;";
    ASSERT_EQ(sqlite3_exec(raw, v2, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  auto db = StateDb::Open(path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  JobHistory history(**db);
  auto jobs = history.List(10);
  ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[1].summary, "restored config (3 files)");
  EXPECT_EQ((*jobs)[1].error, "");
  EXPECT_EQ((*jobs)[0].summary, "");
  EXPECT_EQ((*jobs)[0].error, "No space left");
}

TEST(JobRecordTest, NamesRoundTrip) {
  for (JobResult r : {JobResult::kRunning, JobResult::kSucceeded, JobResult::kFailed, JobResult::kAborted,
                      JobResult::kInterrupted, JobResult::kSkipped}) {
    EXPECT_EQ(ParseJobResult(JobResultName(r)), r);
  }
  for (JobTrigger t : {JobTrigger::kManual, JobTrigger::kSchedule, JobTrigger::kCatchUp, JobTrigger::kDryRun}) {
    EXPECT_EQ(ParseJobTrigger(JobTriggerName(t)), t);
  }
  EXPECT_EQ(ParseJobKind("restore"), JobKind::kRestore);
  EXPECT_EQ(ParseJobKind("Backup"), std::nullopt);
}

}  // namespace
}  // namespace keepsake::state
