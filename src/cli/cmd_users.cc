// `keepsake users list|add|remove`: the OAuth user accounts of the Internal OAuth Provider,
// through keepsaked. Passwords are read twice from the terminal, or from a file.
#include <fmt/format.h>
#include <httplib.h>

#include "cli/commands.h"
#include "cli/secret_input.h"

namespace keepsake::cli {
namespace {

Status ListUsers(const CliContext& ctx) {
  ApiClient api(ClientOptions(ctx));
  ASSIGN_OR_RETURN(nlohmann::json answer, api.Get("/api/v1/users"));
  for (const auto& u : answer["users"]) {
    std::string note = u.value("otp_user", false) ? " (Initial OTP User)" : "";
    std::string refusal = u.value("remove_refusal", "");
    fmt::print("{}{}{}\n", u.value("username", ""), note,
               refusal.empty() ? "" : "  [cannot be removed: " + refusal + "]");
  }
  return Status();
}

struct AddOptions {
  std::string username;
  std::string password_file;
};

std::string Text(const SecureBuffer& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

Status AddUser(const CliContext& ctx, const AddOptions& opt) {
  SecureBuffer password, confirmation;
  if (!opt.password_file.empty()) {
    ASSIGN_OR_RETURN(password, ReadSecretFile(opt.password_file));
    confirmation = SecureBuffer::CopyOf(std::span(password.data(), password.size()));
  } else {
    ASSIGN_OR_RETURN(password, ReadSecretFromTerminal("New password (8 to 64 characters): "));
    ASSIGN_OR_RETURN(confirmation, ReadSecretFromTerminal("The same password again: "));
  }
  ApiClient api(ClientOptions(ctx));
  ASSIGN_OR_RETURN(nlohmann::json answer, api.Post("/api/v1/users", {{"username", opt.username},
                                                                     {"password", Text(password)},
                                                                     {"confirmation", Text(confirmation)}}));
  fmt::print("{}\n", answer.value("message", "added"));
  return Status();
}

Status RemoveUser(const CliContext& ctx, const std::string& username) {
  ApiClient api(ClientOptions(ctx));
  ASSIGN_OR_RETURN(nlohmann::json answer, api.Delete("/api/v1/users/" + httplib::detail::encode_query_param(username)));
  fmt::print("{}\n", answer.value("message", "removed"));
  return Status();
}

}  // namespace

void AddUsersCommands(CLI::App& app, const CliContext& ctx, Runner& run) {
  CLI::App* group = app.add_subcommand("users", "Webconf user accounts (through keepsaked)");
  group->require_subcommand(1);
  CLI::App* list = group->add_subcommand("list", "List the accounts");
  list->callback([&ctx, &run] { run = [&ctx] { return ListUsers(ctx); }; });
  auto opt = std::make_shared<AddOptions>();
  CLI::App* add = group->add_subcommand("add", "Add an OAuth user account");
  add->add_option("username", opt->username, "3 to 64 characters, at least one letter or digit")->required();
  add->add_option("--password-file", opt->password_file, "Read the password from this file (first line)");
  add->callback([&ctx, &run, opt] { run = [&ctx, opt] { return AddUser(ctx, *opt); }; });
  auto name = std::make_shared<std::string>();
  CLI::App* remove = group->add_subcommand("remove", "Remove an account (not your own, not the last one)");
  remove->add_option("username", *name, "The account to remove")->required();
  remove->callback([&ctx, &run, name] { run = [&ctx, name] { return RemoveUser(ctx, *name); }; });
}

}  // namespace keepsake::cli
