#include "service/retention_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "archive/backup_name.h"

namespace keepsake::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

date::sys_seconds Day(unsigned d) { return date::sys_days{date::year{2026} / 3 / d} + std::chrono::hours{3}; }

// A storage root as retention sees it: names, the device each signed header names, and what
// fails.
class FakeStore final : public RetentionStore {
 public:
  void Add(const std::string& name, const std::string& device_id) { files_[name] = device_id; }
  Result<std::vector<std::string>> List() override {
    if (!list_error_.ok()) return list_error_;
    std::vector<std::string> names;
    for (const auto& [name, device] : files_) names.push_back(name);
    return names;
  }
  Result<archive::BackupHeader> ReadHeader(const std::string& name) override {
    if (auto e = read_errors_.find(name); e != read_errors_.end()) return e->second;
    archive::BackupHeader h;
    h.device.device_id = files_.at(name);
    return h;
  }
  Status Remove(const std::string& name) override {
    if (name == refuse_remove_) return Status::PermissionDenied(name + ": Permission denied");
    files_.erase(name);
    return Status();
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, device] : files_) out.push_back(name);
    return out;
  }

  Status list_error_;
  std::map<std::string, Status> read_errors_;
  std::string refuse_remove_;

 private:
  std::map<std::string, std::string> files_;
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
