#include "base/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace keepsake {
namespace {

TEST(StatusTest, DefaultIsOk) { EXPECT_TRUE(Status().ok()); }

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status st = Status::NotFound("gone").WithContext("/tmp/x");
  EXPECT_EQ(st.code(), ErrorCode::kNotFound);
  EXPECT_EQ(st.message(), "/tmp/x: gone");
}

TEST(StatusTest, ErrnoMapsToCodes) {
  EXPECT_EQ(StatusFromErrno(ENOENT, "f").code(), ErrorCode::kNotFound);
  EXPECT_EQ(StatusFromErrno(EROFS, "f").code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(StatusFromErrno(ENOSPC, "f").code(), ErrorCode::kNoSpace);
  EXPECT_EQ(StatusFromErrno(ESTALE, "f").code(), ErrorCode::kUnavailable);
  EXPECT_EQ(StatusFromErrno(EIO, "f").code(), ErrorCode::kIoError);
}

Result<int> Half(int v) {
  if (v % 2 != 0) return Status::InvalidArgument("odd");
  return v / 2;
}

Status Quarter(int v, int& out) {
  ASSIGN_OR_RETURN(int h, Half(v));
  ASSIGN_OR_RETURN(out, Half(h));
  return Status();
}

TEST(StatusTest, AssignOrReturnPropagatesFirstError) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, out).ok());
  EXPECT_EQ(out, 2);
  EXPECT_EQ(Quarter(6, out).code(), ErrorCode::kInvalidArgument);
}

TEST(StatusTest, ErrorCodeFromNameRoundTripsEveryCode) {
  for (int c = 0; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
    ErrorCode code = static_cast<ErrorCode>(c);
    EXPECT_EQ(ErrorCodeFromName(ErrorCodeName(code)), code) << ErrorCodeName(code);
  }
}

TEST(StatusTest, ErrorCodeFromNameIgnoresCase) {
  EXPECT_EQ(ErrorCodeFromName("not_found"), ErrorCode::kNotFound);
  EXPECT_EQ(ErrorCodeFromName("No_Space"), ErrorCode::kNoSpace);
  EXPECT_EQ(ErrorCodeFromName("ok"), ErrorCode::kOk);
}

TEST(StatusTest, ErrorCodeFromNameOfUnknownNameIsNullopt) {
  EXPECT_EQ(ErrorCodeFromName(""), std::nullopt);
  EXPECT_EQ(ErrorCodeFromName("UNKNOWN"), std::nullopt);
  EXPECT_EQ(ErrorCodeFromName("not found"), std::nullopt);
  EXPECT_EQ(ErrorCodeFromName("NOT_FOUND "), std::nullopt);
  EXPECT_EQ(ErrorCodeFromName("NOT_FOUN"), std::nullopt);
}

}  // namespace
}  // namespace keepsake
