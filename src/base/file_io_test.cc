#include "base/file_io.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "base/test_temp_dir.h"

namespace keepsake {
namespace {

class FileIoTest : public ::testing::Test {
 protected:
  TestTempDir tmp_{"ks_fileio"};
  std::string dir_ = tmp_.path();
};

TEST_F(FileIoTest, CommitMakesTheFileAppearWithItsMode) {
  std::string path = dir_ + "/secret.json";
  ASSERT_TRUE(WriteFileAtomic(path, "{}", 0600).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*ReadSmallFile(path, 100), "{}");
  EXPECT_FALSE(std::filesystem::exists(PartialPathFor(path)));
}

TEST_F(FileIoTest, WithoutCommitNothingIsLeft) {
  std::string path = dir_ + "/out.ksb";
  {
    auto file = AtomicFile::Create(path);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Write(AsBytes("partial data")).ok());
    EXPECT_TRUE(std::filesystem::exists(dir_ + "/.out.ksb.partial"));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(FileIoTest, NothingIsEverOverwritten) {
  std::string path = dir_ + "/keystore.json";
  ASSERT_TRUE(WriteFileAtomic(path, "first").ok());
  EXPECT_EQ(WriteFileAtomic(path, "second").code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(*ReadSmallFile(path, 100), "first");
}

TEST_F(FileIoTest, ReadSmallFileRefusesLargeFiles) {
  std::string path = dir_ + "/big";
  ASSERT_TRUE(WriteFileAtomic(path, std::string(200, 'x')).ok());
  EXPECT_EQ(ReadSmallFile(path, 100).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ReadSmallFile(dir_ + "/missing", 100).status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace keepsake
