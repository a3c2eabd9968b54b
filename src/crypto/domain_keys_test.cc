#include "crypto/domain_keys.h"

#include <gtest/gtest.h>

namespace keepsake::crypto {
namespace {

// Cheap Argon2id parameters: the same code path as production, smaller cost.
const KdfParams kTestKdf{1, 8};

SecureBuffer Secret(std::string_view s) {
  return SecureBuffer::CopyOf(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

TEST(DomainKeysTest, SameSecretAndSaltGiveSameKeys) {
  Salt salt{};
  salt[0] = 7;
  auto a = DeriveDomainKeys(Secret("correct horse"), salt, kTestKdf);
  auto b = DeriveDomainKeys(Secret("correct horse"), salt, kTestKdf);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->public_key, b->public_key);
  EXPECT_EQ(a->kek.view(), b->kek.view());
}

TEST(DomainKeysTest, OtherSaltOrSecretGivesOtherDomain) {
  Salt salt{}, other_salt{};
  other_salt[0] = 1;
  auto a = DeriveDomainKeys(Secret("correct horse"), salt, kTestKdf);
  auto b = DeriveDomainKeys(Secret("correct horse"), other_salt, kTestKdf);
  auto c = DeriveDomainKeys(Secret("correct horsf"), salt, kTestKdf);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_NE(a->public_key, b->public_key);
  EXPECT_NE(a->public_key, c->public_key);
  EXPECT_NE(a->kek.view(), a->secret_key.view().substr(0, 32));  // sub-keys are independent
}

TEST(DomainKeysTest, FingerprintIsGroupedHex) {
  PublicKey pk{};
  std::string fp = DomainFingerprint(pk);
  EXPECT_EQ(fp.size(), 39u);  // 8 groups of 4 hex digits
  EXPECT_EQ(fp[4], ':');
}

TEST(DomainKeysTest, DmsRulesNameTheBrokenRule) {
  EXPECT_TRUE(ValidateNewDms(Secret("12345678"), Secret("12345678")).ok());
  Status short_one = ValidateNewDms(Secret("1234567"), Secret("1234567"));
  EXPECT_EQ(short_one.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(short_one.message().find("at least 8 characters"), std::string::npos);
  // Eight characters, but of more than one byte each: counted as characters.
  EXPECT_TRUE(ValidateNewDms(Secret("ééééééé€"), Secret("ééééééé€")).ok());
  EXPECT_FALSE(ValidateNewDms(Secret("éééé"), Secret("éééé")).ok());  // 8 bytes, 4 characters
  Status mismatch = ValidateNewDms(Secret("12345678"), Secret("12345679"));
  EXPECT_NE(mismatch.message().find("do not match"), std::string::npos);
  EXPECT_FALSE(ValidateNewDms(Secret("1234\n5678"), Secret("1234\n5678")).ok());
  EXPECT_FALSE(
      ValidateNewDms(Secret("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"), Secret("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8")).ok());
}

TEST(DomainKeysTest, KdfParametersFromFilesAreBounded) {
  EXPECT_TRUE(ValidateKdfParams(kTestKdf).ok());
  EXPECT_TRUE(ValidateKdfParams(KdfParams{}).ok());
  EXPECT_FALSE(ValidateKdfParams({0, 8}).ok());
  EXPECT_FALSE(ValidateKdfParams({1, 4}).ok());
  EXPECT_FALSE(ValidateKdfParams({1, 8ull << 30}).ok());
  EXPECT_FALSE(ValidateKdfParams({1000, 8}).ok());
}

}  // namespace
}  // namespace keepsake::crypto
