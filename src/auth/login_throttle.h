// LoginThrottle: exponential back-off for password guessing, per account and per client.
//
// After 3 consecutive failures on a key, the next attempt must wait 2^(failures-3) seconds
// after the last failure (1, 2, 4, ... s), at most 300 s. Two kinds of key: the account name
// (lower case), which protects one account from guessing spread over many addresses, and
// the client address, which slows one client spraying many accounts. Pass an IPv6 client as
// its /64 prefix, or every address of one host is a fresh key.
//
// In memory only (a restart forgets, which costs an attacker a restart of the daemon). Memory
// is bounded: entries idle for an hour are forgotten, and at 10,000 entries the least useful
// one (fewest failures, then oldest) makes room. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace keepsake::auth {

class LoginThrottle {
 public:
  static constexpr int kFreeFailures = 3;
  static constexpr int64_t kMaxDelaySeconds = 300;
  static constexpr int64_t kIdleForgetSeconds = 3600;
  static constexpr size_t kMaxEntries = 10000;

  // Seconds the caller must still wait before checking a password for this account from
  // this client (the larger of the two keys' waits); nullopt when an attempt is allowed now.
  // Callers refuse a throttled attempt without checking the password and without
  // RecordFailure, so waiting out the delay is the only way forward.
  std::optional<int64_t> RetryAfter(std::string_view account_lower, std::string_view client, int64_t now);
  // A wrong password (or unknown account) from `client`.
  void RecordFailure(std::string_view account_lower, std::string_view client, int64_t now);
  // RetryAfter and RecordFailure in one step under the lock: when an attempt is allowed it is
  // charged as a failure at once, before the password is checked, so parallel attempts
  // cannot all pass the check before the first failure is recorded. A successful login then
  // calls RecordSuccess, which clears the charge. Returns the wait as RetryAfter does.
  std::optional<int64_t> TryAcquire(std::string_view account_lower, std::string_view client, int64_t now);
  // A successful login: both keys start over.
  void RecordSuccess(std::string_view account_lower, std::string_view client);

  size_t size();  // entries held, for tests

 private:
  struct Entry {
    int failures = 0;
    int64_t last_failure = 0;
  };
  static int64_t Delay(int failures);
  int64_t Wait(const std::string& key, int64_t now) const;
  void Bump(std::string key, int64_t now);
  void ForgetIdle(int64_t now);
  void EvictOne();

  std::mutex mu_;
  // Keys are "a:<account>" and "c:<client>", so that an account and an address never meet.
  std::unordered_map<std::string, Entry> entries_;
  int64_t last_sweep_ = 0;
};

}  // namespace keepsake::auth
