// The daemon's HTTPS server: binds, then serves the routes of api_routes.h on a pool of
// threads until Stop(). Every route but the public ones needs a session (SessionGate);
// every error answer is {"error": {"code", "message"}}; request bodies are bounded and
// parsed before a handler sees them; security headers on every answer. Plain HTTP only
// when configured, and only on a loopback address. Thread-safe: Stop() from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "web/api_routes.h"
#include "web/tls_certificate.h"

namespace httplib {
class Server;
}

namespace keepsake::web {

struct ServerOptions {
  std::string host = "127.0.0.1";  // listen address
  int port = 8443;                 // 0: any free port (tests)
  int threads = 16;                // worker threads; each keep-alive connection holds one
  size_t max_body_bytes = 64 * 1024;
  std::optional<TlsFiles> tls;  // HTTPS with this certificate; unset: plain HTTP (loopback only)
  std::string webconf_dir;      // static pages served at "/" (index.html); "" for none
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopback(const std::string& host);

class ApiServer {
 public:
  // Binds the listening socket. kUnavailable "127.0.0.1:8080: address already in use (or
  // not available)" when it cannot.
  // kInvalidArgument for plain HTTP on an address other than loopback.
  static Result<std::unique_ptr<ApiServer>> Bind(const ServerOptions& options, ApiContext& context);
  ~ApiServer();

  // "https://127.0.0.1:8443" (with the real port when 0 was asked for).
  const std::string& url() const { return url_; }
  // Serves until Stop(). kInternal if the server fails.
  Status Run();
  void Stop();

 private:
  ApiServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<SessionGate> gate_;
  std::string url_;
};

}  // namespace keepsake::web
