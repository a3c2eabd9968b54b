// The REST API under /api/v1 (plus /metrics): one table of routes, from which the server
// registers its handlers, `keepsaked --list-routes` prints the list that the OpenAPI test
// checks against docs/openapi.yaml, and nothing else defines a route. Handlers translate
// JSON to service calls and back; the service does the work. Thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "service/backup_service.h"

namespace keepsake::web {

struct ApiRequest {
  const httplib::Request& http;
  nlohmann::json body;              // parsed JSON body (null when empty)
  std::vector<std::string> params;  // path parameters in order
  std::string actor;                // who asks, for the audit log
};

struct ApiResponse {
  int status = 200;
  nlohmann::json body;
  std::string text;          // a non-JSON body (metrics) when not empty
  std::string content_type;  // for `text`
};

using RouteHandler = std::function<Result<ApiResponse>(service::BackupService&, const ApiRequest&)>;

struct Route {
  std::string method;  // "GET", "POST", "PUT"
  std::string path;    // OpenAPI form: "/api/v1/backups/{name}"
  RouteHandler handler;
};

const std::vector<Route>& ApiRoutes();

// "/api/v1/backups/{name}" -> "/api/v1/backups/([^/]+)".
std::string PathRegex(const std::string& path);

}  // namespace keepsake::web
