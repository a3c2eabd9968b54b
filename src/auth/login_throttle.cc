#include "auth/login_throttle.h"

#include <algorithm>

namespace keepsake::auth {
namespace {

std::string AccountKey(std::string_view account) { return "a:" + std::string(account); }
std::string ClientKey(std::string_view client) { return "c:" + std::string(client); }

}  // namespace

int64_t LoginThrottle::Delay(int failures) {
  if (failures < kFreeFailures) return 0;
  int exponent = failures - kFreeFailures;
  // 2^9 > 300 already; the cap also keeps the shift defined.
  if (exponent >= 9) return kMaxDelaySeconds;
  return std::min<int64_t>(int64_t{1} << exponent, kMaxDelaySeconds);
}

int64_t LoginThrottle::Wait(const std::string& key, int64_t now) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return 0;
  return std::max<int64_t>(0, it->second.last_failure + Delay(it->second.failures) - now);
}

std::optional<int64_t> LoginThrottle::RetryAfter(std::string_view account_lower, std::string_view client, int64_t now) {
  std::lock_guard lock(mu_);
  int64_t wait = std::max(Wait(AccountKey(account_lower), now), Wait(ClientKey(client), now));
  if (wait <= 0) return std::nullopt;
  return wait;
}

void LoginThrottle::RecordFailure(std::string_view account_lower, std::string_view client, int64_t now) {
  std::lock_guard lock(mu_);
  // A sweep a minute is plenty: idle entries only cost memory, and the cap bounds that.
  if (now - last_sweep_ >= 60) {
    ForgetIdle(now);
    last_sweep_ = now;
  }
  Bump(AccountKey(account_lower), now);
  Bump(ClientKey(client), now);
}

std::optional<int64_t> LoginThrottle::TryAcquire(std::string_view account_lower, std::string_view client, int64_t now) {
  std::lock_guard lock(mu_);
  int64_t wait = std::max(Wait(AccountKey(account_lower), now), Wait(ClientKey(client), now));
  if (wait > 0) return wait;
  if (now - last_sweep_ >= 60) {
    ForgetIdle(now);
    last_sweep_ = now;
  }
  Bump(AccountKey(account_lower), now);
  Bump(ClientKey(client), now);
  return std::nullopt;
}

void LoginThrottle::RecordSuccess(std::string_view account_lower, std::string_view client) {
  std::lock_guard lock(mu_);
  entries_.erase(AccountKey(account_lower));
  entries_.erase(ClientKey(client));
}

size_t LoginThrottle::size() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void LoginThrottle::Bump(std::string key, int64_t now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxEntries) EvictOne();
    it = entries_.emplace(std::move(key), Entry{}).first;
  }
  // Past the cap more failures change nothing; stopping the count keeps it from overflowing.
  if (it->second.failures < 1000) ++it->second.failures;
  it->second.last_failure = std::max(it->second.last_failure, now);
}

void LoginThrottle::ForgetIdle(int64_t now) {
  std::erase_if(entries_, [&](const auto& kv) { return now - kv.second.last_failure > kIdleForgetSeconds; });
}

void LoginThrottle::EvictOne() {
  // The entry that throttles least: an attacker who floods the table with fresh keys (many
  // addresses, made-up names) pushes out their own one-failure entries before the long
  // back-off of an account under attack.
  auto victim = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
    if (a.second.failures != b.second.failures) return a.second.failures < b.second.failures;
    return a.second.last_failure < b.second.last_failure;
  });
  if (victim != entries_.end()) entries_.erase(victim);
}

}  // namespace keepsake::auth
