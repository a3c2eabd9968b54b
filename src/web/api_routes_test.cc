// The routes' handlers called directly (no socket, no TLS), over a real engine on a small
// appliance state, real account and token stores in a temporary directory.
#include "web/api_routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "service/engine_test_env.h"

namespace keepsake::web {
namespace {

using service::testing::EngineTestEnv;
using ::testing::HasSubstr;

const Route& Find(const std::string& method, const std::string& path) {
  for (const Route& r : ApiRoutes()) {
    if (r.method == method && r.path == path) return r;
  }
  ADD_FAILURE() << "no route " << method << " " << path;
  static const Route none{};
  return none;
}

TEST(ApiRoutesTableTest, EveryRouteIsUniqueAndOnlyHealthAndLoginArePublic) {
  std::set<std::string> seen;
  for (const Route& r : ApiRoutes()) {
    EXPECT_TRUE(seen.insert(r.method + " " + r.path).second) << r.method << " " << r.path;
    bool expected_public = r.path == "/api/v1/health" || r.path == "/oauth/token";
    EXPECT_EQ(r.access == Access::kPublic, expected_public) << r.method << " " << r.path;
  }
  std::vector<std::string> params;
  EXPECT_TRUE(MatchPath("/api/v1/users/{name}", "/api/v1/users/ann%20b", params));
  EXPECT_EQ(params, std::vector<std::string>{"ann b"});
  EXPECT_FALSE(MatchPath("/api/v1/users/{name}", "/api/v1/users/", params));
  EXPECT_FALSE(MatchPath("/api/v1/users/{name}", "/api/v1/users/a/b", params));
  EXPECT_FALSE(MatchPath("/api/v1/users/{name}", "/api/v1/users/..%2Fetc", params));
  EXPECT_FALSE(MatchPath("/api/v1/users/{name}", "/api/v1/users/a%00", params));
  EXPECT_FALSE(MatchPath("/api/v1/users", "/api/v1/users/", params));
  EXPECT_TRUE(MatchPath("/api/v1/users", "/api/v1/users", params));
  EXPECT_TRUE(params.empty());
}

class ApiRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = env_.Open();
    auto accounts = auth::AccountStore::Open(env_.root(), env_.state_dir(),
                                             {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN});
    ASSERT_TRUE(accounts.ok()) << accounts.status().ToString();
    accounts_ = std::move(accounts).value();
    auto db = state::StateDb::Open(env_.state_dir() + "/state.db");
    ASSERT_TRUE(db.ok());
    db_ = std::move(db).value();
    tokens_ = std::make_unique<auth::TokenStore>(*db_);
    ctx_ = std::make_unique<ApiContext>(
        ApiContext{*service_, *accounts_, *tokens_, throttle_, env_.audit(), env_.clock(), true, nullptr});
  }

  // Calls the handler of `method path` as the API server would, for a signed-in admin (or
  // the OTP User).
  Result<ApiResponse> Call(const std::string& method, const std::string& path, nlohmann::json body = nullptr,
                           bool otp = false, std::multimap<std::string, std::string> params = {}) {
    http_ = HttpRequest();
    http_.method = method;
    http_.remote_addr = "192.0.2.7";
    http_.query = std::move(params);
    ApiRequest req{http_,
                   std::move(body),
                   {},
                   state::Actor{otp ? "otp-admin" : "admin", "192.0.2.7"},
                   Caller{otp ? "otp-admin" : "admin", otp, false, "token"}};
    return Find(method, path).handler(*ctx_, req);
  }

  EngineTestEnv env_;
  std::unique_ptr<service::BackupService> service_;
  std::unique_ptr<auth::AccountStore> accounts_;
  std::unique_ptr<state::StateDb> db_;
  std::unique_ptr<auth::TokenStore> tokens_;
  auth::LoginThrottle throttle_;
  std::unique_ptr<ApiContext> ctx_;
  HttpRequest http_;
};

TEST_F(ApiRoutesTest, StatusOfAFreshApplianceIsNotRunningWithReasons) {
  auto res = Call("GET", "/api/v1/status");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body["state"], "NOT RUNNING");
  EXPECT_EQ(res->body["schedule_disabled"], true);
  EXPECT_FALSE(res->body["backup_blockers"].empty());
}

TEST_F(ApiRoutesTest, TheOtpUserIsRefusedByTheEngine) {
  EngineTestEnv::MakeReady(*service_);
  env_.ConfigureStorage(*service_);
  auto res = Call("POST", "/api/v1/backups", nullptr, /*otp=*/true);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(res.status().message(), HasSubstr("Initial OTP User"));
}

TEST_F(ApiRoutesTest, ABackupStartsAndItsJobIsInTheHistoryWithIsoTimes) {
  EngineTestEnv::MakeReady(*service_);
  env_.ConfigureStorage(*service_);
  auto res = Call("POST", "/api/v1/backups");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 202);
  EXPECT_EQ(res->body["job"]["started_at"], "2026-11-26T09:00:00Z");
  for (int i = 0; i < 3000 && service_->GetStatus().state != service::ServiceState::kIdle; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto jobs = Call("GET", "/api/v1/jobs", nullptr, false, {{"limit", "5"}});
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->body["jobs"].size(), 1u);
  EXPECT_EQ(jobs->body["jobs"][0]["result"], "succeeded");
  auto list = Call("GET", "/api/v1/backups");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->body["backups"][0]["details"]["domain_check"], "this appliance's domain");
}

TEST_F(ApiRoutesTest, BadRequestsNameTheProblem) {
  auto unknown = Call("POST", "/api/v1/backups", {{"when", "now"}});
  EXPECT_EQ(unknown.status().message(), "request body: unknown field \"when\"");
  auto limit = Call("GET", "/api/v1/jobs", nullptr, false, {{"limit", "0"}});
  EXPECT_EQ(limit.status().message(), "limit \"0\": expected a number from 1 to 1000");
  auto restore = Call("POST", "/api/v1/restore", {{"file", "../etc/passwd"}});
  EXPECT_EQ(restore.status().code(), ErrorCode::kInvalidArgument);
  auto browse = Call("GET", "/api/v1/storage/browse", nullptr, false, {{"url", "file:///srv"}, {"path", "../x"}});
  EXPECT_EQ(browse.status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(ApiRoutesTest, UseThisLocationSavesOnlyAWritableStorage) {
  auto res = Call("PUT", "/api/v1/storage", {{"url", "file:///srv/backups"}});
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->body["message"], "Successfully updated backup storage configuration.");
  env_.store().set_read_only(true);
  auto refused = Call("PUT", "/api/v1/storage", {{"url", "file:///srv/other"}});
  EXPECT_EQ(refused.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(), "file:///srv/other: the location is not writable");
  EXPECT_EQ(service_->settings().storage.url(), "file:///srv/backups");
}

TEST_F(ApiRoutesTest, TheStorageBrowserListsAndInforms) {
  env_.store().PutRaw("2026/nightly_ca-01_20260101T000000Z.ksb", "not really a backup");
  env_.store().PutRaw("notes.txt", "x");
  auto res = Call("GET", "/api/v1/storage/browse", nullptr, false, {{"url", "file:///srv"}});
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_TRUE(res->body["parent"].is_null());
  EXPECT_EQ(res->body["entries"][0]["name"], "2026");
  EXPECT_EQ(res->body["entries"][0]["type"], "directory");
  EXPECT_EQ(res->body["entries"][1]["name"], "notes.txt");
  auto down = Call("GET", "/api/v1/storage/browse", nullptr, false, {{"url", "file:///srv"}, {"path", "2026"}});
  ASSERT_TRUE(down.ok()) << down.status().ToString();
  EXPECT_EQ(down->body["parent"], "");
  EXPECT_EQ(down->body["entries"][0]["backup"], true);
  auto details = Call("GET", "/api/v1/storage/details", nullptr, false,
                      {{"url", "file:///srv"}, {"path", "2026/nightly_ca-01_20260101T000000Z.ksb"}});
  EXPECT_EQ(details.status().code(), ErrorCode::kCorruption) << "a file that only looks like a backup";
  EXPECT_EQ(res->body["info"]["permission"], "read/write");
}

}  // namespace
}  // namespace keepsake::web
