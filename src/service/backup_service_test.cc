#include "service/backup_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>

#include "service/engine_test_env.h"

namespace keepsake::service {
namespace {

using state::JobKind;
using state::JobResult;
using state::JobTrigger;
using ::testing::Contains;
using testing::EngineTestEnv;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const Requester kAdmin{{"admin", "192.0.2.1"}, false};

// Waits (at most 30 s) until no job runs.
void WaitIdle(BackupService& service) {
  for (int i = 0; i < 3000 && service.GetStatus().state != ServiceState::kIdle; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(service.GetStatus().state, ServiceState::kIdle);
}

std::vector<std::string> Messages(const std::vector<Status>& statuses) {
  std::vector<std::string> out;
  for (const auto& s : statuses) out.push_back(s.message());
  return out;
}

class BackupServiceTest : public ::testing::Test {
 protected:
  // An engine that can back up now: DMS set, storage configured, retention keeping the
  // `keep_last` newest (0: all).
  std::unique_ptr<BackupService> ReadyService(int keep_last = 0) {
    auto service = env_.Open();
    EngineTestEnv::MakeReady(*service);
    env_.ConfigureStorage(*service);
    Status st = service->ChangeSettings("settings.changed", kAdmin.actor, [keep_last](BackupSettings& s) {
      s.retention.keep_last = keep_last;
      return Status();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return service;
  }

  EngineTestEnv env_;
};

TEST_F(BackupServiceTest, AFreshApplianceSaysEveryReasonABackupCannotRun) {
  env_.set_otp_user_present(true);
  auto service = env_.Open();
  ServiceStatus s = service->GetStatus();
  EXPECT_EQ(s.state, ServiceState::kIdle);
  EXPECT_FALSE(s.schedule_set);
  EXPECT_TRUE(s.schedule_disabled());
  auto reasons = Messages(s.blockers);
  ASSERT_EQ(reasons.size(), 3u);
  EXPECT_THAT(reasons[0], HasSubstr("Domain Master Secret"));
  EXPECT_THAT(reasons[1], HasSubstr("Initial OTP User"));
  EXPECT_THAT(reasons[2], HasSubstr("No backup storage is configured"));
  auto started = service->StartBackup(kAdmin);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(started.status().message(), HasSubstr("A backup cannot be created now."));
  EXPECT_THAT(env_.audit_text(), HasSubstr("\"backup.refused\""));
}

TEST_F(BackupServiceTest, TheOtpUserMayNotStartABackup) {
  auto service = ReadyService();
  auto started = service->StartBackup({{"otp-admin", ""}, /*otp_session=*/true});
  ASSERT_FALSE(started.ok());
  EXPECT_THAT(started.status().message(), HasSubstr("Initial OTP User"));
  auto jobs = service->History(10);
  ASSERT_TRUE(jobs.ok());
  EXPECT_THAT(*jobs, IsEmpty()) << "a refused request is no job";
}

TEST_F(BackupServiceTest, ABackupRunsToTheStorageAndIsReported) {
  auto service = ReadyService();
  // The status is refreshed in the background (GET /status never waits on a storage).
  for (int i = 0; i < 500 && !service->GetStatus().blockers.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_THAT(Messages(service->GetStatus().blockers), IsEmpty());
  EXPECT_TRUE(service->GetStatus().capacity.has_value());
  auto job = service->StartBackup(kAdmin);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->kind, JobKind::kBackup);
  EXPECT_EQ(job->trigger, JobTrigger::kManual);
  WaitIdle(*service);
  ServiceStatus s = service->GetStatus();
  ASSERT_TRUE(s.last_success.has_value());
  EXPECT_FALSE(s.last_failure.has_value());
  auto stored = env_.store().Get(s.last_success->file);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(*s.last_success->size, stored->size());
  EXPECT_THAT(env_.store().Paths(), ::testing::ElementsAre(s.last_success->file)) << "no partial left";
  auto jobs = service->History(10);
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->front().result, JobResult::kSucceeded);
  EXPECT_EQ(jobs->front().error, "");
  // The listing shows it, signed by this appliance's domain.
  auto list = service->ListBackups();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->backups.size(), 1u);
  ASSERT_TRUE(list->backups[0].details.has_value());
  EXPECT_EQ(list->backups[0].details->trust, DomainTrust::kThisDomain);
  EXPECT_EQ(list->backups[0].details->header.device.firmware_version, "4.2.0");
}

TEST_F(BackupServiceTest, ASecondJobWhileOneRunsIsBusyByErrno) {
  auto service = ReadyService();
  env_.gate().Close();
  ASSERT_TRUE(service->StartBackup(kAdmin).ok());
  ASSERT_TRUE(env_.gate().WaitUntilHeld());
  ServiceStatus running = service->GetStatus();
  EXPECT_EQ(running.state, ServiceState::kBackupRunning);
  ASSERT_TRUE(running.running.has_value());
  EXPECT_EQ(running.running->phase, JobPhase::kWriting);
  EXPECT_GT(running.running->bytes_total, 0u);
  auto second = service->StartBackup(kAdmin);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().sys_errno(), EBUSY);
  EXPECT_EQ(second.status().message(), "a backup is already in progress");
  auto restore = service->StartRestore({"x_20260101T000000Z.ksb", {}, {}, false, std::nullopt}, kAdmin);
  EXPECT_EQ(restore.status().sys_errno(), EBUSY);
  env_.gate().Release();
  WaitIdle(*service);
}

TEST_F(BackupServiceTest, AScheduledRunThatFindsAJobRunningIsSkippedNotFailed) {
  auto service = ReadyService();
  ASSERT_TRUE(service
                  ->ChangeSettings("schedule.changed", kAdmin.actor,
                                   [](BackupSettings& s) {
                                     s.schedule.kind = ScheduleKind::kHourly;
                                     s.schedule.minute = 0;
                                     return Status();
                                   })
                  .ok());
  ServiceStatus before = service->GetStatus();
  ASSERT_TRUE(before.next_run.has_value());
  env_.gate().Close();
  ASSERT_TRUE(service->StartBackup(kAdmin).ok());
  ASSERT_TRUE(env_.gate().WaitUntilHeld());
  service->StartScheduler();
  env_.clock().Set(*before.next_run + std::chrono::seconds(5));
  std::vector<state::JobRecord> jobs;
  for (int i = 0; i < 500 && jobs.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    jobs = service->History(10).value();
  }
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].trigger, JobTrigger::kSchedule);
  EXPECT_EQ(jobs[0].result, JobResult::kSkipped);
  EXPECT_EQ(jobs[0].error, "a backup is already in progress");
  env_.gate().Release();
  WaitIdle(*service);
  EXPECT_EQ(service->GetStatus().failures_total, 0) << "a skipped run is not a failure";
}

TEST_F(BackupServiceTest, StopAbortsARunningBackupAndLeavesNoFile) {
  auto service = ReadyService();
  env_.gate().Close();
  ASSERT_TRUE(service->StartBackup(kAdmin).ok());
  ASSERT_TRUE(env_.gate().WaitUntilHeld());
  std::thread stopper([&] { service->Stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  env_.gate().Release();
  stopper.join();
  auto jobs = service->History(1);
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->front().result, JobResult::kAborted);
  EXPECT_EQ(jobs->front().error, "aborted: service stopped");
  EXPECT_THAT(env_.store().Paths(), IsEmpty()) << "no backup, no partial";
}

TEST_F(BackupServiceTest, AStorageThatFillsUpFailsTheJobAndLeavesNothing) {
  auto service = ReadyService();
  env_.faults().FailWritesAfter(1000, StatusFromErrno(ENOSPC, "file:///srv/backups/x.ksb"));
  ASSERT_TRUE(service->StartBackup(kAdmin).ok());
  WaitIdle(*service);
  auto job = service->History(1)->front();
  EXPECT_EQ(job.result, JobResult::kFailed);
  EXPECT_THAT(job.error, HasSubstr("Insufficient storage space: the storage ran out of space during the backup"));
  EXPECT_THAT(env_.store().Paths(), IsEmpty()) << "the partial was removed";
  ServiceStatus s = service->GetStatus();
  ASSERT_TRUE(s.last_failure.has_value());
  EXPECT_EQ(s.last_failure->error, job.error);
  EXPECT_EQ(s.failures_total, 1);
}

TEST_F(BackupServiceTest, ADrivePulledMidWriteFailsTheJobAndRetentionDeletesNothing) {
  auto service = ReadyService(/*keep_last=*/1);
  ASSERT_TRUE(service->StartBackup(kAdmin).ok());
  WaitIdle(*service);
  std::vector<std::string> before = env_.store().Paths();
  ASSERT_EQ(before.size(), 1u);
  env_.clock().Advance(std::chrono::hours(24));
  env_.faults().FailWritesAfter(200, StatusFromErrno(EIO, "usb://STICK/x.ksb"));
  ASSERT_TRUE(service->StartBackup(kAdmin).ok());
  WaitIdle(*service);
  auto job = service->History(1)->front();
  EXPECT_EQ(job.result, JobResult::kFailed);
  EXPECT_THAT(job.error, HasSubstr("usb://STICK/x.ksb: Input/output error"));
  EXPECT_EQ(env_.store().Paths(), before) << "the good backup is kept and nothing partial is left";
}

TEST_F(BackupServiceTest, RetentionRunsOnlyAfterASuccess) {
  auto service = ReadyService(/*keep_last=*/2);
  for (int day = 0; day < 3; ++day) {
    ASSERT_TRUE(service->StartBackup(kAdmin).ok());
    WaitIdle(*service);
    env_.clock().Advance(std::chrono::hours(24));
  }
  EXPECT_EQ(env_.store().Paths().size(), 2u) << "the oldest of three went";
  EXPECT_THAT(env_.audit_text(), HasSubstr("\"retention.removed\""));
}

TEST_F(BackupServiceTest, AStorageThatIsNotWritableIsNotSaved) {
  auto service = env_.Open([](EnginePorts& ports) {
    ports.open_backend = [](std::string_view) -> Result<std::unique_ptr<storage::Backend>> {
      return Status::Unavailable("nfs://nas: server unreachable");
    };
  });
  StorageSettings storage{"local", "file:///srv/backups"};
  Status st = service->ChangeStorage(storage, kAdmin.actor);
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(service->settings().storage.type, "none");
}

TEST_F(BackupServiceTest, ADryRunRestoreReportsWhatItWouldDoWithTrueProgress) {
  auto service = ReadyService();
  ASSERT_TRUE(service->StartBackup(kAdmin).ok());
  WaitIdle(*service);
  std::string file = service->GetStatus().last_success->file;
  auto job = service->StartRestore({file, {}, {}, /*dry_run=*/true, EngineTestEnv::Dms()}, kAdmin);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->trigger, JobTrigger::kDryRun);
  EXPECT_GT(*job->size, 0u);
  WaitIdle(*service);
  auto jobs = service->History(1, JobKind::kRestore);
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->front().result, JobResult::kSucceeded) << jobs->front().error;
  EXPECT_THAT(jobs->front().summary, HasSubstr("would restore"));
  EXPECT_EQ(jobs->front().error, "");
}

// Format v2: the appliance that wrote a backup cannot open it without the DMS, unless the
// administrator chose to keep the restore key on it when setting the DMS.
TEST_F(BackupServiceTest, AWriteOnlyApplianceRestoresOnlyWithTheDmsTyped) {
  auto service = ReadyService();
  EXPECT_FALSE(service->Dms().restore_key_kept);
  EXPECT_EQ(service->Dms().backup_format, 2);
  ASSERT_TRUE(service->StartBackup(kAdmin).ok());
  WaitIdle(*service);
  std::string file = service->GetStatus().last_success->file;
  ASSERT_TRUE(service->StartRestore({file, {}, {}, /*dry_run=*/true, std::nullopt}, kAdmin).ok());
  WaitIdle(*service);
  auto jobs = service->History(1, JobKind::kRestore);
  ASSERT_TRUE(jobs.ok() && jobs->size() == 1u);
  EXPECT_EQ(jobs->front().result, JobResult::kFailed);
  EXPECT_THAT(jobs->front().error, HasSubstr("write-only"));
  EXPECT_THAT(jobs->front().error, HasSubstr("Domain Master Secret"));
}

TEST_F(BackupServiceTest, AnApplianceThatKeepsTheRestoreKeyRestoresWithoutTheDms) {
  auto service = env_.Open();
  EngineTestEnv::MakeReady(*service, /*keep_restore_key=*/true);
  env_.ConfigureStorage(*service);
  EXPECT_TRUE(service->Dms().restore_key_kept);
  EXPECT_THAT(env_.audit_text(), HasSubstr("kept on this appliance")) << "an auditor sees the trade-off";
  ASSERT_TRUE(service->StartBackup(kAdmin).ok());
  WaitIdle(*service);
  std::string file = service->GetStatus().last_success->file;
  ASSERT_TRUE(service->StartRestore({file, {}, {}, /*dry_run=*/true, std::nullopt}, kAdmin).ok());
  WaitIdle(*service);
  auto jobs = service->History(1, JobKind::kRestore);
  ASSERT_TRUE(jobs.ok() && jobs->size() == 1u);
  EXPECT_EQ(jobs->front().result, JobResult::kSucceeded) << jobs->front().error;
}

TEST_F(BackupServiceTest, AccountsCannotChangeWhileARestoreRuns) {
  auto service = ReadyService();
  int changes = 0;
  EXPECT_TRUE(service->WhileNoRestore([&] { return ++changes, Status(); }).ok());
  ASSERT_TRUE(service->StartBackup(kAdmin).ok());
  WaitIdle(*service);
  std::string file = service->GetStatus().last_success->file;
  env_.gate().Close();
  ASSERT_TRUE(service->StartRestore({file, {}, {}, /*dry_run=*/true, std::nullopt}, kAdmin).ok());
  ASSERT_TRUE(env_.gate().WaitUntilHeld());
  ServiceStatus restoring = service->GetStatus();
  EXPECT_EQ(restoring.state, ServiceState::kRestoreRunning);
  ASSERT_TRUE(restoring.running.has_value());
  EXPECT_EQ(restoring.running->phase, JobPhase::kWriting) << "reading and verifying into staging";
  EXPECT_EQ(restoring.running->bytes_total, env_.store().Get(file)->size())
      << "a restore's progress is measured against its file";
  Status refused = service->WhileNoRestore([&] { return ++changes, Status(); });
  EXPECT_EQ(refused.sys_errno(), EBUSY);
  EXPECT_THAT(refused.message(), HasSubstr("while a restore is in progress"));
  EXPECT_EQ(changes, 1) << "the change did not run";
  env_.gate().Release();
  WaitIdle(*service);
  EXPECT_TRUE(service->WhileNoRestore([&] { return ++changes, Status(); }).ok());
  EXPECT_EQ(changes, 2);
}

TEST_F(BackupServiceTest, ARestoreLeavesARollbackPointToReturnToOrDiscard) {
  auto service = ReadyService();
  ASSERT_TRUE(service->StartRollback(kAdmin).status().code() == ErrorCode::kNotFound) << "nothing to roll back yet";
  ASSERT_TRUE(service->StartBackup(kAdmin).ok());
  WaitIdle(*service);
  std::string file = service->GetStatus().last_success->file;
  ASSERT_TRUE(service->StartRestore({file, {}, {"network"}, false, EngineTestEnv::Dms()}, kAdmin).ok());
  WaitIdle(*service);
  auto point = service->RollbackPoint();
  ASSERT_TRUE(point.ok() && point->has_value()) << point.status().ToString();
  EXPECT_EQ((*point)->replaced_by, file);
  EXPECT_GT((*point)->bytes, 0u);
  auto job = service->StartRollback(kAdmin);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->trigger, JobTrigger::kRollback);
  WaitIdle(*service);
  auto done = service->History(1)->front();
  EXPECT_EQ(done.result, JobResult::kSucceeded) << done.error;
  EXPECT_THAT(done.summary, HasSubstr("returned to the state saved at"));
  ASSERT_TRUE(service->RollbackPoint()->has_value()) << "a rollback can itself be undone";
  EXPECT_TRUE(service->DiscardRollbackPoint(kAdmin).ok());
  EXPECT_FALSE(service->RollbackPoint()->has_value());
  EXPECT_EQ(service->DiscardRollbackPoint(kAdmin).code(), ErrorCode::kNotFound);
  EXPECT_THAT(env_.audit_text(), HasSubstr("\"rollback.discarded\""));
}

TEST_F(BackupServiceTest, TheDmsIsSetOnce) {
  auto service = env_.Open();
  EXPECT_FALSE(service->Dms().set);
  EngineTestEnv::MakeReady(*service);
  DmsState dms = service->Dms();
  EXPECT_TRUE(dms.set);
  EXPECT_FALSE(dms.fingerprint.empty());
  std::string other = "another secret here";
  SecureBuffer secret = SecureBuffer::CopyOf(std::span(reinterpret_cast<const uint8_t*>(other.data()), other.size()));
  EXPECT_EQ(service->SetDms(secret, secret, false, kAdmin.actor).code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(service->Dms().fingerprint, dms.fingerprint);
  EXPECT_THAT(env_.audit_text(), ::testing::Not(HasSubstr("correct horse"))) << "the DMS is never logged";
}

}  // namespace
}  // namespace keepsake::service
