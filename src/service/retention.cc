#include "service/retention.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

#include "archive/backup_name.h"

namespace keepsake::service {
namespace {

constexpr int kMaxKeep = 1000;

struct Field {
  const char* key;
  int RetentionPolicy::*member;
};

// One table drives validation and both JSON directions, so a new rule cannot be half wired.
constexpr std::array<Field, 4> kFields = {{
    {"keep_last", &RetentionPolicy::keep_last},
    {"keep_daily", &RetentionPolicy::keep_daily},
    {"keep_weekly", &RetentionPolicy::keep_weekly},
    {"keep_monthly", &RetentionPolicy::keep_monthly},
}};

Status OutOfRange(const char* key, std::string_view value) {
  return Status::InvalidArgument(fmt::format("retention: {} {} is out of range 0-{}", key, value, kMaxKeep));
}

// A rule that keeps the newest backup of each of the last `remaining` periods. Candidates
// arrive newest first, so the first one seen in a period is that period's newest.
struct PeriodRule {
  int remaining;
  std::optional<int64_t> last_period;

  bool Keeps(int64_t period) {
    if (remaining <= 0 || period == last_period) return false;
    last_period = period;
    --remaining;
    return true;
  }
};

bool NewerFirst(const BackupCandidate& a, const BackupCandidate& b) {
  if (a.created != b.created) return a.created > b.created;
  // Same second: "-N" sequence suffixes sort by length before value.
  if (a.name.size() != b.name.size()) return a.name.size() > b.name.size();
  return a.name > b.name;
}

// The host name as MakeBackupName writes it into file names, so that a caller may pass the
// system host name as is.
std::string FileNameHost(std::string_view hostname) {
  auto parsed = archive::ParseBackupName(archive::MakeBackupName("", hostname, 0));
  return parsed ? parsed->hostname : std::string(hostname);
}

}  // namespace

Status ValidateRetention(const RetentionPolicy& policy) {
  for (const Field& field : kFields) {
    int value = policy.*field.member;
    if (value < 0 || value > kMaxKeep) return OutOfRange(field.key, std::to_string(value));
  }
  return Status();
}

nlohmann::json RetentionToJson(const RetentionPolicy& policy) {
  nlohmann::json j = nlohmann::json::object();
  for (const Field& field : kFields) j[field.key] = policy.*field.member;
  return j;
}

Result<RetentionPolicy> RetentionFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::InvalidArgument("retention: expected a JSON object");
  RetentionPolicy policy;
  for (const auto& [key, value] : j.items()) {
    auto field = std::find_if(kFields.begin(), kFields.end(), [&](const Field& f) { return key == f.key; });
    if (field == kFields.end()) return Status::InvalidArgument(fmt::format("retention: unknown key '{}'", key));
    if (!value.is_number_integer()) {
      return Status::InvalidArgument(fmt::format("retention: {} must be an integer", field->key));
    }
    // Range-check before narrowing to int: a huge value must not wrap into range.
    if (value.is_number_unsigned()) {
      auto u = value.get<uint64_t>();
      if (u > static_cast<uint64_t>(kMaxKeep)) return OutOfRange(field->key, std::to_string(u));
      policy.*field->member = static_cast<int>(u);
    } else {
      auto i = value.get<int64_t>();
      if (i < 0 || i > kMaxKeep) return OutOfRange(field->key, std::to_string(i));
      policy.*field->member = static_cast<int>(i);
    }
  }
  return policy;
}

std::vector<std::string> SelectForRemoval(std::vector<BackupCandidate> candidates, const RetentionPolicy& policy,
                                          const date::time_zone& zone) {
  KS_CHECK(ValidateRetention(policy).ok());
  if (policy == RetentionPolicy{}) return {};

  std::sort(candidates.begin(), candidates.end(), NewerFirst);
  int last_remaining = policy.keep_last;
  PeriodRule daily{policy.keep_daily, std::nullopt};
  PeriodRule weekly{policy.keep_weekly, std::nullopt};
  PeriodRule monthly{policy.keep_monthly, std::nullopt};

  std::vector<std::string> removed;
  for (BackupCandidate& candidate : candidates) {
    const date::local_days day = date::floor<date::days>(zone.to_local(candidate.created));
    // An ISO week runs Monday to Sunday, so its Monday names it, also across a year boundary.
    const date::local_days monday = day - (date::weekday{day} - date::Monday);
    const date::year_month_day ymd{day};
    const int64_t month = int64_t{static_cast<int>(ymd.year())} * 12 + static_cast<unsigned>(ymd.month()) - 1;

    // Every rule sees every candidate (no short-circuit): a backup kept by one rule still
    // uses up a period of the others, as in restic, so the rules do not cascade into
    // keeping older backups than their counts say.
    bool keep = false;
    if (last_remaining > 0) {
      --last_remaining;
      keep = true;
    }
    keep |= daily.Keeps(day.time_since_epoch().count());
    keep |= weekly.Keeps(monday.time_since_epoch().count());
    keep |= monthly.Keeps(month);
    if (!keep) removed.push_back(std::move(candidate.name));
  }
  // Oldest first, so an interrupted pruning run has removed the least valuable backups.
  std::reverse(removed.begin(), removed.end());
  return removed;
}

std::vector<BackupCandidate> RetentionCandidates(const std::vector<std::string>& names, std::string_view hostname,
                                                 std::string_view prefix) {
  const std::string host = FileNameHost(hostname);
  std::vector<BackupCandidate> candidates;
  for (const std::string& name : names) {
    auto parsed = archive::ParseBackupName(name);
    if (!parsed || parsed->hostname != host || parsed->prefix != prefix) continue;
    candidates.push_back({name, date::sys_seconds{std::chrono::seconds{parsed->when}}});
  }
  return candidates;
}

}  // namespace keepsake::service
