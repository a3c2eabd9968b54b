#include "state/audit_log.h"

#include <gtest/gtest.h>

#include <fstream>

#include "base/test_temp_dir.h"

namespace keepsake::state {
namespace {

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = AuditLog::Open(path_);
    ASSERT_TRUE(log.ok());
    log_ = std::move(log).value();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(
          log_->Append(1700000000 + i, i % 2 ? "login" : "backup.started", {"admin", "192.0.2.1"}, "done", {{"n", i}})
              .ok());
    }
  }
  static std::vector<int> Ns(const AuditPage& page) {
    std::vector<int> out;
    for (const auto& e : page.entries) out.push_back(e["n"].get<int>());
    return out;
  }
  TestTempDir tmp_{"ks_audit"};
  std::string path_ = tmp_.path() + "/audit.log";
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, NewestFirstInPages) {
  auto first = log_->Read(2, 0, "");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Ns(*first), (std::vector<int>{4, 3}));
  EXPECT_EQ(first->matched, 5);
  EXPECT_EQ(Ns(*log_->Read(2, 2, "")), (std::vector<int>{2, 1}));
  EXPECT_EQ(Ns(*log_->Read(2, 4, "")), (std::vector<int>{0}));
  EXPECT_TRUE(log_->Read(2, 9, "")->entries.empty());
}

TEST_F(AuditLogTest, FilterIsCaseInsensitiveAndCounted) {
  auto logins = log_->Read(10, 0, "LOGIN");
  ASSERT_TRUE(logins.ok());
  EXPECT_EQ(Ns(*logins), (std::vector<int>{3, 1}));
  EXPECT_EQ(logins->matched, 2);
  EXPECT_EQ(logins->entries[0]["time"], "2023-11-14T22:13:23Z");
}

TEST_F(AuditLogTest, ALineStillBeingWrittenOrBrokenIsLeftOut) {
  {
    std::ofstream out(path_, std::ios::app);
    out << "not json\n{\"event\": \"half";
  }
  auto page = log_->Read(10, 0, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Ns(*page), (std::vector<int>{4, 3, 2, 1, 0}));
}

}  // namespace
}  // namespace keepsake::state
