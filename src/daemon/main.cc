// keepsaked: the backup service of the appliance. Reads its TOML configuration, opens the
// state directory, serves the REST API and runs scheduled backups until SIGTERM/SIGINT.
#include <fmt/format.h>
#include <signal.h>
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "auth/account_store.h"
#include "auth/login_throttle.h"
#include "auth/token_store.h"
#include "base/harden_process.h"
#include "base/log.h"
#include "crypto/keystore.h"
#include "daemon/config.h"
#include "service/backup_service.h"
#include "state/audit_log.h"
#include "storage/usb_drives.h"
#include "web/api_routes.h"
#include "web/api_server.h"
#include "web/tls_certificate.h"

namespace {

using namespace keepsake;

int Fail(const Status& st) {
  fmt::print(stderr, "keepsaked: cannot start: {}\n", st.message());
  return 1;
}

// Prints the Initial OTP User's one-time password once, at the start that created it: the
// administrator needs it to log in the first time (it is also in the root-only file).
void AnnounceOtpUser(const SecureBuffer& password, const std::string& state_dir) {
  std::string_view text(reinterpret_cast<const char*>(password.data()), password.size());
  fmt::print(stderr,
             "keepsaked: created the Initial OTP User \"{}\" with the one-time password: {}\n"
             "keepsaked: (also in {}, readable by root only) Log in with it, add an OAuth user account, log in "
             "with that account and remove the OTP User: backups are refused while it exists.\n",
             auth::kOtpUsername, text, auth::OtpUserPath(state_dir));
}

int Serve(const daemon::DaemonConfig& config) {
  web::ServerOptions server_options;
  if (Status st = daemon::ParseListen(config.listen, server_options.host, server_options.port); !st.ok()) {
    return Fail(st);
  }
  server_options.limits.workers = config.http_threads;
  server_options.limits.max_client_connections = static_cast<size_t>(config.http_client_connections);
  server_options.limits.head_seconds = config.http_head_seconds;
  server_options.webconf_dir = config.webconf_dir;
  if (std::error_code ec; !config.webconf_dir.empty() && !std::filesystem::is_directory(config.webconf_dir, ec)) {
    log::warn("{}: the Webconf is not installed there (config key webconf_dir); serving the API only",
              config.webconf_dir);
    server_options.webconf_dir.clear();
  }
  service::ServiceOptions options;
  options.state_dir = config.state_dir;
  options.appliance_root = config.appliance_root;
  options.seal.zstd.level = config.zstd_level;
  options.kdf = config.kdf;
  options.job_nice = config.job_nice;
  std::unique_ptr<Clock> clock =
      config.test_clock_file.empty() ? NewSystemClock() : NewFileClock(config.test_clock_file);
  // Sessions expire on the real clock, whatever clock the scheduler is given in tests.
  std::unique_ptr<Clock> auth_clock = NewSystemClock();
  const Clock& clock_ref = *auth_clock;

  // SIGTERM and SIGINT are taken by one thread with sigwait, not by a handler: stopping
  // the service takes locks and joins threads, which a handler must not do.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // USB drives before the service: its start-up clean-up of partial files, its first
  // readiness check and a catch-up run to a usb:// storage all need the drive mounted.
  storage::UsbOptions usb;
  usb.mount_dir = config.usb_mount_dir;
  usb.poll_seconds = config.usb_poll_seconds;
  usb.admit_loop_devices = config.usb_admit_loop_devices;
  usb.report = [](const std::string& what) { log::info("{}", what); };
  if (config.usb_admit_loop_devices)
    log::warn("usb_admit_loop_devices is on: loop devices count as USB drives (tests only)");
  if (config.test_weak_kdf) log::warn("test_weak_kdf is on: a DMS may be set with a weak key derivation (tests only)");
  if (Status st = storage::UsbDrives::Global().Start(usb); !st.ok()) {
    log::error("USB drives cannot be used: {}", st.message());  // the rest of the service works
  }
  auto stop_usb = [] { storage::UsbDrives::Global().Stop(); };
  if (Status st = crypto::EnsureStateDir(config.state_dir); !st.ok()) return stop_usb(), Fail(st);
  auto audit = state::AuditLog::Open(config.state_dir + "/audit.log");
  if (!audit.ok()) return stop_usb(), Fail(audit.status());

  // Accounts before the engine: it asks them whether the Initial OTP User still exists.
  auth::PwhashParams pwhash;
  if (config.password_hash_ops > 0) pwhash.opslimit = config.password_hash_ops;
  if (config.password_hash_mem_kib > 0) pwhash.memlimit = config.password_hash_mem_kib * 1024;
  auto accounts = auth::AccountStore::Open(config.appliance_root, config.state_dir, pwhash);
  if (!accounts.ok()) return stop_usb(), Fail(accounts.status());
  auto otp = (*accounts)->EnsureInitialOtpUser(clock_ref.Now().time_since_epoch().count());
  if (!otp.ok()) return stop_usb(), Fail(otp.status());
  if (*otp) {
    AnnounceOtpUser(**otp, config.state_dir);
    (*audit)->Record(clock_ref.Now(), "account.added", state::Actor{"keepsaked", ""}, "succeeded",
                     {{"username", auth::kOtpUsername}, {"otp_user", true}});
  }

  service::EnginePorts ports;
  ports.open_backend = [](std::string_view url) { return storage::OpenBackend(url); };
  ports.clock = clock.get();
  ports.audit = audit->get();
  auth::AccountStore* account_store = accounts->get();
  ports.otp_user_present = [account_store] { return account_store->OtpUserExists(); };
  ports.superseded_by_restore = {{std::string(auth::kOtpUserSupersededBy), auth::OtpUserPath(config.state_dir)}};
  ports.usb_drives = [] { return storage::UsbDrives::Global().Snapshot(); };
  ports.rescan_usb = [] { return storage::UsbDrives::Global().RescanNow(); };
  auto service = service::BackupService::Open(options, std::move(ports));
  if (!service.ok()) return stop_usb(), Fail(service.status());
  auto stop_service = [&] {
    (*service)->Stop();
    stop_usb();  // after the jobs: nothing writes to the drives now
  };
  // Tokens live in the state database too; a second connection keeps the layers apart.
  auto token_db = state::StateDb::Open(config.state_dir + "/state.db");
  if (!token_db.ok()) return stop_service(), Fail(token_db.status());
  auth::TokenStore tokens(**token_db, {config.access_token_seconds, config.session_seconds});
  auth::LoginThrottle throttle;

  if (!config.plain_http) {
    auto tls = web::LoadOrCreateTlsIdentity(config.state_dir, {config.tls_cert, config.tls_key});
    if (!tls.ok()) return stop_service(), Fail(tls.status());
    fmt::print(stderr, "keepsaked: {} TLS certificate {}, SHA-256 fingerprint {}\n",
               tls->generated ? "generated the self-signed" : "using the", tls->files.cert_path,
               tls->fingerprint_sha256);
    server_options.tls = tls->files;
  }
  web::ApiContext context{**service, **accounts, tokens, throttle, **audit, clock_ref, !config.plain_http, nullptr};
  server_options.upload_dir = (*service)->UploadDir();
  auto server = web::ApiServer::Bind(server_options, context);
  if (!server.ok()) return stop_service(), Fail(server.status());
  (*service)->StartScheduler();  // everything is up: scheduled and catch-up runs may begin
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log::info("received {}: stopping (a running backup is aborted, a running restore completes)",
              sig == SIGTERM ? "SIGTERM" : "SIGINT");
    stop_service();
    (*server)->Stop();
  });
  // Printed whatever the log level: scripts and tests wait for this line.
  fmt::print(stderr, "keepsaked: listening on {} (state {}, appliance {})\n", (*server)->url(), config.state_dir,
             config.appliance_root);
  if (!server_options.webconf_dir.empty()) fmt::print(stderr, "keepsaked: Webconf at {}/\n", (*server)->url());
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
  app.add_option("--listen", listen, "HOST:PORT to serve the API on (default 127.0.0.1:8443)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error");
  app.add_option("--test-clock-file", clock_file, "Tests only: read the current time from this file")->group("");
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
    if (Status st = daemon::ValidateConfig(config); !st.ok()) return Fail(st);
    log::Init(config.log_level);
    return Serve(config);
  } catch (const std::exception& e) {  // last resort: a library threw
    fmt::print(stderr, "keepsaked: internal error: {}\n", e.what());
    return 1;
  }
}
