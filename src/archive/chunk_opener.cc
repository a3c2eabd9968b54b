#include "archive/chunk_opener.h"

#include <fmt/format.h>
#include <zstd.h>

#include "crypto/chunk_cipher.h"

namespace keepsake::archive {
namespace {

// The frame must be one whole zstd frame holding exactly chunk_size bytes (the last chunk:
// 1 to chunk_size).
Status Decompress(ZSTD_DCtx* dctx, const BackupHeader& header, uint64_t index, bool last,
                  std::span<const uint8_t> frame, std::vector<uint8_t>& plain) {
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
  const size_t chunk_size = header.chunk_size;
  // One byte more than a chunk may hold: a full buffer means the frame holds too much.
  plain.resize(chunk_size + 1);
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  ZSTD_outBuffer out{plain.data(), plain.size(), 0};
  size_t ret = 1;
  while (in.pos < in.size) {
    ret = ZSTD_decompressStream(dctx, &out, &in);
    if (ZSTD_isError(ret)) {
      return Status::Corruption(fmt::format("chunk {}: compressed data: {}", index, ZSTD_getErrorName(ret)));
    }
    if (out.pos == out.size) {
      return Status::Corruption(fmt::format("chunk {} holds more than the {} bytes of a chunk", index, chunk_size));
    }
    if (ret == 0) break;
  }
  if (ret != 0) return Status::Corruption(fmt::format("chunk {}: compressed data ends inside its frame", index));
  if (in.pos != in.size) {
    return Status::Corruption(fmt::format("chunk {}: unexpected data after its compressed frame", index));
  }
  if (out.pos == 0 || (!last && out.pos != chunk_size)) {
    return Status::Corruption(
        fmt::format("chunk {} holds {} bytes, not the {} of a chunk", index, out.pos, chunk_size));
  }
  plain.resize(out.pos);
  return Status();
}

}  // namespace

Result<bool> OpenFrameChunk(const BackupHeader& header, std::span<const uint8_t> ad, const SecureBuffer& file_key,
                            uint64_t index, std::span<const uint8_t> cipher, ZSTD_DCtx* dctx,
                            std::vector<uint8_t>& frame, std::vector<uint8_t>& plain) {
  std::vector<uint8_t>& opened = dctx != nullptr ? frame : plain;
  auto last = crypto::OpenChunk(file_key, index, cipher, ad, opened);
  if (!last.ok()) {
    return Status::Corruption(fmt::format(
        "chunk {} failed authentication: the body was modified, reordered, or belongs to another backup", index));
  }
  if (dctx != nullptr) RETURN_IF_ERROR(Decompress(dctx, header, index, *last, frame, plain));
  return *last;
}

ChunkOpener::ChunkOpener(const BackupHeader& header, std::span<const uint8_t> ad, const SecureBuffer& file_key,
                         bool decompress)
    : header_(header), ad_(ad), file_key_(file_key), decompress_(decompress) {}

ChunkOpener::~ChunkOpener() {
  for (auto& task : tasks_) pool_.Give(task.get().plain);
  for (ZSTD_DCtx* d : dctxs_) ZSTD_freeDCtx(d);
}

ZSTD_DCtx* ChunkOpener::TakeDCtx() {
  std::lock_guard lock(mu_);
  if (dctxs_.empty()) {
    ZSTD_DCtx* d = ZSTD_createDCtx();
    KS_CHECK(d != nullptr);
    ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 27);
    return d;
  }
  ZSTD_DCtx* d = dctxs_.back();
  dctxs_.pop_back();
  return d;
}

void ChunkOpener::GiveDCtx(ZSTD_DCtx* d) {
  std::lock_guard lock(mu_);
  dctxs_.push_back(d);
}

void ChunkOpener::Submit(uint64_t index, std::span<const uint8_t> cipher) {
  std::vector<uint8_t> copy = pool_.Take();
  copy.assign(cipher.begin(), cipher.end());
  tasks_.push_back(std::async(std::launch::async, [this, index, cipher = std::move(copy)]() mutable {
    Opened opened;
    opened.plain = pool_.Take();
    std::vector<uint8_t> frame = pool_.Take();
    ZSTD_DCtx* dctx = decompress_ ? TakeDCtx() : nullptr;
    auto last = OpenFrameChunk(header_, ad_, file_key_, index, cipher, dctx, frame, opened.plain);
    if (dctx != nullptr) GiveDCtx(dctx);
    pool_.Give(std::move(frame));
    pool_.Give(std::move(cipher));
    if (last.ok()) {
      opened.last = *last;
    } else {
      opened.status = std::move(last).status();
    }
    return opened;
  }));
}

Result<bool> ChunkOpener::TakeOldest(std::vector<uint8_t>& plain) {
  KS_CHECK(!tasks_.empty());
  Opened opened = tasks_.front().get();
  tasks_.pop_front();
  if (!opened.status.ok()) {
    pool_.Give(std::move(opened.plain));
    return std::move(opened.status);
  }
  plain.swap(opened.plain);
  pool_.Give(std::move(opened.plain));  // the previous chunk's buffer, used again
  return opened.last;
}

}  // namespace keepsake::archive
