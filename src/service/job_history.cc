#include "service/job_history.h"

#include <fmt/format.h>

namespace keepsake::service {
namespace {

constexpr const char* kColumns =
    "id, kind, trigger, requester, started_at, ended_at, result, size, file, error, duration_ms";

std::optional<std::string> Opt(const std::optional<int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

std::optional<int64_t> OptInt(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<int64_t>(std::stoll(s));
}

JobRecord FromRow(const std::vector<std::string>& r) {
  JobRecord j;
  j.id = std::stoll(r[0]);
  j.kind = r[1];
  j.trigger = r[2];
  j.requester = r[3];
  j.started_at = std::stoll(r[4]);
  j.ended_at = OptInt(r[5]);
  j.result = r[6];
  if (auto size = OptInt(r[7])) j.size = static_cast<uint64_t>(*size);
  j.file = r[8];
  j.error = r[9];
  j.duration_ms = OptInt(r[10]);
  return j;
}

}  // namespace

nlohmann::json JobToJson(const JobRecord& job) {
  nlohmann::json j = {{"id", job.id},           {"kind", job.kind},       {"trigger", job.trigger},
                      {"requester", job.requester}, {"started_at", job.started_at}, {"result", job.result}};
  j["ended_at"] = job.ended_at ? nlohmann::json(*job.ended_at) : nlohmann::json(nullptr);
  j["size"] = job.size ? nlohmann::json(*job.size) : nlohmann::json(nullptr);
  j["duration_ms"] = job.duration_ms ? nlohmann::json(*job.duration_ms) : nlohmann::json(nullptr);
  j["file"] = job.file;
  j["error"] = job.error;
  return j;
}

Result<int64_t> JobHistory::Start(const std::string& kind, const std::string& trigger,
                                  const std::string& requester, int64_t started_at) {
  int64_t id = 0;
  RETURN_IF_ERROR(db_.Query("INSERT INTO jobs(kind, trigger, requester, started_at, result) "
                            "VALUES(?, ?, ?, ?, 'running') RETURNING id",
                            {kind, trigger, requester, std::to_string(started_at)},
                            [&](const auto& r) { id = std::stoll(r[0]); }));
  return id;
}

Status JobHistory::Finish(const JobRecord& done) {
  std::optional<int64_t> size;
  if (done.size) size = static_cast<int64_t>(*done.size);
  return db_.Query("UPDATE jobs SET result = ?, ended_at = ?, size = ?, file = ?, error = ?, duration_ms = ? "
                   "WHERE id = ?",
                   {done.result, Opt(done.ended_at), Opt(size), done.file, done.error, Opt(done.duration_ms),
                    std::to_string(done.id)});
}

Result<std::vector<JobRecord>> JobHistory::Select(const std::string& where,
                                                  const std::vector<std::optional<std::string>>& params,
                                                  int limit) {
  std::vector<JobRecord> jobs;
  RETURN_IF_ERROR(db_.Query(fmt::format("SELECT {} FROM jobs WHERE {} ORDER BY id DESC LIMIT {}", kColumns, where,
                                        limit),
                            params, [&](const auto& r) { jobs.push_back(FromRow(r)); }));
  return jobs;
}

Result<std::vector<JobRecord>> JobHistory::List(int limit, const std::string& kind) {
  if (kind.empty()) return Select("1", {}, limit);
  return Select("kind = ?", {kind}, limit);
}

Result<std::optional<JobRecord>> JobHistory::LastSucceeded(const std::string& kind) {
  ASSIGN_OR_RETURN(auto jobs, Select("kind = ? AND result = 'succeeded'", {kind}, 1));
  if (jobs.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(jobs.front());
}

Result<std::optional<JobRecord>> JobHistory::LastFinished(const std::string& kind) {
  ASSIGN_OR_RETURN(auto jobs, Select("kind = ? AND result != 'running'", {kind}, 1));
  if (jobs.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(jobs.front());
}

Result<int64_t> JobHistory::CountFailed(const std::string& kind) {
  int64_t n = 0;
  RETURN_IF_ERROR(db_.Query("SELECT count(*) FROM jobs WHERE kind = ? AND result IN ('failed', 'interrupted')",
                            {kind}, [&](const auto& r) { n = std::stoll(r[0]); }));
  return n;
}

Result<int> JobHistory::MarkInterrupted(int64_t now) {
  int n = 0;
  RETURN_IF_ERROR(db_.Query("UPDATE jobs SET result = 'interrupted', ended_at = ?, "
                            "error = 'interrupted: the service stopped unexpectedly during this job' "
                            "WHERE result = 'running' RETURNING id",
                            {std::to_string(now)}, [&](const auto&) { ++n; }));
  return n;
}

}  // namespace keepsake::service
