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
#include <thread>
#include <vector>

#include "base/byte_stream.h"

namespace keepsake {

struct PipeOptions {
  size_t block_size = 1 << 20;
  size_t blocks = 4;
};

// The bounded hand-over between one producer and one consumer thread.
class BlockQueue {
 public:
  explicit BlockQueue(const PipeOptions& options);
  // Producer: a buffer to fill (blocks while all are in flight); nullptr once closed.
  std::vector<std::byte>* AcquireFree();
  void PushFull(std::vector<std::byte>* block);
  // Ends the stream with `status` (OK: normal end).
  void Close(Status status);
  // Consumer: the next filled block, or nullptr at the end (then see status()).
  std::vector<std::byte>* PopFull();
  void ReleaseFree(std::vector<std::byte>* block);
  // Stops the producer side: AcquireFree() returns nullptr from now on.
  void Cancel();
  Status status();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<std::byte>> storage_;
  std::deque<std::vector<std::byte>*> free_;
  std::deque<std::vector<std::byte>*> full_;
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
  std::vector<std::byte>* current_ = nullptr;
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
  std::vector<std::byte>* current_ = nullptr;
  size_t used_ = 0;
  size_t block_size_;
  std::mutex worker_mu_;
  Status worker_status_;
  bool finished_ = false;
  std::thread worker_;
};

}  // namespace keepsake
