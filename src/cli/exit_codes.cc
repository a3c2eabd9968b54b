#include "cli/exit_codes.h"

namespace keepsake::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk:
      return kExitOk;
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    case ErrorCode::kUnauthenticated:
      return kExitAuth;
    case ErrorCode::kCorruption:
    case ErrorCode::kNotSupported:
      return kExitCorrupt;
    case ErrorCode::kNotFound:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kNoSpace:
    case ErrorCode::kUnavailable:
    case ErrorCode::kIoError:
      return kExitIo;
    default:
      return kExitFailure;
  }
}

}  // namespace keepsake::cli
