// The daemon's HTTPS service: the routes of api_routes.h under /api/v1, /oauth and
// /metrics, the Webconf's files at "/" (static_files.h), and the status as server-sent
// events, on the event-driven server of http_server.h. Every route but the public ones
// needs a session (SessionGate); every error answer is {"error": {"code", "message"}};
// request bodies are bounded and parsed before a handler sees them; security headers on
// every answer. Plain HTTP only when configured, and only on a loopback address.
// Thread-safe: Stop() from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "web/api_routes.h"
#include "web/http_server.h"
#include "web/tls_certificate.h"

namespace keepsake::web {

struct ServerOptions {
  std::string host = "127.0.0.1";  // listen address
  int port = 8443;                 // 0: any free port (tests)
  HttpLimits limits;
  size_t max_body_bytes = 64 * 1024;  // a JSON or form body
  std::optional<TlsFiles> tls;        // HTTPS with this certificate; unset: plain HTTP (loopback only)
  std::string webconf_dir;            // static pages served at "/" (index.html); "" for none
  std::string upload_dir;             // where uploaded backups are written; "" refuses uploads
  uint64_t max_upload_bytes = 1ull << 40;
  int status_event_ms = 1000;  // how often the status stream looks for a change
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopback(const std::string& host);

class ApiServer {
 public:
  // Binds the listening socket. kUnavailable "127.0.0.1:8080: cannot listen: ..." when it
  // cannot. kInvalidArgument for plain HTTP on an address other than loopback.
  static Result<std::unique_ptr<ApiServer>> Bind(const ServerOptions& options, ApiContext& context);
  ~ApiServer();

  // "https://127.0.0.1:8443" (with the real port when 0 was asked for).
  const std::string& url() const { return url_; }
  // Serves until Stop(). kInternal if the server fails.
  Status Run();
  void Stop();

 private:
  class Handler;
  ApiServer() = default;
  ServerOptions options_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<HttpServer> server_;
  std::string url_;
};

}  // namespace keepsake::web
