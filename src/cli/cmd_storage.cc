// `keepsake storage show` and `keepsake storage set --type none|local [--path DIR]`: where
// keepsaked writes backups (NFS and USB drives come with the storage issue).
#include <fmt/format.h>

#include "cli/commands.h"

namespace keepsake::cli {
namespace {

void PrintStorage(const nlohmann::json& storage) {
  fmt::print("Storage: {}\n", storage.value("type", "none"));
  if (storage.contains("url")) fmt::print("URL:     {}\n", storage["url"].get<std::string>());
}

}  // namespace

void AddStorageCommands(CLI::App& app, const CliContext& ctx, Runner& run) {
  CLI::App* group = app.add_subcommand("storage", "Show or set where backups go (through keepsaked)");
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
  struct SetOptions {
    std::string type;
    std::string path;
  };
  auto opt = std::make_shared<SetOptions>();
  CLI::App* set = group->add_subcommand("set", "Set the backup storage");
  set->add_option("--type", opt->type, "none or local")->required();
  set->add_option("--path", opt->path, "Absolute directory path (local)");
  set->callback([&ctx, &run, opt] {
    run = [&ctx, opt]() -> Status {
      nlohmann::json body = {{"type", opt->type}};
      if (!opt->path.empty()) body["path"] = opt->path;
      ApiClient api(ClientOptions(ctx));
      ASSIGN_OR_RETURN(nlohmann::json answer, api.Put("/api/v1/storage", body));
      fmt::print("{}\n", answer.value("message", ""));
      PrintStorage(answer["storage"]);
      return Status();
    };
  });
}

}  // namespace keepsake::cli
