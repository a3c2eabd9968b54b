// Who is calling: finds the session of a request (an `Authorization: Bearer` token for API
// clients and the CLI, or the `keepsake_session` cookie for the browser), and requires the
// CSRF token on every state-changing request that authenticates by cookie. A cookie is sent
// by the browser whatever page triggered the request; the CSRF token is not, which is what
// stops another site from acting with the administrator's session. Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "auth/account_store.h"
#include "auth/token_store.h"
#include "base/clock.h"
#include "web/http_message.h"

namespace keepsake::web {

inline constexpr const char* kSessionCookie = "keepsake_session";
inline constexpr const char* kCsrfCookie = "keepsake_csrf";
inline constexpr const char* kCsrfHeader = "X-CSRF-Token";

struct Caller {
  std::string username;
  bool otp = false;  // the Initial OTP User
  bool via_cookie = false;
  std::string token;  // the access token presented (to log out)
};

// The CSRF token that goes with an access token: SHA-256("keepsake-csrf:" || token), hex.
// Unpredictable without the token, which the browser keeps in an HttpOnly cookie.
std::string CsrfTokenFor(std::string_view access_token);

class SessionGate {
 public:
  // `restoring` tells whether a restore or rollback runs now (none: never).
  SessionGate(auth::TokenStore& tokens, auth::AccountStore& accounts, const Clock& clock,
              std::function<bool()> restoring = {})
      : tokens_(tokens), accounts_(accounts), clock_(clock), restoring_(std::move(restoring)) {}

  // kUnauthenticated when there is no valid session (missing, expired, revoked token, or
  // an account that no longer exists); kPermissionDenied for a cookie session without the
  // right CSRF token on a POST, PUT or DELETE. kUnavailable when the account is not found
  // while a restore runs: it swaps the accounts' directory out and in, and a session must
  // not end for having been checked between the two renames.
  Result<Caller> Check(const HttpRequest& req);

 private:
  auth::TokenStore& tokens_;
  auth::AccountStore& accounts_;
  const Clock& clock_;
  std::function<bool()> restoring_;
};

}  // namespace keepsake::web
