// The CLI's client of the keepsaked REST API over HTTPS: JSON requests with the session of
// `keepsake login` (a Bearer token, refreshed once when it has expired), the server's
// certificate checked against a CA file (by default the daemon's own self-signed
// certificate in the state directory), and error answers turned back into a Status with
// the service's own message. Not thread-safe.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/status.h"
#include "cli/session_file.h"

namespace httplib {
class Client;
}

namespace keepsake::cli {

struct ApiClientOptions {
  std::string server = "https://127.0.0.1:8443";  // --server, KEEPSAKE_SERVER
  std::string ca_file;                            // PEM file of trusted certificates (--ca-file, KEEPSAKE_CA_FILE)
  bool use_session = true;                        // send the stored session's token
};

class ApiClient {
 public:
  explicit ApiClient(ApiClientOptions options);
  ~ApiClient();

  // kUnavailable when the daemon cannot be reached; kUnauthenticated "not logged in: run
  // `keepsake login`" when there is no valid session; the API's error otherwise.
  Result<nlohmann::json> Get(const std::string& path);
  Result<nlohmann::json> Post(const std::string& path, const nlohmann::json& body);
  Result<nlohmann::json> Put(const std::string& path, const nlohmann::json& body);
  Result<nlohmann::json> Delete(const std::string& path);
  // POST of a form (the OAuth token endpoint).
  Result<nlohmann::json> PostForm(const std::string& path, const std::string& form);

 private:
  Result<nlohmann::json> Send(const std::string& method, const std::string& path, const std::string& body,
                              const std::string& content_type);
  Result<nlohmann::json> SendOnce(const std::string& method, const std::string& path, const std::string& body,
                                  const std::string& content_type, int& http_status);
  Status RefreshSession();

  ApiClientOptions options_;
  std::unique_ptr<httplib::Client> client_;
  std::optional<StoredSession> session_;
};

}  // namespace keepsake::cli
