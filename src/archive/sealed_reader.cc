#include "archive/sealed_reader.h"

#include <fmt/format.h>
#include <sodium.h>
#include <zstd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "archive/format.h"
#include "base/encoding.h"
#include "base/endian.h"
#include "base/json_fields.h"
#include "crypto/chunk_cipher.h"
#include "crypto/device_certificate.h"

namespace keepsake::archive {
namespace {

std::span<std::byte> Writable(std::vector<uint8_t>& v) { return std::as_writable_bytes(std::span(v)); }

// Only the signer's key, read before the signature is checked; everything else waits. v1:
// the domain's key (domain.public_key); v2: the device's (signer.public_key).
Result<crypto::PublicKey> HeaderPublicKey(std::string_view json, uint16_t version) {
  // Parsed before anything is trusted: its text is checked first (CheckJsonText).
  RETURN_IF_ERROR(CheckJsonText(json, kMaxHeaderDepth, "damaged header: the header"));
  auto j = nlohmann::json::parse(json, nullptr, false);
  const char* object = version == kFormatV2 ? "signer" : "domain";
  const nlohmann::json* pk = nullptr;
  if (!j.is_discarded() && j.is_object() && j.contains(object) && j[object].is_object() &&
      j[object].contains("public_key") && j[object]["public_key"].is_string()) {
    pk = &j[object]["public_key"];
  }
  auto bytes = pk ? FromHex(pk->get_ref<const std::string&>(), crypto::kPublicKeySize)
                  : Result<std::vector<uint8_t>>(Status::Corruption(""));
  if (!bytes.ok()) {
    return Status::Corruption(version == kFormatV2 ? "damaged header: no readable signer public key"
                                                   : "damaged header: no readable domain public key");
  }
  crypto::PublicKey key;
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

}  // namespace

Result<SealedHeader> ReadSealedHeader(ByteSource& source) {
  SealedHeader out;
  out.signed_part.resize(kPrefixSize);
  ASSIGN_OR_RETURN(size_t n, ReadFull(source, Writable(out.signed_part)));
  if (n < kMagic.size() || std::memcmp(out.signed_part.data(), kMagic.data(), kMagic.size()) != 0) {
    return Status::Corruption("not a Keepsake backup file (no KSBACKUP magic)");
  }
  if (n < kPrefixSize) return Status::Corruption("truncated: the file ends inside its prefix");
  uint16_t version = GetLe16(&out.signed_part[8]);
  if (version != kFormatV1 && version != kFormatV2) {
    return Status::NotSupported(
        fmt::format("backup format version {} is not supported by this Keepsake (it reads versions 1 and 2); "
                    "use the Keepsake release that made the backup or a newer one",
                    version));
  }
  if (GetLe16(&out.signed_part[10]) != 0) return Status::Corruption("damaged prefix: reserved bytes are not zero");
  uint32_t header_len = GetLe32(&out.signed_part[12]);
  if (header_len == 0 || header_len > kMaxHeaderSize) {
    return Status::Corruption(fmt::format("damaged prefix: header length {} is out of range", header_len));
  }
  out.signed_part.resize(kPrefixSize + header_len);
  ASSIGN_OR_RETURN(n, ReadFull(source, Writable(out.signed_part).subspan(kPrefixSize)));
  if (n < header_len) return Status::Corruption("truncated: the file ends inside its header");
  ASSIGN_OR_RETURN(n, ReadFull(source, std::as_writable_bytes(std::span(out.signature))));
  if (n < out.signature.size()) return Status::Corruption("truncated: the file ends inside the header signature");

  // The signature is checked before any field is interpreted, under the key the header
  // names; whether that key is trusted is decided later (unlock.h).
  std::string_view json(reinterpret_cast<const char*>(&out.signed_part[kPrefixSize]), header_len);
  ASSIGN_OR_RETURN(crypto::PublicKey signer, HeaderPublicKey(json, version));
  if (!crypto::VerifySignature(signer, out.signed_part, out.signature)) {
    return Status::Corruption("header signature is invalid: the header was modified or damaged");
  }
  auto header = ParseHeader(json);
  if (!header.ok()) return std::move(header).status();
  out.header = std::move(header).value();
  if (out.header.format_version != version) {
    return Status::Corruption(
        fmt::format("damaged header: it says format version {}, its prefix {}", out.header.format_version, version));
  }
  // v2: the device key that signed must be one the domain key the header names vouches for.
  // (Whether that domain is trusted, and the key not revoked, is decided later: unlock.h.)
  if (out.header.signer) RETURN_IF_ERROR(crypto::CheckCertificate(out.header.domain_public_key, *out.header.signer));
  out.digest = Sha256::Of(out.signed_part);
  return out;
}

BodyFrames::BodyFrames(ByteSource& source, const SealedHeader& header) : source_(source), header_(header) {
  if (header.header.is_v2()) {
    file_hash_.Update(std::as_bytes(std::span(kChunkTreeContext)));
    file_hash_.Update(std::as_bytes(std::span(header.digest)));
    min_len_ = crypto::kChunkOverhead;
    max_len_ = ZSTD_COMPRESSBOUND(header.header.chunk_size) + crypto::kChunkOverhead;
  } else {
    file_hash_.Update(std::as_bytes(std::span(header.signed_part)));
    file_hash_.Update(std::as_bytes(std::span(header.signature)));
    min_len_ = crypto::kStreamOverhead;
    max_len_ = header.header.chunk_size + crypto::kStreamOverhead;
  }
  bytes_in_ = header.signed_part.size() + header.signature.size();
}

Result<std::span<const uint8_t>> BodyFrames::Next() {
  const uint64_t index = chunk_count_;
  uint8_t len_bytes[kChunkLengthSize];
  ASSIGN_OR_RETURN(size_t n, ReadFull(source_, std::as_writable_bytes(std::span(len_bytes))));
  if (n == 0) {
    failed_as_ = Failure::kFileEnded;
    return Status::Corruption(
        fmt::format("truncated: the file ends after chunk {} without the final chunk and trailer", index));
  }
  // A trailer starts with "KSTR", which as a length (1381258059) is beyond any chunk's
  // bound: the two cannot be confused.
  if (n == kChunkLengthSize && std::memcmp(len_bytes, kTrailerMagic.data(), kChunkLengthSize) == 0) {
    if (index == 0) {  // a body has at least its FINAL chunk (found by tools/verify_backup.py)
      return Status::Corruption("truncated: the file ends after chunk 0 without the final chunk and trailer");
    }
    RETURN_IF_ERROR(CheckTrailer(len_bytes));
    return std::span<const uint8_t>();
  }
  if (n < kChunkLengthSize) {
    failed_as_ = Failure::kFileEnded;
    return Status::Corruption(fmt::format("truncated: the file ends inside chunk {}", index));
  }
  uint32_t len = GetLe32(len_bytes);
  if (len < min_len_ || len > max_len_) {
    failed_as_ = Failure::kNotAChunk;
    return Status::Corruption(fmt::format("chunk {}: length {} is out of range; the file is damaged", index, len));
  }
  cipher_.resize(len);
  ASSIGN_OR_RETURN(n, ReadFull(source_, Writable(cipher_)));
  if (n < len) {
    failed_as_ = Failure::kFileEnded;
    return Status::Corruption(fmt::format("truncated: the file ends inside chunk {}", index));
  }
  if (header_.header.is_v2()) {
    // The chunk tree's leaf: one SHA-256 per chunk, so that chunks can be hashed apart.
    std::array<uint8_t, 32> leaf = Sha256::Of(cipher_);
    file_hash_.Update(std::as_bytes(std::span(leaf)));
  } else {
    file_hash_.Update(std::as_bytes(std::span(len_bytes)));
    file_hash_.Update(std::as_bytes(std::span(cipher_)));
  }
  bytes_in_ += kChunkLengthSize + len;
  body_len_ += kChunkLengthSize + len;
  ++chunk_count_;
  return std::span<const uint8_t>(cipher_);
}

Status BodyFrames::ExpectTrailer() {
  uint8_t first[kChunkLengthSize];
  ASSIGN_OR_RETURN(size_t n, ReadFull(source_, std::as_writable_bytes(std::span(first))));
  if (n < kChunkLengthSize) return Status::Corruption("truncated: the file ends inside the trailer");
  return CheckTrailer(first);
}

Status BodyFrames::CheckTrailer(const uint8_t* first_bytes) {
  uint8_t trailer[kTrailerSize];
  std::memcpy(trailer, first_bytes, kChunkLengthSize);
  ASSIGN_OR_RETURN(size_t n, ReadFull(source_, std::as_writable_bytes(std::span(trailer + kChunkLengthSize,
                                                                                kTrailerSize - kChunkLengthSize))));
  if (n < kTrailerSize - kChunkLengthSize) return Status::Corruption("truncated: the file ends inside the trailer");
  bytes_in_ += kTrailerSize;
  if (std::memcmp(trailer, kTrailerMagic.data(), kTrailerMagic.size()) != 0) {
    return Status::Corruption("damaged trailer: no KSTRAILR magic after the final chunk");
  }
  crypto::Signature sig;
  std::memcpy(sig.data(), trailer + kTrailerSignedSize, sig.size());
  if (!crypto::VerifySignature(header_.header.SignerKey(), std::span(trailer, kTrailerSignedSize), sig)) {
    return Status::Corruption("trailer signature is invalid: the trailer was modified or damaged");
  }
  std::array<uint8_t, 32> hash = file_hash_.Final();
  if (sodium_memcmp(hash.data(), trailer + 24, hash.size()) != 0) {
    return Status::Corruption(
        header_.header.is_v2() ? "chunk tree in the trailer does not match: a chunk was modified, or the header or "
                                 "body belongs to another file"
                               : "file hash in the trailer does not match: the header or body belongs to another file");
  }
  if (GetLe64(trailer + 8) != chunk_count_ || GetLe64(trailer + 16) != body_len_) {
    return Status::Corruption("trailer does not match the body: chunks were added or removed");
  }
  uint8_t extra;
  ASSIGN_OR_RETURN(n, source_.Read(std::as_writable_bytes(std::span(&extra, 1))));
  if (n != 0) return Status::Corruption("unexpected data after the trailer: the file was appended to");
  return Status();
}

SealedReader::SealedReader(ByteSource& source, const SealedHeader& header, const SecureBuffer& file_key,
                           BodyLayer layer)
    : header_(header), frames_(source, header) {
  if (header.header.is_v2()) {
    opener_.emplace(header.header, header.digest, file_key, YieldsTar(header.header, layer));
  } else {
    decryptor_.emplace(file_key, header.header.stream_header);
  }
}

SealedReader::~SealedReader() {
  opener_.reset();  // its tasks end first
  plain_.resize(plain_.capacity());
  sodium_memzero(plain_.data(), plain_.size());
}

Result<size_t> SealedReader::Read(std::span<std::byte> buf) {
  while (plain_pos_ == plain_.size()) {
    if (final_seen_) return size_t{0};
    RETURN_IF_ERROR(header_.header.is_v2() ? NextChunkV2() : NextChunk());
  }
  size_t n = std::min(buf.size(), plain_.size() - plain_pos_);
  std::memcpy(buf.data(), plain_.data() + plain_pos_, n);
  plain_pos_ += n;
  return n;
}

Status SealedReader::NextChunk() {
  const uint64_t index = frames_.chunk_count();
  ASSIGN_OR_RETURN(std::span<const uint8_t> cipher, frames_.Next());
  if (cipher.empty()) {
    // A trailer where a chunk was due: the FINAL chunk was dropped.
    return Status::Corruption(
        fmt::format("truncated: the file ends after chunk {} without the final chunk and trailer", index));
  }
  auto final = decryptor_->Pull(cipher, header_.digest, plain_);
  if (!final.ok()) {
    return Status::Corruption(fmt::format(
        "chunk {} failed authentication: the body was modified, reordered, or belongs to another backup", index));
  }
  final_seen_ = *final;
  plain_pos_ = 0;
  if (final_seen_) RETURN_IF_ERROR(frames_.ExpectTrailer());
  return Status();
}

// v2: this thread reads and hashes the chunks in file order, a few ahead of the one handed
// out, while the chunks already read open on other cores. Errors come out in file order, as
// a reader going one chunk at a time would meet them: a chunk's own error before anything
// read after it.
Status SealedReader::NextChunkV2() {
  constexpr size_t kAhead = 3;  // two cores busy opening, one chunk read ahead of them
  while (!body_end_ && opener_->in_flight() < kAhead) {
    const uint64_t index = frames_.chunk_count();
    auto cipher = frames_.Next();
    if (!cipher.ok()) {
      body_end_ = std::move(cipher).status();
    } else if (cipher->empty()) {
      body_end_ = Status();  // the trailer came and checked out
    } else {
      opener_->Submit(index, *cipher);
    }
  }
  if (opener_->in_flight() == 0) {
    RETURN_IF_ERROR(*body_end_);
    // A trailer where a chunk was due: the last chunk was dropped, or the body was sealed
    // without one.
    return Status::Corruption(fmt::format("truncated: the file ends after chunk {} without the final chunk and trailer",
                                          frames_.chunk_count()));
  }
  ASSIGN_OR_RETURN(bool last, opener_->TakeOldest(plain_));
  plain_pos_ = 0;
  if (last) {
    final_seen_ = true;
    return AfterLastChunk();
  }
  return Status();
}

// The chunk sealed as last was handed out: what the reading ahead found after it must be
// the trailer, checked out, and the end of the file. Said as a reader expecting the trailer
// there says it.
Status SealedReader::AfterLastChunk() {
  if (opener_->in_flight() > 0) return Status::Corruption("damaged trailer: no KSTRAILR magic after the final chunk");
  if (!body_end_) return frames_.ExpectTrailer();
  if (body_end_->ok()) return Status();
  // Read as a chunk, what follows failed: the file ends there or holds no trailer.
  switch (frames_.failed_as()) {
    case BodyFrames::Failure::kFileEnded:
      return Status::Corruption("truncated: the file ends inside the trailer");
    case BodyFrames::Failure::kNotAChunk:
      return Status::Corruption("damaged trailer: no KSTRAILR magic after the final chunk");
    case BodyFrames::Failure::kOther:
      break;
  }
  return *body_end_;  // the trailer's own checks, or the storage's error
}

Status CheckBodyIntegrity(ByteSource& source, const SealedHeader& header) {
  BodyFrames frames(source, header);
  for (;;) {
    ASSIGN_OR_RETURN(std::span<const uint8_t> cipher, frames.Next());
    if (cipher.empty()) return Status();
  }
}

Result<SealedHeader> CheckIntegrity(ByteSource& source) {
  ASSIGN_OR_RETURN(SealedHeader header, ReadSealedHeader(source));
  RETURN_IF_ERROR(CheckBodyIntegrity(source, header));
  return header;
}

}  // namespace keepsake::archive
