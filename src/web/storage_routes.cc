// Routes of the storage settings and the storage browser: the configured storage, "Use
// This Location", browsing a storage one directory at a time, its information (permission,
// space, the low-space warning) and the Backup Details of a clicked backup file. The
// storage to browse is given by ?url= (any storage URL, so a location can be looked at
// before it is saved) and defaults to the configured one; ?path= is a directory or file
// relative to its root, never above it.
#include <fmt/format.h>

#include "service/storage_browser.h"
#include "storage/usb_drives.h"
#include "web/api_routes.h"

namespace keepsake::web {
namespace {

ApiResponse Json(nlohmann::json body, int status = 200) { return {status, std::move(body), "", "", {}}; }

constexpr size_t kMaxParam = 4096;

Result<std::string> Param(const ApiRequest& req, const char* name) {
  if (!req.http.has_param(name)) return std::string();
  std::string value = req.http.get_param_value(name);
  if (value.size() > kMaxParam)
    return Status::InvalidArgument(fmt::format("\"{}\" is longer than {} bytes", name, kMaxParam));
  return value;
}

// The storage a browser request is about: ?url=, else the configured storage.
struct Browsed {
  std::string url;
  std::unique_ptr<storage::Backend> backend;
  std::string path;
};

Result<Browsed> OpenBrowsed(ApiContext& ctx, const ApiRequest& req) {
  Browsed b;
  ASSIGN_OR_RETURN(std::string url, Param(req, "url"));
  if (url.empty()) {
    url = ctx.service.settings().storage.url();
    if (url.empty()) {
      return Status::FailedPrecondition("No backup storage is configured: give the storage to browse as ?url=");
    }
  }
  ASSIGN_OR_RETURN(b.url, storage::NormalizeStorageUrl(url));
  ASSIGN_OR_RETURN(b.path, Param(req, "path"));
  RETURN_IF_ERROR(storage::CheckPath(b.path));
  ASSIGN_OR_RETURN(b.backend, storage::OpenBackend(b.url));
  return b;
}

Result<ApiResponse> GetStorage(ApiContext& ctx, const ApiRequest&) {
  return Json({{"storage", service::StorageToJson(ctx.service.settings().storage)}});
}

// "Use This Location": saved only when backups can go there now (reachable and writable).
Result<ApiResponse> PutStorage(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(service::StorageSettings storage, service::StorageFromJson(req.body));
  if (storage.type != "none") {
    ASSIGN_OR_RETURN(auto backend, storage::OpenBackend(storage.url()));
    ASSIGN_OR_RETURN(storage::Access access, backend->GetAccess(""));
    if (!access.can_write) {
      return Status::PermissionDenied(fmt::format("{}: the location is not writable", storage.url()));
    }
  }
  RETURN_IF_ERROR(ctx.service.ChangeSettings("storage.changed", req.actor, [&](service::BackupSettings& s) {
    s.storage = storage;
    return Status();
  }));
  return Json({{"message", "Successfully updated backup storage configuration."},
               {"storage", service::StorageToJson(storage)}});
}

Result<ApiResponse> Browse(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(Browsed b, OpenBrowsed(ctx, req));
  ASSIGN_OR_RETURN(std::string filter, Param(req, "filter"));
  ASSIGN_OR_RETURN(nlohmann::json listing, service::BrowseStorage(*b.backend, b.url, b.path, filter));
  return Json(std::move(listing));
}

Result<ApiResponse> Info(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(Browsed b, OpenBrowsed(ctx, req));
  ASSIGN_OR_RETURN(nlohmann::json info, service::StorageInfo(*b.backend, b.url, b.path));
  return Json(std::move(info));
}

Result<ApiResponse> Details(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(Browsed b, OpenBrowsed(ctx, req));
  if (b.path.empty()) return Status::InvalidArgument("\"path\" must name a backup file");
  ASSIGN_OR_RETURN(nlohmann::json details, ctx.service.FileDetails(*b.backend, b.path));
  return Json({{"url", b.url}, {"path", b.path}, {"details", std::move(details)}});
}

// The USB drives attached now, usable or not (with the reason), as the last scan found
// them; each mounted volume's capacity as the storage information shows it.
ApiResponse UsbDrivesAnswer() {
  nlohmann::json j = storage::UsbDrivesToJson(storage::UsbDrives::Global().Snapshot());
  for (auto& drive : j["drives"]) {
    for (auto& volume : drive["volumes"]) {
      const nlohmann::json& c = volume["capacity"];
      volume["capacity"] = service::CapacityToJson({c["total"], c["used"], c["free"]});
    }
  }
  return Json(std::move(j));
}

Result<ApiResponse> UsbDrives(ApiContext&, const ApiRequest&) { return UsbDrivesAnswer(); }

// "Rescan": an administrator who just attached a drive need not wait for the next poll.
Result<ApiResponse> RescanUsb(ApiContext&, const ApiRequest&) {
  RETURN_IF_ERROR(storage::UsbDrives::Global().RescanNow());
  return UsbDrivesAnswer();
}

}  // namespace

const std::vector<Route>& StorageRoutes() {
  static const std::vector<Route> routes = {
      {"GET", "/api/v1/storage", GetStorage},
      {"PUT", "/api/v1/storage", PutStorage},
      {"GET", "/api/v1/storage/browse", Browse},
      {"GET", "/api/v1/storage/info", Info},
      {"GET", "/api/v1/storage/details", Details},
      {"GET", "/api/v1/storage/usb", UsbDrives},
      {"POST", "/api/v1/storage/usb/rescan", RescanUsb},
  };
  return routes;
}

}  // namespace keepsake::web
