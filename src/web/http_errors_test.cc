#include "web/http_errors.h"

#include <gtest/gtest.h>

namespace keepsake::web {
namespace {

struct CodeCase {
  ErrorCode code;
  int http;
  const char* api;
};

// Every ErrorCode, in declaration order: a new code must be added here, and the last entry
// guards that the table reaches the end of the enum.
constexpr CodeCase kCases[] = {
    {ErrorCode::kOk, 200, "ok"},
    {ErrorCode::kInvalidArgument, 400, "invalid_argument"},
    {ErrorCode::kNotFound, 404, "not_found"},
    {ErrorCode::kAlreadyExists, 409, "already_exists"},
    {ErrorCode::kPermissionDenied, 403, "permission_denied"},
    {ErrorCode::kUnauthenticated, 403, "unauthenticated"},  // wrong DMS: not a login problem
    {ErrorCode::kNoSpace, 507, "no_space"},
    {ErrorCode::kUnavailable, 503, "unavailable"},
    {ErrorCode::kCorruption, 422, "corruption"},
    {ErrorCode::kFailedPrecondition, 409, "failed_precondition"},
    {ErrorCode::kCancelled, 409, "cancelled"},
    {ErrorCode::kNotSupported, 422, "not_supported"},
    {ErrorCode::kIoError, 500, "io_error"},
    {ErrorCode::kInternal, 500, "internal"},
};

class HttpErrorsTest : public ::testing::TestWithParam<CodeCase> {};

TEST_P(HttpErrorsTest, HttpStatusForMapsCode) {
  EXPECT_EQ(HttpStatusFor(GetParam().code), GetParam().http) << ErrorCodeName(GetParam().code);
}

TEST_P(HttpErrorsTest, ApiErrorCodeIsLowerCaseName) { EXPECT_EQ(ApiErrorCode(GetParam().code), GetParam().api); }

INSTANTIATE_TEST_SUITE_P(HttpErrors, HttpErrorsTest, ::testing::ValuesIn(kCases),
                         [](const auto& p) { return std::string(p.param.api); });

TEST(HttpErrorsTableTest, CoversEveryErrorCodeInOrder) {
  for (size_t i = 0; i < std::size(kCases); ++i) EXPECT_EQ(static_cast<size_t>(kCases[i].code), i);
  EXPECT_EQ(std::size(kCases) - 1, static_cast<size_t>(ErrorCode::kInternal));
}

TEST(HttpErrorsBodyTest, ErrorBodyHasCodeAndMessageUnderError) {
  nlohmann::json body = ErrorBody("not_found", "file:///srv/a.ksb: No such file");
  EXPECT_EQ(body,
            nlohmann::json::parse(R"({"error":{"code":"not_found","message":"file:///srv/a.ksb: No such file"}})"));
}

TEST(HttpErrorsBodyTest, ErrorBodyOfStatusUsesApiCodeAndVerbatimMessage) {
  nlohmann::json body = ErrorBody(Status::NoSpace("Insufficient storage space: 5.0 GiB needed"));
  ASSERT_EQ(body.size(), 1u);
  ASSERT_EQ(body.at("error").size(), 2u);
  EXPECT_EQ(body["error"]["code"], "no_space");
  EXPECT_EQ(body["error"]["message"], "Insufficient storage space: 5.0 GiB needed");
}

}  // namespace
}  // namespace keepsake::web
