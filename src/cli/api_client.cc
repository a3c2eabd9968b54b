#include "cli/api_client.h"

#include <fmt/format.h>
#include <httplib.h>

namespace keepsake::cli {

ApiClient::ApiClient(ApiClientOptions options) : options_(std::move(options)) {
  client_ = std::make_unique<httplib::Client>(options_.server);
  client_->set_connection_timeout(5);
  client_->set_read_timeout(60);
  if (!options_.ca_file.empty()) client_->set_ca_cert_path(options_.ca_file.c_str());
  client_->enable_server_certificate_verification(true);
  if (options_.use_session) {
    auto loaded = LoadSession();
    if (loaded.ok() && *loaded && (*loaded)->server == options_.server) session_ = **loaded;
  }
}

ApiClient::~ApiClient() = default;

Result<nlohmann::json> ApiClient::Get(const std::string& path) { return Send("GET", path, "", ""); }
Result<nlohmann::json> ApiClient::Post(const std::string& path, const nlohmann::json& body) {
  return Send("POST", path, body.dump(), "application/json");
}
Result<nlohmann::json> ApiClient::Put(const std::string& path, const nlohmann::json& body) {
  return Send("PUT", path, body.dump(), "application/json");
}
Result<nlohmann::json> ApiClient::Delete(const std::string& path) { return Send("DELETE", path, "", ""); }
Result<nlohmann::json> ApiClient::PostForm(const std::string& path, const std::string& form) {
  return Send("POST", path, form, "application/x-www-form-urlencoded");
}

Result<nlohmann::json> ApiClient::Send(const std::string& method, const std::string& path, const std::string& body,
                                       const std::string& content_type) {
  int http_status = 0;
  auto answer = SendOnce(method, path, body, content_type, http_status);
  // An expired access token: one refresh, one retry.
  if (http_status == 401 && session_ && !session_->refresh_token.empty() && RefreshSession().ok()) {
    answer = SendOnce(method, path, body, content_type, http_status);
  }
  if (http_status == 401 && options_.use_session) {
    return Status::Unauthenticated(
        fmt::format("not logged in to {} (or the session expired): run `keepsake login`", options_.server));
  }
  return answer;
}

Status ApiClient::RefreshSession() {
  int http_status = 0;
  std::string form =
      "grant_type=refresh_token&refresh_token=" + httplib::detail::encode_query_param(session_->refresh_token);
  auto answer = SendOnce("POST", "/oauth/token", form, "application/x-www-form-urlencoded", http_status);
  if (!answer.ok()) return std::move(answer).status();
  session_->access_token = answer->value("access_token", "");
  session_->refresh_token = answer->value("refresh_token", "");
  return SaveSession(*session_);
}

Result<nlohmann::json> ApiClient::SendOnce(const std::string& method, const std::string& path, const std::string& body,
                                           const std::string& content_type, int& http_status) {
  http_status = 0;
  if (!client_->is_valid()) {
    return Status::InvalidArgument(fmt::format("server \"{}\": not a valid URL", options_.server));
  }
  httplib::Headers headers;
  if (session_) headers.emplace("Authorization", "Bearer " + session_->access_token);
  httplib::Result res = method == "GET"    ? client_->Get(path, headers)
                        : method == "POST" ? client_->Post(path, headers, body, content_type)
                        : method == "PUT"  ? client_->Put(path, headers, body, content_type)
                                           : client_->Delete(path, headers);
  if (!res) {
    std::string why = httplib::to_string(res.error());
    if (res.error() == httplib::Error::SSLServerVerification) {
      why += " (the server's certificate is not the one trusted: see --ca-file)";
    }
    return Status::Unavailable(
        fmt::format("cannot reach keepsaked at {}: {}; is the service running?", options_.server, why));
  }
  http_status = res->status;
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status >= 200 && res->status < 300) {
    if (j.is_discarded()) return Status::Internal(fmt::format("{} {}: the answer is not JSON", method, path));
    return j;
  }
  if (!j.is_discarded() && j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    std::string code = e.value("code", "");
    ErrorCode parsed =
        ErrorCodeFromName(code).value_or(res->status >= 500 ? ErrorCode::kInternal : ErrorCode::kInvalidArgument);
    if (res->status == 401) parsed = ErrorCode::kUnauthenticated;
    if (parsed == ErrorCode::kOk) parsed = ErrorCode::kInternal;
    return Status::FromCode(parsed, e.value("message", fmt::format("HTTP {}", res->status)));
  }
  return Status::Internal(fmt::format("{} {}: HTTP {}", method, path, res->status));
}

}  // namespace keepsake::cli
