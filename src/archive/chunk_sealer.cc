#include "archive/chunk_sealer.h"

#include <fmt/format.h>

#include "crypto/chunk_cipher.h"

namespace keepsake::archive {

ChunkSealer::ChunkSealer(int zstd_level, std::span<const uint8_t> ad, const SecureBuffer& file_key)
    : level_(zstd_level), ad_(ad), file_key_(file_key) {}

ChunkSealer::~ChunkSealer() {
  for (auto& task : tasks_) {
    auto cipher = task.get();
    if (cipher.ok()) pool_.Give(std::move(cipher).value());
  }
  for (ZSTD_CCtx* c : cctxs_) ZSTD_freeCCtx(c);
}

ZSTD_CCtx* ChunkSealer::TakeCCtx() {
  std::lock_guard lock(mu_);
  if (cctxs_.empty()) {
    ZSTD_CCtx* c = ZSTD_createCCtx();
    KS_CHECK(c != nullptr);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level_);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    return c;
  }
  ZSTD_CCtx* c = cctxs_.back();
  cctxs_.pop_back();
  return c;
}

void ChunkSealer::GiveCCtx(ZSTD_CCtx* c) {
  std::lock_guard lock(mu_);
  cctxs_.push_back(c);
}

Result<std::vector<uint8_t>> ChunkSealer::SealOne(uint64_t index, bool last, std::span<const uint8_t> plain) {
  std::vector<uint8_t> frame = pool_.Take();
  frame.resize(ZSTD_compressBound(plain.size()));
  ZSTD_CCtx* cctx = TakeCCtx();
  size_t n = ZSTD_compress2(cctx, frame.data(), frame.size(), plain.data(), plain.size());
  GiveCCtx(cctx);
  if (ZSTD_isError(n)) {
    pool_.Give(std::move(frame));
    return Status::Internal(fmt::format("zstd: {}", ZSTD_getErrorName(n)));
  }
  frame.resize(n);
  std::vector<uint8_t> cipher = pool_.Take();
  crypto::SealChunk(file_key_, index, last, frame, ad_, cipher);
  pool_.Give(std::move(frame));
  return cipher;
}

void ChunkSealer::Submit(uint64_t index, bool last, std::vector<uint8_t> plain) {
  tasks_.push_back(std::async(std::launch::async, [this, index, last, plain = std::move(plain)]() mutable {
    auto cipher = SealOne(index, last, plain);
    pool_.Give(std::move(plain));
    return cipher;
  }));
}

Result<std::vector<uint8_t>> ChunkSealer::TakeOldest() {
  KS_CHECK(!tasks_.empty());
  auto cipher = tasks_.front().get();
  tasks_.pop_front();
  return cipher;
}

}  // namespace keepsake::archive
