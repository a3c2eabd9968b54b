// How `keepsake` reports failure: one line on stderr and an exit code per class of error,
// so scripts can branch on it without parsing messages.
#pragma once

#include "base/status.h"

namespace keepsake::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  // anything not below (already exists, precondition, internal)
  kExitUsage = 2,    // bad command line or argument
  kExitAuth = 3,     // wrong DMS, another domain
  kExitCorrupt = 4,  // the backup file failed a check
  kExitIo = 5,       // file system or storage error
};

int ExitCodeFor(const Status& status);

}  // namespace keepsake::cli
