#include "archive/tar_reader.h"

#include <gtest/gtest.h>

namespace keepsake::archive {
namespace {

TEST(CheckArchivePathTest, AcceptsPlainRelativePaths) {
  EXPECT_TRUE(CheckArchivePath("a").ok());
  EXPECT_TRUE(CheckArchivePath("system/network/eth0.conf").ok());
  EXPECT_TRUE(CheckArchivePath("a/.hidden/..x").ok());
}

TEST(CheckArchivePathTest, RefusesEscapes) {
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a/..", "a//b", "./a", "a/.", "a/"}) {
    EXPECT_EQ(CheckArchivePath(bad).code(), ErrorCode::kCorruption) << bad;
  }
}

}  // namespace
}  // namespace keepsake::archive
