// Who is calling: tokens, cookies with their CSRF token, and the moment a restore swaps the
// accounts' directory (reproduced in the browser test: a session checked between the two
// renames of the swap ended with 401 although its account came back a millisecond later).
#include "web/session_gate.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <filesystem>

#include "base/clock.h"
#include "base/test_temp_dir.h"
#include "state/state_db.h"

namespace keepsake::web {
namespace {

namespace fs = std::filesystem;

SecureBuffer Text(std::string_view s) {
  return SecureBuffer::CopyOf(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

class SessionGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(tmp_.path() + "/appliance");
    fs::create_directories(tmp_.path() + "/state");
    auto accounts = auth::AccountStore::Open(tmp_.path() + "/appliance", tmp_.path() + "/state",
                                             {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN});
    ASSERT_TRUE(accounts.ok()) << accounts.status().ToString();
    accounts_ = std::move(accounts).value();
    ASSERT_TRUE(accounts_->Add("admin", Text("correct horse battery"), Text("correct horse battery"), Now()).ok());
    auto db = state::StateDb::Open(tmp_.path() + "/state/state.db");
    ASSERT_TRUE(db.ok());
    db_ = std::move(db).value();
    tokens_ = std::make_unique<auth::TokenStore>(*db_);
    auto pair = tokens_->Issue("admin", Now());
    ASSERT_TRUE(pair.ok());
    token_ = pair->access_token;
  }
  int64_t Now() const { return clock_.Now().time_since_epoch().count(); }

  HttpRequest Bearer(const std::string& method = "GET") {
    HttpRequest req;
    req.method = method;
    req.headers = {{"authorization", "Bearer " + token_}};
    return req;
  }

  TestTempDir tmp_{"session_gate"};
  ManualClock clock_{date::sys_seconds(std::chrono::seconds(1'800'000'000))};
  std::unique_ptr<auth::AccountStore> accounts_;
  std::unique_ptr<state::StateDb> db_;
  std::unique_ptr<auth::TokenStore> tokens_;
  std::string token_;
};

TEST_F(SessionGateTest, ABearerTokenOfAnExistingAccountIsTheCaller) {
  SessionGate gate(*tokens_, *accounts_, clock_);
  auto caller = gate.Check(Bearer());
  ASSERT_TRUE(caller.ok()) << caller.status().ToString();
  EXPECT_EQ(caller->username, "admin");
  EXPECT_FALSE(caller->via_cookie);
  EXPECT_EQ(gate.Check(HttpRequest()).status().code(), ErrorCode::kUnauthenticated);
}

TEST_F(SessionGateTest, ACookieSessionNeedsItsCsrfTokenToChangeState) {
  SessionGate gate(*tokens_, *accounts_, clock_);
  HttpRequest req;
  req.method = "POST";
  req.headers = {{"cookie", std::string(kSessionCookie) + "=" + token_}};
  EXPECT_EQ(gate.Check(req).status().code(), ErrorCode::kPermissionDenied);
  req.headers.emplace_back("x-csrf-token", CsrfTokenFor(token_));
  EXPECT_TRUE(gate.Check(req).ok());
  req.method = "GET";
  req.headers.pop_back();
  EXPECT_TRUE(gate.Check(req).ok()) << "reading needs no CSRF token";
}

TEST_F(SessionGateTest, AnAccountMissingWhileARestoreSwapsTheAccountsIsUnavailableNotALogout) {
  std::atomic<bool> restoring = false;
  SessionGate gate(*tokens_, *accounts_, clock_, [&] { return restoring.load(); });
  // The swap's first rename: the accounts' directory has been moved out, the new one not in.
  fs::path accounts_dir = fs::path(accounts_->users_path()).parent_path();
  fs::rename(accounts_dir, tmp_.path() + "/moved-out");
  restoring = true;
  Status st = gate.Check(Bearer()).status();
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("try again"), std::string::npos);
  // The second rename: the account is back, and so is the session.
  fs::rename(tmp_.path() + "/moved-out", accounts_dir);
  EXPECT_TRUE(gate.Check(Bearer()).ok());
  // No restore running: an account that is gone ends its sessions.
  restoring = false;
  fs::remove_all(accounts_dir);
  EXPECT_EQ(gate.Check(Bearer()).status().code(), ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace keepsake::web
