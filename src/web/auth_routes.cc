// Routes of Webconf access: the OAuth 2.0 token endpoint (password and refresh_token
// grants), logout, the caller's session, and the account list of the Internal OAuth
// Provider. Passwords arrive in the request body only and go to locked memory at once.
#include <arpa/inet.h>
#include <fmt/format.h>

#include <cstring>

#include "base/strings.h"
#include "web/api_routes.h"
#include "web/request_body.h"

namespace keepsake::web {
namespace {

using state::Actor;

int64_t Now(const ApiContext& ctx) { return ctx.clock.Now().time_since_epoch().count(); }

// The throttle's client key: an IPv4 address, or the /64 of an IPv6 one (a host usually
// holds a whole /64; per address every attempt could come from a fresh key).
std::string ClientKey(const std::string& address) {
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) != 1) return address;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    char v4[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &v6.s6_addr[12], v4, sizeof v4);
    return v4;
  }
  std::memset(&v6.s6_addr[8], 0, 8);
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, &v6, text, sizeof text);
  return std::string(text) + "/64";
}

std::string Cookie(const ApiContext& ctx, const char* name, const std::string& value, int64_t max_age, bool http_only) {
  return fmt::format("{}={}; Path=/; Max-Age={}; SameSite=Strict{}{}", name, value, max_age,
                     ctx.https ? "; Secure" : "", http_only ? "; HttpOnly" : "");
}

ApiResponse TokenAnswer(const ApiContext& ctx, const auth::TokenPair& pair, const std::string& username, bool otp) {
  std::string csrf = CsrfTokenFor(pair.access_token);
  ApiResponse res = Json({{"access_token", pair.access_token},
                          {"token_type", "Bearer"},
                          {"expires_in", pair.expires_in},
                          {"refresh_token", pair.refresh_token},
                          {"csrf_token", csrf},
                          {"username", username},
                          {"otp_user", otp}});
  // The browser keeps the token where scripts cannot read it, and sends the CSRF token
  // (readable) back in a header.
  res.headers.emplace_back("Set-Cookie", Cookie(ctx, kSessionCookie, pair.access_token, pair.expires_in, true));
  res.headers.emplace_back("Set-Cookie", Cookie(ctx, kCsrfCookie, csrf, pair.expires_in, false));
  return res;
}

Result<ApiResponse> IssueToken(ApiContext& ctx, const ApiRequest& req) {
  std::string grant = Field(req.body, req.http.body, "grant_type").value_or("");
  int64_t now = Now(ctx);
  std::string client = req.http.remote_addr;
  if (grant == "refresh_token") {
    std::string refresh = Field(req.body, req.http.body, "refresh_token").value_or("");
    auto pair = ctx.tokens.Refresh(refresh, now);
    if (!pair.ok()) return Status::Unauthenticated("invalid or expired refresh token: log in again");
    ASSIGN_OR_RETURN(auth::Session session, ctx.tokens.Validate(pair->access_token, now));
    ASSIGN_OR_RETURN(std::optional<auth::Account> account, ctx.accounts.Find(session.username));
    if (!account) {  // the account went away: so does the session just renewed
      (void)ctx.tokens.Revoke(pair->access_token);
      return Status::Unauthenticated("invalid or expired refresh token: log in again");
    }
    return TokenAnswer(ctx, *pair, account->username, account->otp);
  }
  if (grant != "password") {
    return Status::InvalidArgument("grant_type must be \"password\" or \"refresh_token\"");
  }
  std::string username = Field(req.body, req.http.body, "username").value_or("");
  std::optional<std::string> password = Field(req.body, req.http.body, "password");
  if (username.empty() || !password) return Status::InvalidArgument("username and password are required");
  // A name that breaks the account rules is never an account: it still costs one password
  // check, but it is not written to the audit log (it may be a password typed in the wrong
  // field, or 64 KiB of junk) nor kept as a throttle key.
  bool name_ok = auth::ValidateUsername(username).ok();
  std::string shown = name_ok ? username : "<invalid username>";
  std::string account_key = Lower(shown);
  if (auto wait = ctx.throttle.TryAcquire(account_key, ClientKey(client), now)) {
    Audit(ctx, "login", Actor{shown, client}, "throttled");
    ApiResponse res = Json({{"error",
                             {{"code", "too_many_attempts"},
                              {"message", fmt::format("too many failed logins: try again in {} seconds", *wait)}}}},
                           429);
    res.headers.emplace_back("Retry-After", std::to_string(*wait));
    return res;
  }
  auto account = ctx.accounts.Authenticate(name_ok ? username : "", Secret(*password));
  if (!account.ok()) {  // the attempt was charged by TryAcquire
    Audit(ctx, "login", Actor{shown, client}, "failed");
    return Status::Unauthenticated("invalid username or password");
  }
  ctx.throttle.RecordSuccess(account_key, ClientKey(client));
  (void)ctx.tokens.PurgeExpired(now);  // logins are rare: a good moment to drop dead tokens
  ASSIGN_OR_RETURN(auth::TokenPair pair, ctx.tokens.Issue(account->username, now));
  Audit(ctx, "login", Actor{account->username, client}, "succeeded", {{"otp_user", account->otp}});
  return TokenAnswer(ctx, pair, account->username, account->otp);
}

Result<ApiResponse> Logout(ApiContext& ctx, const ApiRequest& req) {
  RETURN_IF_ERROR(ctx.tokens.Revoke(req.caller->token));
  Audit(ctx, "logout", req.actor, "succeeded");
  ApiResponse res = Json({{"message", "Logged out."}});
  res.headers.emplace_back("Set-Cookie", Cookie(ctx, kSessionCookie, "", 0, true));
  res.headers.emplace_back("Set-Cookie", Cookie(ctx, kCsrfCookie, "", 0, false));
  return res;
}

Result<ApiResponse> GetSession(ApiContext&, const ApiRequest& req) {
  return Json({{"username", req.caller->username}, {"otp_user", req.caller->otp}});
}

Result<ApiResponse> ListUsers(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(std::vector<auth::Account> accounts, ctx.accounts.List());
  nlohmann::json list = nlohmann::json::array();
  for (const auto& a : accounts) {
    // The UI greys out Remove with the same explanation the API would give.
    std::string refusal = ctx.accounts.RemoveRefusal(a.username, req.caller->username);
    list.push_back({{"username", a.username},
                    {"otp_user", a.otp},
                    {"created_at", a.created_at},
                    {"removable", refusal.empty()},
                    {"remove_refusal", refusal}});
  }
  return Json({{"users", list}});
}

Result<ApiResponse> AddUser(ApiContext& ctx, const ApiRequest& req) {
  RETURN_IF_ERROR(RequireObject(req.body, {"username", "password", "confirmation"}));
  std::optional<std::string> username = Field(req.body, req.http.body, "username");
  std::optional<std::string> password = Field(req.body, req.http.body, "password");
  std::optional<std::string> confirmation = Field(req.body, req.http.body, "confirmation");
  if (!username || !password || !confirmation) {
    return Status::InvalidArgument("username, password and confirmation (the password typed again) are required");
  }
  // Accounts must not change while a restore may be swapping the accounts in.
  Status added = ctx.service.WhileNoRestore(
      [&] { return ctx.accounts.Add(*username, Secret(*password), Secret(*confirmation), Now(ctx)); });
  Audit(ctx, "account.added", req.actor, added.ok() ? "succeeded" : "refused",
        added.ok() ? nlohmann::json{{"username", *username}}
                   : nlohmann::json{{"username", *username}, {"error", added.message()}});
  RETURN_IF_ERROR(added);
  return Json({{"username", *username}, {"message", fmt::format("Account {} added.", *username)}}, 201);
}

Result<ApiResponse> RemoveUser(ApiContext& ctx, const ApiRequest& req) {
  const std::string& username = req.params.at(0);
  Status removed = ctx.service.WhileNoRestore([&] { return ctx.accounts.Remove(username, req.caller->username); });
  Audit(ctx, "account.removed", req.actor, removed.ok() ? "succeeded" : "refused",
        removed.ok() ? nlohmann::json{{"username", username}}
                     : nlohmann::json{{"username", username}, {"error", removed.message()}});
  RETURN_IF_ERROR(removed);
  RETURN_IF_ERROR(ctx.tokens.RevokeUser(username));
  return Json({{"message", fmt::format("Account {} removed.", username)}});
}

}  // namespace

const std::vector<Route>& AuthRoutes() {
  static const std::vector<Route> routes = {
      {"POST", "/oauth/token", IssueToken, Access::kPublic},
      {"POST", "/oauth/revoke", Logout},
      {"GET", "/api/v1/session", GetSession},
      {"GET", "/api/v1/users", ListUsers},
      {"POST", "/api/v1/users", AddUser},
      {"DELETE", "/api/v1/users/{name}", RemoveUser},
  };
  return routes;
}

}  // namespace keepsake::web
