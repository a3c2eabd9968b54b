// `keepsake storage show|set|browse|usb`: where keepsaked writes backups, looked at and
// chosen as in the Webconf's storage browser.
//   set --url URL [--path DIR]     any storage URL, optionally a directory below it
//   set --type none | --type local --path /abs/dir
//   browse [--url URL] [--path DIR] [--filter TEXT]   one directory and the storage information
#include <fmt/format.h>
#include <httplib.h>

#include "cli/commands.h"

namespace keepsake::cli {
namespace {

void PrintStorage(const nlohmann::json& storage) {
  fmt::print("Storage: {}\n", storage.value("type", "none"));
  if (storage.contains("url")) fmt::print("URL:     {}\n", storage["url"].get<std::string>());
}

std::string Query(std::initializer_list<std::pair<const char*, const std::string*>> params) {
  std::string q;
  for (const auto& [name, value] : params) {
    if (value->empty()) continue;
    q += fmt::format("{}{}={}", q.empty() ? "?" : "&", name, httplib::detail::encode_query_param(*value));
  }
  return q;
}

void PrintListing(const nlohmann::json& listing) {
  const nlohmann::json& info = listing["info"];
  fmt::print("{}  /{}\n", listing["url"].get<std::string>(), listing["path"].get<std::string>());
  fmt::print("Permission: {}   Used: {}   Free: {} of {} ({}%)\n", info["permission"].get<std::string>(),
             info["used"].get<std::string>(), info["free"].get<std::string>(), info["total"].get<std::string>(),
             info["free_percent"].dump());
  if (info["warning"].is_string()) fmt::print("Warning: {}\n", info["warning"].get<std::string>());
  if (listing["parent"].is_string()) fmt::print("  ../\n");
  for (const auto& e : listing["entries"]) {
    bool dir = e["type"] == "directory";
    fmt::print(
        "  {}{}{}\n", e["name"].get<std::string>(), dir ? "/" : "",
        dir ? ""
            : fmt::format("  {}{}", e["size_human"].get<std::string>(), e["backup"].get<bool>() ? "  (backup)" : ""));
  }
}

}  // namespace

void AddStorageCommands(CLI::App& app, const CliContext& ctx, Runner& run) {
  CLI::App* group = app.add_subcommand("storage", "Show, browse or set where backups go (through keepsaked)");
  group->require_subcommand(1);
  CLI::App* show = group->add_subcommand("show", "Show the backup storage");
  show->callback([&ctx, &run] {
    run = [&ctx]() -> Status {
      ApiClient api(ClientOptions(ctx));
      ASSIGN_OR_RETURN(nlohmann::json answer, api.Get("/api/v1/storage"));
      PrintStorage(answer["storage"]);
      return Status();
    };
  });

  struct Options {
    std::string type;
    std::string url;
    std::string path;
    std::string filter;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* set = group->add_subcommand("set", "Set the backup storage (\"Use This Location\")");
  set->add_option("--type", opt->type, "none, local, nfs or usb (follows from --url)");
  set->add_option("--url", opt->url, "file:///dir, nfs://server[:port]/export/path?version=4, usb://LABEL/path");
  set->add_option("--path", opt->path, "local: an absolute directory; with --url: a directory below it");
  set->callback([&ctx, &run, opt] {
    run = [&ctx, opt]() -> Status {
      nlohmann::json body = nlohmann::json::object();
      if (!opt->type.empty()) body["type"] = opt->type;
      if (!opt->url.empty()) body["url"] = opt->url;
      if (!opt->path.empty()) body["path"] = opt->path;
      ApiClient api(ClientOptions(ctx));
      ASSIGN_OR_RETURN(nlohmann::json answer, api.Put("/api/v1/storage", body));
      fmt::print("{}\n", answer.value("message", ""));
      PrintStorage(answer["storage"]);
      return Status();
    };
  });

  CLI::App* browse = group->add_subcommand("browse", "List one directory of a storage, with its free space");
  browse->add_option("--url", opt->url, "The storage (default: the configured one)");
  browse->add_option("--path", opt->path, "A directory relative to the storage root");
  browse->add_option("--filter", opt->filter, "Only names containing this text");
  browse->callback([&ctx, &run, opt] {
    run = [&ctx, opt]() -> Status {
      ApiClient api(ClientOptions(ctx));
      ASSIGN_OR_RETURN(nlohmann::json listing,
                       api.Get("/api/v1/storage/browse" +
                               Query({{"url", &opt->url}, {"path", &opt->path}, {"filter", &opt->filter}})));
      PrintListing(listing);
      return Status();
    };
  });
}

}  // namespace keepsake::cli
