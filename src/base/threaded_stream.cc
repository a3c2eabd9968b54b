#include "base/threaded_stream.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace keepsake {

BlockQueue::BlockQueue(const PipeOptions& options) : storage_(options.blocks) {
  KS_CHECK(options.blocks >= 2 && options.block_size > 0);
  for (auto& block : storage_) {
    block.data.reset(new std::byte[options.block_size]);
    block.capacity = options.block_size;
    free_.push_back(&block);
  }
}

BlockQueue::~BlockQueue() {
  for (auto& block : storage_) sodium_memzero(block.data.get(), block.high_water);
}

Block* BlockQueue::AcquireFree() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !free_.empty() || cancelled_; });
  if (cancelled_) return nullptr;
  auto* block = free_.front();
  free_.pop_front();
  return block;
}

void BlockQueue::PushFull(Block* block) {
  std::lock_guard lock(mu_);
  block->high_water = std::max(block->high_water, block->size);
  full_.push_back(block);
  cv_.notify_all();
}

void BlockQueue::Close(Status status) {
  std::lock_guard lock(mu_);
  closed_ = true;
  status_ = std::move(status);
  cv_.notify_all();
}

Block* BlockQueue::PopFull() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !full_.empty() || closed_; });
  if (full_.empty()) return nullptr;
  auto* block = full_.front();
  full_.pop_front();
  return block;
}

void BlockQueue::ReleaseFree(Block* block) {
  std::lock_guard lock(mu_);
  free_.push_back(block);
  cv_.notify_all();
}

void BlockQueue::Cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

Status BlockQueue::status() {
  std::lock_guard lock(mu_);
  return status_;
}

// --- ThreadedSource -------------------------------------------------------------------

ThreadedSource::ThreadedSource(ByteSource& upstream, const PipeOptions& options)
    : queue_(options), worker_([this, &upstream] { Produce(upstream); }) {}

ThreadedSource::~ThreadedSource() {
  queue_.Cancel();
  worker_.join();
}

void ThreadedSource::Produce(ByteSource& upstream) {
  for (;;) {
    Block* block = queue_.AcquireFree();
    if (block == nullptr) return queue_.Close(Status::Cancelled("pipeline stopped"));
    auto n = ReadFull(upstream, block->writable());
    if (!n.ok()) {
      queue_.ReleaseFree(block);
      return queue_.Close(std::move(n).status());
    }
    if (*n == 0) {
      queue_.ReleaseFree(block);
      return queue_.Close(Status());
    }
    block->size = *n;
    queue_.PushFull(block);
  }
}

Result<size_t> ThreadedSource::Read(std::span<std::byte> buf) {
  while (current_ == nullptr || pos_ == current_->size) {
    if (current_ != nullptr) {
      queue_.ReleaseFree(current_);
      current_ = nullptr;
    }
    if (done_) return size_t{0};
    current_ = queue_.PopFull();
    pos_ = 0;
    if (current_ == nullptr) {
      done_ = true;
      RETURN_IF_ERROR(queue_.status());
      return size_t{0};
    }
  }
  size_t n = std::min(buf.size(), current_->size - pos_);
  std::memcpy(buf.data(), current_->data.get() + pos_, n);
  pos_ += n;
  return n;
}

// --- ThreadedSink ---------------------------------------------------------------------

ThreadedSink::ThreadedSink(ByteSink& downstream, const PipeOptions& options)
    : queue_(options), worker_([this, &downstream] { Consume(downstream); }) {}

ThreadedSink::~ThreadedSink() {
  if (!worker_.joinable()) return;  // Finish() ran
  {
    // Abandoned mid-stream (an error upstream): drop what is queued, do not finish.
    std::lock_guard lock(worker_mu_);
    if (worker_status_.ok()) worker_status_ = Status::Cancelled("pipeline stopped");
  }
  queue_.Close(Status::Cancelled("pipeline stopped"));
  worker_.join();
}

void ThreadedSink::Consume(ByteSink& downstream) {
  for (;;) {
    Block* block = queue_.PopFull();
    if (block == nullptr) break;
    Status st;
    {
      std::lock_guard lock(worker_mu_);
      st = worker_status_;
    }
    // After a failure the rest is dropped; the producer learns of it on its next call.
    if (st.ok()) st = downstream.Write(block->content());
    if (!st.ok()) {
      std::lock_guard lock(worker_mu_);
      if (worker_status_.ok()) worker_status_ = st;
    }
    block->size = 0;
    queue_.ReleaseFree(block);
  }
  if (queue_.status().ok()) {
    std::lock_guard lock(worker_mu_);
    if (worker_status_.ok()) worker_status_ = downstream.Finish();
  }
}

Status ThreadedSink::Flush() {
  if (current_ == nullptr || current_->size == 0) return Status();
  queue_.PushFull(current_);
  current_ = nullptr;
  return Status();
}

Status ThreadedSink::Write(std::span<const std::byte> data) {
  KS_CHECK(!finished_);
  {
    std::lock_guard lock(worker_mu_);
    RETURN_IF_ERROR(worker_status_);
  }
  while (!data.empty()) {
    if (current_ == nullptr) {
      current_ = queue_.AcquireFree();
      KS_CHECK(current_ != nullptr);
    }
    size_t n = std::min(data.size(), current_->capacity - current_->size);
    std::memcpy(current_->data.get() + current_->size, data.data(), n);
    current_->size += n;
    data = data.subspan(n);
    if (current_->size == current_->capacity) RETURN_IF_ERROR(Flush());
  }
  return Status();
}

Status ThreadedSink::Finish() {
  KS_CHECK(!finished_);
  finished_ = true;
  RETURN_IF_ERROR(Flush());
  queue_.Close(Status());
  worker_.join();
  worker_ = std::thread();
  std::lock_guard lock(worker_mu_);
  return worker_status_;
}

}  // namespace keepsake
