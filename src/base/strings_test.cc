#include "base/strings.h"

#include <gtest/gtest.h>

#include "base/utc_time.h"
#include "base/utf8.h"

namespace keepsake {
namespace {

TEST(StringsTest, CaseFoldingIsAsciiOnly) {
  EXPECT_EQ(Lower("Admin-01"), "admin-01");
  EXPECT_TRUE(EqualsIgnoreCase("ALICE", "alice"));
  EXPECT_FALSE(EqualsIgnoreCase("alice", "alic"));
  EXPECT_EQ(Lower("\xC3\x84"), "\xC3\x84");  // Ä untouched
}

TEST(StringsTest, PrintableReplacesControlBytesAndBounds) {
  EXPECT_EQ(Printable("a\x1b[2Jb\n\x7f"), "a?[2Jb??");
  EXPECT_EQ(Printable("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(Printable("caf\xC3\xA9", std::string::npos, true), "caf??");
  EXPECT_EQ(Printable("abcdef", 3), "abc");
  // C1 controls (CSI U+009B, NEL U+0085) and what is not strict UTF-8 (an overlong '/', a
  // surrogate, a stray continuation byte) are replaced too, byte for byte.
  EXPECT_EQ(Printable("csi\xc2\x9b"
                      "2J nel\xc2\x85"),
            "csi??2J nel??");
  EXPECT_EQ(Printable("\xc0\xaf \xed\xa0\x80 \x80"), "?? ??? ?");
}

TEST(Utf8Test, ScanIsStrictAndFindsControls) {
  auto ok = ScanUtf8("caf\xC3\xA9 \xe2\x82\xac \xf0\x9f\x94\x91");  // é € 🔑
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->code_points, 8u);
  EXPECT_FALSE(ok->has_control);
  for (std::string bad : {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3", "\x80"}) {
    EXPECT_FALSE(ScanUtf8(bad).has_value()) << bad.size();
  }
  EXPECT_TRUE(ScanUtf8("next\xc2\x85line")->has_control);
  EXPECT_TRUE(ScanUtf8("tab\t")->has_control);
}

TEST(StringsTest, ControlCharactersAreC0DelAndC1) {
  EXPECT_FALSE(HasControlCharacter("plain text, \xc3\xa9t\xc3\xa9 \xe2\x82\xac"));  // é, €
  EXPECT_TRUE(HasControlCharacter("\x1b[2J"));
  EXPECT_TRUE(HasControlCharacter("tab\there"));
  EXPECT_TRUE(HasControlCharacter(std::string("nul\0", 4)));
  EXPECT_TRUE(HasControlCharacter("del\x7f"));
  EXPECT_TRUE(HasControlCharacter("csi \xc2\x9b"));    // U+009B, C1 CSI
  EXPECT_FALSE(HasControlCharacter("nbsp \xc2\xa0"));  // U+00A0 is text
}

TEST(StringsTest, HumanBytesUsesBinaryUnits) {
  EXPECT_EQ(HumanBytes(0), "0 bytes");
  EXPECT_EQ(HumanBytes(1023), "1023 bytes");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(uint64_t{3} << 30), "3.0 GiB");
}

TEST(UtcTimeTest, ParseIsTheExactInverseOfFormat) {
  auto t = ParseUtc("2026-11-26T04:12:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatUtc(*t), "2026-11-26T04:12:00Z");
  for (const char* bad :
       {"2026-02-30T00:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26t04:12:00Z", "2026-11-26T04:12:00+00:00",
        "-100-01-01T00:00:00Z", "0999-01-01T00:00:00Z", "2026-11-26T04:12:00.5Z", ""}) {
    EXPECT_FALSE(ParseUtc(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace keepsake
