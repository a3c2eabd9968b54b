// keepsaked's configuration: one TOML file, each value overridable on the command line
// (the command line wins). Unknown keys and wrong types are errors naming the line, so a
// typo never silently falls back to a default. Not thread-safe; read once at start-up.
#pragma once

#include <string>

#include "base/status.h"
#include "crypto/domain_keys.h"

namespace keepsake::daemon {

struct DaemonConfig {
  std::string state_dir = "/var/lib/keepsake";        // keystore, state.db, audit.log
  std::string appliance_root = "/var/lib/appliance";  // what is backed up and restored
  std::string listen = "127.0.0.1:8443";              // HOST:PORT; port 0 picks a free one
  std::string log_level = "info";                     // trace, debug, info, warn, error
  int http_threads = 16;                              // threads running API handlers
  int http_client_connections = 64;                   // open connections from one client address
  int http_head_seconds = 10;          // a request's head (and a new connection's TLS handshake) must arrive within
  int zstd_level = 2;                  // 1..19
  int job_nice = 10;                   // 0..19: CPU priority of backup threads
  crypto::KdfParams kdf;               // Argon2id cost for a DMS set via the API (at least the default)
  bool test_weak_kdf = false;          // tests only: allow a kdf below libsodium's MODERATE
  std::string tls_cert;                // PEM certificate for HTTPS; with tls_key replaces the generated one
  std::string tls_key;                 // PEM private key (keep it 0600)
  bool plain_http = false;             // serve plain HTTP instead of HTTPS: only allowed on loopback
  uint64_t password_hash_ops = 0;      // Argon2id cost of account passwords (0: libsodium's
  uint64_t password_hash_mem_kib = 0;  // "interactive" defaults); tests lower it
  int access_token_seconds = 900;      // life of an access token (a refresh renews it)
  int session_seconds = 8 * 3600;      // life of a login (refresh tokens end then)
  std::string test_clock_file;         // tests only: read the time from this file
  int usb_poll_seconds = 180;          // 1..86400: how often to look for USB drives
  std::string usb_mount_dir = "/run/keepsake/usb";  // private (0700) directory for USB mounts
  bool usb_admit_loop_devices = false;              // tests only: loop devices over image files count as USB drives
  // The Webconf's pages (installed with the program); served at "/". "" serves the API only.
  std::string webconf_dir = "/usr/share/keepsake/webconf";
};

// Reads `path` over the defaults in `config`. kInvalidArgument "<path>:<line>: <what>" for a
// syntax error, an unknown key or a wrong type; kNotFound when the file does not exist.
Status LoadConfigFile(const std::string& path, DaemonConfig& config);

// Every value within its range (zstd 1..19, threads 1..256, nice 0..19, a known log level,
// a parsable listen address, sane Argon2id cost, a USB poll of 1..86400 s, an absolute USB
// mount directory other than "/"). kInvalidArgument naming the setting.
Status ValidateConfig(const DaemonConfig& config);

// Splits "HOST:PORT" ("[::1]:8080" for IPv6). kInvalidArgument naming the value.
Status ParseListen(const std::string& listen, std::string& host, int& port);

}  // namespace keepsake::daemon
