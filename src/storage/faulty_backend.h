// FaultyBackend: any Backend with faults put in front of it, for tests of what happens when
// a storage fails: a write that fails after N bytes with a chosen error (a disk filling up,
// an NFS server gone, a USB drive pulled), a commit that fails, a read that breaks off, any
// operation refused. A FaultPlan says which faults, can be changed while jobs run, counts
// the calls, and can call a hook before every Append and Read (a test holds a job mid-write
// there). Several FaultyBackends (one per job or request) share one plan.
//
// Thread-safe: FaultPlan is; each FaultyBackend is as thread-safe as the backend it wraps.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "storage/backend.h"

namespace keepsake::storage {

enum class StorageOp : uint8_t {
  kList,
  kStat,
  kGetCapacity,
  kGetAccess,
  kMakeDir,
  kNewWriter,
  kNewReader,
  kRename,
  kRemove,
  kAppend,
  kCommit,
  kRead,
  kCount  // the number of operations
};

class FaultPlan {
 public:
  // Every writer fails once it has been given more than `bytes` bytes, with `error`.
  void FailWritesAfter(uint64_t bytes, Status error);
  // Every reader fails once it has returned more than `bytes` bytes, with `error`.
  void FailReadsAfter(uint64_t bytes, Status error);
  // Every call of `op` fails with `error` (for kAppend and kRead: every call, from the first).
  void Fail(StorageOp op, Status error);
  // Called before every Append and Read, outside any lock; may block.
  void SetHook(std::function<void(StorageOp)> hook);
  // No faults, no hook; the counts stay.
  void Clear();
  int calls(StorageOp op) const;

 private:
  friend class FaultyBackend;
  friend class FaultyWriter;
  friend class FaultyReader;
  // The error for this call of `op`, or OK; counts it. `done` + `n` are the bytes the
  // writer or reader will have passed with this call.
  Status Check(StorageOp op, uint64_t done = 0, uint64_t n = 0);

  mutable std::mutex mu_;
  std::array<std::optional<Status>, static_cast<size_t>(StorageOp::kCount)> fail_;
  std::optional<std::pair<uint64_t, Status>> write_limit_;
  std::optional<std::pair<uint64_t, Status>> read_limit_;
  std::function<void(StorageOp)> hook_;
  std::array<int, static_cast<size_t>(StorageOp::kCount)> calls_{};
};

class FaultyBackend final : public Backend {
 public:
  FaultyBackend(std::unique_ptr<Backend> inner, std::shared_ptr<FaultPlan> plan)
      : inner_(std::move(inner)), plan_(std::move(plan)) {}

  Result<std::vector<Entry>> List(std::string_view dir, std::string_view filter = {}) override;
  Result<Entry> Stat(std::string_view path) override;
  Result<Capacity> GetCapacity() override;
  Result<Access> GetAccess(std::string_view dir) override;
  Status MakeDir(std::string_view path) override;
  Result<std::unique_ptr<Writer>> NewWriter(std::string_view path) override;
  Result<std::unique_ptr<Reader>> NewReader(std::string_view path, uint64_t offset = 0) override;
  Status Rename(std::string_view from, std::string_view to) override;
  Status Remove(std::string_view path) override;

 private:
  std::unique_ptr<Backend> inner_;
  std::shared_ptr<FaultPlan> plan_;
};

}  // namespace keepsake::storage
