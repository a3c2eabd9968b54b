#include "service/retention_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "archive/backup_name.h"
#include "base/utc_time.h"

namespace keepsake::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

date::sys_seconds Day(unsigned d) { return date::sys_days{date::year{2026} / 3 / d} + std::chrono::hours{3}; }

// A storage root as retention sees it: names, and what each file's verified contents say
// (its header's device, name and time, its domain and integrity), and what fails.
class FakeStore final : public RetentionStore {
 public:
  struct File {
    std::string device_id;
    std::string header_name;  // "" : the file's own name
    std::optional<date::sys_seconds> header_time;
    DomainTrust trust = DomainTrust::kThisDomain;
    bool intact = true;
  };
  void Add(const std::string& name, const std::string& device_id) {
    File file;
    file.device_id = device_id;
    files_[name] = std::move(file);
  }
  void Add(const std::string& name, File file) { files_[name] = std::move(file); }
  Result<std::vector<std::string>> List() override {
    if (!list_error_.ok()) return list_error_;
    std::vector<std::string> names;
    for (const auto& [name, file] : files_) names.push_back(name);
    return names;
  }
  Result<BackupDetails> Read(const std::string& name) override {
    if (auto e = read_errors_.find(name); e != read_errors_.end()) return e->second;
    const File& f = files_.at(name);
    BackupDetails d;
    d.header.device.device_id = f.device_id;
    d.header.file_name = f.header_name.empty() ? name : f.header_name;
    auto parsed = archive::ParseBackupName(name);
    d.header.created_at =
        FormatUtc(f.header_time ? *f.header_time : date::sys_seconds{std::chrono::seconds{parsed->when}});
    d.trust = f.trust;
    d.integrity.intact = f.intact;
    if (!f.intact) d.integrity.damage = "truncated: the file ends inside chunk 0";
    return d;
  }
  Status Remove(const std::string& name) override {
    if (name == refuse_remove_) return Status::PermissionDenied(name + ": Permission denied");
    files_.erase(name);
    return Status();
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, file] : files_) out.push_back(name);
    return out;
  }

  Status list_error_;
  std::map<std::string, Status> read_errors_;
  std::string refuse_remove_;

 private:
  std::map<std::string, File> files_;
};

std::string Name(unsigned day, std::string_view host = "ca-01") {
  return archive::MakeBackupName("", host, Day(day).time_since_epoch().count(), 1);
}

class RetentionRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    device_.hostname = "ca-01";
    device_.device_id = "dev-1";
    for (unsigned d = 1; d <= 5; ++d) store_.Add(Name(d), "dev-1");
  }
  RetentionOutcome Apply(int keep_last, const std::string& keep_name = "") {
    RetentionPolicy policy;
    policy.keep_last = keep_last;
    return ApplyRetention(store_, policy, *date::locate_zone("UTC"), device_, "", keep_name);
  }
  FakeStore store_;
  archive::DeviceIdentity device_;
};

TEST_F(RetentionRunnerTest, RemovesWhatNoRuleKeepsOldestFirst) {
  RetentionOutcome out = Apply(2);
  EXPECT_THAT(out.removed, ElementsAre(Name(1), Name(2), Name(3)));
  EXPECT_THAT(out.problems, IsEmpty());
  EXPECT_THAT(store_.names(), ElementsAre(Name(4), Name(5)));
}

TEST_F(RetentionRunnerTest, TheDefaultPolicyTouchesNothing) {
  RetentionOutcome out = ApplyRetention(store_, RetentionPolicy{}, *date::locate_zone("UTC"), device_, "", "");
  EXPECT_THAT(out.removed, IsEmpty());
  EXPECT_EQ(store_.names().size(), 5u);
}

TEST_F(RetentionRunnerTest, NeverRemovesTheBackupJustMade) {
  RetentionOutcome out = Apply(1, Name(1));
  EXPECT_THAT(out.removed, ElementsAre(Name(2), Name(3), Name(4)));
}

TEST_F(RetentionRunnerTest, AFileWhoseSignedHeaderNamesAnotherDeviceStays) {
  store_.Add(Name(0), "dev-OTHER");  // same host name in the file name, another device inside
  RetentionOutcome out = Apply(1);
  EXPECT_THAT(store_.names(), ::testing::Contains(Name(0)));
  EXPECT_THAT(out.problems, IsEmpty());
}

TEST_F(RetentionRunnerTest, AForgedOrDamagedHeaderKeepsTheFile) {
  store_.read_errors_[Name(1)] = Status::Corruption("not a Keepsake backup");
  RetentionOutcome out = Apply(2);
  EXPECT_THAT(out.removed, ElementsAre(Name(2), Name(3)));
  EXPECT_THAT(store_.names(), ::testing::Contains(Name(1)));
}

TEST_F(RetentionRunnerTest, AnUnreadableFileIsKeptAndReported) {
  store_.read_errors_[Name(1)] = Status::Unavailable("nfs://nas: connection lost");
  RetentionOutcome out = Apply(2);
  EXPECT_THAT(out.removed, ElementsAre(Name(2), Name(3)));
  ASSERT_EQ(out.problems.size(), 1u);
  EXPECT_THAT(out.problems[0], HasSubstr("connection lost"));
}

TEST_F(RetentionRunnerTest, ARefusedRemovalIsReportedAndTheRestGoOn) {
  store_.refuse_remove_ = Name(2);
  RetentionOutcome out = Apply(2);
  EXPECT_THAT(out.removed, ElementsAre(Name(1), Name(3)));
  ASSERT_EQ(out.problems.size(), 1u);
  EXPECT_THAT(out.problems[0], HasSubstr("Permission denied"));
}

TEST_F(RetentionRunnerTest, GarbageNamedAsTheNewestBackupsIsNeverCountedNorRemoved) {
  // Issue 13, finding 3 (reproduced): three garbage files named for 2099 made keep_last=3
  // select every real backup for deletion, as candidates were ranked by their names.
  std::vector<std::string> garbage;
  for (int i = 0; i < 3; ++i) {
    garbage.push_back(archive::MakeBackupName("", "ca-01", 4070908800 + i * 86400, 1));
    store_.Add(garbage.back(), "dev-1");
    store_.read_errors_[garbage.back()] = Status::Corruption("not a Keepsake backup file (no KSBACKUP magic)");
  }
  RetentionOutcome out = Apply(3);
  EXPECT_THAT(out.removed, ElementsAre(Name(1), Name(2)));
  EXPECT_THAT(out.problems, IsEmpty());
  for (const auto& g : garbage) EXPECT_THAT(store_.names(), ::testing::Contains(g));
  EXPECT_THAT(store_.names(), ::testing::Contains(Name(5)));
}

TEST_F(RetentionRunnerTest, OnlyBackupsOfThisDomainIntactAndUnderTheirOwnNameCount) {
  // Each of these, named as the newest, would push a real backup out if it counted.
  store_.Add(Name(20), {"dev-1", "", std::nullopt, DomainTrust::kOtherDomain, true});
  store_.Add(Name(21), {"dev-1", "", std::nullopt, DomainTrust::kThisDomain, /*intact=*/false});
  store_.Add(Name(22), {"dev-1", Name(4), Day(4), DomainTrust::kThisDomain, true});  // a replayed copy
  store_.Add(Name(23), {"dev-OTHER", "", std::nullopt, DomainTrust::kThisDomain, true});
  // Format v2: this domain's, but signed by a device key the domain revoked for its time.
  store_.Add(Name(24), {"dev-1", "", std::nullopt, DomainTrust::kRevokedSigner, true});
  RetentionOutcome out = Apply(2);
  EXPECT_THAT(out.removed, ElementsAre(Name(1), Name(2), Name(3)));
  for (unsigned d : {20u, 21u, 22u, 23u, 24u, 4u, 5u}) EXPECT_THAT(store_.names(), ::testing::Contains(Name(d)));
}

TEST_F(RetentionRunnerTest, BackupsAreRankedByTheirHeadersTimeNotTheirNames) {
  // Day 1's name, but its signed header says day 9: it is the newest.
  store_.Add(Name(1), {"dev-1", "", Day(9), DomainTrust::kThisDomain, true});
  RetentionOutcome out = Apply(2);
  EXPECT_THAT(out.removed, ElementsAre(Name(2), Name(3), Name(4)));
  EXPECT_THAT(store_.names(), ElementsAre(Name(1), Name(5)));
}

TEST_F(RetentionRunnerTest, AListingThatFailsRemovesNothing) {
  store_.list_error_ = Status::Unavailable("usb://STICK: the USB drive was removed");
  RetentionOutcome out = Apply(1);
  EXPECT_THAT(out.removed, IsEmpty());
  ASSERT_EQ(out.problems.size(), 1u);
  EXPECT_THAT(out.problems[0], HasSubstr("retention not applied"));
  EXPECT_EQ(store_.names().size(), 5u);
}

}  // namespace
}  // namespace keepsake::service
