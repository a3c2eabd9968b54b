// How a Status becomes an HTTP answer: the one place an ErrorCode maps to an HTTP status
// code, and the error body {"error": {"code": "...", "message": "..."}}. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "base/status.h"

namespace keepsake::web {

int HttpStatusFor(ErrorCode code);
// "invalid_argument", "not_found", ...: ErrorCodeName in lower case.
std::string ApiErrorCode(ErrorCode code);
nlohmann::json ErrorBody(std::string_view code, std::string_view message);
nlohmann::json ErrorBody(const Status& status);

}  // namespace keepsake::web
