// TokenStore: the OAuth 2.0 bearer tokens of the Internal OAuth Provider.
//
// A token is 32 random bytes, base64url without padding (43 characters), handed to the client
// once. The state DB keeps only its SHA-256 (hex) in the `tokens` table, so a copy of the
// database does not let anyone log in. A login issues a pair, an access token and a refresh
// token, sharing a `family`; refreshing rotates the refresh token within the family, and
// the family is the unit of logout. A family's refresh expiry is fixed at login, so a session
// lasts at most `refresh_seconds` however often it is refreshed.
//
// Every failure a client could cause is kUnauthenticated "invalid or expired token": the
// answer never says whether a token was unknown, expired, revoked or of the wrong kind.
// Thread-safe (StateDb is; each change is one SQL statement).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "state/state_db.h"

namespace keepsake::auth {

struct TokenLifetimes {
  int64_t access_seconds = 900;        // an access token's life
  int64_t refresh_seconds = 8 * 3600;  // a session's life from login (absolute)
};

struct TokenPair {
  std::string access_token;
  std::string refresh_token;
  int64_t expires_in = 0;  // seconds until the access token expires (OAuth "expires_in")
};

struct Session {
  std::string username;
  std::string family;      // identifies the login; not secret
  int64_t expires_at = 0;  // the access token's expiry, unix seconds
};

class TokenStore {
 public:
  // `db` must outlive the store.
  explicit TokenStore(state::StateDb& db, TokenLifetimes lifetimes = {}) : db_(db), lifetimes_(lifetimes) {}

  // A new login for `username` (the caller has authenticated it): a fresh family.
  Result<TokenPair> Issue(std::string_view username, int64_t now);

  // The session of a live, unrevoked access token. kUnauthenticated otherwise.
  Result<Session> Validate(std::string_view access_token, int64_t now);

  // Trades a live refresh token for a new pair in the same family; the old refresh token is
  // revoked. Presenting an already revoked refresh token again means it was copied, so the
  // whole family is revoked (OAuth 2.0 Security BCP, refresh token rotation).
  // kUnauthenticated for anything but a live refresh token.
  Result<TokenPair> Refresh(std::string_view refresh_token, int64_t now);

  // Logout: revokes the family of `token` (access or refresh). An unknown token is not an
  // error (RFC 7009: the client's goal is reached either way).
  Status Revoke(std::string_view token);

  // Revokes every token of `username` (case-insensitive), e.g. when the account is removed.
  Status RevokeUser(std::string_view username);

  // Deletes the rows of tokens expired at `now`, revoked or not.
  Status PurgeExpired(int64_t now);

 private:
  Status Insert(std::string_view username, const std::string& family, int64_t now, int64_t refresh_expires_at,
                TokenPair& pair);
  Status RevokeFamily(const std::string& family);

  state::StateDb& db_;
  const TokenLifetimes lifetimes_;
};

}  // namespace keepsake::auth
