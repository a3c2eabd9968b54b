#include "web/http_errors.h"

#include <cctype>

namespace keepsake::web {

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 200;
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 403;  // wrong DMS or another domain, not a login
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
      return 409;
    case ErrorCode::kFailedPrecondition:
      return 409;  // a job is running, no DMS, no storage
    case ErrorCode::kCancelled:
      return 409;
    case ErrorCode::kCorruption:
      return 422;
    case ErrorCode::kNotSupported:
      return 422;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kNoSpace:
      return 507;
    case ErrorCode::kIoError:
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

std::string ApiErrorCode(ErrorCode code) {
  std::string name(ErrorCodeName(code));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

nlohmann::json ErrorBody(std::string_view code, std::string_view message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

nlohmann::json ErrorBody(const Status& status) { return ErrorBody(ApiErrorCode(status.code()), status.message()); }

}  // namespace keepsake::web
