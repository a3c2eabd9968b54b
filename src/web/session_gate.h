// Who is calling: finds the session of a request (an `Authorization: Bearer` token for API
// clients and the CLI, or the `keepsake_session` cookie for the browser), and requires the
// CSRF token on every state-changing request that authenticates by cookie. A cookie is sent
// by the browser whatever page triggered the request; the CSRF token is not, which is what
// stops another site from acting with the administrator's session. Thread-safe.
#pragma once

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
  SessionGate(auth::TokenStore& tokens, auth::AccountStore& accounts, const Clock& clock)
      : tokens_(tokens), accounts_(accounts), clock_(clock) {}

  // kUnauthenticated when there is no valid session (missing, expired, revoked token, or
  // an account that no longer exists); kPermissionDenied for a cookie session without the
  // right CSRF token on a POST, PUT or DELETE.
  Result<Caller> Check(const HttpRequest& req);

 private:
  auth::TokenStore& tokens_;
  auth::AccountStore& accounts_;
  const Clock& clock_;
};

}  // namespace keepsake::web
