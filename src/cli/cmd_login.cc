// `keepsake login [--username U] [--password-file F]` and `keepsake logout`: a session with
// keepsaked for the client commands (status, backup-now, history, schedule, users). The
// password is read from the terminal without echo, or from a file; never from argv.
#include <fmt/format.h>
#include <httplib.h>
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/secret_input.h"
#include "cli/session_file.h"

namespace keepsake::cli {

ApiClientOptions ClientOptions(const CliContext& ctx) {
  ApiClientOptions options;
  options.server = ctx.server;
  options.ca_file = ctx.ca_file;
  if (options.ca_file.empty()) {
    std::string own = ctx.state_dir + "/tls/cert.pem";
    if (::access(own.c_str(), R_OK) == 0) options.ca_file = own;
  }
  return options;
}

namespace {

struct LoginOptions {
  std::string username;
  std::string password_file;
};

Status Login(const CliContext& ctx, const LoginOptions& opt) {
  std::string username = opt.username;
  if (username.empty()) {
    if (!isatty(STDIN_FILENO)) return Status::InvalidArgument("--username is required without a terminal");
    fmt::print(stderr, "Username: ");
    std::getline(std::cin, username);
  }
  SecureBuffer password;
  if (!opt.password_file.empty()) {
    ASSIGN_OR_RETURN(password, ReadSecretFile(opt.password_file));
  } else {
    ASSIGN_OR_RETURN(password, ReadSecretFromTerminal("Password: "));
  }
  ApiClientOptions options = ClientOptions(ctx);
  options.use_session = false;
  ApiClient api(options);
  std::string form =
      fmt::format("grant_type=password&username={}&password={}", httplib::detail::encode_query_param(username),
                  httplib::detail::encode_query_param(
                      std::string(reinterpret_cast<const char*>(password.data()), password.size())));
  auto answer = api.PostForm("/oauth/token", form);
  if (!answer.ok()) return std::move(answer).status();
  RETURN_IF_ERROR(SaveSession({ctx.server, answer->value("access_token", ""), answer->value("refresh_token", "")}));
  fmt::print("logged in to {} as {}{}\n", ctx.server, answer->value("username", username),
             answer->value("otp_user", false) ? " (the Initial OTP User: add an OAuth account, then remove it)" : "");
  return Status();
}

Status Logout(const CliContext& ctx) {
  ApiClient api(ClientOptions(ctx));
  auto answer = api.Post("/oauth/revoke", nlohmann::json::object());
  RETURN_IF_ERROR(RemoveSession());
  if (!answer.ok() && answer.status().code() != ErrorCode::kUnauthenticated) return std::move(answer).status();
  fmt::print("logged out\n");
  return Status();
}

}  // namespace

void AddLoginCommands(CLI::App& app, const CliContext& ctx, Runner& run) {
  auto opt = std::make_shared<LoginOptions>();
  CLI::App* login = app.add_subcommand("login", "Log in to keepsaked (the session is kept for the client commands)");
  login->add_option("--username", opt->username, "Account name (asked on the terminal when missing)");
  login->add_option("--password-file", opt->password_file, "Read the password from this file (first line)");
  login->callback([&ctx, &run, opt] { run = [&ctx, opt] { return Login(ctx, *opt); }; });
  CLI::App* logout = app.add_subcommand("logout", "End the session with keepsaked");
  logout->callback([&ctx, &run] { run = [&ctx] { return Logout(ctx); }; });
}

}  // namespace keepsake::cli
