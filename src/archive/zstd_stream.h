// zstd compression as pipeline stages: a sink that compresses into the next sink, and a
// source that decompresses what it pulls from the previous source.
//
// Compression may use worker threads (ZSTD_c_nbWorkers) so that it overlaps with the
// caller's reading and encryption; memory stays bounded by the job size. Decompression
// caps the window at 2^kMaxWindowLog so no input can make it allocate more. Each object is
// driven by one thread.
#pragma once

#include <zstd.h>

#include <memory>
#include <vector>

#include "base/byte_stream.h"

namespace keepsake::archive {

struct ZstdOptions {
  // zstd level. 2, not zstd's default 3: on the appliance state (a PKI database of mostly
  // random keys and signatures) level 2 compresses 25 % faster for 0.9 % more output
  // (docs/PERFORMANCE.md), and a backup competes with the appliance's own services for CPU.
  int level = 2;
  int workers = 0;  // 0: one per core; 1: compress on the calling thread
};

inline constexpr int kMaxWindowLog = 27;  // 128 MiB, zstd's default decoder limit

class ZstdCompressSink final : public ByteSink {
 public:
  static Result<std::unique_ptr<ZstdCompressSink>> Create(ByteSink& next, const ZstdOptions& options);
  ~ZstdCompressSink() override;
  Status Write(std::span<const std::byte> data) override;
  // Ends the zstd frame and writes the rest; does not finish `next`.
  Status Finish() override;

 private:
  ZstdCompressSink(ByteSink& next, ZSTD_CCtx* cctx);
  Status Drive(ZSTD_inBuffer& in, ZSTD_EndDirective mode);
  ByteSink& next_;
  ZSTD_CCtx* cctx_;
  std::vector<uint8_t> out_;
};

class ZstdDecompressSource final : public ByteSource {
 public:
  explicit ZstdDecompressSource(ByteSource& prev);
  ~ZstdDecompressSource() override;
  // kCorruption when the frame is malformed, ends early, or is followed by other data.
  Result<size_t> Read(std::span<std::byte> buf) override;

 private:
  ByteSource& prev_;
  ZSTD_DCtx* dctx_;
  std::vector<uint8_t> in_;
  ZSTD_inBuffer in_buf_{nullptr, 0, 0};
  bool frame_done_ = false;
  bool eof_ = false;
};

}  // namespace keepsake::archive
