// SealedWriter: turns a byte stream into a sealed backup file (format.h, docs/FORMAT.md)
// written to a ByteSink.
//
// Format v1 (a header MakeHeader made for a v1 keystore): the stream written is the zstd
// stream; Start() wraps a fresh file key with the KEK and signs with the domain key.
// Format v2 (a v2 appliance): the stream written is the tar stream; each chunk_size piece
// becomes one zstd frame in one independently sealed chunk; Start() seals the file key to
// the domain's box key (this appliance cannot open it again) and signs with the device key.
// Write() buffers a chunk; Finish() writes the last chunk and the signed trailer. Memory: a
// few chunk buffers. Not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "archive/chunk_sealer.h"
#include "archive/header.h"
#include "archive/sealed_reader.h"
#include "base/byte_stream.h"
#include "base/sha256.h"
#include "crypto/signature.h"

namespace keepsake::archive {

class SealedWriter final : public ByteSink {
 public:
  // `out` must outlive the writer; it is not finished by Finish().
  static Result<std::unique_ptr<SealedWriter>> Start(BackupHeader header, const crypto::DomainKeys& keys,
                                                     ByteSink& out);
  ~SealedWriter() override;

  Status Write(std::span<const std::byte> data) override;
  Status Finish() override;

  const BackupHeader& header() const { return header_; }
  // The header as written: its signed bytes, signature and digest.
  SealedHeader sealed_header() const { return {header_, signed_part_, signature_, header_digest_}; }
  uint64_t bytes_out() const { return bytes_out_; }

 private:
  SealedWriter(BackupHeader header, const crypto::DomainKeys& keys, ByteSink& out, SecureBuffer file_key);
  Status Emit(std::span<const uint8_t> bytes);
  Status SealChunk(bool final);
  Status EmitSealed(std::span<const uint8_t> cipher);
  const SecureBuffer& signing_key() const;

  BackupHeader header_;
  const crypto::DomainKeys& keys_;
  ByteSink& out_;
  SecureBuffer file_key_;
  std::optional<crypto::StreamEncryptor> encryptor_;  // v1
  std::optional<ChunkSealer> sealer_;                 // v2: chunks compressed and sealed on other threads
  std::vector<uint8_t> signed_part_;
  crypto::Signature signature_{};
  std::array<uint8_t, 32> header_digest_{};
  Sha256 file_hash_;  // v1: every byte; v2: the chunk tree
  std::vector<uint8_t> plain_;
  std::vector<uint8_t> cipher_;
  uint64_t chunk_count_ = 0;
  uint64_t body_len_ = 0;
  uint64_t bytes_out_ = 0;
};

}  // namespace keepsake::archive
