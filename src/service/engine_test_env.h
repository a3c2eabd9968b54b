// For unit tests of the engine and the routes above it: a BackupService on a small real
// appliance state (a few files and a SQLite database in a temporary directory), a storage
// the test controls, a clock the test moves and a temporary audit log. Nothing needs root
// and nothing waits on a real clock. The storage is opened through the engine's
// open_backend port, so a test can put a pause or a fault in front of it.
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

namespace keepsake::service::testing {

inline date::sys_seconds TestEpoch() { return date::sys_days{date::year{2026} / 11 / 26} + std::chrono::hours{9}; }

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

// A backend whose writers and readers stop before each Append or Read while the gate is
// closed: lets a test hold a backup or a restore in progress for as long as it needs (to
// start a second job, read the status).
class GateBackend final : public storage::Backend {
 public:
  explicit GateBackend(std::unique_ptr<storage::Backend> inner, std::shared_ptr<Gate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  Result<std::vector<storage::Entry>> List(std::string_view dir, std::string_view filter) override {
    return inner_->List(dir, filter);
  }
  Result<storage::Entry> Stat(std::string_view path) override { return inner_->Stat(path); }
  Result<storage::Capacity> GetCapacity() override { return inner_->GetCapacity(); }
  Result<storage::Access> GetAccess(std::string_view dir) override { return inner_->GetAccess(dir); }
  Status MakeDir(std::string_view path) override { return inner_->MakeDir(path); }
  Result<std::unique_ptr<storage::Writer>> NewWriter(std::string_view path) override;
  Result<std::unique_ptr<storage::Reader>> NewReader(std::string_view path, uint64_t offset) override;
  Status Rename(std::string_view from, std::string_view to) override { return inner_->Rename(from, to); }
  Status Remove(std::string_view path) override { return inner_->Remove(path); }

 private:
  std::unique_ptr<storage::Backend> inner_;
  std::shared_ptr<Gate> gate_;
};

class GateWriter final : public storage::Writer {
 public:
  GateWriter(std::unique_ptr<storage::Writer> inner, std::shared_ptr<Gate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  Status Append(std::span<const std::byte> data) override {
    gate_->Pass();
    return inner_->Append(data);
  }
  Status Commit() override { return inner_->Commit(); }

 private:
  std::unique_ptr<storage::Writer> inner_;
  std::shared_ptr<Gate> gate_;
};

class GateReader final : public storage::Reader {
 public:
  GateReader(std::unique_ptr<storage::Reader> inner, std::shared_ptr<Gate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  Result<size_t> Read(std::span<std::byte> buf) override {
    gate_->Pass();
    return inner_->Read(buf);
  }

 private:
  std::unique_ptr<storage::Reader> inner_;
  std::shared_ptr<Gate> gate_;
};

inline Result<std::unique_ptr<storage::Reader>> GateBackend::NewReader(std::string_view path, uint64_t offset) {
  ASSIGN_OR_RETURN(auto reader, inner_->NewReader(path, offset));
  return std::unique_ptr<storage::Reader>(new GateReader(std::move(reader), gate_));
}

inline Result<std::unique_ptr<storage::Writer>> GateBackend::NewWriter(std::string_view path) {
  ASSIGN_OR_RETURN(auto writer, inner_->NewWriter(path));
  return std::unique_ptr<storage::Writer>(new GateWriter(std::move(writer), gate_));
}

class EngineTestEnv {
 public:
  EngineTestEnv() : clock_(TestEpoch()) {
    namespace fs = std::filesystem;
    fs::create_directories(root() + "/firmware");
    fs::create_directories(root() + "/config/pki");
    fs::create_directories(root() + "/db");
    fs::create_directories(storage_dir());
    Write(root() + "/firmware/VERSION", "firmware=4.2.0\n");
    Write(root() + "/firmware/MODEL", "signer-vm\n");
    Write(root() + "/config/pki/ca.conf", "name = Test CA\n");
    sqlite3* db = nullptr;
    KS_CHECK(sqlite3_open((root() + "/db/internal.sqlite").c_str(), &db) == SQLITE_OK);
    KS_CHECK(sqlite3_exec(db, "CREATE TABLE certificates(serial TEXT PRIMARY KEY, der BLOB);"
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
    std::shared_ptr<Gate> gate = gate_;
    ports.open_backend = [gate](std::string_view url) -> Result<std::unique_ptr<storage::Backend>> {
      ASSIGN_OR_RETURN(auto inner, storage::OpenBackend(url));
      return std::unique_ptr<storage::Backend>(new GateBackend(std::move(inner), gate));
    };
    if (adjust) adjust(ports);
    auto service = BackupService::Open(options, std::move(ports));
    KS_CHECK(service.ok());
    return std::move(service).value();
  }

  // DMS set and the storage configured: backups can run.
  static void MakeReady(BackupService& service) {
    std::string dms = "correct horse battery";
    SecureBuffer secret = SecureBuffer::CopyOf(std::span(reinterpret_cast<const uint8_t*>(dms.data()), dms.size()));
    KS_CHECK(service.SetDms(secret, secret, {"admin", ""}).ok());
  }
  void ConfigureStorage(BackupService& service) {
    StorageSettings storage;
    storage.type = "local";
    storage.location = "file://" + storage_dir();
    KS_CHECK(service.ChangeStorage(storage, {"admin", ""}).ok());
  }

  std::string root() const { return tmp_.path() + "/appliance"; }
  std::string state_dir() const { return tmp_.path() + "/state"; }
  std::string storage_dir() const { return tmp_.path() + "/backups"; }
  std::string audit_text() const {
    std::ifstream in(tmp_.path() + "/audit.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  ManualClock& clock() { return clock_; }
  state::AuditLog& audit() { return *audit_; }
  Gate& gate() { return *gate_; }
  void set_otp_user_present(bool present) { otp_user_present_ = present; }

 private:
  static void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  TestTempDir tmp_{"ks_engine"};
  ManualClock clock_;
  std::unique_ptr<state::AuditLog> audit_;
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  std::atomic<bool> otp_user_present_{false};
};

}  // namespace keepsake::service::testing
