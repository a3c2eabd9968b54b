// The daemon's HTTP server: binds, then serves the routes of api_routes.h on a pool of
// threads until Stop(). Every error answer is {"error": {"code", "message"}}; request
// bodies are bounded and parsed as JSON before a handler sees them. Plain HTTP, meant for
// loopback until HTTPS arrives with Webconf access. Thread-safe: Stop() from any thread.
#pragma once

#include <memory>
#include <string>

#include "service/backup_service.h"

namespace httplib {
class Server;
}

namespace keepsake::web {

struct ServerOptions {
  std::string host = "127.0.0.1";  // listen address
  int port = 8080;                 // 0: any free port (tests)
  int threads = 16;                // worker threads; each keep-alive connection holds one
  size_t max_body_bytes = 64 * 1024;
};

class ApiServer {
 public:
  // Binds the listening socket. kUnavailable "127.0.0.1:8080: address already in use (or
  // not available)" when it cannot.
  static Result<std::unique_ptr<ApiServer>> Bind(const ServerOptions& options, service::BackupService& service);
  ~ApiServer();

  // "127.0.0.1:8080" (with the real port when 0 was asked for).
  const std::string& address() const { return address_; }
  // Serves until Stop(). kInternal if the server fails.
  Status Run();
  void Stop();

 private:
  ApiServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::string address_;
};

}  // namespace keepsake::web
