#include "state/job_record.h"

#include <array>
#include <utility>

namespace keepsake::state {
namespace {

template <typename E, size_t N>
std::optional<E> Parse(const std::array<std::pair<E, std::string_view>, N>& names, std::string_view name) {
  for (const auto& [value, text] : names) {
    if (text == name) return value;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string_view Name(const std::array<std::pair<E, std::string_view>, N>& names, E value) {
  for (const auto& [v, text] : names) {
    if (v == value) return text;
  }
  return "unknown";
}

constexpr std::array<std::pair<JobKind, std::string_view>, 2> kKinds = {{
    {JobKind::kBackup, "backup"},
    {JobKind::kRestore, "restore"},
}};
constexpr std::array<std::pair<JobTrigger, std::string_view>, 5> kTriggers = {{
    {JobTrigger::kManual, "manual"},
    {JobTrigger::kSchedule, "schedule"},
    {JobTrigger::kCatchUp, "catch-up"},
    {JobTrigger::kDryRun, "dry-run"},
    {JobTrigger::kRollback, "rollback"},
}};
constexpr std::array<std::pair<JobResult, std::string_view>, 6> kResults = {{
    {JobResult::kRunning, "running"},
    {JobResult::kSucceeded, "succeeded"},
    {JobResult::kFailed, "failed"},
    {JobResult::kAborted, "aborted"},
    {JobResult::kInterrupted, "interrupted"},
    {JobResult::kSkipped, "skipped"},
}};

}  // namespace

std::string_view JobKindName(JobKind kind) { return Name(kKinds, kind); }
std::string_view JobTriggerName(JobTrigger trigger) { return Name(kTriggers, trigger); }
std::string_view JobResultName(JobResult result) { return Name(kResults, result); }
std::optional<JobKind> ParseJobKind(std::string_view name) { return Parse(kKinds, name); }
std::optional<JobTrigger> ParseJobTrigger(std::string_view name) { return Parse(kTriggers, name); }
std::optional<JobResult> ParseJobResult(std::string_view name) { return Parse(kResults, name); }

}  // namespace keepsake::state
