// Retention: which old backups to delete after a new one has succeeded.
//
// A RetentionPolicy keeps the N newest backups and/or the newest backup of each of the last
// N days, ISO weeks and calendar months that have one, as restic's `forget --keep-*` does; a
// backup kept by several rules counts once, and everything no rule keeps is removed. The
// default (all zero) keeps every backup. Only backups of this device's current series (same
// host name, same file name prefix) are ever candidates, so another appliance's files, files
// under an old prefix, partial uploads and unrelated files are never deleted.
//
// Pure functions over values: safe to call from any thread. The caller owns the deletion.
#pragma once

#include <date/tz.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace keepsake::service {

// All zero keeps every backup. Each field is 0..1000 (ValidateRetention).
struct RetentionPolicy {
  int keep_last = 0;     // the N newest backups
  int keep_daily = 0;    // the newest backup of each of the last N days that have one
  int keep_weekly = 0;   // ... of each of the last N ISO weeks (Monday first) that have one
  int keep_monthly = 0;  // ... of each of the last N calendar months that have one

  bool operator==(const RetentionPolicy&) const = default;
};

// OK when every field is in 0..1000; otherwise kInvalidArgument naming the first bad field:
// "retention: keep_daily -1 is out of range 0-1000".
Status ValidateRetention(const RetentionPolicy& policy);

// {"keep_last": 0, "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12}: every field, always.
nlohmann::json RetentionToJson(const RetentionPolicy& policy);

// The inverse of RetentionToJson, validated. A missing key is 0, so {} keeps everything.
// kInvalidArgument, naming the key, for a non-object, an unknown key, a value that is not an
// integer (3.5, "7", true) or one out of range.
Result<RetentionPolicy> RetentionFromJson(const nlohmann::json& j);

struct BackupCandidate {
  std::string name;           // file name in the storage directory
  date::sys_seconds created;  // when the backup was taken
};

// The names of the candidates no rule keeps, sorted oldest first; empty when the policy keeps
// everything. Days, weeks and months are calendar periods in `zone`. Input order does not
// matter; backups created in the same second are ordered by name length, then name, which
// is creation order for one series ("x_..Z.ksb" < "x_..Z-2.ksb" < "x_..Z-10.ksb"). Whenever
// any rule is non-zero the newest candidate is kept.
// REQUIRES: ValidateRetention(policy).ok()
std::vector<std::string> SelectForRemoval(std::vector<BackupCandidate> candidates, const RetentionPolicy& policy,
                                          const date::time_zone& zone);

// The files in a storage listing that retention may consider: backup names
// (archive::ParseBackupName) of `hostname` with exactly `prefix` ("" for none), with the
// time their name gives (which ApplyRetention replaces with the verified header's). `hostname` is compared in its file
// name form, as archive::MakeBackupName writes it ("ca_01" matches files of "ca-01"). Nothing else is ever a candidate.
// Order follows `names`.
std::vector<BackupCandidate> RetentionCandidates(const std::vector<std::string>& names, std::string_view hostname,
                                                 std::string_view prefix);

}  // namespace keepsake::service
