#include "web/request_body.h"

#include <gtest/gtest.h>

namespace keepsake::web {
namespace {

TEST(RequestBodyTest, ObjectWithOnlyKnownFields) {
  EXPECT_TRUE(RequireObject(nlohmann::json{{"a", 1}}, {"a", "b"}).ok());
  EXPECT_EQ(RequireObject(nlohmann::json::array(), {"a"}).message(), "request body: expected a JSON object");
  EXPECT_EQ(RequireObject(nlohmann::json{{"c", 1}}, {"a"}).message(), "request body: unknown field \"c\"");
}

TEST(RequestBodyTest, StringListIsBounded) {
  EXPECT_TRUE(StringList(nlohmann::json::object(), "keep")->empty());
  auto ok = StringList(nlohmann::json{{"keep", {"network", "config"}}}, "keep");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_FALSE(StringList(nlohmann::json{{"keep", {"a", 1}}}, "keep").ok());
  EXPECT_FALSE(StringList(nlohmann::json{{"keep", std::vector<std::string>(65, "x")}}, "keep").ok());
}

TEST(RequestBodyTest, FieldReadsJsonOrAForm) {
  EXPECT_EQ(Field(nlohmann::json{{"username", "alice"}}, "", "username"), "alice");
  EXPECT_EQ(Field(nlohmann::json{{"username", 5}}, "", "username"), std::nullopt);
  const std::string form = "grant_type=password&username=al%69ce&password=a+b%26c&empty=";
  EXPECT_EQ(Field(nullptr, form, "username"), "alice");
  EXPECT_EQ(Field(nullptr, form, "password"), "a b&c");
  EXPECT_EQ(Field(nullptr, form, "empty"), "");
  EXPECT_EQ(Field(nullptr, form, "missing"), std::nullopt);
  EXPECT_EQ(Field(nullptr, "x=%zz%4", "x"), "%zz%4");  // malformed escapes stay as they are
}

TEST(RequestBodyTest, SecretsAreRequiredStrings) {
  auto s = Secret(nlohmann::json{{"dms", "correct horse"}}, "dms");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 13u);
  EXPECT_EQ(Secret(nlohmann::json{{"dms", 1}}, "dms").status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace keepsake::web
