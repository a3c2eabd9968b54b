// ChunkOpener: opens format v2 chunks on several threads, handing them back in order.
//
// A v2 chunk opens on its own (crypto/chunk_cipher.h) and holds one whole zstd frame, so
// while one thread reads the file and hashes each chunk for the chunk tree, the opening and
// decompressing of the next few run on other cores (docs/FORMAT.md §12.5). Each chunk runs
// as one std::async task: a few per second of restore, their start-up cost is noise next to
// 4 MiB of work. Not thread-safe itself: one reader submits and takes.
#pragma once

#include <zstd.h>

#include <deque>
#include <future>
#include <mutex>
#include <span>
#include <vector>

#include "archive/header.h"
#include "base/buffer_pool.h"
#include "base/secure_buffer.h"
#include "base/status.h"

namespace keepsake::archive {

// One v2 chunk opened with `file_key` and checked as §12.5 says: into `plain` the frame
// itself, or, given a `dctx`, the tar bytes it holds (the frame then goes through `frame`).
// Returns whether it was sealed as the last chunk. kCorruption naming the chunk.
Result<bool> OpenFrameChunk(const BackupHeader& header, std::span<const uint8_t> ad, const SecureBuffer& file_key,
                            uint64_t index, std::span<const uint8_t> cipher, ZSTD_DCtx* dctx,
                            std::vector<uint8_t>& frame, std::vector<uint8_t>& plain);

class ChunkOpener {
 public:
  // `header`, `ad` and `file_key` must outlive the opener.
  ChunkOpener(const BackupHeader& header, std::span<const uint8_t> ad, const SecureBuffer& file_key, bool decompress);
  ~ChunkOpener();  // waits for the tasks still running; the pool wipes what they opened

  void Submit(uint64_t index, std::span<const uint8_t> cipher);
  size_t in_flight() const { return tasks_.size(); }
  // The oldest submitted chunk, opened, into `plain` (whose old buffer goes back to the
  // pool); whether it was the last. REQUIRES: in_flight() > 0.
  Result<bool> TakeOldest(std::vector<uint8_t>& plain);

 private:
  struct Opened {
    Status status;
    bool last = false;
    std::vector<uint8_t> plain;
  };

  const BackupHeader& header_;
  const std::span<const uint8_t> ad_;
  const SecureBuffer& file_key_;
  ZSTD_DCtx* TakeDCtx();
  void GiveDCtx(ZSTD_DCtx* dctx);

  const bool decompress_;
  BufferPool pool_;  // ciphertexts, frames and plaintexts, used again chunk after chunk
  std::mutex mu_;
  std::vector<ZSTD_DCtx*> dctxs_;
  std::deque<std::future<Opened>> tasks_;
};

}  // namespace keepsake::archive
