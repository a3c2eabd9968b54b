#include "crypto/keystore.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "base/file_io.h"
#include "base/test_temp_dir.h"
#include "crypto/device_certificate.h"
#include "crypto/file_key.h"

namespace keepsake::crypto {
namespace {

const KdfParams kTestKdf{1, 8};
const NewDevice kDevice{"device-1", 1796000000, false};

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
  auto created = CreateKeystore(dir_, Secret("correct horse"), Secret("correct horse"), kTestKdf, kDevice);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto loaded = LoadKeystore(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(created->public_key, loaded->public_key);
  ASSERT_TRUE(loaded->device.has_value());
  EXPECT_EQ(created->device->certificate.device_public_key, loaded->device->certificate.device_public_key);
  EXPECT_EQ(created->device->secret_key.view(), loaded->device->secret_key.view());
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
  auto first = CreateKeystore(dir_, Secret("first domain secret"), Secret("first domain secret"), kTestKdf, kDevice);
  ASSERT_TRUE(first.ok());
  auto second = CreateKeystore(dir_, Secret("second secret"), Secret("second secret"), kTestKdf, kDevice);
  EXPECT_EQ(second.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(second.status().message(), "The Domain Master Secret is already set and cannot be changed or deleted");
  auto loaded = LoadKeystore(dir_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->public_key, first->public_key);
}

TEST_F(KeystoreTest, InvalidDmsWritesNothing) {
  auto created = CreateKeystore(dir_, Secret("short"), Secret("short"), kTestKdf, kDevice);
  EXPECT_EQ(created.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(KeystoreExists(dir_));
}

TEST_F(KeystoreTest, DamagedKeystoreIsReportedAsCorruption) {
  ASSERT_TRUE(CreateKeystore(dir_, Secret("correct horse"), Secret("correct horse"), kTestKdf, kDevice).ok());
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
  ASSERT_TRUE(CreateKeystore(dir_, Secret("correct horse"), Secret("correct horse"), kTestKdf, kDevice).ok());
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
  auto created = CreateKeystore(dir_, Secret("correct horse"), Secret("correct horse"), kTestKdf, kDevice);
  ASSERT_TRUE(created.ok());
  auto pk = LoadKeystorePublicKey(dir_);
  ASSERT_TRUE(pk.ok() && pk->has_value()) << pk.status().ToString();
  EXPECT_EQ(**pk, created->public_key);
}

// Issue 13, format v2: a stolen keystore must not open or forge backups. What a new
// appliance keeps: the domain's public keys, its own certified key, nothing secret of the
// domain.
TEST_F(KeystoreTest, ANewKeystoreIsWriteOnly) {
  auto created = CreateKeystore(dir_, Secret("correct horse"), Secret("correct horse"), kTestKdf, kDevice);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto loaded = LoadKeystore(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_FALSE(loaded->has_domain_secret());
  EXPECT_TRUE(loaded->kek.empty());
  EXPECT_TRUE(loaded->box_secret_key.empty());
  EXPECT_TRUE(loaded->has_box_key());
  ASSERT_TRUE(loaded->device.has_value());
  EXPECT_EQ(loaded->device->certificate.device_id, "device-1");
  EXPECT_TRUE(CheckCertificate(loaded->public_key, loaded->device->certificate).ok());
  // The DMS derives what the keystore lacks, and it matches what it has.
  auto derived = DeriveDomainKeys(Secret("correct horse"), loaded->salt, loaded->kdf);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(derived->public_key, loaded->public_key);
  EXPECT_EQ(derived->box_public_key, loaded->box_public_key);
  auto text = ReadSmallFile(KeystorePath(dir_), 65536);
  ASSERT_TRUE(text.ok());
  const std::string kek = ToBase64(derived->kek.span());
  for (const std::string& secret : {std::string("\"kek\""), std::string("restore_key"), kek}) {
    EXPECT_EQ(text->find(secret), std::string::npos) << secret;
  }
  // A file key sealed to the domain cannot be opened with anything the keystore holds.
  SecureBuffer file_key = NewFileKey();
  std::vector<uint8_t> sealed = SealFileKey(loaded->box_public_key, file_key);
  auto opened = OpenFileKey(derived->box_public_key, derived->box_secret_key, sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->view(), file_key.view());
}

TEST_F(KeystoreTest, KeepingTheRestoreKeyStoresTheDomainsBoxKey) {
  NewDevice keeper = kDevice;
  keeper.keep_restore_key = true;
  ASSERT_TRUE(CreateKeystore(dir_, Secret("correct horse"), Secret("correct horse"), kTestKdf, keeper).ok());
  auto loaded = LoadKeystore(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto derived = DeriveDomainKeys(Secret("correct horse"), loaded->salt, loaded->kdf);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(loaded->box_secret_key.view(), derived->box_secret_key.view());
  EXPECT_FALSE(loaded->has_domain_secret()) << "the restore key opens backups; it does not sign certificates";
}

TEST_F(KeystoreTest, AForgedCertificateInTheKeystoreIsDamage) {
  ASSERT_TRUE(CreateKeystore(dir_, Secret("correct horse"), Secret("correct horse"), kTestKdf, kDevice).ok());
  auto text = ReadSmallFile(KeystorePath(dir_), 65536);
  ASSERT_TRUE(text.ok());
  auto j = nlohmann::json::parse(*text);
  j["device"]["device_id"] = "device-2";  // the certificate names device-1
  ASSERT_EQ(unlink(KeystorePath(dir_).c_str()), 0);
  ASSERT_TRUE(WriteFileAtomic(KeystorePath(dir_), j.dump(2), 0600).ok());
  auto loaded = LoadKeystore(dir_);
  EXPECT_EQ(loaded.status().code(), ErrorCode::kCorruption);
  EXPECT_NE(loaded.status().message().find("device certificate"), std::string::npos) << loaded.status().message();
}

// A keystore written before format v2 still loads, with the domain's keys themselves.
TEST_F(KeystoreTest, AVersion1KeystoreStillLoads) {
  Salt salt{};
  auto derived = DeriveDomainKeys(Secret("correct horse"), salt, kTestKdf);
  ASSERT_TRUE(derived.ok());
  nlohmann::json j = {
      {"version", 1},
      {"salt", ToHex(salt)},
      {"kdf", {{"alg", "argon2id13"}, {"opslimit", 1}, {"memlimit_kib", 8}}},
      {"public_key", ToHex(derived->public_key)},
      {"fingerprint", DomainFingerprint(derived->public_key)},
      {"signing_seed", ToBase64(std::span<const uint8_t>(derived->secret_key.data(), crypto_sign_SEEDBYTES))},
      {"kek", ToBase64(derived->kek.span())},
  };
  ASSERT_TRUE(WriteFileAtomic(KeystorePath(dir_), j.dump(2), 0600).ok());
  auto loaded = LoadKeystore(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(loaded->has_domain_secret());
  EXPECT_EQ(loaded->kek.view(), derived->kek.view());
  EXPECT_FALSE(loaded->device.has_value());
}

}  // namespace
}  // namespace keepsake::crypto
