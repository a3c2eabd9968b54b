#include "crypto/keystore.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/test_temp_dir.h"

namespace keepsake::crypto {
namespace {

const KdfParams kTestKdf{1, 8};

SecureBuffer Secret(std::string_view s) {
  return SecureBuffer::CopyOf(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

class KeystoreTest : public ::testing::Test {
 protected:
  TestTempDir tmp_{"ks_keystore"};
  std::string dir_ = tmp_.path();
};

TEST_F(KeystoreTest, LoadWithoutDmsSaysHowToSetIt) {
  auto keys = LoadKeystore(dir_);
  EXPECT_EQ(keys.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(keys.status().message().find("keepsake dms set"), std::string::npos);
}

TEST_F(KeystoreTest, CreateThenLoadGivesSameDomainAndFileIsPrivate) {
  auto created = CreateKeystore(dir_, Secret("correct horse"), Secret("correct horse"), kTestKdf);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto loaded = LoadKeystore(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(created->public_key, loaded->public_key);
  EXPECT_EQ(created->kek.view(), loaded->kek.view());
  struct stat st;
  ASSERT_EQ(stat(KeystorePath(dir_).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The secret itself is never stored.
  std::string text;
  FILE* f = fopen(KeystorePath(dir_).c_str(), "r");
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  text.assign(buf, n);
  EXPECT_EQ(text.find("correct horse"), std::string::npos);
}

TEST_F(KeystoreTest, SecondSetIsRefusedAndFirstKeepsWorking) {
  auto first = CreateKeystore(dir_, Secret("first domain secret"), Secret("first domain secret"), kTestKdf);
  ASSERT_TRUE(first.ok());
  auto second = CreateKeystore(dir_, Secret("second secret"), Secret("second secret"), kTestKdf);
  EXPECT_EQ(second.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(second.status().message(), "The Domain Master Secret is already set and cannot be changed or deleted");
  auto loaded = LoadKeystore(dir_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->public_key, first->public_key);
}

TEST_F(KeystoreTest, InvalidDmsWritesNothing) {
  auto created = CreateKeystore(dir_, Secret("short"), Secret("short"), kTestKdf);
  EXPECT_EQ(created.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(KeystoreExists(dir_));
}

TEST_F(KeystoreTest, DamagedKeystoreIsReportedAsCorruption) {
  ASSERT_TRUE(CreateKeystore(dir_, Secret("correct horse"), Secret("correct horse"), kTestKdf).ok());
  FILE* f = fopen(KeystorePath(dir_).c_str(), "r+");
  fseek(f, 20, SEEK_SET);
  fputc('#', f);
  fclose(f);
  EXPECT_EQ(LoadKeystore(dir_).status().code(), ErrorCode::kCorruption);
}

// Issue 13, finding 10 (reproduced): the state directory was left 0755, a keystore open to
// everyone was loaded as it was, and one that could not be looked at read as "no DMS".
TEST_F(KeystoreTest, TheStateDirectoryIsMadePrivate) {
  std::string state = dir_ + "/state";
  ASSERT_EQ(mkdir(state.c_str(), 0755), 0);
  ASSERT_TRUE(EnsureStateDir(state).ok());
  struct stat st;
  ASSERT_EQ(stat(state.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::string fresh = dir_ + "/fresh/state";
  ASSERT_TRUE(EnsureStateDir(fresh).ok());
  ASSERT_EQ(stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(KeystoreTest, AKeystoreOpenToOthersIsRefusedSayingWhatToDo) {
  ASSERT_TRUE(CreateKeystore(dir_, Secret("correct horse"), Secret("correct horse"), kTestKdf).ok());
  ASSERT_EQ(chmod(KeystorePath(dir_).c_str(), 0644), 0);
  for (Status st : {LoadKeystore(dir_).status(), LoadKeystorePublicKey(dir_).status()}) {
    EXPECT_EQ(st.code(), ErrorCode::kFailedPrecondition) << st.ToString();
    EXPECT_NE(st.message().find("open to other users (mode 0644)"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("chmod 600"), std::string::npos);
  }
  ASSERT_EQ(chmod(KeystorePath(dir_).c_str(), 0600), 0);
  EXPECT_TRUE(LoadKeystore(dir_).ok());
}

TEST_F(KeystoreTest, AKeystoreThatCannotBeLookedAtIsAnErrorNotNoDms) {
  // The state "directory" is a file: the keystore cannot be looked at (ENOTDIR).
  std::string state = dir_ + "/not-a-dir";
  FILE* f = fopen(state.c_str(), "w");
  fclose(f);
  EXPECT_TRUE(KeystoreExists(state));
  auto keys = LoadKeystoreIfSet(state);
  ASSERT_FALSE(keys.ok()) << "read as no DMS";
  EXPECT_NE(keys.status().message().find("keystore.json"), std::string::npos) << keys.status().message();
  // A directory in its place, or a symlink, is not a keystore either.
  std::string other = dir_ + "/other";
  ASSERT_EQ(mkdir(other.c_str(), 0700), 0);
  ASSERT_EQ(mkdir(KeystorePath(other).c_str(), 0700), 0);
  EXPECT_NE(LoadKeystoreIfSet(other).status().message().find("not a regular file"), std::string::npos);
}

TEST_F(KeystoreTest, ThePublicKeyAloneIsTheDomainsPublicKey) {
  EXPECT_FALSE(LoadKeystorePublicKey(dir_)->has_value());
  auto created = CreateKeystore(dir_, Secret("correct horse"), Secret("correct horse"), kTestKdf);
  ASSERT_TRUE(created.ok());
  auto pk = LoadKeystorePublicKey(dir_);
  ASSERT_TRUE(pk.ok() && pk->has_value()) << pk.status().ToString();
  EXPECT_EQ(**pk, created->public_key);
}

}  // namespace
}  // namespace keepsake::crypto
