#include "base/status.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace keepsake {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case ErrorCode::kNotFound:
      return "NOT_FOUND";
    case ErrorCode::kAlreadyExists:
      return "ALREADY_EXISTS";
    case ErrorCode::kPermissionDenied:
      return "PERMISSION_DENIED";
    case ErrorCode::kUnauthenticated:
      return "UNAUTHENTICATED";
    case ErrorCode::kNoSpace:
      return "NO_SPACE";
    case ErrorCode::kUnavailable:
      return "UNAVAILABLE";
    case ErrorCode::kCorruption:
      return "CORRUPTION";
    case ErrorCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case ErrorCode::kCancelled:
      return "CANCELLED";
    case ErrorCode::kNotSupported:
      return "NOT_SUPPORTED";
    case ErrorCode::kIoError:
      return "IO_ERROR";
    case ErrorCode::kInternal:
      return "INTERNAL";
  }
  return "UNKNOWN";
}

std::optional<ErrorCode> ErrorCodeFromName(std::string_view name) {
  for (int c = 0; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
    std::string_view known = ErrorCodeName(static_cast<ErrorCode>(c));
    if (known.size() == name.size() && std::equal(known.begin(), known.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return static_cast<ErrorCode>(c);
    }
  }
  return std::nullopt;
}

Status Status::WithContext(std::string_view what) && {
  if (ok()) return std::move(*this);
  Status out(code_, fmt::format("{}: {}", what, message_));
  out.errno_ = errno_;
  return out;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return fmt::format("{}: {}", ErrorCodeName(code_), message_);
}

namespace {
Status StatusForErrno(int err, std::string msg) {
  switch (err) {
    case ENOENT:
      return Status::NotFound(std::move(msg));
    case EACCES:
    case EPERM:
    case EROFS:
      return Status::PermissionDenied(std::move(msg));
    case ENOSPC:
    case EDQUOT:
      return Status::NoSpace(std::move(msg));
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ESTALE:
    case ENODEV:
      return Status::Unavailable(std::move(msg));
    case EEXIST:
      return Status::AlreadyExists(std::move(msg));
    default:
      return Status::IoError(std::move(msg));
  }
}
}  // namespace

Status StatusFromErrno(int err, std::string_view context) {
  return StatusForErrno(err, fmt::format("{}: {}", context, std::strerror(err))).WithErrno(err);
}

namespace internal {
void CheckFailed(const char* file, int line, const char* cond) {
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, cond);
  std::abort();
}
}  // namespace internal

}  // namespace keepsake
