#include "web/api_routes.h"

#include <fmt/format.h>

#include "web/api_json.h"
#include "web/form_encoding.h"
#include "web/request_body.h"

namespace keepsake::web {
namespace {

Result<ApiResponse> ScheduleResponse(service::BackupService& svc, const service::Schedule& schedule) {
  ASSIGN_OR_RETURN(std::vector<date::sys_seconds> runs, svc.PreviewSchedule(schedule, 5));
  return Json(ScheduleAnswerToJson(schedule, runs));
}

Result<ApiResponse> GetStatus(ApiContext& ctx, const ApiRequest&) {
  return Json(StatusToJson(ctx.service.GetStatus()));
}

// The status as server-sent events: the server holds the stream open on the feed.
Result<ApiResponse> StatusEvents(ApiContext& ctx, const ApiRequest&) {
  if (!ctx.status_events) return Status::Unavailable("status events are not served here");
  // The stream starts with the status of now, not the last one published (up to a second old).
  ctx.status_events->Publish(StatusEvent(ctx.service.GetStatus()));
  ApiResponse res;
  res.events = ctx.status_events;
  res.content_type = "text/event-stream";
  return res;
}

Result<ApiResponse> Health(ApiContext&, const ApiRequest&) { return Json({{"status", "ok"}}); }

Result<ApiResponse> Metrics(ApiContext& ctx, const ApiRequest&) {
  ApiResponse res;
  res.text = MetricsText(ctx.service.GetStatus());
  res.content_type = "text/plain; version=0.0.4";
  return res;
}

Result<ApiResponse> StartBackup(ApiContext& ctx, const ApiRequest& req) {
  if (!req.body.is_null()) RETURN_IF_ERROR(RequireObject(req.body, {}));
  ASSIGN_OR_RETURN(state::JobRecord job, ctx.service.StartBackup(req.requester()));
  return Json({{"job", JobToJson(job)}}, 202);
}

Result<ApiResponse> ListBackups(ApiContext& ctx, const ApiRequest&) {
  ASSIGN_OR_RETURN(service::BackupList list, ctx.service.ListBackups());
  return Json(BackupListToJson(list));
}

Result<ApiResponse> BackupDetails(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(service::BackupDetails details, ctx.service.DetailsOf(req.params.at(0)));
  return Json(BackupDetailsToJson(details));
}

Result<ApiResponse> ListJobs(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(long limit, QueryNumber(req.http, "limit", 50, 1, 1000));
  ASSIGN_OR_RETURN(auto jobs, ctx.service.History(static_cast<int>(limit)));
  nlohmann::json list = nlohmann::json::array();
  for (const auto& job : jobs) list.push_back(JobToJson(job));
  return Json({{"jobs", list}});
}

nlohmann::json SettingsJson(const service::BackupSettings& s) {
  return {{"prefix", s.prefix}, {"retention", service::RetentionToJson(s.retention)}};
}

Result<ApiResponse> GetSettings(ApiContext& ctx, const ApiRequest&) {
  return Json(SettingsJson(ctx.service.settings()));
}

Result<ApiResponse> PutSettings(ApiContext& ctx, const ApiRequest& req) {
  RETURN_IF_ERROR(RequireObject(req.body, {"prefix", "retention"}));
  RETURN_IF_ERROR(ctx.service.ChangeSettings("settings.changed", req.actor, [&](service::BackupSettings& s) -> Status {
    if (auto p = req.body.find("prefix"); p != req.body.end()) {
      if (!p->is_string()) return Status::InvalidArgument("\"prefix\": expected a string");
      s.prefix = p->get<std::string>();
    }
    if (auto r = req.body.find("retention"); r != req.body.end()) {
      ASSIGN_OR_RETURN(s.retention, service::RetentionFromJson(*r));
    }
    return Status();
  }));
  return Json(SettingsJson(ctx.service.settings()));
}

Result<ApiResponse> GetSchedule(ApiContext& ctx, const ApiRequest&) {
  return ScheduleResponse(ctx.service, ctx.service.settings().schedule);
}

Result<ApiResponse> PutSchedule(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(service::Schedule schedule, service::ScheduleFromJson(req.body));
  RETURN_IF_ERROR(ctx.service.ChangeSettings("schedule.changed", req.actor, [&](service::BackupSettings& s) {
    s.schedule = schedule;
    return Status();
  }));
  return ScheduleResponse(ctx.service, schedule);
}

Result<ApiResponse> PreviewSchedule(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(service::Schedule schedule, service::ScheduleFromJson(req.body));
  return ScheduleResponse(ctx.service, schedule);
}

Result<ApiResponse> GetDms(ApiContext& ctx, const ApiRequest&) { return Json(DmsToJson(ctx.service.Dms())); }

Result<ApiResponse> SetDms(ApiContext& ctx, const ApiRequest& req) {
  RETURN_IF_ERROR(RequireObject(req.body, {"dms", "confirmation", "keep_restore_key"}));
  ASSIGN_OR_RETURN(SecureBuffer dms, Secret(req.body, "dms"));
  ASSIGN_OR_RETURN(SecureBuffer confirmation, Secret(req.body, "confirmation"));
  bool keep_restore_key = false;
  if (req.body.contains("keep_restore_key")) {
    if (!req.body["keep_restore_key"].is_boolean()) {
      return Status::InvalidArgument("'keep_restore_key' must be true or false");
    }
    keep_restore_key = req.body["keep_restore_key"].get<bool>();
  }
  RETURN_IF_ERROR(ctx.service.SetDms(dms, confirmation, keep_restore_key, req.actor));
  return Json(DmsToJson(ctx.service.Dms()), 201);
}

// How guessable a candidate DMS is, by the rule that setting it applies (crypto/dms_text.h),
// so that the Webconf's meter and the refusal never disagree. Nothing is stored or logged.
Result<ApiResponse> RateDms(ApiContext&, const ApiRequest& req) {
  RETURN_IF_ERROR(RequireObject(req.body, {"dms"}));
  ASSIGN_OR_RETURN(SecureBuffer dms, Secret(req.body, "dms"));
  ASSIGN_OR_RETURN(SecureBuffer normalized, crypto::NormalizeDms(dms));
  Status rules = crypto::ValidateNewDms(dms, dms);
  return Json(DmsStrengthToJson(crypto::RateDms(normalized), rules));
}

Result<ApiResponse> StartRestore(ApiContext& ctx, const ApiRequest& req) {
  RETURN_IF_ERROR(RequireObject(req.body, {"file", "source", "dry_run", "components", "keep", "dms"}));
  service::RestoreJobOptions options;
  auto file = req.body.find("file");
  if (file == req.body.end() || !file->is_string()) return Status::InvalidArgument("\"file\" is required");
  options.file = file->get<std::string>();
  if (auto source = req.body.find("source"); source != req.body.end()) {
    if (*source != "storage" && *source != "upload") {
      return Status::InvalidArgument("\"source\": expected \"storage\" (the default) or \"upload\"");
    }
    options.from_upload = *source == "upload";
  }
  if (auto d = req.body.find("dry_run"); d != req.body.end()) {
    if (!d->is_boolean()) return Status::InvalidArgument("\"dry_run\": expected true or false");
    options.dry_run = d->get<bool>();
  }
  ASSIGN_OR_RETURN(options.components, StringList(req.body, "components"));
  ASSIGN_OR_RETURN(options.keep, StringList(req.body, "keep"));
  if (req.body.contains("dms")) {
    ASSIGN_OR_RETURN(SecureBuffer dms, Secret(req.body, "dms"));
    options.dms = std::move(dms);
  }
  ASSIGN_OR_RETURN(state::JobRecord job, ctx.service.StartRestore(std::move(options), req.requester()));
  return Json({{"job", JobToJson(job)}}, 202);
}

Result<ApiResponse> GetRestore(ApiContext& ctx, const ApiRequest&) {
  service::ServiceStatus status = ctx.service.GetStatus();
  ASSIGN_OR_RETURN(auto jobs, ctx.service.History(1, state::JobKind::kRestore));
  return Json(RestoreStatusToJson(status, jobs));
}

// The audit log, newest first: ?limit (1-200, default 50), ?offset, ?filter.
Result<ApiResponse> GetAudit(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(long limit, QueryNumber(req.http, "limit", 50, 1, 200));
  ASSIGN_OR_RETURN(long offset, QueryNumber(req.http, "offset", 0, 0, 1'000'000'000));
  std::string filter = req.http.Param("filter");
  if (filter.size() > 200) return Status::InvalidArgument("\"filter\" is longer than 200 bytes");
  ASSIGN_OR_RETURN(state::AuditPage page, ctx.audit.Read(static_cast<int>(limit), offset, filter));
  return Json(AuditPageToJson(page));
}

// The backup file as it is on the storage, streamed a MiB at a time.
Result<ApiResponse> DownloadBackup(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(service::BackupDownload download, ctx.service.OpenBackupFile(req.params.at(0), req.requester()));
  auto reader = std::shared_ptr<storage::Reader>(std::move(download.reader));
  ApiResponse res;
  res.content_type = "application/octet-stream";
  res.stream_length = download.size;
  res.stream = [reader]() -> Result<std::string> {
    std::string chunk(1 << 20, '\0');
    ASSIGN_OR_RETURN(size_t n, reader->Read(std::as_writable_bytes(std::span(chunk.data(), chunk.size()))));
    chunk.resize(n);
    return chunk;
  };
  // The name passed CheckBackupName: letters, digits, '-', '_' and '.', nothing to quote.
  res.headers.emplace_back("Content-Disposition", fmt::format("attachment; filename=\"{}\"", req.params.at(0)));
  return res;
}

// Deleting a backup needs its name typed again, as the Webconf's confirmation asks.
Result<ApiResponse> DeleteBackup(ApiContext& ctx, const ApiRequest& req) {
  RETURN_IF_ERROR(RequireObject(req.body, {"confirmation"}));
  const std::string& name = req.params.at(0);
  auto typed = req.body.find("confirmation");
  if (typed == req.body.end() || !typed->is_string() || typed->get<std::string>() != name) {
    return Status::InvalidArgument(fmt::format("\"confirmation\" must be the backup's name, {}, typed again", name));
  }
  RETURN_IF_ERROR(ctx.service.DeleteBackup(name, req.requester()));
  return Json({{"message", fmt::format("{} was deleted.", name)}});
}

// A backup file uploaded for a restore (the body, streamed to disk by the server).
Result<ApiResponse> UploadBackup(ApiContext& ctx, const ApiRequest& req) {
  std::string name = req.http.Param("name");
  if (name.empty()) return Status::InvalidArgument("?name= is required: the backup file's name");
  if (req.http.body_file.empty()) return Status::InvalidArgument("the request has no body: send the backup file");
  ASSIGN_OR_RETURN(service::BackupListing listing, ctx.service.AcceptUpload(req.http.body_file, name, req.requester()));
  return Json({{"upload", BackupListingToJson(listing)}}, 201);
}

Result<ApiResponse> GetUpload(ApiContext& ctx, const ApiRequest&) {
  ASSIGN_OR_RETURN(std::optional<service::BackupListing> listing, ctx.service.UploadedBackup());
  return Json({{"upload", listing ? BackupListingToJson(*listing) : nlohmann::json(nullptr)}});
}

Result<ApiResponse> DiscardUpload(ApiContext& ctx, const ApiRequest& req) {
  RETURN_IF_ERROR(ctx.service.DiscardUpload(req.requester()));
  return Json({{"message", "The uploaded backup was deleted."}});
}

Result<ApiResponse> GetRollback(ApiContext& ctx, const ApiRequest&) {
  ASSIGN_OR_RETURN(auto point, ctx.service.RollbackPoint());
  return Json(RollbackPointToJson(point));
}

Result<ApiResponse> StartRollback(ApiContext& ctx, const ApiRequest& req) {
  if (!req.body.is_null()) RETURN_IF_ERROR(RequireObject(req.body, {}));
  ASSIGN_OR_RETURN(state::JobRecord job, ctx.service.StartRollback(req.requester()));
  return Json({{"job", JobToJson(job)}}, 202);
}

Result<ApiResponse> DiscardRollback(ApiContext& ctx, const ApiRequest& req) {
  RETURN_IF_ERROR(ctx.service.DiscardRollbackPoint(req.requester()));
  return Json({{"message", "The rollback point was discarded: its space is free again."}});
}

}  // namespace

void Audit(ApiContext& ctx, std::string_view event, const state::Actor& actor, std::string_view outcome,
           const nlohmann::json& fields) {
  ctx.audit.Record(ctx.clock.Now(), event, actor, outcome, fields);
}

bool MatchPath(std::string_view pattern, std::string_view path, std::vector<std::string>& params) {
  params.clear();
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern[0] != '/' || path[0] != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    std::string_view want = pattern.substr(0, pattern.find('/'));
    std::string_view got = path.substr(0, path.find('/'));
    pattern.remove_prefix(want.size());
    path.remove_prefix(got.size());
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (got.empty() || got.find('+') != std::string_view::npos) return false;
      std::string value = DecodeFormText(got);
      // An encoded '/' or NUL never reaches a handler as part of a name.
      if (value.find('/') != std::string::npos || value.find('\0') != std::string::npos) return false;
      params.push_back(std::move(value));
    } else if (want != got) {
      return false;
    }
  }
  return true;
}

const std::vector<Route>& ApiRoutes() {
  static const std::vector<Route> routes = [] {
    std::vector<Route> all = {
        {"GET", "/api/v1/health", Health, Access::kPublic},
        {"GET", "/metrics", Metrics},
        {"GET", "/api/v1/status", GetStatus},
        {"GET", "/api/v1/events", StatusEvents},
        {"POST", "/api/v1/backups", StartBackup},
        {"GET", "/api/v1/backups", ListBackups},
        {"GET", "/api/v1/backups/{name}", BackupDetails},
        {"DELETE", "/api/v1/backups/{name}", DeleteBackup},
        {"GET", "/api/v1/backups/{name}/file", DownloadBackup},
        {"GET", "/api/v1/jobs", ListJobs},
        {"GET", "/api/v1/settings", GetSettings},
        {"PUT", "/api/v1/settings", PutSettings},
        {"GET", "/api/v1/schedule", GetSchedule},
        {"PUT", "/api/v1/schedule", PutSchedule},
        {"POST", "/api/v1/schedule/preview", PreviewSchedule},
        {"GET", "/api/v1/dms", GetDms},
        {"POST", "/api/v1/dms", SetDms},
        {"POST", "/api/v1/dms/strength", RateDms},
        {"POST", "/api/v1/restore", StartRestore},
        {"GET", "/api/v1/restore", GetRestore},
        {"GET", "/api/v1/restore/rollback", GetRollback},
        {"GET", "/api/v1/audit", GetAudit},
        {"POST", "/api/v1/restore/rollback", StartRollback},
        {"DELETE", "/api/v1/restore/rollback", DiscardRollback},
        {"POST", "/api/v1/restore/upload", UploadBackup, Access::kSession, /*upload=*/true},
        {"GET", "/api/v1/restore/upload", GetUpload},
        {"DELETE", "/api/v1/restore/upload", DiscardUpload},
    };
    for (const auto* more : {&StorageRoutes(), &AuthRoutes()}) all.insert(all.end(), more->begin(), more->end());
    return all;
  }();
  return routes;
}

}  // namespace keepsake::web
