#include "web/session_gate.h"

#include <sodium.h>

#include "base/byte_stream.h"
#include "base/sha256.h"

namespace keepsake::web {
namespace {

std::string CookieValue(const HttpRequest& req, std::string_view name) {
  std::string header = req.Header("Cookie");
  std::string_view rest = header;
  while (!rest.empty()) {
    size_t semi = rest.find(';');
    std::string_view part = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? "" : rest.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
  }
  return "";
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string CsrfTokenFor(std::string_view access_token) {
  Sha256 sha;
  sha.Update(AsBytes("keepsake-csrf:"));
  sha.Update(AsBytes(access_token));
  return sha.FinalHex();
}

Result<Caller> SessionGate::Check(const HttpRequest& req) {
  Caller caller;
  std::string auth = req.Header("Authorization");
  if (auth.rfind("Bearer ", 0) == 0) {
    caller.token = auth.substr(7);
  } else {
    caller.token = CookieValue(req, kSessionCookie);
    caller.via_cookie = !caller.token.empty();
  }
  if (caller.token.empty()) return Status::Unauthenticated("log in first: this request needs a valid session");
  int64_t now = clock_.Now().time_since_epoch().count();
  ASSIGN_OR_RETURN(auth::Session session, tokens_.Validate(caller.token, now));
  // A session ends with its account (removed, or replaced by a restore of the accounts).
  ASSIGN_OR_RETURN(std::optional<auth::Account> account, accounts_.Find(session.username));
  if (!account && restoring_ && restoring_()) {
    return Status::Unavailable("a restore is replacing the accounts: try again in a moment");
  }
  if (!account) return Status::Unauthenticated("invalid or expired token");
  caller.otp = account->otp;
  caller.username = session.username;
  bool unsafe = req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS";
  if (caller.via_cookie && unsafe && !ConstantTimeEqual(req.Header(kCsrfHeader), CsrfTokenFor(caller.token))) {
    return Status::PermissionDenied(std::string("missing or wrong ") + kCsrfHeader +
                                    " header: state-changing requests from the browser need the CSRF token");
  }
  return caller;
}

}  // namespace keepsake::web
