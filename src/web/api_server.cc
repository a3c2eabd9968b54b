#include "web/api_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>

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

// 401 with a WWW-Authenticate challenge, as RFC 6750 asks of a Bearer-protected resource.
void SendUnauthenticated(httplib::Response& res, const Status& why) {
  res.set_header("WWW-Authenticate", "Bearer realm=\"keepsake\"");
  SendJson(res, 401, ErrorBody("unauthenticated", why.message()));
}

bool IsForm(const httplib::Request& req) {
  return req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0;
}

httplib::Server::Handler MakeHandler(const Route& route, ApiContext& ctx, SessionGate& gate) {
  return [&route, &ctx, &gate](const httplib::Request& http, httplib::Response& res) {
    ApiRequest req{http, nullptr, {}, state::Actor{"", http.remote_addr}, std::nullopt};
    if (route.access == Access::kSession) {
      Result<Caller> caller = gate.Check(http);
      if (!caller.ok()) {
        if (caller.status().code() == ErrorCode::kUnauthenticated) {
          SendUnauthenticated(res, caller.status());
        } else {
          SendError(res, caller.status());
        }
        return;
      }
      req.actor.account = caller->username;
      req.caller = std::move(*caller);
    }
    for (size_t i = 1; i < http.matches.size(); ++i) req.params.push_back(http.matches[i].str());
    if (!http.body.empty() && !IsForm(http)) {
      req.body = nlohmann::json::parse(http.body, nullptr, false);
      if (req.body.is_discarded()) {
        SendError(res, Status::InvalidArgument("request body is not valid JSON"));
        return;
      }
    }
    Result<ApiResponse> answer = route.handler(ctx, req);
    if (!answer.ok()) {
      if (answer.status().code() == ErrorCode::kUnauthenticated && route.access == Access::kPublic) {
        SendUnauthenticated(res, answer.status());  // a failed login
      } else {
        SendError(res, answer.status());
      }
      return;
    }
    for (const auto& [name, value] : answer->headers) res.set_header(name, value);
    if (!answer->text.empty()) {
      res.status = answer->status;
      res.set_content(answer->text, answer->content_type);
    } else {
      SendJson(res, answer->status, answer->body);
    }
  };
}

}  // namespace

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

Result<std::unique_ptr<ApiServer>> ApiServer::Bind(const ServerOptions& options, ApiContext& ctx) {
  std::unique_ptr<ApiServer> api(new ApiServer());
  if (options.tls) {
    auto tls = std::make_unique<httplib::SSLServer>(options.tls->cert_path.c_str(), options.tls->key_path.c_str());
    if (!tls->is_valid()) {
      return Status::InvalidArgument(fmt::format("{} / {}: the TLS certificate or key could not be loaded",
                                                 options.tls->cert_path, options.tls->key_path));
    }
    api->server_ = std::move(tls);
  } else {
    if (!IsLoopback(options.host)) {
      return Status::InvalidArgument(fmt::format(
          "plain HTTP is only allowed on a loopback address, not {}: configure HTTPS (the default)", options.host));
    }
    api->server_ = std::make_unique<httplib::Server>();
  }
  api->gate_ = std::make_unique<SessionGate>(ctx.tokens, ctx.accounts, ctx.clock);
  httplib::Server& server = *api->server_;
  int threads = options.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(options.max_body_bytes);
  // Small JSON answers: without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold
  // each response back ~40 ms on a keep-alive connection.
  server.set_tcp_nodelay(true);
  server.set_read_timeout(10);
  // Each keep-alive connection holds a worker thread: idle ones give it back soon.
  server.set_keep_alive_timeout(5);
  server.set_write_timeout(10);
  httplib::Headers headers = {
      {"Cache-Control", "no-store"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Content-Security-Policy", "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'"},
      {"Referrer-Policy", "no-referrer"},
  };
  if (options.tls) headers.emplace("Strict-Transport-Security", "max-age=31536000");
  server.set_default_headers(headers);
  // The Webconf's pages: files of one directory, looked up before the routes (none of its
  // names is "api", "oauth" or "metrics"). cpp-httplib refuses paths with "..".
  if (!options.webconf_dir.empty() && !server.set_mount_point("/", options.webconf_dir)) {
    return Status::NotFound(
        fmt::format("{}: the Webconf directory does not exist (config key webconf_dir)", options.webconf_dir));
  }
  for (const Route& route : ApiRoutes()) {
    std::string pattern = PathRegex(route.path);
    auto handler = MakeHandler(route, ctx, *api->gate_);
    if (route.method == "GET") server.Get(pattern, handler);
    if (route.method == "POST") server.Post(pattern, handler);
    if (route.method == "PUT") server.Put(pattern, handler);
    if (route.method == "DELETE") server.Delete(pattern, handler);
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
    return Status::Unavailable(
        fmt::format("{}:{}: cannot listen: address already in use or not available", options.host, options.port));
  }
  std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  api->url_ = fmt::format("{}://{}:{}", options.tls ? "https" : "http", host, port);
  return api;
}

ApiServer::~ApiServer() = default;

Status ApiServer::Run() {
  if (!server_->listen_after_bind()) return Status::Internal(fmt::format("{}: the HTTP server failed", url_));
  return Status();
}

void ApiServer::Stop() { server_->stop(); }

}  // namespace keepsake::web
