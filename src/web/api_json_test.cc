#include "web/api_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace keepsake::web {
namespace {

using ::testing::HasSubstr;

date::sys_seconds T(int64_t unix_seconds) { return date::sys_seconds(std::chrono::seconds(unix_seconds)); }

state::JobRecord FinishedBackup() {
  state::JobRecord j;
  j.id = 7;
  j.kind = state::JobKind::kBackup;
  j.trigger = state::JobTrigger::kSchedule;
  j.requester = "scheduler";
  j.started_at = T(1700000000);
  j.ended_at = T(1700000042);
  j.result = state::JobResult::kSucceeded;
  j.size = 5'000'000'000ULL;
  j.file = "a.ksb";
  j.duration_ms = 42'000;
  return j;
}

TEST(ApiJsonTest, JobHasEveryFieldWithIsoTimes) {
  nlohmann::json expected = {{"id", 7},
                             {"kind", "backup"},
                             {"trigger", "schedule"},
                             {"requester", "scheduler"},
                             {"started_at", "2023-11-14T22:13:20Z"},
                             {"ended_at", "2023-11-14T22:14:02Z"},
                             {"result", "succeeded"},
                             {"size", 5'000'000'000ULL},
                             {"file", "a.ksb"},
                             {"error", ""},
                             {"summary", ""},
                             {"duration_ms", 42'000}};
  EXPECT_EQ(JobToJson(FinishedBackup()), expected);
}

TEST(ApiJsonTest, RunningJobHasNullsForMissingOutcome) {
  state::JobRecord j;
  j.kind = state::JobKind::kRestore;
  j.trigger = state::JobTrigger::kDryRun;
  nlohmann::json json = JobToJson(j);
  EXPECT_TRUE(json.at("ended_at").is_null());
  EXPECT_TRUE(json.at("size").is_null());
  EXPECT_TRUE(json.at("duration_ms").is_null());
  EXPECT_EQ(json.at("trigger"), "dry-run");
  EXPECT_EQ(json.at("result"), "running");
}

service::ServiceStatus IdleStatus() {
  service::ServiceStatus s;
  s.now = T(1700000000 + 3 * 3600);
  s.schedule_zone = date::locate_zone("Europe/Berlin");
  return s;
}

TEST(ApiJsonTest, StatusOfAnIdleApplianceWithoutScheduleSaysWhy) {
  service::ServiceStatus s = IdleStatus();
  s.blockers.push_back(Status::FailedPrecondition("No Domain Master Secret is set: set it first."));
  nlohmann::json j = StatusToJson(s);
  EXPECT_EQ(j["state"], "NOT RUNNING");
  EXPECT_TRUE(j["job"].is_null());
  EXPECT_TRUE(j["last_successful_backup"].is_null());
  EXPECT_TRUE(j["next_scheduled_backup"].is_null());
  EXPECT_EQ(j["schedule_disabled"], true);
  EXPECT_EQ(j["schedule_disabled_reasons"][0], "No automated backup schedule is set.");
  EXPECT_THAT(j["schedule_disabled_reasons"][1].get<std::string>(), HasSubstr("Domain Master Secret"));
  EXPECT_EQ(j["backup_blockers"].size(), 1u);
  EXPECT_TRUE(j["storage"].is_null());
}

TEST(ApiJsonTest, ALowApplianceDiskIsAWarningOnlyWhileARollbackPointHoldsSpace) {
  service::ServiceStatus s = IdleStatus();
  s.appliance_disk = storage::Capacity{100ull << 30, 90ull << 30, 10ull << 30};  // 10% free
  EXPECT_EQ(StatusToJson(s)["warnings"].size(), 0u) << "no rollback point: nothing to discard";
  s.rollback_point_bytes = 6ull << 30;
  nlohmann::json j = StatusToJson(s);
  ASSERT_EQ(j["warnings"].size(), 1u);
  EXPECT_THAT(j["warnings"][0].get<std::string>(), HasSubstr("rollback point of the last restore holds 6.0 GiB"));
  EXPECT_THAT(j["warnings"][0].get<std::string>(), HasSubstr("Discard the rollback point on the Restore page"));
  s.appliance_disk->free = 30ull << 30;  // 30% free
  EXPECT_EQ(StatusToJson(s)["warnings"].size(), 0u);
}

TEST(ApiJsonTest, StatusWithAScheduleAndALastBackupIsWorded) {
  service::ServiceStatus s = IdleStatus();
  s.schedule_set = true;
  s.next_run = s.now + std::chrono::hours(4);
  s.last_success = FinishedBackup();
  s.capacity = storage::Capacity{1000, 900, 100};
  s.access = storage::Access{true, true};
  nlohmann::json j = StatusToJson(s);
  EXPECT_EQ(j["schedule_disabled"], false);
  EXPECT_EQ(j["next_scheduled_backup"]["in"], "in 4 hours");
  EXPECT_THAT(j["next_scheduled_backup"]["local"].get<std::string>(), HasSubstr("CET"));
  EXPECT_EQ(j["last_successful_backup"]["ago"], "2 hours ago");
  EXPECT_EQ(j["last_successful_backup"]["size"], 5'000'000'000ULL);
  EXPECT_EQ(j["storage"]["permission"], "read/write");
  EXPECT_EQ(j["storage"]["low_space"], true);
  ASSERT_EQ(j["warnings"].size(), 1u);
  EXPECT_THAT(j["warnings"][0].get<std::string>(), HasSubstr("Less than 20%"));
}

TEST(ApiJsonTest, StatusOfARunningRestoreShowsItsProgress) {
  service::ServiceStatus s = IdleStatus();
  s.state = service::ServiceState::kRestoreRunning;
  service::RunningJob r;
  r.job.kind = state::JobKind::kRestore;
  r.phase = service::JobPhase::kApplying;
  r.bytes_done = 50;
  r.bytes_total = 200;
  r.eta_seconds = 3;
  s.running = r;
  nlohmann::json j = StatusToJson(s);
  EXPECT_EQ(j["state"], "RESTORE IN PROGRESS");
  EXPECT_EQ(j["job"]["phase"], "applying");
  EXPECT_EQ(j["job"]["percent"], 25);
  EXPECT_EQ(j["job"]["eta_seconds"], 3);
  nlohmann::json restore = RestoreStatusToJson(s, {});
  EXPECT_EQ(restore["progress"]["bytes_total"], 200);
  EXPECT_TRUE(restore["last"].is_null());
}

TEST(ApiJsonTest, MetricsComeFromTheTypedStatus) {
  service::ServiceStatus s = IdleStatus();
  s.last_success = FinishedBackup();
  s.failures_total = 3;
  s.state = service::ServiceState::kBackupRunning;
  std::string text = MetricsText(s);
  EXPECT_THAT(text, HasSubstr("keepsake_last_success_timestamp_seconds 1700000042\n"));
  EXPECT_THAT(text, HasSubstr("keepsake_backup_failures_total 3\n"));
  EXPECT_THAT(text, HasSubstr("keepsake_backup_in_progress 1\n"));
  EXPECT_THAT(text, HasSubstr("keepsake_schedule_disabled 1\n"));
}

TEST(ApiJsonTest, BackupDetailsSayWhoseDomain) {
  service::BackupDetails d;
  d.header.file_name = "a.ksb";
  d.trust = service::DomainTrust::kOtherDomain;
  d.integrity = {true, "", date::sys_seconds{std::chrono::seconds{1795651200}}};
  nlohmann::json j = BackupDetailsToJson(d);
  // Issue 13, finding 2: "valid" alone read as trusted whoever signed.
  EXPECT_EQ(j["signature"], "valid, other domain");
  EXPECT_EQ(j["domain_check"], "another domain");
  EXPECT_EQ(j["integrity"], nlohmann::json({{"state", "intact"}, {"checked_at", "2026-11-26T00:00:00Z"}}));
  d.trust = service::DomainTrust::kThisDomain;
  d.integrity = {false, "truncated: the file ends inside chunk 3", d.integrity.checked_at};
  j = BackupDetailsToJson(d);
  EXPECT_EQ(j["signature"], "valid, this domain");
  EXPECT_EQ(j["domain_check"], "this appliance's domain");
  EXPECT_EQ(j["integrity"]["state"], "damaged");
  EXPECT_EQ(j["integrity"]["reason"], "truncated: the file ends inside chunk 3");
  d.trust = service::DomainTrust::kUnknown;
  EXPECT_EQ(BackupDetailsToJson(d)["signature"], "valid, domain not checked");
}

TEST(ApiJsonTest, UsbDrivesListStatesReasonsAndUrls) {
  storage::UsbDrive d;
  d.device = "/dev/sdb";
  d.partition_table = "gpt";
  storage::UsbVolume full;
  full.label = "BACKUP";
  full.state = storage::UsbVolumeState::kFull;
  full.reason = "partition 1: only 3.0 MiB free";
  storage::UsbVolume mounted = full;
  mounted.state = storage::UsbVolumeState::kMounted;
  mounted.capacity = {100, 10, 90};
  d.volumes = {full, mounted};
  nlohmann::json j = UsbDrivesToJson({d});
  const auto& drive = j["drives"][0];
  EXPECT_EQ(drive["device"], "/dev/sdb");
  EXPECT_EQ(drive["volumes"][0]["state"], "full");
  EXPECT_TRUE(drive["volumes"][0]["url"].is_null());  // full: not offered
  EXPECT_EQ(drive["volumes"][1]["url"], "usb://BACKUP");
  EXPECT_EQ(drive["volumes"][1]["capacity"]["free_bytes"], 90);
}

TEST(ApiJsonTest, StorageListingMarksBackupsAndTheWayUp) {
  service::StorageListing l;
  l.info.url = "file:///srv";
  l.info.path = "a/b";
  l.parent = "a";
  l.entries = {{"sub", true, 0, 0}, {"nightly_ca-01_20260101T000000Z.ksb", false, 10, 0}, {"notes.txt", false, 3, 0}};
  nlohmann::json j = StorageListingToJson(l);
  EXPECT_EQ(j["parent"], "a");
  EXPECT_EQ(j["entries"][0]["type"], "directory");
  EXPECT_EQ(j["entries"][1]["backup"], true);
  EXPECT_EQ(j["entries"][2]["backup"], false);
  EXPECT_EQ(j["entries"][1]["modified"], "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace keepsake::web
