#include "web/api_routes.h"

#include <regex>

#include <fmt/format.h>

namespace keepsake::web {
namespace {


ApiResponse Json(nlohmann::json body, int status = 200) { return {status, std::move(body), "", "", {}}; }

Status RequireObject(const nlohmann::json& body) {
  if (!body.is_object()) return Status::InvalidArgument("request body: expected a JSON object");
  return Status();
}

Status UnknownFields(const nlohmann::json& body, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : body.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Status::InvalidArgument(fmt::format("request body: unknown field \"{}\"", key));
    }
  }
  return Status();
}

Result<std::vector<std::string>> StringList(const nlohmann::json& body, const char* key) {
  std::vector<std::string> out;
  auto it = body.find(key);
  if (it == body.end()) return out;
  if (!it->is_array() || it->size() > 64) return Status::InvalidArgument(fmt::format("\"{}\": expected a list of names", key));
  for (const auto& v : *it) {
    if (!v.is_string()) return Status::InvalidArgument(fmt::format("\"{}\": expected a list of names", key));
    out.push_back(v.get<std::string>());
  }
  return out;
}

// A secret from the request body, copied into locked memory. The JSON text it came from
// is freed with the request.
Result<SecureBuffer> Secret(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string()) return Status::InvalidArgument(fmt::format("\"{}\" is required and must be a string", key));
  const std::string& s = it->get_ref<const std::string&>();
  return SecureBuffer::CopyOf(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

Result<ApiResponse> ScheduleResponse(service::BackupService& svc, const service::Schedule& schedule) {
  ASSIGN_OR_RETURN(nlohmann::json j, svc.PreviewSchedule(schedule, 5));
  return Json(j);
}

Result<ApiResponse> GetStatus(ApiContext& ctx, const ApiRequest&) { return Json(ctx.service.GetStatus()); }

Result<ApiResponse> Health(ApiContext&, const ApiRequest&) { return Json({{"status", "ok"}}); }

Result<ApiResponse> Metrics(ApiContext& ctx, const ApiRequest&) {
  return ApiResponse{200, nullptr, ctx.service.Metrics(), "text/plain; version=0.0.4", {}};
}

Result<ApiResponse> StartBackup(ApiContext& ctx, const ApiRequest& req) {
  if (req.caller && req.caller->otp) {
    return Status::FailedPrecondition(
        "Backups cannot be created while logged in as the Initial OTP User: log in with an OAuth user "
        "account and remove the OTP User.");
  }
  if (!req.body.is_null()) {
    RETURN_IF_ERROR(RequireObject(req.body));
    RETURN_IF_ERROR(UnknownFields(req.body, {}));
  }
  ASSIGN_OR_RETURN(service::JobRecord job, ctx.service.StartBackup("manual", req.actor));
  return Json({{"job", service::JobToJson(job)}}, 202);
}

Result<ApiResponse> ListBackups(ApiContext& ctx, const ApiRequest&) {
  ASSIGN_OR_RETURN(nlohmann::json list, ctx.service.ListBackups());
  return Json(list);
}

Result<ApiResponse> BackupDetails(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(nlohmann::json details, ctx.service.BackupDetails(req.params.at(0)));
  return Json(details);
}

Result<ApiResponse> ListJobs(ApiContext& ctx, const ApiRequest& req) {
  int limit = 50;
  if (req.http.has_param("limit")) {
    const std::string text = req.http.get_param_value("limit");
    char* end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 1 || v > 1000) {
      return Status::InvalidArgument(fmt::format("limit \"{}\": expected a number from 1 to 1000", text));
    }
    limit = static_cast<int>(v);
  }
  ASSIGN_OR_RETURN(auto jobs, ctx.service.History(limit));
  nlohmann::json list = nlohmann::json::array();
  for (const auto& job : jobs) list.push_back(service::JobToJson(job));
  return Json({{"jobs", list}});
}

nlohmann::json SettingsJson(const service::BackupSettings& s) {
  return {{"prefix", s.prefix}, {"retention", service::RetentionToJson(s.retention)}};
}

Result<ApiResponse> GetSettings(ApiContext& ctx, const ApiRequest&) { return Json(SettingsJson(ctx.service.settings())); }

Result<ApiResponse> PutSettings(ApiContext& ctx, const ApiRequest& req) {
  RETURN_IF_ERROR(RequireObject(req.body));
  RETURN_IF_ERROR(UnknownFields(req.body, {"prefix", "retention"}));
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

Result<ApiResponse> GetDms(ApiContext& ctx, const ApiRequest&) { return Json(ctx.service.DmsInfo()); }

Result<ApiResponse> SetDms(ApiContext& ctx, const ApiRequest& req) {
  RETURN_IF_ERROR(RequireObject(req.body));
  RETURN_IF_ERROR(UnknownFields(req.body, {"dms", "confirmation"}));
  ASSIGN_OR_RETURN(SecureBuffer dms, Secret(req.body, "dms"));
  ASSIGN_OR_RETURN(SecureBuffer confirmation, Secret(req.body, "confirmation"));
  RETURN_IF_ERROR(ctx.service.SetDms(dms, confirmation, req.actor));
  return Json(ctx.service.DmsInfo(), 201);
}

Result<ApiResponse> StartRestore(ApiContext& ctx, const ApiRequest& req) {
  RETURN_IF_ERROR(RequireObject(req.body));
  RETURN_IF_ERROR(UnknownFields(req.body, {"file", "dry_run", "components", "keep", "dms"}));
  service::RestoreJobOptions options;
  auto file = req.body.find("file");
  if (file == req.body.end() || !file->is_string()) return Status::InvalidArgument("\"file\" is required");
  options.file = file->get<std::string>();
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
  ASSIGN_OR_RETURN(service::JobRecord job, ctx.service.StartRestore(std::move(options), req.actor));
  return Json({{"job", service::JobToJson(job)}}, 202);
}

Result<ApiResponse> GetRestore(ApiContext& ctx, const ApiRequest&) {
  nlohmann::json status = ctx.service.GetStatus();
  ASSIGN_OR_RETURN(auto jobs, ctx.service.History(1, "restore"));
  nlohmann::json last = jobs.empty() ? nlohmann::json(nullptr) : service::JobToJson(jobs.front());
  bool running = status["state"] == "RESTORE IN PROGRESS";
  return Json({{"state", status["state"]}, {"progress", running ? status["job"] : nullptr}, {"last", last}});
}

}  // namespace

std::string PathRegex(const std::string& path) {
  static const std::regex param(R"(\{[a-z_]+\})");
  return std::regex_replace(path, param, "([^/]+)");
}

const std::vector<Route>& ApiRoutes() {
  static const std::vector<Route> routes = [] {
    std::vector<Route> all = {
      {"GET", "/api/v1/health", Health, Access::kPublic},
      {"GET", "/metrics", Metrics},
      {"GET", "/api/v1/status", GetStatus},
      {"POST", "/api/v1/backups", StartBackup},
      {"GET", "/api/v1/backups", ListBackups},
      {"GET", "/api/v1/backups/{name}", BackupDetails},
      {"GET", "/api/v1/jobs", ListJobs},
      {"GET", "/api/v1/settings", GetSettings},
      {"PUT", "/api/v1/settings", PutSettings},
      {"GET", "/api/v1/schedule", GetSchedule},
      {"PUT", "/api/v1/schedule", PutSchedule},
      {"POST", "/api/v1/schedule/preview", PreviewSchedule},
      {"GET", "/api/v1/dms", GetDms},
      {"POST", "/api/v1/dms", SetDms},
      {"POST", "/api/v1/restore", StartRestore},
      {"GET", "/api/v1/restore", GetRestore},
    };
    for (const auto* more : {&StorageRoutes(), &AuthRoutes()}) all.insert(all.end(), more->begin(), more->end());
    return all;
  }();
  return routes;
}

}  // namespace keepsake::web
