#include "crypto/dms_text.h"

#include <gtest/gtest.h>

namespace keepsake::crypto {
namespace {

SecureBuffer Secret(std::string_view s) {
  return SecureBuffer::CopyOf(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

Status Validate(std::string_view dms) { return ValidateNewDms(Secret(dms), Secret(dms)); }

TEST(DmsTextTest, RulesNameTheBrokenRule) {
  EXPECT_TRUE(Validate("correct horse battery").ok());
  Status short_one = Validate("x9#Lq!v");
  EXPECT_EQ(short_one.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(short_one.message().find("at least 8 characters"), std::string::npos);
  // Eight characters, but of more than one byte each: counted as characters.
  EXPECT_TRUE(Validate("ζ€ωπ✓ßø¿").ok());
  EXPECT_FALSE(Validate("éééé").ok());  // 8 bytes, 4 characters
  Status mismatch = ValidateNewDms(Secret("correct horse battery"), Secret("correct horse batterx"));
  EXPECT_NE(mismatch.message().find("do not match"), std::string::npos);
  EXPECT_NE(Validate("correct\nhorse battery").message().find("control character"), std::string::npos);
  EXPECT_NE(Validate(std::string(1025, 'a')).message().find("longer than 1024 bytes"), std::string::npos);
}

TEST(DmsTextTest, MalformedUtf8IsRefused) {
  // Issue 13, finding 8 (reproduced): overlong forms, surrogates, code points above
  // U+10FFFF and NEL (U+0085) passed the old hand-written check.
  for (std::string bad : {"overlong \xc0\xaf slash in a passphrase", "overlong \xe0\x80\xaf three byte passphrase",
                          "surrogate \xed\xa0\x80 in a passphrase", "beyond \xf4\x90\x80\x80 unicode passphrase",
                          "next line \xc2\x85 in a passphrase", "truncated at the end \xe2\x82"}) {
    Status st = Validate(bad);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(st.message().find(bad), std::string::npos);  // never the secret
  }
}

TEST(DmsTextTest, NormalisesToNfc) {
  auto nfc = NormalizeDms(Secret("cafe\u0301 Ångström"));  // e + combining acute; A + ring
  ASSERT_TRUE(nfc.ok());
  EXPECT_EQ(nfc->view(), "caf\u00e9 \u00c5ngstr\u00f6m");
  // Confirmation typed in the other form matches.
  EXPECT_TRUE(ValidateNewDms(Secret("cafe\u0301 au lait chaud"), Secret("caf\u00e9 au lait chaud")).ok());
}

TEST(DmsTextTest, TheWeakestClassesAreRefusedWithTheirName) {
  for (std::string weak : {"password", "12345678", "qwertyuiop", "Password1", "aaaaaaaaaaaa", "iloveyou2026"}) {
    Status st = Validate(weak);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument) << weak;
    EXPECT_NE(st.message().find("guessable"), std::string::npos) << st.message();
  }
  DmsStrength strong = RateDms(Secret("correct horse battery staple"));
  EXPECT_TRUE(strong.acceptable);
  EXPECT_GE(strong.score, 3);
  EXPECT_EQ(RateDms(Secret("password")).words, "too guessable");
  // A word of this appliance counts against the secret.
  std::vector<std::string> context = {"keepsake", "ca-01"};
  EXPECT_LT(RateDms(Secret("keepsake-ca-01"), context).bits, RateDms(Secret("keepsake-ca-01")).bits);
}

}  // namespace
}  // namespace keepsake::crypto
