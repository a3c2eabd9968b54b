#include "archive/backup_name.h"

#include <gtest/gtest.h>

namespace keepsake::archive {
namespace {

constexpr std::time_t kWhen = 1795666320;  // 2026-11-26T04:12:00Z

TEST(BackupNameTest, NameHasPrefixHostAndUtcStamp) {
  EXPECT_EQ(MakeBackupName("nightly", "ca-01", kWhen), "nightly_ca-01_20261126T041200Z.ksb");
  EXPECT_EQ(MakeBackupName("", "ca-01", kWhen), "ca-01_20261126T041200Z.ksb");
  EXPECT_EQ(MakeBackupName("", "ca-01", kWhen, 3), "ca-01_20261126T041200Z-3.ksb");
}

TEST(BackupNameTest, HostnameIsMadePortable) {
  EXPECT_EQ(MakeBackupName("", "ca_01/x y", kWhen), "ca-01-x-y_20261126T041200Z.ksb");
}

TEST(BackupNameTest, ParseInvertsMake) {
  for (std::string prefix : {"", "nightly", "a_b.c-d"}) {
    auto parsed = ParseBackupName(MakeBackupName(prefix, "host.example", kWhen, 2));
    ASSERT_TRUE(parsed.has_value()) << prefix;
    EXPECT_EQ(parsed->prefix, prefix);
    EXPECT_EQ(parsed->hostname, "host.example");
    EXPECT_EQ(parsed->when, kWhen);
  }
}

TEST(BackupNameTest, ParseRejectsOtherFiles) {
  EXPECT_FALSE(ParseBackupName("notes.txt").has_value());
  // A copy someone made by hand is not one of ours (retention would delete it).
  EXPECT_FALSE(ParseBackupName("host_20261126T041200Z-copy.ksb").has_value());
  EXPECT_FALSE(ParseBackupName("host_20261126T041200Z-1.ksb").has_value());
  EXPECT_FALSE(ParseBackupName("host_20261126T041200Z-02.ksb").has_value());
  EXPECT_FALSE(ParseBackupName("host_20261126T041200Z-.ksb").has_value());
  EXPECT_TRUE(ParseBackupName("host_20261126T041200Z-99.ksb").has_value());
  EXPECT_FALSE(ParseBackupName("host_2026.ksb").has_value());
  EXPECT_FALSE(ParseBackupName(".ksb").has_value());
  EXPECT_FALSE(ParseBackupName("_20261126T041200Z.ksb").has_value());
}

TEST(BackupNameTest, PrefixRules) {
  EXPECT_TRUE(ValidatePrefix("").ok());
  EXPECT_TRUE(ValidatePrefix("Nightly-backup_1.0").ok());
  EXPECT_TRUE(ValidatePrefix(std::string(64, 'a')).ok());
  EXPECT_EQ(ValidatePrefix(std::string(65, 'a')).code(), ErrorCode::kInvalidArgument);
  Status slash = ValidatePrefix("a/b");
  EXPECT_EQ(slash.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(slash.message().find("letters, digits"), std::string::npos);
  EXPECT_FALSE(ValidatePrefix("a b").ok());
  EXPECT_FALSE(ValidatePrefix("..").ok());
}

TEST(BackupNameTest, FormatUtcIsRfc3339) { EXPECT_EQ(FormatUtc(kWhen), "2026-11-26T04:12:00Z"); }

}  // namespace
}  // namespace keepsake::archive
