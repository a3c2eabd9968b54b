#include "web/api_server.h"

#include <httplib.h>

#include <fmt/format.h>

#include "base/log.h"
#include "web/api_routes.h"
#include "web/http_errors.h"

namespace keepsake::web {
namespace {

void SendJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, const Status& status) {
  SendJson(res, HttpStatusFor(status.code()), ErrorBody(status));
}

httplib::Server::Handler MakeHandler(const Route& route, service::BackupService& svc) {
  return [&route, &svc](const httplib::Request& http, httplib::Response& res) {
    ApiRequest req{http, nullptr, {}, fmt::format("api:{}", http.remote_addr)};
    for (size_t i = 1; i < http.matches.size(); ++i) req.params.push_back(http.matches[i].str());
    if (!http.body.empty()) {
      req.body = nlohmann::json::parse(http.body, nullptr, false);
      if (req.body.is_discarded()) {
        SendError(res, Status::InvalidArgument("request body is not valid JSON"));
        return;
      }
    }
    Result<ApiResponse> answer = route.handler(svc, req);
    if (!answer.ok()) {
      SendError(res, answer.status());
      return;
    }
    if (!answer->text.empty()) {
      res.status = answer->status;
      res.set_content(answer->text, answer->content_type);
    } else {
      SendJson(res, answer->status, answer->body);
    }
  };
}

}  // namespace

Result<std::unique_ptr<ApiServer>> ApiServer::Bind(const ServerOptions& options, service::BackupService& svc) {
  std::unique_ptr<ApiServer> api(new ApiServer());
  api->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *api->server_;
  int threads = options.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(options.max_body_bytes);
  // Small JSON answers: without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold
  // each response back ~40 ms on a keep-alive connection.
  server.set_tcp_nodelay(true);
  server.set_read_timeout(10);
  server.set_write_timeout(10);
  server.set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});
  for (const Route& route : ApiRoutes()) {
    std::string pattern = PathRegex(route.path);
    if (route.method == "GET") server.Get(pattern, MakeHandler(route, svc));
    if (route.method == "POST") server.Post(pattern, MakeHandler(route, svc));
    if (route.method == "PUT") server.Put(pattern, MakeHandler(route, svc));
  }
  // Unknown paths and methods, and bodies over the limit, get the same error shape.
  server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string_view code = res.status == 404 ? "not_found" : res.status == 413 ? "payload_too_large" : "bad_request";
    std::string message = res.status == 404   ? fmt::format("no such API route: {} {}", req.method, req.path)
                          : res.status == 413 ? "request body too large"
                                              : fmt::format("HTTP {}", res.status);
    SendJson(res, res.status, ErrorBody(code, message));
  });
  server.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log::error("{} {}: internal error: {}", req.method, req.path, what);
    SendJson(res, 500, ErrorBody("internal", "internal error; see the service log"));
  });
  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.host);
    if (port < 0) port = 0;
  } else if (!server.bind_to_port(options.host, port)) {
    port = 0;
  }
  if (port == 0) {
    return Status::Unavailable(fmt::format("{}:{}: cannot listen: address already in use or not available",
                                           options.host, options.port));
  }
  api->address_ = fmt::format("{}:{}", options.host, port);
  return api;
}

ApiServer::~ApiServer() = default;

Status ApiServer::Run() {
  if (!server_->listen_after_bind()) return Status::Internal(fmt::format("{}: the HTTP server failed", address_));
  return Status();
}

void ApiServer::Stop() { server_->stop(); }

}  // namespace keepsake::web
