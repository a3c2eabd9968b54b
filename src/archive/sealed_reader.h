// Reading a sealed backup file (formats v1 and v2): the signed header, then the body as a
// stream.
//
// Verification order (docs/FORMAT.md §6, §12.6):
//  1. ReadSealedHeader: magic, version, header length bounds, JSON fields, and the header
//     signature under the key the header names (v1 the domain's, v2 the device's, whose
//     certificate must verify under the domain key the header names): self-consistency,
//     any modified byte of prefix, header or signature fails here.
//  2. UnlockFileKey (unlock.h): the header's domain key must be the trusted one (this
//     device's, or the one derived from a DMS the user typed), its v2 signer not revoked;
//     then the file key unwraps (v1) or opens (v2).
//  3. SealedReader::Read (framing by BodyFrames): each chunk's length is bounded, its
//     ciphertext authenticated (order, truncation and foreign bodies fail here; v2 chunks
//     open on other threads, handed back in order), and after the last chunk the trailer's
//     counts, hash (v1 of the file, v2 the chunk tree) and signature are checked and the
//     file must end. Read() returns 0 only after all of that passed.
// Not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "archive/chunk_opener.h"
#include "archive/header.h"
#include "base/byte_stream.h"
#include "base/sha256.h"
#include "crypto/signature.h"

namespace keepsake::archive {

struct SealedHeader {
  BackupHeader header;
  std::vector<uint8_t> signed_part;  // prefix || header JSON
  crypto::Signature signature{};
  std::array<uint8_t, 32> digest{};  // SHA-256(signed_part): the chunks' AD
};

// Reads prefix, header and header signature from `source`, leaving it at the first chunk.
// kCorruption (not a backup, damaged header or signature), kNotSupported (newer format).
Result<SealedHeader> ReadSealedHeader(ByteSource& source);

// The body's framing without any key: chunk lengths (bounded), every byte hashed, and the
// trailer (counts, whole-file hash, signature under the header's public key). SealedReader
// decrypts what it yields; CheckIntegrity only counts it.
class BodyFrames {
 public:
  BodyFrames(ByteSource& source, const SealedHeader& header);

  // The next chunk's ciphertext (valid until the next call), or an empty span once the
  // trailer came, checked out, and the file ended. kCorruption naming what failed.
  Result<std::span<const uint8_t>> Next();
  // After the FINAL chunk: the trailer must follow, check out, and end the file.
  Status ExpectTrailer();

  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t chunk_count() const { return chunk_count_; }

  // Why Next() last failed where a chunk was due: the file ended, or what stood there is no
  // chunk (its length is out of bounds); kOther for the trailer's checks and I/O errors. A
  // reader that read past the last chunk says these as trailer errors.
  enum class Failure { kOther, kFileEnded, kNotAChunk };
  Failure failed_as() const { return failed_as_; }

 private:
  Status CheckTrailer(const uint8_t* first_bytes);

  ByteSource& source_;
  const SealedHeader& header_;
  Sha256 file_hash_;  // v1: every byte; v2: the chunk tree (context, header digest, leaves)
  std::vector<uint8_t> cipher_;
  Failure failed_as_ = Failure::kOther;
  size_t min_len_ = 0;
  size_t max_len_ = 0;
  uint64_t chunk_count_ = 0;
  uint64_t body_len_ = 0;
  uint64_t bytes_in_ = 0;
};

// What a SealedReader yields: the compressed stream (v1 always: one zstd frame; v2 with
// kCompressed: the chunks' frames one after the other, a valid multi-frame .zst), or, for
// v2 with kTar, the tar stream itself, each chunk's frame decompressed as it opens.
enum class BodyLayer { kCompressed, kTar };
inline bool YieldsTar(const BackupHeader& header, BodyLayer layer) {
  return header.is_v2() && layer == BodyLayer::kTar;
}

class SealedReader final : public ByteSource {
 public:
  // `source` is positioned after the header (as ReadSealedHeader leaves it) and must outlive
  // the reader, as must `file_key`, which comes from UnlockFileKey.
  SealedReader(ByteSource& source, const SealedHeader& header, const SecureBuffer& file_key,
               BodyLayer layer = BodyLayer::kCompressed);
  ~SealedReader() override;

  // Plaintext of the body. kCorruption naming the chunk or trailer part that failed.
  Result<size_t> Read(std::span<std::byte> buf) override;

  uint64_t bytes_in() const { return frames_.bytes_in(); }

 private:
  Status NextChunk();
  Status NextChunkV2();
  Status AfterLastChunk();

  const SealedHeader& header_;
  BodyFrames frames_;
  std::optional<crypto::StreamDecryptor> decryptor_;  // v1
  // v2: chunks read ahead and opened on other threads; what ended the reading ahead (OK:
  // the trailer came and checked out), once it ended.
  std::optional<ChunkOpener> opener_;
  std::optional<Status> body_end_;
  std::vector<uint8_t> plain_;
  size_t plain_pos_ = 0;
  bool final_seen_ = false;
};

// Whether a sealed file is exactly what its signer wrote, with no secret: the header's
// signature, every chunk's framing, and the trailer, whose signature covers the hash of
// every byte before it (docs/FORMAT.md §6, steps 1-9 and 13-22 without decryption). Reads
// the file once, streaming. It says nothing of whose domain signed it (CheckSameDomain) or
// of the plaintext, which needs the file key. kCorruption naming what failed.
Result<SealedHeader> CheckIntegrity(ByteSource& source);
// The body part of it, for a caller that read the header itself (to show it whatever the
// body says): `source` is where ReadSealedHeader left it.
Status CheckBodyIntegrity(ByteSource& source, const SealedHeader& header);

}  // namespace keepsake::archive
