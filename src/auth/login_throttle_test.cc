#include "auth/login_throttle.h"

#include <gtest/gtest.h>

namespace keepsake::auth {
namespace {

constexpr int64_t kT = 1'700'000'000;

TEST(LoginThrottle, FirstThreeFailuresAreFree) {
  LoginThrottle t;
  EXPECT_EQ(t.RetryAfter("alice", "10.0.0.1", kT), std::nullopt);
  t.RecordFailure("alice", "10.0.0.1", kT);
  t.RecordFailure("alice", "10.0.0.1", kT);
  EXPECT_EQ(t.RetryAfter("alice", "10.0.0.1", kT), std::nullopt);
  t.RecordFailure("alice", "10.0.0.1", kT);
  EXPECT_EQ(t.RetryAfter("alice", "10.0.0.1", kT), 1);
}

TEST(LoginThrottle, WaitDoublesUpToFiveMinutes) {
  LoginThrottle t;
  std::vector<int64_t> waits;
  int64_t now = kT;
  for (int failure = 1; failure <= 12; ++failure) {
    t.RecordFailure("alice", "10.0.0.1", now);
    auto wait = t.RetryAfter("alice", "10.0.0.1", now);
    waits.push_back(wait.value_or(0));
    now += wait.value_or(0);  // the client waits as told
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300}));
  t.RecordFailure("alice", "10.0.0.1", now);
  EXPECT_EQ(t.RetryAfter("alice", "10.0.0.1", now), 300);
}

TEST(LoginThrottle, WaitCountsDownFromTheLastFailure) {
  LoginThrottle t;
  for (int i = 0; i < 5; ++i) t.RecordFailure("alice", "10.0.0.1", kT);  // 4 s
  EXPECT_EQ(t.RetryAfter("alice", "10.0.0.1", kT + 1), 3);
  EXPECT_EQ(t.RetryAfter("alice", "10.0.0.1", kT + 3), 1);
  EXPECT_EQ(t.RetryAfter("alice", "10.0.0.1", kT + 4), std::nullopt);
}

TEST(LoginThrottle, ClientKeyAppliesAcrossAccounts) {
  LoginThrottle t;
  for (const char* account : {"a1", "a2", "a3", "a4"}) t.RecordFailure(account, "10.0.0.1", kT);
  EXPECT_EQ(t.RetryAfter("fresh-account", "10.0.0.1", kT), 2);
  EXPECT_EQ(t.RetryAfter("fresh-account", "10.0.0.2", kT), std::nullopt);
}

TEST(LoginThrottle, AccountKeyAppliesAcrossClients) {
  LoginThrottle t;
  for (const char* client : {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}) t.RecordFailure("alice", client, kT);
  EXPECT_EQ(t.RetryAfter("alice", "10.9.9.9", kT), 2);
  EXPECT_EQ(t.RetryAfter("bob", "10.9.9.9", kT), std::nullopt);
}

TEST(LoginThrottle, AccountAndClientNamesDoNotMix) {
  LoginThrottle t;
  for (int i = 0; i < 5; ++i) t.RecordFailure("x", "y", kT);
  EXPECT_EQ(t.RetryAfter("y", "x", kT), std::nullopt);
}

TEST(LoginThrottle, TheLongerOfTheTwoWaitsApplies) {
  LoginThrottle t;
  for (int i = 0; i < 6; ++i) t.RecordFailure("alice", "10.0.0." + std::to_string(i), kT);  // alice: 8 s
  for (int i = 0; i < 4; ++i) t.RecordFailure("u" + std::to_string(i), "10.0.0.9", kT);     // client: 2 s
  EXPECT_EQ(t.RetryAfter("alice", "10.0.0.9", kT), 8);
  EXPECT_EQ(t.RetryAfter("bob", "10.0.0.9", kT), 2);
}

TEST(LoginThrottle, SuccessResetsBothKeys) {
  LoginThrottle t;
  for (int i = 0; i < 6; ++i) t.RecordFailure("alice", "10.0.0.1", kT);
  ASSERT_TRUE(t.RetryAfter("alice", "10.0.0.1", kT).has_value());
  t.RecordSuccess("alice", "10.0.0.1");
  EXPECT_EQ(t.RetryAfter("alice", "10.0.0.1", kT), std::nullopt);
  EXPECT_EQ(t.RetryAfter("bob", "10.0.0.1", kT), std::nullopt);
  EXPECT_EQ(t.size(), 0u);
  // The count starts over: three free failures again.
  for (int i = 0; i < 2; ++i) t.RecordFailure("alice", "10.0.0.1", kT);
  EXPECT_EQ(t.RetryAfter("alice", "10.0.0.1", kT), std::nullopt);
}

TEST(LoginThrottle, IdleEntriesAreForgotten) {
  LoginThrottle t;
  for (int i = 0; i < 10; ++i) t.RecordFailure("alice", "10.0.0.1", kT);
  EXPECT_EQ(t.size(), 2u);
  t.RecordFailure("bob", "10.0.0.2", kT + LoginThrottle::kIdleForgetSeconds + 1);
  EXPECT_EQ(t.size(), 2u);  // alice's and 10.0.0.1's are gone, bob's and 10.0.0.2's came
  t.RecordFailure("alice", "10.0.0.1", kT + LoginThrottle::kIdleForgetSeconds + 2);
  EXPECT_EQ(t.RetryAfter("alice", "10.0.0.1", kT + LoginThrottle::kIdleForgetSeconds + 2), std::nullopt);
}

TEST(LoginThrottle, MemoryIsCappedAndAFloodKeepsTheAccountUnderAttack) {
  LoginThrottle t;
  for (int i = 0; i < 9; ++i) t.RecordFailure("alice", "10.0.0." + std::to_string(i), kT);  // alice: 64 s
  for (int i = 0; i < 6000; ++i) t.RecordFailure("user" + std::to_string(i), "client" + std::to_string(i), kT);
  EXPECT_LE(t.size(), LoginThrottle::kMaxEntries);
  EXPECT_EQ(t.RetryAfter("alice", "elsewhere", kT), 64);
}

TEST(LoginThrottle, TryAcquireChargesBeforeThePasswordIsChecked) {
  // Parallel attempts: each acquire counts at once, so only three pass without waiting.
  LoginThrottle t;
  int allowed = 0;
  for (int i = 0; i < 16; ++i) allowed += t.TryAcquire("alice", "10.0.0.1", kT) ? 0 : 1;
  EXPECT_EQ(allowed, 3);  // the three free attempts; the other 13 must wait
  t.RecordSuccess("alice", "10.0.0.1");
  EXPECT_EQ(t.TryAcquire("alice", "10.0.0.1", kT), std::nullopt);
}

}  // namespace
}  // namespace keepsake::auth
