#include "web/api_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <sodium.h>

#include <condition_variable>
#include <thread>

#include "base/json_fields.h"
#include "base/log.h"
#include "web/api_json.h"
#include "web/http_errors.h"
#include "web/static_files.h"

namespace keepsake::web {
namespace {

constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

HttpAnswer JsonAnswer(int status, const nlohmann::json& body) {
  HttpAnswer answer;
  answer.status = status;
  answer.headers.emplace_back("Content-Type", "application/json");
  answer.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return answer;
}

HttpAnswer ErrorAnswer(const Status& status) { return JsonAnswer(HttpStatusFor(status.code()), ErrorBody(status)); }

// 401 with a WWW-Authenticate challenge, as RFC 6750 asks of a Bearer-protected resource.
HttpAnswer Unauthenticated(const Status& why) {
  HttpAnswer answer = JsonAnswer(401, ErrorBody("unauthenticated", why.message()));
  answer.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"keepsake\"");
  return answer;
}

bool IsApiPath(const std::string& path) {
  return path.rfind("/api/", 0) == 0 || path.rfind("/oauth/", 0) == 0 || path == "/metrics" || path == "/api";
}

bool IsForm(const HttpRequest& req) {
  return req.Header("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0;
}

}  // namespace

// Routes requests, checks sessions, shapes answers; feeds the status event stream.
class ApiServer::Handler : public HttpHandler {
 public:
  Handler(const ServerOptions& options, ApiContext& ctx)
      : options_(options),
        ctx_(ctx),
        gate_(ctx.tokens, ctx.accounts, ctx.clock,
              [&svc = ctx.service] { return svc.GetStatus().state == service::ServiceState::kRestoreRunning; }),
        files_(options.webconf_dir),
        feed_(std::make_shared<EventFeed>()) {
    ctx_.status_events = feed_;
    ticker_ = std::thread([this] { Tick(); });
  }

  ~Handler() override { StopTicker(); }

  // Before the server goes: a status published while its connections are torn down would
  // be posted to an io_context being destroyed.
  void StopTicker() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (ticker_.joinable()) ticker_.join();
  }

  BodyPlan Plan(const HttpRequest& head) override {
    BodyPlan plan;
    plan.limit = options_.max_body_bytes;
    std::vector<std::string> params;
    const Route* route = Find(head, params);
    if (!route || !route->upload) return plan;  // unknown routes are answered after their (small) body
    if (options_.upload_dir.empty()) {
      plan.refuse = ErrorAnswer(Status::FailedPrecondition("uploads are not enabled on this appliance"));
      return plan;
    }
    Result<Caller> caller = gate_.Check(head);  // before a byte of a large body is taken
    if (!caller.ok()) {
      plan.refuse = caller.status().code() == ErrorCode::kUnauthenticated ? Unauthenticated(caller.status())
                                                                          : ErrorAnswer(caller.status());
      return plan;
    }
    plan.limit = options_.max_upload_bytes;
    plan.to_file = fmt::format("{}/upload-{}.part", options_.upload_dir, NextUploadId());
    return plan;
  }

  HttpAnswer Handle(HttpRequest& request) override {
    HttpAnswer answer;
    try {
      answer = Answer(request);
    } catch (const std::exception& e) {
      log::error("{} {}: internal error: {}", request.method, request.path, e.what());
      answer = JsonAnswer(500, ErrorBody("internal", "internal error; see the service log"));
    }
    if (!request.body_file.empty()) ::unlink(request.body_file.c_str());  // a handler that wanted it moved it
    // A body may carry a secret (a DMS, a password): overwritten, all of its capacity, now
    // that the handler is done with it.
    request.body.resize(request.body.capacity());
    sodium_memzero(request.body.data(), request.body.size());
    request.body.clear();
    return Secure(std::move(answer), IsApiPath(request.path));
  }

  HttpAnswer Error(int status, const std::string& message) override {
    std::string_view code = status == 413   ? "payload_too_large"
                            : status == 431 ? "request_header_fields_too_large"
                            : status == 507 ? "no_space"
                                            : "bad_request";
    return Secure(JsonAnswer(status, ErrorBody(code, message)), true);
  }

 private:
  const Route* Find(const HttpRequest& req, std::vector<std::string>& params) const {
    for (const Route& route : ApiRoutes()) {
      if (route.method == req.method && MatchPath(route.path, req.path, params)) return &route;
    }
    return nullptr;
  }

  HttpAnswer Answer(HttpRequest& http) {
    std::vector<std::string> params;
    const Route* route = Find(http, params);
    if (!route) {
      if (!IsApiPath(http.path) && (http.method == "GET" || http.method == "HEAD")) {
        if (options_.webconf_dir.empty()) {
          return JsonAnswer(404, ErrorBody("not_found", "the Webconf is not installed (config key webconf_dir)"));
        }
        return files_.Serve(http.path, http.Header("If-None-Match"));
      }
      return JsonAnswer(404, ErrorBody("not_found", fmt::format("no such API route: {} {}", http.method, http.path)));
    }
    ApiRequest req{http, nullptr, std::move(params), state::Actor{"", http.remote_addr}, std::nullopt};
    if (route->access == Access::kSession) {
      Result<Caller> caller = gate_.Check(http);
      if (!caller.ok()) {
        if (caller.status().code() == ErrorCode::kUnauthenticated) return Unauthenticated(caller.status());
        return ErrorAnswer(caller.status());
      }
      req.actor.account = caller->username;
      req.caller = std::move(*caller);
    }
    if (!http.body.empty() && !IsForm(http)) {
      req.body = nlohmann::json::parse(http.body, nullptr, false);
      if (req.body.is_discarded()) return ErrorAnswer(Status::InvalidArgument("request body is not valid JSON"));
    }
    Result<ApiResponse> result = route->handler(ctx_, req);
    WipeJsonStrings(req.body);  // its strings may be secrets the handler copied to SecureBuffers
    if (!result.ok()) {
      if (result.status().code() == ErrorCode::kUnauthenticated && route->access == Access::kPublic) {
        return Unauthenticated(result.status());  // a failed login
      }
      return ErrorAnswer(result.status());
    }
    ApiResponse& res = *result;
    HttpAnswer answer;
    if (res.events || res.stream) {
      answer.status = res.status;
      answer.events = std::move(res.events);
      answer.stream = std::move(res.stream);
      answer.stream_length = res.stream_length;
      if (!res.content_type.empty()) answer.headers.emplace_back("Content-Type", res.content_type);
    } else if (!res.text.empty()) {
      answer.status = res.status;
      answer.headers.emplace_back("Content-Type", res.content_type);
      answer.body = std::move(res.text);
    } else {
      answer = JsonAnswer(res.status, res.body);
    }
    for (auto& header : res.headers) answer.headers.push_back(std::move(header));
    return answer;
  }

  // The headers every answer carries; API answers are never cached.
  HttpAnswer Secure(HttpAnswer answer, bool api) const {
    if (api) answer.headers.emplace_back("Cache-Control", "no-store");
    answer.headers.emplace_back("X-Content-Type-Options", "nosniff");
    answer.headers.emplace_back("X-Frame-Options", "DENY");
    answer.headers.emplace_back("Content-Security-Policy", kCsp);
    answer.headers.emplace_back("Referrer-Policy", "no-referrer");
    if (options_.tls) answer.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
    return answer;
  }

  std::string NextUploadId() {
    std::lock_guard lock(mu_);
    return fmt::format("{}-{}", getpid(), ++uploads_);
  }

  // The status stream: while anyone listens, the status is read every status_event_ms
  // and sent when it changed. One read per period whatever the number of listeners.
  void Tick() {
    std::string last;
    std::unique_lock lock(mu_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::milliseconds(options_.status_event_ms));
      if (stopping_ || feed_->streams() == 0) {
        last.clear();  // a stream that joins later is sent the status at once
        continue;
      }
      lock.unlock();
      std::string now = StatusEvent(ctx_.service.GetStatus());
      if (now != last) {
        feed_->Publish(now);
        last = std::move(now);
      }
      lock.lock();
    }
  }

  const ServerOptions& options_;
  ApiContext& ctx_;
  SessionGate gate_;
  StaticFiles files_;
  std::shared_ptr<EventFeed> feed_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  uint64_t uploads_ = 0;
  std::thread ticker_;
};

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

Result<std::unique_ptr<ApiServer>> ApiServer::Bind(const ServerOptions& options, ApiContext& ctx) {
  if (!options.tls && !IsLoopback(options.host)) {
    return Status::InvalidArgument(fmt::format(
        "plain HTTP is only allowed on a loopback address, not {}: configure HTTPS (the default)", options.host));
  }
  std::unique_ptr<ApiServer> api(new ApiServer());
  api->options_ = options;
  api->handler_ = std::make_unique<Handler>(api->options_, ctx);
  ASSIGN_OR_RETURN(api->server_,
                   HttpServer::Bind(options.host, options.port, options.tls, options.limits, *api->handler_));
  std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  api->url_ = fmt::format("{}://{}:{}", options.tls ? "https" : "http", host, api->server_->port());
  return api;
}

ApiServer::~ApiServer() {
  if (handler_) handler_->StopTicker();
  server_.reset();  // no request is handled after this
  handler_.reset();
}

Status ApiServer::Run() { return server_->Run(); }

void ApiServer::Stop() { server_->Stop(); }

}  // namespace keepsake::web
