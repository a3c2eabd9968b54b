// Checks of a request's body, one copy for every route: an object with only known fields,
// a string list, a secret copied to locked memory, a field of a JSON or form body.
// Thread-safe (pure functions over the request).
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/secure_buffer.h"
#include "base/status.h"
#include "web/http_message.h"

namespace keepsake::web {

// kInvalidArgument "request body: expected a JSON object" / "request body: unknown field "x"".
Status RequireObject(const nlohmann::json& body, std::initializer_list<std::string_view> known);

// The list of names under `key` (absent: empty). At most 64 names.
Result<std::vector<std::string>> StringList(const nlohmann::json& body, const char* key);

// A secret from a JSON body, copied into locked memory. The JSON text it came from is freed
// with the request.
Result<SecureBuffer> Secret(const nlohmann::json& body, const char* key);
SecureBuffer Secret(const std::string& text);

// The integer query parameter `name` of `req` in [min, max]; `fallback` when absent.
// kInvalidArgument "limit "abc": expected a number from 1 to 1000" otherwise.
Result<long> QueryNumber(const HttpRequest& req, const char* name, long fallback, long min, long max);

// A field of the body: a form (OAuth clients send application/x-www-form-urlencoded) or
// JSON. Never the query string: credentials in a URL end up in proxy logs and histories
// (RFC 6749 §2.3.1).
std::optional<std::string> Field(const nlohmann::json& body, const std::string& raw_body, const char* key);

}  // namespace keepsake::web
