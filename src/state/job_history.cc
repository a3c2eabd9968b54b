#include "state/job_history.h"

#include <fmt/format.h>

namespace keepsake::state {
namespace {

constexpr const char* kColumns =
    "id, kind, trigger, requester, started_at, ended_at, result, size, file, error, duration_ms, summary";

std::optional<std::string> Opt(const std::optional<int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

std::optional<int64_t> OptInt(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<int64_t>(std::stoll(s));
}

int64_t Unix(date::sys_seconds t) { return t.time_since_epoch().count(); }
date::sys_seconds FromUnix(int64_t t) { return date::sys_seconds(std::chrono::seconds(t)); }

JobRecord FromRow(const std::vector<std::string>& r) {
  JobRecord j;
  j.id = std::stoll(r[0]);
  // Rows are written only by Start() and Finish(): an unknown token is a newer version's.
  j.kind = ParseJobKind(r[1]).value_or(JobKind::kBackup);
  j.trigger = ParseJobTrigger(r[2]).value_or(JobTrigger::kManual);
  j.requester = r[3];
  j.started_at = FromUnix(std::stoll(r[4]));
  if (auto ended = OptInt(r[5])) j.ended_at = FromUnix(*ended);
  j.result = ParseJobResult(r[6]).value_or(JobResult::kFailed);
  if (auto size = OptInt(r[7])) j.size = static_cast<uint64_t>(*size);
  j.file = r[8];
  j.error = r[9];
  j.duration_ms = OptInt(r[10]);
  j.summary = r[11];
  return j;
}

std::string Kind(JobKind kind) { return std::string(JobKindName(kind)); }

}  // namespace

Result<JobRecord> JobHistory::Start(JobKind kind, JobTrigger trigger, const std::string& requester,
                                    date::sys_seconds started_at) {
  JobRecord job;
  job.kind = kind;
  job.trigger = trigger;
  job.requester = requester;
  job.started_at = started_at;
  RETURN_IF_ERROR(
      db_.Query("INSERT INTO jobs(kind, trigger, requester, started_at, result) "
                "VALUES(?, ?, ?, ?, 'running') RETURNING id",
                {Kind(kind), std::string(JobTriggerName(trigger)), requester, std::to_string(Unix(started_at))},
                [&](const auto& r) { job.id = std::stoll(r[0]); }));
  return job;
}

Status JobHistory::Finish(const JobRecord& done) {
  std::optional<int64_t> size, ended;
  if (done.size) size = static_cast<int64_t>(*done.size);
  if (done.ended_at) ended = Unix(*done.ended_at);
  return db_.Query(
      "UPDATE jobs SET result = ?, ended_at = ?, size = ?, file = ?, error = ?, summary = ?, duration_ms = ? "
      "WHERE id = ?",
      {std::string(JobResultName(done.result)), Opt(ended), Opt(size), done.file, done.error, done.summary,
       Opt(done.duration_ms), std::to_string(done.id)});
}

Result<std::vector<JobRecord>> JobHistory::Select(const std::string& where,
                                                  const std::vector<std::optional<std::string>>& params, int limit) {
  std::vector<JobRecord> jobs;
  RETURN_IF_ERROR(
      db_.Query(fmt::format("SELECT {} FROM jobs WHERE {} ORDER BY id DESC LIMIT {}", kColumns, where, limit), params,
                [&](const auto& r) { jobs.push_back(FromRow(r)); }));
  return jobs;
}

Result<std::vector<JobRecord>> JobHistory::List(int limit, std::optional<JobKind> kind) {
  if (!kind) return Select("1", {}, limit);
  return Select("kind = ?", {Kind(*kind)}, limit);
}

Result<std::optional<JobRecord>> JobHistory::LastSucceeded(JobKind kind) {
  ASSIGN_OR_RETURN(auto jobs, Select("kind = ? AND result = 'succeeded'", {Kind(kind)}, 1));
  if (jobs.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(jobs.front());
}

Result<std::optional<JobRecord>> JobHistory::LastFinished(JobKind kind) {
  ASSIGN_OR_RETURN(auto jobs, Select("kind = ? AND result != 'running'", {Kind(kind)}, 1));
  if (jobs.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(jobs.front());
}

Result<int64_t> JobHistory::CountFailed(JobKind kind) {
  int64_t n = 0;
  RETURN_IF_ERROR(db_.Query("SELECT count(*) FROM jobs WHERE kind = ? AND result IN ('failed', 'interrupted')",
                            {Kind(kind)}, [&](const auto& r) { n = std::stoll(r[0]); }));
  return n;
}

Result<int> JobHistory::MarkInterrupted(date::sys_seconds now) {
  int n = 0;
  RETURN_IF_ERROR(
      db_.Query("UPDATE jobs SET result = 'interrupted', ended_at = ?, "
                "error = 'interrupted: the service stopped unexpectedly during this job' "
                "WHERE result = 'running' RETURNING id",
                {std::to_string(Unix(now))}, [&](const auto&) { ++n; }));
  return n;
}

}  // namespace keepsake::state
