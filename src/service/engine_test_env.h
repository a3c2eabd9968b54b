// For unit tests of the engine and the routes above it: a BackupService on a small real
// appliance state (a few files and a SQLite database in a temporary directory), an
// in-memory storage (storage::MemStore) behind a FaultPlan the test controls, a clock the
// test moves and a temporary audit log. Nothing needs root and nothing waits on a real
// clock. Whatever URL the settings name, the engine's open_backend port opens the memory
// store.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>

#include "base/clock.h"
#include "base/test_temp_dir.h"
#include "service/backup_service.h"
#include "state/audit_log.h"
#include "storage/backend.h"
#include "storage/faulty_backend.h"
#include "storage/mem_backend.h"

namespace keepsake::service::testing {

inline date::sys_seconds TestEpoch() { return date::sys_days{date::year{2026} / 11 / 26} + std::chrono::hours{9}; }

// Holds a job mid-write or mid-read while closed (the storage's FaultPlan calls Pass()
// before every Append and Read): a test starts a second job, reads the status, stops the
// service, and then lets the job go on.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  bool waiting = false;  // a writer is held at the gate

  void Close() {
    std::lock_guard lock(mu);
    closed = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu);
      closed = false;
    }
    cv.notify_all();
  }
  // Blocks while closed; says so to WaitUntilHeld().
  void Pass() {
    std::unique_lock lock(mu);
    waiting = closed;
    cv.notify_all();
    cv.wait(lock, [this] { return !closed; });
    waiting = false;
  }
  bool WaitUntilHeld() {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [this] { return waiting; });
  }
};

class EngineTestEnv {
 public:
  EngineTestEnv() : clock_(TestEpoch()) {
    namespace fs = std::filesystem;
    fs::create_directories(root() + "/firmware");
    fs::create_directories(root() + "/config/pki");
    fs::create_directories(root() + "/db");
    Write(root() + "/firmware/VERSION", "firmware=4.2.0\n");
    Write(root() + "/firmware/MODEL", "signer-vm\n");
    Write(root() + "/config/pki/ca.conf", "name = Test CA\n");
    sqlite3* db = nullptr;
    KS_CHECK(sqlite3_open((root() + "/db/internal.sqlite").c_str(), &db) == SQLITE_OK);
    KS_CHECK(sqlite3_exec(db,
                          "CREATE TABLE certificates(serial TEXT PRIMARY KEY, der BLOB);"
                          "INSERT INTO certificates VALUES ('01', zeroblob(2048));",
                          nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto audit = state::AuditLog::Open(tmp_.path() + "/audit.log");
    KS_CHECK(audit.ok());
    audit_ = std::move(audit).value();
  }

  // Opens the engine; `ports` may be adjusted first through the callback.
  std::unique_ptr<BackupService> Open(const std::function<void(EnginePorts&)>& adjust = {}) {
    ServiceOptions options;
    options.state_dir = state_dir();
    options.appliance_root = root();
    options.kdf = {1, 8};  // cheap Argon2id; the same code path as production
    options.job_nice = 0;
    options.seal.zstd.workers = 1;
    EnginePorts ports;
    ports.clock = &clock_;
    ports.audit = audit_.get();
    ports.otp_user_present = [this] { return otp_user_present_.load(); };
    ports.open_backend = [store = store_, plan = plan_](std::string_view) -> Result<std::unique_ptr<storage::Backend>> {
      return std::unique_ptr<storage::Backend>(
          new storage::FaultyBackend(std::make_unique<storage::MemBackend>(store), plan));
    };
    if (adjust) adjust(ports);
    auto service = BackupService::Open(options, std::move(ports));
    KS_CHECK(service.ok());
    return std::move(service).value();
  }

  // The DMS MakeReady sets: a write-only appliance restores with it typed.
  static SecureBuffer Dms() {
    std::string_view dms = "correct horse battery";
    return SecureBuffer::CopyOf(std::span(reinterpret_cast<const uint8_t*>(dms.data()), dms.size()));
  }
  // DMS set and the storage configured: backups can run.
  static void MakeReady(BackupService& service, bool keep_restore_key = false) {
    SecureBuffer secret = Dms();
    KS_CHECK(service.SetDms(secret, secret, keep_restore_key, {"admin", ""}).ok());
  }
  void ConfigureStorage(BackupService& service) {
    StorageSettings storage;
    storage.type = "local";
    storage.location = "file:///srv/backups";  // the memory store, whatever the URL
    KS_CHECK(service.ChangeStorage(storage, {"admin", ""}).ok());
  }

  std::string root() const { return tmp_.path() + "/appliance"; }
  std::string state_dir() const { return tmp_.path() + "/state"; }
  std::string audit_text() const {
    std::ifstream in(tmp_.path() + "/audit.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  ManualClock& clock() { return clock_; }
  state::AuditLog& audit() { return *audit_; }
  Gate& gate() { return *gate_; }
  storage::MemStore& store() { return *store_; }
  storage::FaultPlan& faults() { return *plan_; }
  void set_otp_user_present(bool present) { otp_user_present_ = present; }

 private:
  static void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  TestTempDir tmp_{"ks_engine"};
  ManualClock clock_;
  std::unique_ptr<state::AuditLog> audit_;
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  std::shared_ptr<storage::MemStore> store_ = std::make_shared<storage::MemStore>();
  std::shared_ptr<storage::FaultPlan> plan_ = [gate = gate_] {
    auto plan = std::make_shared<storage::FaultPlan>();
    plan->SetHook([gate](storage::StorageOp) { gate->Pass(); });
    return plan;
  }();
  std::atomic<bool> otp_user_present_{false};
};

}  // namespace keepsake::service::testing
