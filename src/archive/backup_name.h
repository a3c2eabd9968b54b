// Backup file names: "[<prefix>_]<hostname>_<UTC timestamp>[-<n>].ksb", for example
// "nightly_ca-01_20261126T041200Z.ksb". Built and parsed only here.
#pragma once

#include <ctime>
#include <optional>
#include <string>

#include "base/status.h"
#include "base/utc_time.h"

namespace keepsake::archive {

// Letters, digits, '-', '_', '.', at most 64 characters (empty means no prefix).
// kInvalidArgument naming the rule.
Status ValidatePrefix(std::string_view prefix);

// `seq` > 1 appends "-<seq>" for a second backup within the same second.
// REQUIRES: ValidatePrefix(prefix).ok()
std::string MakeBackupName(std::string_view prefix, std::string_view hostname, std::time_t when, int seq = 1);

struct ParsedBackupName {
  std::string prefix;
  std::string hostname;
  std::time_t when = 0;
};

// Recognises names made by MakeBackupName; nullopt for anything else.
std::optional<ParsedBackupName> ParseBackupName(std::string_view name);

// OK for a name MakeBackupName could have made (never one with a '/'); kInvalidArgument
// ""x" is not a backup file name (...)" otherwise. The one check of names from a request.
Status CheckBackupName(std::string_view name);

}  // namespace keepsake::archive
