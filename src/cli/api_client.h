// The CLI's client of the keepsaked REST API: JSON requests, and error answers turned back
// into a Status with the service's own message, so `keepsake status` fails the way the
// Webconf would. Not thread-safe.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace httplib {
class Client;
}

namespace keepsake::cli {

class ApiClient {
 public:
  // `server`: "http://127.0.0.1:8080" (--server, env KEEPSAKE_SERVER).
  explicit ApiClient(std::string server);
  ~ApiClient();

  // kUnavailable when the daemon cannot be reached; the API's error (code and message)
  // otherwise.
  Result<nlohmann::json> Get(const std::string& path);
  Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body);
  Result<nlohmann::json> Put(const std::string& path, const nlohmann::json& body);

 private:
  Result<nlohmann::json> Send(const std::string& method, const std::string& path, const nlohmann::json* body);
  std::string server_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace keepsake::cli
