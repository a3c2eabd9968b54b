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

TEST(DomainKeysTest, KdfParametersFromFilesAreBounded) {
  EXPECT_TRUE(ValidateKdfParams(kTestKdf).ok());
  EXPECT_TRUE(ValidateKdfParams(KdfParams{}).ok());
  EXPECT_FALSE(ValidateKdfParams({0, 8}).ok());
  EXPECT_FALSE(ValidateKdfParams({1, 4}).ok());
  EXPECT_FALSE(ValidateKdfParams({1, 8ull << 30}).ok());
  EXPECT_FALSE(ValidateKdfParams({1000, 8}).ok());
}

TEST(DomainKeysTest, ANewDomainIsNeverSetBelowModerateOutsideTests) {
  // Issue 13, finding 9 (reproduced): `dms set --kdf-ops 1 --kdf-mem-kib 8` was accepted.
  Status weak = ValidateNewKdfParams(kTestKdf, /*weak_for_tests=*/false);
  EXPECT_EQ(weak.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(weak.message().find("below the minimum"), std::string::npos) << weak.message();
  EXPECT_FALSE(ValidateNewKdfParams({3, 65536}, false).ok());
  EXPECT_FALSE(ValidateNewKdfParams({2, 262144}, false).ok());
  EXPECT_TRUE(ValidateNewKdfParams(KdfParams{}, false).ok());
  EXPECT_TRUE(ValidateNewKdfParams({4, 524288}, false).ok());
  EXPECT_TRUE(ValidateNewKdfParams(kTestKdf, /*weak_for_tests=*/true).ok());
  EXPECT_FALSE(ValidateNewKdfParams({1, 8ull << 30}, true).ok());  // the bounds hold for tests too
}

TEST(DomainKeysTest, TheSameTypedSecretDerivesTheSameDomainInEitherUnicodeForm) {
  Salt salt{};
  auto composed = DeriveDomainKeys(Secret("caf\u00e9 au lait chaud"), salt, kTestKdf);     // é as U+00E9
  auto decomposed = DeriveDomainKeys(Secret("cafe\u0301 au lait chaud"), salt, kTestKdf);  // e + U+0301
  ASSERT_TRUE(composed.ok() && decomposed.ok());
  EXPECT_EQ(composed->public_key, decomposed->public_key);
}

TEST(DomainKeysTest, ADmsThatIsNotTextIsRefusedAtDerivationToo) {
  // The --dms-file of a restore or verify goes straight to the derivation: it is checked there.
  Salt salt{};
  for (std::string bad : {"overlong \xc0\xaf slash here", "surrogate \xed\xa0\x80 half", "nel \xc2\x85 control"}) {
    auto keys = DeriveDomainKeys(Secret(bad), salt, kTestKdf);
    EXPECT_EQ(keys.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace keepsake::crypto
