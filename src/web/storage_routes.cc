// Routes of the storage settings and the storage browser: the configured storage, "Use
// This Location", browsing a storage one directory at a time, its information (permission,
// space, the low-space warning) and the Backup Details of a clicked backup file. The
// storage to browse is given by ?url= (any storage URL, so a location can be looked at
// before it is saved) and defaults to the configured one; ?path= is a directory or file
// relative to its root, never above it.
#include <fmt/format.h>

#include "web/api_json.h"
#include "web/api_routes.h"

namespace keepsake::web {
namespace {

constexpr size_t kMaxParam = 4096;

Result<std::string> Param(const ApiRequest& req, const char* name) {
  std::string value = req.http.Param(name);
  if (value.size() > kMaxParam)
    return Status::InvalidArgument(fmt::format("\"{}\" is longer than {} bytes", name, kMaxParam));
  return value;
}

Result<service::OpenedStorage> OpenBrowsed(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(std::string url, Param(req, "url"));
  ASSIGN_OR_RETURN(std::string path, Param(req, "path"));
  return ctx.service.OpenStorage(url, path);
}

Result<ApiResponse> GetStorage(ApiContext& ctx, const ApiRequest&) {
  return Json({{"storage", service::StorageToJson(ctx.service.settings().storage)}});
}

Result<ApiResponse> PutStorage(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(service::StorageSettings storage, service::StorageFromJson(req.body));
  RETURN_IF_ERROR(ctx.service.ChangeStorage(storage, req.actor));
  return Json({{"message", "Successfully updated backup storage configuration."},
               {"storage", service::StorageToJson(storage)}});
}

Result<ApiResponse> Browse(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(service::OpenedStorage s, OpenBrowsed(ctx, req));
  ASSIGN_OR_RETURN(std::string filter, Param(req, "filter"));
  ASSIGN_OR_RETURN(service::StorageListing listing, service::BrowseStorage(*s.backend, s.url, s.path, filter));
  return Json(StorageListingToJson(listing));
}

Result<ApiResponse> Info(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(service::OpenedStorage s, OpenBrowsed(ctx, req));
  ASSIGN_OR_RETURN(service::StorageInfo info, service::ReadStorageInfo(*s.backend, s.url, s.path));
  return Json(StorageInfoToJson(info));
}

Result<ApiResponse> Details(ApiContext& ctx, const ApiRequest& req) {
  ASSIGN_OR_RETURN(service::OpenedStorage s, OpenBrowsed(ctx, req));
  if (s.path.empty()) return Status::InvalidArgument("\"path\" must name a backup file");
  ASSIGN_OR_RETURN(service::BackupDetails details, ctx.service.FileDetails(*s.backend, s.url, s.path));
  return Json({{"url", s.url}, {"path", s.path}, {"details", BackupDetailsToJson(details)}});
}

// The USB drives attached now, usable or not (with the reason), as the last scan found them.
Result<ApiResponse> UsbDrives(ApiContext& ctx, const ApiRequest&) {
  return Json(UsbDrivesToJson(ctx.service.UsbDrives()));
}

// "Rescan": an administrator who just attached a drive need not wait for the next poll.
Result<ApiResponse> RescanUsb(ApiContext& ctx, const ApiRequest&) {
  RETURN_IF_ERROR(ctx.service.RescanUsb());
  return Json(UsbDrivesToJson(ctx.service.UsbDrives()));
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
