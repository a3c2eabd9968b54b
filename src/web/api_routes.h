// The REST API under /api/v1 (plus /metrics): one table of routes, from which the server
// registers its handlers, `keepsaked --list-routes` prints the list that the OpenAPI test
// checks against docs/openapi.yaml, and nothing else defines a route. Handlers translate
// JSON to service calls and back; the service does the work. Thread-safe.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth/account_store.h"
#include "auth/login_throttle.h"
#include "auth/token_store.h"
#include "service/backup_service.h"
#include "state/audit_log.h"
#include "web/http_message.h"
#include "web/session_gate.h"

namespace keepsake::web {

// What the handlers work with. Owned by the daemon; outlives the server.
struct ApiContext {
  service::BackupService& service;
  auth::AccountStore& accounts;
  auth::TokenStore& tokens;
  auth::LoginThrottle& throttle;
  state::AuditLog& audit;
  const Clock& clock;
  bool https = true;  // cookies are marked Secure
  // The status as server-sent events (GET /api/v1/events); set by the server.
  std::shared_ptr<EventFeed> status_events;
};

// Records a security-relevant event of a route (failures to record are logged).
void Audit(ApiContext& ctx, std::string_view event, const state::Actor& actor, std::string_view outcome,
           const nlohmann::json& fields = nlohmann::json::object());

struct ApiRequest {
  const HttpRequest& http;
  nlohmann::json body;              // parsed JSON body (null when empty or a form)
  std::vector<std::string> params;  // path parameters in order
  state::Actor actor;               // who asks (account, client address): audit log, history
  std::optional<Caller> caller;     // the session; set on every route that is not public

  // Who asks, for the engine's rules (the OTP User may not start backups).
  service::Requester requester() const { return {actor, caller && caller->otp}; }
};

struct ApiResponse {
  int status = 200;
  nlohmann::json body;
  std::string text;                                          // a non-JSON body (metrics) when not empty
  std::string content_type;                                  // for `text`
  std::vector<std::pair<std::string, std::string>> headers;  // extra: Set-Cookie, Retry-After
  // A streamed body instead (a download): see HttpAnswer.
  std::function<Result<std::string>()> stream;
  std::optional<uint64_t> stream_length;
  std::shared_ptr<EventFeed> events;  // an event stream instead
};

// A JSON answer; one copy for every route file.
inline ApiResponse Json(nlohmann::json body, int status = 200) {
  ApiResponse res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

using RouteHandler = std::function<Result<ApiResponse>(ApiContext&, const ApiRequest&)>;

enum class Access {
  kPublic,   // health and login only
  kSession,  // everything else: a valid session (and the CSRF token for cookie sessions)
};

struct Route {
  std::string method;  // "GET", "POST", "PUT", "DELETE"
  std::string path;    // OpenAPI form: "/api/v1/backups/{name}"
  RouteHandler handler;
  Access access = Access::kSession;
  // The body is streamed to a file (ApiRequest::http.body_file), after the session is
  // checked from the head alone: a large upload is never held in memory.
  bool upload = false;
};

// The routes of auth_routes.cc: token endpoint, logout, session, accounts.
const std::vector<Route>& AuthRoutes();

// The routes of storage_routes.cc: storage settings and the storage browser.
const std::vector<Route>& StorageRoutes();

const std::vector<Route>& ApiRoutes();

// Whether `path` (as received, percent-encoded) is the route `pattern`: each "{name}"
// matches one non-empty segment, which is decoded into `params` in order (a segment that
// decodes to a '/' or a NUL matches nothing).
bool MatchPath(std::string_view pattern, std::string_view path, std::vector<std::string>& params);

}  // namespace keepsake::web
