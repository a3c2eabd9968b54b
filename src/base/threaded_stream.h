// Pipeline stages on their own thread, so that reading, hashing, decrypting, decompressing
// and unpacking overlap on several cores.
//
// ThreadedSource pulls from an upstream ByteSource on a worker thread into a bounded queue
// of blocks; ThreadedSink hands blocks written to it to a worker thread that pushes them
// into the downstream ByteSink. Memory is at most `blocks` x `block_size`. Errors arrive in
// stream order: a consumer sees every byte before the failure, then the failure. Each object
// is driven by one thread (besides its own worker); destroying it stops and joins the worker.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "base/byte_stream.h"

namespace keepsake {

struct PipeOptions {
  size_t block_size = 1 << 20;
  size_t blocks = 4;
};

// A buffer handed between threads. Allocated uninitialised: pages are touched only when
// data is written, so a short stream costs little whatever the block size.
struct Block {
  std::unique_ptr<std::byte[]> data;
  size_t capacity = 0;
  size_t size = 0;        // bytes of content
  size_t high_water = 0;  // the most content it ever held: what is wiped at the end
  std::span<std::byte> writable() { return {data.get(), capacity}; }
  std::span<const std::byte> content() const { return {data.get(), size}; }
};

// The bounded hand-over between one producer and one consumer thread.
class BlockQueue {
 public:
  explicit BlockQueue(const PipeOptions& options);
  // Overwrites what the blocks held: a backup's plaintext passes through them.
  ~BlockQueue();
  // Producer: a buffer to fill (blocks while all are in flight); nullptr once cancelled.
  Block* AcquireFree();
  void PushFull(Block* block);
  // Ends the stream with `status` (OK: normal end).
  void Close(Status status);
  // Consumer: the next filled block, or nullptr at the end (then see status()).
  Block* PopFull();
  void ReleaseFree(Block* block);
  // Stops the producer side: AcquireFree() returns nullptr from now on.
  void Cancel();
  Status status();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Block> storage_;
  std::deque<Block*> free_;
  std::deque<Block*> full_;
  bool closed_ = false;
  bool cancelled_ = false;
  Status status_;
};

class ThreadedSource final : public ByteSource {
 public:
  // `upstream` must outlive this object and is read only by the worker thread.
  ThreadedSource(ByteSource& upstream, const PipeOptions& options = {});
  ~ThreadedSource() override;
  Result<size_t> Read(std::span<std::byte> buf) override;

 private:
  void Produce(ByteSource& upstream);
  BlockQueue queue_;
  Block* current_ = nullptr;
  size_t pos_ = 0;
  bool done_ = false;
  std::thread worker_;
};

class ThreadedSink final : public ByteSink {
 public:
  // `downstream` must outlive this object; only the worker writes to it until Finish()
  // returns. Finish() drains the queue and then finishes `downstream`.
  ThreadedSink(ByteSink& downstream, const PipeOptions& options = {});
  ~ThreadedSink() override;
  Status Write(std::span<const std::byte> data) override;
  Status Finish() override;

 private:
  void Consume(ByteSink& downstream);
  Status Flush();
  BlockQueue queue_;
  Block* current_ = nullptr;
  std::mutex worker_mu_;
  Status worker_status_;
  bool finished_ = false;
  std::thread worker_;
};

}  // namespace keepsake
