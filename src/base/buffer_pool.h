// BufferPool: byte buffers handed between threads and used again, so that a pipeline moving
// chunks of several MiB neither faults in fresh pages nor zero-fills each chunk's buffers
// (measured: a fresh, wiped buffer per 4 MiB chunk spent a quarter of a restore in memset).
// Buffers may hold secrets (plaintext): the pool wipes every buffer it holds when it dies,
// so a buffer given back need not be wiped. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

namespace keepsake {

class BufferPool {
 public:
  BufferPool() = default;
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;
  ~BufferPool();

  // A buffer given back earlier (its size and contents as they were), or a new empty one.
  std::vector<uint8_t> Take();
  void Give(std::vector<uint8_t> buffer);

 private:
  std::mutex mu_;
  std::vector<std::vector<uint8_t>> free_;
};

}  // namespace keepsake
