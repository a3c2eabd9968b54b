#include "cli/api_client.h"

#include <httplib.h>

#include <fmt/format.h>

namespace keepsake::cli {

ApiClient::ApiClient(std::string server) : server_(std::move(server)) {
  client_ = std::make_unique<httplib::Client>(server_);
  client_->set_connection_timeout(5);
  client_->set_read_timeout(60);
}

ApiClient::~ApiClient() = default;

Result<nlohmann::json> ApiClient::Get(const std::string& path) { return Send("GET", path, nullptr); }
Result<nlohmann::json> ApiClient::Post(const std::string& path, const nlohmann::json& body) {
  return Send("POST", path, &body);
}
Result<nlohmann::json> ApiClient::Put(const std::string& path, const nlohmann::json& body) {
  return Send("PUT", path, &body);
}

Result<nlohmann::json> ApiClient::Send(const std::string& method, const std::string& path,
                                       const nlohmann::json* body) {
  if (!client_->is_valid()) return Status::InvalidArgument(fmt::format("server \"{}\": not a valid URL", server_));
  std::string text = body ? body->dump() : "";
  httplib::Result res = method == "GET"    ? client_->Get(path)
                        : method == "POST" ? client_->Post(path, text, "application/json")
                                           : client_->Put(path, text, "application/json");
  if (!res) {
    return Status::Unavailable(fmt::format("cannot reach keepsaked at {}: {}; is the service running?", server_,
                                           httplib::to_string(res.error())));
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status >= 200 && res->status < 300) {
    if (j.is_discarded()) return Status::Internal(fmt::format("{} {}: the answer is not JSON", method, path));
    return j;
  }
  if (!j.is_discarded() && j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    std::string code = e.value("code", "");
    ErrorCode parsed = ErrorCodeFromName(code).value_or(res->status >= 500 ? ErrorCode::kInternal
                                                                                : ErrorCode::kInvalidArgument);
    if (parsed == ErrorCode::kOk) parsed = ErrorCode::kInternal;
    return Status::FromCode(parsed, e.value("message", fmt::format("HTTP {}", res->status)));
  }
  return Status::Internal(fmt::format("{} {}: HTTP {}", method, path, res->status));
}

}  // namespace keepsake::cli
