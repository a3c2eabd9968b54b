// AccountStore: the webconf's accounts, i.e. the OAuth user accounts of the Internal OAuth
// Provider and the Initial OTP User (DESIGN.md "Webconf access").
//
// OAuth accounts live in the appliance state, so that backups carry them:
//   <appliance root>/system/accounts/users.json   (dir 0700, file 0600, replaced atomically)
//   [{"username": "admin", "password_hash": "$argon2id$...", "created_at": <unix s>}, ...]
// created_at is optional (older files and test fixtures lack it); fields this version does
// not know are kept when the file is rewritten.
//
// The Initial OTP User lives in the state directory, never in a backup:
//   OtpUserPath(state dir) = <state>/otp-user.json   (0600, root-only by design)
//   {"username": "otp-admin", "password": "<one-time password>", "created_at": <unix s>}
// It exists to create the first OAuth account; a restore of "accounts" deletes it.
//
// Both files are read again on every call, so a restore that replaced users.json or removed
// the OTP file is seen at once. Thread-safe: changes are serialised by a mutex. Another
// process (the offline `keepsake restore`) may still replace the files between our read and
// our write; the daemon does not edit accounts while its own restore job runs.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <vector>

#include "base/secure_buffer.h"
#include "base/status.h"

namespace keepsake::auth {

// Argon2id cost for new password hashes. Verification uses the cost stored in each hash.
struct PwhashParams {
  // Passes over memory; at least crypto_pwhash_OPSLIMIT_MIN.
  uint64_t opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  // Bytes of memory per hash (64 MiB by default); at least crypto_pwhash_MEMLIMIT_MIN.
  size_t memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
};

// The Initial OTP User's name.
inline constexpr std::string_view kOtpUsername = "otp-admin";

// Where the Initial OTP User's credential lives (in the state directory: never in a backup).
std::string OtpUserPath(const std::string& state_dir);

// The auth rule a restore applies (handed to it as an appliance::SupersededFile by whoever
// runs the restore): once this component comes from a backup, the accounts are the backup's
// and the Initial OTP User has served its purpose, so its credential goes with the swap.
inline constexpr std::string_view kOtpUserSupersededBy = "accounts";

struct Account {
  std::string username;    // as stored (original case)
  bool otp = false;        // the Initial OTP User
  int64_t created_at = 0;  // unix seconds; 0 when the file does not say
};

// 3 to 64 characters (code points), each an ASCII letter or digit or one of . _ - @, at least
// one letter or digit. Names appear in the UI, the audit log, the accounts file and on the
// console, so they are kept to characters that look like themselves: no look-alike Unicode
// letters, no spaces, quotes or control characters. kInvalidArgument naming the broken rule:
// "username must be 3 to 64 characters long", "username may contain only letters, digits
// and . _ - @", "username must contain at least one letter or digit".
Status ValidateUsername(std::string_view username);

// A new password: valid UTF-8, 8 to 64 characters (code points, so "ä" counts one), no
// control characters, equal to `confirmation`. kInvalidArgument: "password must be valid
// UTF-8", "password must be 8 to 64 characters long", "password must not contain control
// characters", "the two passwords do not match". Never puts the password in a message.
Status ValidateNewPassword(const SecureBuffer& password, const SecureBuffer& confirmation);

class AccountStore {
 public:
  // `appliance_root` holds system/accounts/, `state_dir` the OTP user's file. Reads nothing
  // yet. kInvalidArgument when `params` are below libsodium's minimums.
  static Result<std::unique_ptr<AccountStore>> Open(std::string appliance_root, std::string state_dir,
                                                    PwhashParams params = {});
  ~AccountStore();
  AccountStore(const AccountStore&) = delete;
  AccountStore& operator=(const AccountStore&) = delete;

  // First start: when there is neither an OAuth account nor an OTP user, creates the OTP
  // user and returns its one-time password, which the caller prints once. nullopt when
  // nothing was created. kCorruption when users.json cannot be parsed (no OTP user is made
  // beside accounts we cannot read).
  Result<std::optional<SecureBuffer>> EnsureInitialOtpUser(int64_t now);

  // The OTP user first (otp = true) if present, then the OAuth accounts ordered by name.
  // kCorruption for an unreadable file.
  Result<std::vector<Account>> List();

  // The account named `username` (case-insensitive), nullopt if there is none. Cheap (no
  // hashing): for checking that a session's account still exists.
  Result<std::optional<Account>> Find(std::string_view username);

  // Whether the OTP user's file exists. True also for an unreadable or damaged file, so that
  // what is refused while the OTP user exists (backups) stays refused.
  bool OtpUserExists();

  // The account if `password` is right for `username` (case-insensitive). kUnauthenticated
  // "invalid username or password" for an unknown user and for a wrong password alike; every
  // call runs exactly one Argon2id verification (against a dummy hash for unknown users and
  // for the OTP user, whose password is compared with sodium_memcmp) so that the time taken
  // does not reveal which names exist. kUnavailable when memory for the hash is short;
  // kCorruption for an unreadable file. Callers throttle (login_throttle.h) before calling.
  Result<Account> Authenticate(std::string_view username, const SecureBuffer& password);

  // Creates an OAuth account. kInvalidArgument (the rules above), kAlreadyExists "an account
  // named X already exists" (case-insensitive, also against the OTP user's name).
  Status Add(std::string_view username, const SecureBuffer& password, const SecureBuffer& confirmation, int64_t now);

  // Removes an account; removing the OTP user deletes its file. Refuses what would lock
  // everyone out: kFailedPrecondition "you cannot remove your own account" (username ==
  // requester, case-insensitive) and "the last account that can log in cannot be removed"
  // (the OTP user counts as able to log in). kNotFound "no account named X". The caller
  // revokes the account's tokens (TokenStore::RevokeUser) and writes the audit log.
  Status Remove(std::string_view username, std::string_view requester);

  // For the UI: the message Remove would refuse with right now, or "" if it would proceed.
  std::string RemoveRefusal(std::string_view username, std::string_view requester);

  const std::string& users_path() const { return users_path_; }
  const std::string& otp_path() const { return otp_path_; }

 private:
  struct Snapshot;
  AccountStore(std::string appliance_root, std::string state_dir, PwhashParams params, std::string dummy_hash);

  Result<Snapshot> Load();
  Status CheckRemovable(const Snapshot& snap, std::string_view username, std::string_view requester);
  Status WriteUsers(const Snapshot& snap);
  // Runs crypto_pwhash_str_verify under the hashing semaphore; false for a wrong password.
  Result<bool> VerifyHash(const std::string& hash, const SecureBuffer& password);

  const std::string accounts_dir_;
  const std::string users_path_;
  const std::string state_dir_;
  const std::string otp_path_;
  const PwhashParams params_;
  // A hash of a random password with `params_`: what unknown names are verified against.
  const std::string dummy_hash_;
  std::mutex mu_;  // serialises read-modify-write of the files
  // Each Argon2id run takes `memlimit` bytes: at most two at a time (the appliance has two
  // cores) bounds the memory a flood of logins can take.
  std::counting_semaphore<2> hashing_{2};
};

}  // namespace keepsake::auth
