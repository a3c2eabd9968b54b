#include "archive/zstd_stream.h"

#include <fmt/format.h>

#include <thread>

namespace keepsake::archive {

Result<std::unique_ptr<ZstdCompressSink>> ZstdCompressSink::Create(ByteSink& next, const ZstdOptions& options) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  KS_CHECK(cctx != nullptr);
  int workers = options.workers > 0 ? options.workers : static_cast<int>(std::thread::hardware_concurrency());
  if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, options.level))) {
    ZSTD_freeCCtx(cctx);
    return Status::InvalidArgument(fmt::format("zstd level {} is not valid", options.level));
  }
  if (workers > 1) {
    // Without multithreading support in libzstd this fails; compressing inline still works.
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, workers);
    // Small jobs keep the memory of in-flight jobs (about 2 x workers x job size) low.
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_jobSize, 2 << 20);
  }
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  return std::unique_ptr<ZstdCompressSink>(new ZstdCompressSink(next, cctx));
}

ZstdCompressSink::ZstdCompressSink(ByteSink& next, ZSTD_CCtx* cctx)
    : next_(next), cctx_(cctx), out_(ZSTD_CStreamOutSize()) {}

ZstdCompressSink::~ZstdCompressSink() { ZSTD_freeCCtx(cctx_); }

Status ZstdCompressSink::Drive(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
  for (;;) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    size_t remaining = ZSTD_compressStream2(cctx_, &out, &in, mode);
    if (ZSTD_isError(remaining)) {
      return Status::Internal(fmt::format("zstd compression failed: {}", ZSTD_getErrorName(remaining)));
    }
    if (out.pos > 0) RETURN_IF_ERROR(next_.Write(std::as_bytes(std::span(out_.data(), out.pos))));
    bool done = mode == ZSTD_e_continue ? in.pos == in.size : remaining == 0;
    if (done) return Status();
  }
}

Status ZstdCompressSink::Write(std::span<const std::byte> data) {
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  return Drive(in, ZSTD_e_continue);
}

Status ZstdCompressSink::Finish() {
  ZSTD_inBuffer in{nullptr, 0, 0};
  return Drive(in, ZSTD_e_end);
}

ZstdDecompressSource::ZstdDecompressSource(ByteSource& prev)
    : prev_(prev), dctx_(ZSTD_createDCtx()), in_(ZSTD_DStreamInSize()) {
  KS_CHECK(dctx_ != nullptr);
  ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, kMaxWindowLog);
}

ZstdDecompressSource::~ZstdDecompressSource() { ZSTD_freeDCtx(dctx_); }

Result<size_t> ZstdDecompressSource::Read(std::span<std::byte> buf) {
  ZSTD_outBuffer out{buf.data(), buf.size(), 0};
  while (out.pos == 0 && !buf.empty()) {
    if (in_buf_.pos == in_buf_.size && !eof_) {
      ASSIGN_OR_RETURN(size_t n, prev_.Read(std::as_writable_bytes(std::span(in_))));
      if (n == 0) eof_ = true;
      in_buf_ = {in_.data(), n, 0};
    }
    if (frame_done_) {
      if (in_buf_.pos < in_buf_.size)
        return Status::Corruption("unexpected data after the end of the compressed frame");
      if (eof_) return size_t{0};
      continue;
    }
    // Called even without new input: the decoder may still hold output to flush.
    size_t ret = ZSTD_decompressStream(dctx_, &out, &in_buf_);
    if (ZSTD_isError(ret)) return Status::Corruption(fmt::format("compressed data: {}", ZSTD_getErrorName(ret)));
    if (ret == 0) {
      frame_done_ = true;
    } else if (out.pos == 0 && eof_ && in_buf_.pos == in_buf_.size) {
      return Status::Corruption("compressed data ends before the end of its frame");
    }
  }
  return out.pos;
}

}  // namespace keepsake::archive
