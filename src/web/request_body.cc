#include "web/request_body.h"

#include <fmt/format.h>

#include <algorithm>

namespace keepsake::web {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Form decoding: '+' is a space, "%41" a byte; a malformed escape stays as it is.
std::string DecodeForm(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// application/x-www-form-urlencoded: "a=1&b=two%20words". Written here rather than taken
// from cpp-httplib 0.11, whose parser and decoder live in its private detail namespace.
std::optional<std::string> FormField(std::string_view body, std::string_view key) {
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    if (DecodeForm(name) != key) continue;
    return DecodeForm(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
  }
  return std::nullopt;
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

Result<long> QueryNumber(const httplib::Request& req, const char* name, long fallback, long min, long max) {
  if (!req.has_param(name)) return fallback;
  const std::string text = req.get_param_value(name);
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
