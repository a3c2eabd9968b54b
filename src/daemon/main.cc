// keepsaked: the backup service of the appliance. Reads its TOML configuration, opens the
// state directory, serves the REST API and runs scheduled backups until SIGTERM/SIGINT.
#include <signal.h>
#include <sodium.h>

#include <cstdlib>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "base/harden_process.h"
#include "base/log.h"
#include "daemon/config.h"
#include "service/backup_service.h"
#include "web/api_routes.h"
#include "web/api_server.h"

namespace {

using namespace keepsake;

int Fail(const Status& st) {
  fmt::print(stderr, "keepsaked: cannot start: {}\n", st.message());
  return 1;
}

int Serve(const daemon::DaemonConfig& config) {
  web::ServerOptions server_options;
  if (Status st = daemon::ParseListen(config.listen, server_options.host, server_options.port); !st.ok()) {
    return Fail(st);
  }
  server_options.threads = config.http_threads;
  service::ServiceOptions options;
  options.state_dir = config.state_dir;
  options.appliance_root = config.appliance_root;
  options.seal.zstd.level = config.zstd_level;
  options.kdf = config.kdf;
  options.job_nice = config.job_nice;
  std::unique_ptr<service::Clock> clock =
      config.test_clock_file.empty() ? service::NewSystemClock() : service::NewFileClock(config.test_clock_file);

  // SIGTERM and SIGINT are taken by one thread with sigwait, not by a handler: stopping
  // the service takes locks and joins threads, which a handler must not do.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto service = service::BackupService::Start(options, std::move(clock));
  if (!service.ok()) return Fail(service.status());
  auto server = web::ApiServer::Bind(server_options, **service);
  if (!server.ok()) {
    (*service)->Stop();
    return Fail(server.status());
  }
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log::info("received {}: stopping (a running backup is aborted, a running restore completes)",
              sig == SIGTERM ? "SIGTERM" : "SIGINT");
    (*service)->Stop();
    (*server)->Stop();
  });
  // Printed whatever the log level: scripts and tests wait for this line.
  fmt::print(stderr, "keepsaked: listening on http://{} (state {}, appliance {})\n", (*server)->address(),
             config.state_dir, config.appliance_root);
  Status ran = (*server)->Run();
  if (!ran.ok()) {
    log::error("{}", ran.message());
    kill(getpid(), SIGTERM);  // wake the stopper so it can stop the service
  }
  stopper.join();
  log::info("keepsaked stopped");
  return ran.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  HardenProcess();
  if (sodium_init() < 0) {
    fmt::print(stderr, "keepsaked: libsodium failed to initialise\n");
    return 1;
  }
  CLI::App app{"keepsaked: the Keepsake backup service"};
  std::string config_file, state_dir, appliance_root, listen, log_level, clock_file;
  bool list_routes = false;
  app.add_option("--config", config_file, "TOML configuration file");
  app.add_option("--state-dir", state_dir, "State directory (keystore, settings, history, audit log)");
  app.add_option("--appliance-root", appliance_root, "The appliance state that is backed up and restored");
  app.add_option("--listen", listen, "HOST:PORT to serve the API on (default 127.0.0.1:8080)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error");
  app.add_option("--test-clock-file", clock_file, "Tests only: read the current time from this file")
      ->group("");
  app.add_flag("--list-routes", list_routes, "Print the API routes (METHOD PATH) and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (list_routes) {
    for (const auto& route : web::ApiRoutes()) fmt::print("{} {}\n", route.method, route.path);
    return 0;
  }
  try {
    daemon::DaemonConfig config;
    if (!config_file.empty()) {
      if (Status st = daemon::LoadConfigFile(config_file, config); !st.ok()) return Fail(st);
    }
    if (!state_dir.empty()) config.state_dir = state_dir;
    if (!appliance_root.empty()) config.appliance_root = appliance_root;
    if (!listen.empty()) config.listen = listen;
    if (!log_level.empty()) config.log_level = log_level;
    if (!clock_file.empty()) config.test_clock_file = clock_file;
    log::Init(config.log_level);
    return Serve(config);
  } catch (const std::exception& e) {  // last resort: a library threw
    fmt::print(stderr, "keepsaked: internal error: {}\n", e.what());
    return 1;
  }
}
