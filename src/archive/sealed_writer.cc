#include "archive/sealed_writer.h"

#include <fmt/format.h>
#include <sodium.h>

#include <cstring>

#include "archive/format.h"
#include "base/endian.h"
#include "crypto/chunk_cipher.h"
#include "crypto/file_key.h"

namespace keepsake::archive {

Result<std::unique_ptr<SealedWriter>> SealedWriter::Start(BackupHeader header, const crypto::DomainKeys& keys,
                                                          ByteSink& out) {
  KS_CHECK(header.chunk_size >= kMinChunkSize && header.chunk_size <= kMaxChunkSize);
  KS_CHECK(header.domain_public_key == keys.public_key);  // MakeHeader with these keys
  SecureBuffer file_key = crypto::NewFileKey();
  if (header.is_v2()) {
    KS_CHECK(keys.device.has_value() && keys.has_box_key());
    header.signer = keys.device->certificate;
    header.domain_box_key = keys.box_public_key;
    header.wrapped_file_key = crypto::SealFileKey(keys.box_public_key, file_key);
  } else {
    header.wrapped_file_key = crypto::WrapFileKey(keys.kek, file_key, header.backup_id);
  }
  std::unique_ptr<SealedWriter> w(new SealedWriter(std::move(header), keys, out, std::move(file_key)));

  std::string json = SerializeHeader(w->header_);
  KS_CHECK(json.size() <= kMaxHeaderSize);
  std::vector<uint8_t> signed_part(kPrefixSize + json.size());
  std::memcpy(signed_part.data(), kMagic.data(), kMagic.size());
  PutLe16(&signed_part[8], w->header_.format_version);
  PutLe16(&signed_part[10], 0);
  PutLe32(&signed_part[12], static_cast<uint32_t>(json.size()));
  std::memcpy(&signed_part[kPrefixSize], json.data(), json.size());
  w->header_digest_ = Sha256::Of(signed_part);
  w->signature_ = crypto::Sign(w->signing_key(), signed_part);
  if (w->header_.is_v2()) {
    w->file_hash_.Update(std::as_bytes(std::span(kChunkTreeContext)));
    w->file_hash_.Update(std::as_bytes(std::span(w->header_digest_)));
  }
  RETURN_IF_ERROR(w->Emit(signed_part));
  RETURN_IF_ERROR(w->Emit(w->signature_));
  w->signed_part_ = std::move(signed_part);
  return w;
}

SealedWriter::SealedWriter(BackupHeader header, const crypto::DomainKeys& keys, ByteSink& out, SecureBuffer file_key)
    : header_(std::move(header)), keys_(keys), out_(out), file_key_(std::move(file_key)) {
  if (header_.is_v2()) {
    sealer_.emplace(header_.compression_level, header_digest_, file_key_);
  } else {
    encryptor_.emplace(file_key_);
    header_.stream_header = encryptor_->header();
  }
  plain_.reserve(header_.chunk_size);
}

SealedWriter::~SealedWriter() {
  sealer_.reset();                   // its tasks end first
  plain_.resize(plain_.capacity());  // cleared after each chunk: the bytes are still there
  sodium_memzero(plain_.data(), plain_.size());
}

const SecureBuffer& SealedWriter::signing_key() const {
  return header_.is_v2() ? keys_.device->secret_key : keys_.secret_key;
}

Status SealedWriter::Emit(std::span<const uint8_t> bytes) {
  if (!header_.is_v2()) file_hash_.Update(std::as_bytes(bytes));
  bytes_out_ += bytes.size();
  return out_.Write(std::as_bytes(bytes));
}

Status SealedWriter::EmitSealed(std::span<const uint8_t> cipher) {
  if (header_.is_v2()) {
    std::array<uint8_t, 32> leaf = Sha256::Of(cipher);  // the chunk tree's leaf
    file_hash_.Update(std::as_bytes(std::span(leaf)));
  }
  uint8_t len[kChunkLengthSize];
  PutLe32(len, static_cast<uint32_t>(cipher.size()));
  RETURN_IF_ERROR(Emit(len));
  RETURN_IF_ERROR(Emit(cipher));
  body_len_ += kChunkLengthSize + cipher.size();
  return Status();
}

// v1 seals here, in order; v2 hands the chunk to the sealer's threads and writes out the
// chunks they finished, in order, keeping a few in flight (all of them, after the last).
Status SealedWriter::SealChunk(bool final) {
  if (!header_.is_v2()) {
    encryptor_->Push(plain_, header_digest_, final, cipher_);
    RETURN_IF_ERROR(EmitSealed(cipher_));
    ++chunk_count_;
    plain_.clear();
    return Status();
  }
  constexpr size_t kInFlight = 3;  // two cores sealing, one chunk being filled meanwhile
  std::vector<uint8_t> piece = sealer_->TakeBuffer();
  piece.clear();
  piece.swap(plain_);
  sealer_->Submit(chunk_count_++, final, std::move(piece));
  while (sealer_->in_flight() > 0 && (final || sealer_->in_flight() >= kInFlight)) {
    ASSIGN_OR_RETURN(std::vector<uint8_t> cipher, sealer_->TakeOldest());
    Status written = EmitSealed(cipher);
    sealer_->GiveBuffer(std::move(cipher));
    RETURN_IF_ERROR(written);
  }
  return Status();
}

Status SealedWriter::Write(std::span<const std::byte> data) {
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  while (!bytes.empty()) {
    // A full chunk is sealed only when more data follows, so the last chunk can carry FINAL.
    if (plain_.size() == header_.chunk_size) RETURN_IF_ERROR(SealChunk(false));
    size_t n = std::min(bytes.size(), header_.chunk_size - plain_.size());
    plain_.insert(plain_.end(), bytes.begin(), bytes.begin() + n);
    bytes = bytes.subspan(n);
  }
  return Status();
}

Status SealedWriter::Finish() {
  RETURN_IF_ERROR(SealChunk(true));
  uint8_t trailer[kTrailerSize];
  std::memcpy(trailer, kTrailerMagic.data(), kTrailerMagic.size());
  PutLe64(trailer + 8, chunk_count_);
  PutLe64(trailer + 16, body_len_);
  std::array<uint8_t, 32> hash = file_hash_.Final();
  std::memcpy(trailer + 24, hash.data(), hash.size());
  crypto::Signature sig = crypto::Sign(signing_key(), std::span<const uint8_t>(trailer, kTrailerSignedSize));
  std::memcpy(trailer + kTrailerSignedSize, sig.data(), sig.size());
  bytes_out_ += kTrailerSize;
  return out_.Write(std::as_bytes(std::span(trailer)));
}

}  // namespace keepsake::archive
