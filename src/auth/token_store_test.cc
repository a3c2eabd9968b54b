#include "auth/token_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "base/encoding.h"
#include "base/sha256.h"

namespace keepsake::auth {
namespace {

constexpr int64_t kNow = 1'700'000'000;

// What the table should hold for `token`: its SHA-256 in hex.
std::string HashOfForTest(std::string_view token) {
  return ToHex(Sha256::Of({reinterpret_cast<const uint8_t*>(token.data()), token.size()}));
}

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ks_tokens_XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto db = state::StateDb::Open(dir_ + "/state.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    tokens_ = std::make_unique<TokenStore>(*db_, TokenLifetimes{900, 8 * 3600});
  }
  void TearDown() override {
    tokens_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  TokenPair Login(std::string_view user, int64_t now = kNow) {
    auto pair = tokens_->Issue(user, now);
    EXPECT_TRUE(pair.ok()) << pair.status().ToString();
    return pair.ok() ? *pair : TokenPair{};
  }
  bool Valid(const std::string& access, int64_t now = kNow) { return tokens_->Validate(access, now).ok(); }
  void ExpectInvalid(const Status& st) {
    EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << st.ToString();
    EXPECT_EQ(st.message(), "invalid or expired token");
  }
  std::vector<std::vector<std::string>> Rows() {
    std::vector<std::vector<std::string>> rows;
    EXPECT_TRUE(db_->Query("SELECT hash, username, kind, expires_at, revoked, family FROM tokens", {},
                           [&](const auto& r) { rows.push_back(r); })
                    .ok());
    return rows;
  }
  std::string FileBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::string dir_;
  std::unique_ptr<state::StateDb> db_;
  std::unique_ptr<TokenStore> tokens_;
};

TEST_F(TokenStoreTest, IssuedAccessTokenValidates) {
  TokenPair pair = Login("alice");
  EXPECT_EQ(pair.access_token.size(), 43u);
  EXPECT_EQ(pair.refresh_token.size(), 43u);
  EXPECT_NE(pair.access_token, pair.refresh_token);
  EXPECT_EQ(pair.access_token.find_first_of("+/="), std::string::npos);
  EXPECT_EQ(pair.expires_in, 900);
  auto session = tokens_->Validate(pair.access_token, kNow + 10);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_EQ(session->username, "alice");
  EXPECT_EQ(session->expires_at, kNow + 900);
  EXPECT_FALSE(session->family.empty());
}

TEST_F(TokenStoreTest, EachLoginGetsItsOwnTokensAndFamily) {
  TokenPair a = Login("alice"), b = Login("alice");
  EXPECT_NE(a.access_token, b.access_token);
  EXPECT_NE(tokens_->Validate(a.access_token, kNow)->family, tokens_->Validate(b.access_token, kNow)->family);
}

TEST_F(TokenStoreTest, AccessTokenExpires) {
  TokenPair pair = Login("alice");
  EXPECT_TRUE(Valid(pair.access_token, kNow + 899));
  ExpectInvalid(tokens_->Validate(pair.access_token, kNow + 900).status());
}

TEST_F(TokenStoreTest, OnlyAccessTokensValidate) {
  TokenPair pair = Login("alice");
  ExpectInvalid(tokens_->Validate(pair.refresh_token, kNow).status());
  ExpectInvalid(tokens_->Validate("", kNow).status());
  ExpectInvalid(tokens_->Validate(std::string(43, 'A'), kNow).status());
  ExpectInvalid(tokens_->Validate(pair.access_token + "A", kNow).status());
  ExpectInvalid(tokens_->Validate(HashOfForTest(pair.access_token), kNow).status());
}

TEST_F(TokenStoreTest, RefreshRotatesTheRefreshToken) {
  TokenPair first = Login("alice");
  auto second = tokens_->Refresh(first.refresh_token, kNow + 1000);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_NE(second->access_token, first.access_token);
  EXPECT_NE(second->refresh_token, first.refresh_token);
  EXPECT_EQ(second->expires_in, 900);
  auto session = tokens_->Validate(second->access_token, kNow + 1000);
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->username, "alice");
  EXPECT_EQ(session->family, tokens_->Validate(first.access_token, kNow)->family);
  EXPECT_TRUE(tokens_->Refresh(second->refresh_token, kNow + 2000).ok());
}

TEST_F(TokenStoreTest, AccessTokensCannotRefresh) {
  TokenPair pair = Login("alice");
  ExpectInvalid(tokens_->Refresh(pair.access_token, kNow).status());
  EXPECT_TRUE(Valid(pair.access_token));  // a failed attempt is no reuse
}

TEST_F(TokenStoreTest, ReusedRefreshTokenRevokesTheWholeFamily) {
  TokenPair first = Login("alice");
  TokenPair other = Login("alice");
  auto second = tokens_->Refresh(first.refresh_token, kNow + 100);
  ASSERT_TRUE(second.ok());
  // Someone presents the rotated-out token again: a copy exists, the session ends.
  ExpectInvalid(tokens_->Refresh(first.refresh_token, kNow + 200).status());
  ExpectInvalid(tokens_->Validate(second->access_token, kNow + 200).status());
  ExpectInvalid(tokens_->Refresh(second->refresh_token, kNow + 200).status());
  EXPECT_TRUE(Valid(other.access_token, kNow + 200));
}

TEST_F(TokenStoreTest, ConcurrentRefreshesWithOneTokenYieldOnePair) {
  TokenPair pair = Login("alice");
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (tokens_->Refresh(pair.refresh_token, kNow + 10).ok()) ++succeeded;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 1);
}

TEST_F(TokenStoreTest, SessionEndsAtTheRefreshLifetimeFromLogin) {
  TokenPair pair = Login("alice");
  auto late = tokens_->Refresh(pair.refresh_token, kNow + 8 * 3600 - 100);
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(late->expires_in, 100);
  ExpectInvalid(tokens_->Refresh(late->refresh_token, kNow + 8 * 3600).status());
}

TEST_F(TokenStoreTest, RevokeLogsTheFamilyOut) {
  TokenPair pair = Login("alice");
  TokenPair other = Login("alice");
  ASSERT_TRUE(tokens_->Revoke(pair.access_token).ok());
  ExpectInvalid(tokens_->Validate(pair.access_token, kNow).status());
  ExpectInvalid(tokens_->Refresh(pair.refresh_token, kNow).status());
  EXPECT_TRUE(Valid(other.access_token));
  EXPECT_TRUE(tokens_->Revoke(pair.access_token).ok());  // twice is fine
  EXPECT_TRUE(tokens_->Revoke("not a token").ok());
}

TEST_F(TokenStoreTest, RevokeUserEndsEverySessionOfThatUser) {
  TokenPair a1 = Login("alice"), a2 = Login("alice"), b = Login("bob");
  ASSERT_TRUE(tokens_->RevokeUser("ALICE").ok());
  ExpectInvalid(tokens_->Validate(a1.access_token, kNow).status());
  ExpectInvalid(tokens_->Validate(a2.access_token, kNow).status());
  ExpectInvalid(tokens_->Refresh(a2.refresh_token, kNow).status());
  EXPECT_TRUE(Valid(b.access_token));
}

TEST_F(TokenStoreTest, PurgeExpiredDeletesOnlyExpiredRows) {
  Login("alice", kNow);
  TokenPair later = Login("bob", kNow + 1000);
  ASSERT_EQ(Rows().size(), 4u);
  ASSERT_TRUE(tokens_->PurgeExpired(kNow + 900).ok());
  EXPECT_EQ(Rows().size(), 3u);  // alice's access token went
  EXPECT_TRUE(Valid(later.access_token, kNow + 1000));
  ASSERT_TRUE(tokens_->PurgeExpired(kNow + 8 * 3600).ok());
  EXPECT_EQ(Rows().size(), 1u);  // bob's refresh token is left
  EXPECT_TRUE(tokens_->Refresh(later.refresh_token, kNow + 8 * 3600).ok());
}

TEST_F(TokenStoreTest, DatabaseNeverHoldsARawToken) {
  TokenPair pair = Login("alice");
  auto refreshed = tokens_->Refresh(pair.refresh_token, kNow + 1);
  ASSERT_TRUE(refreshed.ok());
  std::vector<std::string> issued = {pair.access_token, pair.refresh_token, refreshed->access_token,
                                     refreshed->refresh_token};
  auto rows = Rows();
  ASSERT_EQ(rows.size(), 4u);
  std::set<std::string> hashes;
  for (const auto& row : rows) {
    hashes.insert(row[0]);
    for (const auto& value : row) {
      for (const auto& token : issued) EXPECT_EQ(value.find(token), std::string::npos) << value;
    }
  }
  for (const auto& token : issued) EXPECT_EQ(hashes.count(HashOfForTest(token)), 1u);
  // Nor do the files, journal included.
  for (const char* name : {"/state.db", "/state.db-wal"}) {
    std::string bytes = FileBytes(dir_ + name);
    for (const auto& token : issued) EXPECT_EQ(bytes.find(token), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace keepsake::auth
