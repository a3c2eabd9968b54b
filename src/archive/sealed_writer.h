// SealedWriter: turns a plaintext byte stream into a sealed backup file (format v1, see
// format.h and docs/FORMAT.md) written to a ByteSink.
//
// Start() completes the header's crypto fields (fresh file key wrapped by the KEK, stream
// header, domain key and KDF parameters), writes and signs it. Write() encrypts in chunks
// of header.chunk_size; Finish() writes the FINAL chunk and the signed trailer. Memory: two
// chunk buffers. Not thread-safe.
#pragma once

#include <memory>
#include <vector>

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

  BackupHeader header_;
  const crypto::DomainKeys& keys_;
  ByteSink& out_;
  crypto::StreamEncryptor encryptor_;
  std::vector<uint8_t> signed_part_;
  crypto::Signature signature_{};
  std::array<uint8_t, 32> header_digest_{};
  Sha256 file_hash_;
  std::vector<uint8_t> plain_;
  std::vector<uint8_t> cipher_;
  uint64_t chunk_count_ = 0;
  uint64_t body_len_ = 0;
  uint64_t bytes_out_ = 0;
};

}  // namespace keepsake::archive
