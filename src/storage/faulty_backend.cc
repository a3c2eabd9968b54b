#include "storage/faulty_backend.h"

namespace keepsake::storage {

void FaultPlan::FailWritesAfter(uint64_t bytes, Status error) {
  std::lock_guard lock(mu_);
  write_limit_.emplace(bytes, std::move(error));
}

void FaultPlan::FailReadsAfter(uint64_t bytes, Status error) {
  std::lock_guard lock(mu_);
  read_limit_.emplace(bytes, std::move(error));
}

void FaultPlan::Fail(StorageOp op, Status error) {
  std::lock_guard lock(mu_);
  fail_[static_cast<size_t>(op)] = std::move(error);
}

void FaultPlan::SetHook(std::function<void(StorageOp)> hook) {
  std::lock_guard lock(mu_);
  hook_ = std::move(hook);
}

void FaultPlan::Clear() {
  std::lock_guard lock(mu_);
  fail_ = {};
  write_limit_.reset();
  read_limit_.reset();
  hook_ = nullptr;
}

int FaultPlan::calls(StorageOp op) const {
  std::lock_guard lock(mu_);
  return calls_[static_cast<size_t>(op)];
}

Status FaultPlan::Check(StorageOp op, uint64_t done, uint64_t n) {
  std::function<void(StorageOp)> hook;
  {
    std::lock_guard lock(mu_);
    ++calls_[static_cast<size_t>(op)];
    if (op == StorageOp::kAppend || op == StorageOp::kRead) hook = hook_;
  }
  if (hook) hook(op);  // outside the lock: it may block until the test lets the job go on
  std::lock_guard lock(mu_);
  if (const auto& f = fail_[static_cast<size_t>(op)]) return *f;
  const auto& limit = op == StorageOp::kAppend ? write_limit_ : op == StorageOp::kRead ? read_limit_ : std::nullopt;
  if (limit && done + n > limit->first) return limit->second;
  return Status();
}

class FaultyWriter final : public Writer {
 public:
  FaultyWriter(std::unique_ptr<Writer> inner, std::shared_ptr<FaultPlan> plan)
      : inner_(std::move(inner)), plan_(std::move(plan)) {}
  Status Append(std::span<const std::byte> data) override {
    RETURN_IF_ERROR(plan_->Check(StorageOp::kAppend, written_, data.size()));
    written_ += data.size();
    return inner_->Append(data);
  }
  Status Commit() override {
    RETURN_IF_ERROR(plan_->Check(StorageOp::kCommit));
    return inner_->Commit();
  }

 private:
  std::unique_ptr<Writer> inner_;  // destroyed without Commit: removes its partial
  std::shared_ptr<FaultPlan> plan_;
  uint64_t written_ = 0;
};

class FaultyReader final : public Reader {
 public:
  FaultyReader(std::unique_ptr<Reader> inner, std::shared_ptr<FaultPlan> plan)
      : inner_(std::move(inner)), plan_(std::move(plan)) {}
  Result<size_t> Read(std::span<std::byte> buf) override {
    // A read fails once it would pass the limit: what it returned before stays returned.
    RETURN_IF_ERROR(plan_->Check(StorageOp::kRead, read_, buf.size()));
    ASSIGN_OR_RETURN(size_t n, inner_->Read(buf));
    read_ += n;
    return n;
  }

 private:
  std::unique_ptr<Reader> inner_;
  std::shared_ptr<FaultPlan> plan_;
  uint64_t read_ = 0;
};

Result<std::vector<Entry>> FaultyBackend::List(std::string_view dir, std::string_view filter) {
  RETURN_IF_ERROR(plan_->Check(StorageOp::kList));
  return inner_->List(dir, filter);
}

Result<Entry> FaultyBackend::Stat(std::string_view path) {
  RETURN_IF_ERROR(plan_->Check(StorageOp::kStat));
  return inner_->Stat(path);
}

Result<Capacity> FaultyBackend::GetCapacity() {
  RETURN_IF_ERROR(plan_->Check(StorageOp::kGetCapacity));
  return inner_->GetCapacity();
}

Result<Access> FaultyBackend::GetAccess(std::string_view dir) {
  RETURN_IF_ERROR(plan_->Check(StorageOp::kGetAccess));
  return inner_->GetAccess(dir);
}

Status FaultyBackend::MakeDir(std::string_view path) {
  RETURN_IF_ERROR(plan_->Check(StorageOp::kMakeDir));
  return inner_->MakeDir(path);
}

Result<std::unique_ptr<Writer>> FaultyBackend::NewWriter(std::string_view path) {
  RETURN_IF_ERROR(plan_->Check(StorageOp::kNewWriter));
  ASSIGN_OR_RETURN(auto writer, inner_->NewWriter(path));
  return std::unique_ptr<Writer>(new FaultyWriter(std::move(writer), plan_));
}

Result<std::unique_ptr<Reader>> FaultyBackend::NewReader(std::string_view path, uint64_t offset) {
  RETURN_IF_ERROR(plan_->Check(StorageOp::kNewReader));
  ASSIGN_OR_RETURN(auto reader, inner_->NewReader(path, offset));
  return std::unique_ptr<Reader>(new FaultyReader(std::move(reader), plan_));
}

Status FaultyBackend::Rename(std::string_view from, std::string_view to) {
  RETURN_IF_ERROR(plan_->Check(StorageOp::kRename));
  return inner_->Rename(from, to);
}

Status FaultyBackend::Remove(std::string_view path) {
  RETURN_IF_ERROR(plan_->Check(StorageOp::kRemove));
  return inner_->Remove(path);
}

}  // namespace keepsake::storage
