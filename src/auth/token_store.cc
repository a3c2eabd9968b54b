#include "auth/token_store.h"

#include <sodium.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "base/encoding.h"
#include "base/sha256.h"

namespace keepsake::auth {
namespace {

constexpr size_t kTokenBytes = 32;
constexpr size_t kTokenChars = 43;  // base64url of 32 bytes, no padding
constexpr size_t kFamilyBytes = 16;

constexpr const char* kInvalidToken = "invalid or expired token";

Status Invalid() { return Status::Unauthenticated(kInvalidToken); }

std::string NewToken() {
  uint8_t raw[kTokenBytes];
  randombytes_buf(raw, sizeof raw);
  char b64[sodium_base64_ENCODED_LEN(kTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  std::string token(b64);
  sodium_memzero(b64, sizeof b64);
  return token;
}

// Only strings that could be one of our tokens are looked up; the rest are simply invalid.
bool WellFormed(std::string_view token) {
  return token.size() == kTokenChars && std::all_of(token.begin(), token.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
         });
}

// What the table stores in place of the token. Looking a row up by this hash is safe from
// timing attacks: the index compares hashes, and an attacker cannot steer a hash's prefix
// to learn a stored one byte by byte.
std::string HashOf(std::string_view token) {
  return ToHex(Sha256::Of({reinterpret_cast<const uint8_t*>(token.data()), token.size()}));
}

std::string Num(int64_t v) { return std::to_string(v); }

}  // namespace

Status TokenStore::Insert(std::string_view username, const std::string& family, int64_t now, int64_t refresh_expires_at,
                          TokenPair& pair) {
  pair.access_token = NewToken();
  pair.refresh_token = NewToken();
  int64_t access_expires_at = std::min(now + lifetimes_.access_seconds, refresh_expires_at);
  pair.expires_in = access_expires_at - now;
  // One statement, so both rows appear or neither.
  return db_.Query(
      "INSERT INTO tokens(hash, username, kind, expires_at, family) VALUES "
      "(?, ?, 'access', CAST(? AS INTEGER), ?), (?, ?, 'refresh', CAST(? AS INTEGER), ?)",
      {HashOf(pair.access_token), std::string(username), Num(access_expires_at), family, HashOf(pair.refresh_token),
       std::string(username), Num(refresh_expires_at), family});
}

Status TokenStore::RevokeFamily(const std::string& family) {
  return db_.Query("UPDATE tokens SET revoked = 1 WHERE family = ?", {family});
}

Result<TokenPair> TokenStore::Issue(std::string_view username, int64_t now) {
  uint8_t raw[kFamilyBytes];
  randombytes_buf(raw, sizeof raw);
  TokenPair pair;
  RETURN_IF_ERROR(Insert(username, ToHex(raw), now, now + lifetimes_.refresh_seconds, pair));
  return pair;
}

Result<Session> TokenStore::Validate(std::string_view access_token, int64_t now) {
  if (!WellFormed(access_token)) return Invalid();
  std::optional<Session> session;
  RETURN_IF_ERROR(
      db_.Query("SELECT username, family, expires_at FROM tokens "
                "WHERE hash = ? AND kind = 'access' AND revoked = 0 AND expires_at > CAST(? AS INTEGER)",
                {HashOf(access_token), Num(now)}, [&](const std::vector<std::string>& r) {
                  session = Session{r[0], r[1], std::stoll(r[2])};
                }));
  if (!session) return Invalid();
  return *session;
}

Result<TokenPair> TokenStore::Refresh(std::string_view refresh_token, int64_t now) {
  if (!WellFormed(refresh_token)) return Invalid();
  const std::string hash = HashOf(refresh_token);
  // Revoking and reading in one statement: of two concurrent refreshes with the same token,
  // exactly one gets the row.
  std::optional<std::vector<std::string>> row;
  RETURN_IF_ERROR(
      db_.Query("UPDATE tokens SET revoked = 1 "
                "WHERE hash = ? AND kind = 'refresh' AND revoked = 0 AND expires_at > CAST(? AS INTEGER) "
                "RETURNING username, family, expires_at",
                {hash, Num(now)}, [&](const std::vector<std::string>& r) { row = r; }));
  if (row) {
    TokenPair pair;
    RETURN_IF_ERROR(Insert((*row)[0], (*row)[1], now, std::stoll((*row)[2]), pair));
    return pair;
  }
  // A revoked refresh token presented again: it was rotated or the session was logged out,
  // so whoever holds it has a copy. End the session for everyone holding its tokens.
  std::optional<std::string> reused_family;
  RETURN_IF_ERROR(db_.Query("SELECT family FROM tokens WHERE hash = ? AND kind = 'refresh' AND revoked = 1", {hash},
                            [&](const std::vector<std::string>& r) { reused_family = r[0]; }));
  if (reused_family) RETURN_IF_ERROR(RevokeFamily(*reused_family));
  return Invalid();
}

Status TokenStore::Revoke(std::string_view token) {
  if (!WellFormed(token)) return Status();
  return db_.Query("UPDATE tokens SET revoked = 1 WHERE family = (SELECT family FROM tokens WHERE hash = ?)",
                   {HashOf(token)});
}

Status TokenStore::RevokeUser(std::string_view username) {
  // The column is COLLATE NOCASE: names are unique ignoring (ASCII) case.
  return db_.Query("UPDATE tokens SET revoked = 1 WHERE username = ?", {std::string(username)});
}

Status TokenStore::PurgeExpired(int64_t now) {
  return db_.Query("DELETE FROM tokens WHERE expires_at <= CAST(? AS INTEGER)", {Num(now)});
}

}  // namespace keepsake::auth
