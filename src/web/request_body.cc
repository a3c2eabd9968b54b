#include "web/request_body.h"

#include <fmt/format.h>

#include <algorithm>

#include "web/form_encoding.h"

namespace keepsake::web {
namespace {

// A form body's field (OAuth clients send application/x-www-form-urlencoded).
std::optional<std::string> FormField(std::string_view body, const std::string& key) {
  auto fields = DecodeFormFields(body);
  auto it = fields.find(key);
  if (it == fields.end()) return std::nullopt;
  return it->second;
}

}  // namespace

Status RequireObject(const nlohmann::json& body, std::initializer_list<std::string_view> known) {
  if (!body.is_object()) return Status::InvalidArgument("request body: expected a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Status::InvalidArgument(fmt::format("request body: unknown field \"{}\"", key));
    }
  }
  return Status();
}

Result<long> QueryNumber(const HttpRequest& req, const char* name, long fallback, long min, long max) {
  if (!req.HasParam(name)) return fallback;
  const std::string text = req.Param(name);
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < min || v > max) {
    return Status::InvalidArgument(fmt::format("{} \"{}\": expected a number from {} to {}", name, text, min, max));
  }
  return v;
}

Result<std::vector<std::string>> StringList(const nlohmann::json& body, const char* key) {
  std::vector<std::string> out;
  auto it = body.find(key);
  if (it == body.end()) return out;
  auto bad = [key] { return Status::InvalidArgument(fmt::format("\"{}\": expected a list of names", key)); };
  if (!it->is_array() || it->size() > 64) return bad();
  for (const auto& v : *it) {
    if (!v.is_string()) return bad();
    out.push_back(v.get<std::string>());
  }
  return out;
}

SecureBuffer Secret(const std::string& text) {
  return SecureBuffer::CopyOf(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

Result<SecureBuffer> Secret(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string()) {
    return Status::InvalidArgument(fmt::format("\"{}\" is required and must be a string", key));
  }
  return Secret(it->get_ref<const std::string&>());
}

std::optional<std::string> Field(const nlohmann::json& body, const std::string& raw_body, const char* key) {
  if (body.is_object()) {
    auto it = body.find(key);
    if (it != body.end() && it->is_string()) return it->get<std::string>();
    return std::nullopt;
  }
  return FormField(raw_body, key);
}

}  // namespace keepsake::web
