// ChunkSealer: compresses and seals format v2 chunks on several threads, handing the
// ciphertexts back in order (the writing side of chunk_opener.h): each chunk_size piece of
// the tar stream becomes one zstd frame sealed on its own (docs/FORMAT.md §12.5), so the
// pieces need not wait for each other. One std::async task per chunk. Not thread-safe
// itself: one writer submits and takes.
#pragma once

#include <zstd.h>

#include <deque>
#include <future>
#include <mutex>
#include <span>
#include <vector>

#include "base/buffer_pool.h"
#include "base/secure_buffer.h"
#include "base/status.h"

namespace keepsake::archive {

class ChunkSealer {
 public:
  // `ad` and `file_key` must outlive the sealer.
  ChunkSealer(int zstd_level, std::span<const uint8_t> ad, const SecureBuffer& file_key);
  ~ChunkSealer();  // waits for the tasks still running; the pool wipes every buffer

  // A buffer to fill with the next chunk's plaintext (one used before, when there is one).
  std::vector<uint8_t> TakeBuffer() { return pool_.Take(); }
  void GiveBuffer(std::vector<uint8_t> buffer) { pool_.Give(std::move(buffer)); }

  // Seals `plain` as chunk `index`, the last one when `last`; its buffer goes to the pool.
  void Submit(uint64_t index, bool last, std::vector<uint8_t> plain);
  size_t in_flight() const { return tasks_.size(); }
  // The oldest submitted chunk's ciphertext (give its buffer back once written).
  // REQUIRES: in_flight() > 0.
  Result<std::vector<uint8_t>> TakeOldest();

 private:
  Result<std::vector<uint8_t>> SealOne(uint64_t index, bool last, std::span<const uint8_t> plain);
  ZSTD_CCtx* TakeCCtx();
  void GiveCCtx(ZSTD_CCtx* cctx);

  const int level_;
  const std::span<const uint8_t> ad_;
  const SecureBuffer& file_key_;
  BufferPool pool_;  // plaintexts, frames and ciphertexts, used again chunk after chunk
  std::mutex mu_;
  std::vector<ZSTD_CCtx*> cctxs_;
  std::deque<std::future<Result<std::vector<uint8_t>>>> tasks_;
};

}  // namespace keepsake::archive
