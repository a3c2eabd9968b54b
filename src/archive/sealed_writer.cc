#include "archive/sealed_writer.h"

#include <sodium.h>

#include <cstring>

#include "archive/format.h"
#include "base/endian.h"
#include "crypto/file_key.h"

namespace keepsake::archive {

Result<std::unique_ptr<SealedWriter>> SealedWriter::Start(BackupHeader header, const crypto::DomainKeys& keys,
                                                          ByteSink& out) {
  KS_CHECK(header.chunk_size >= kMinChunkSize && header.chunk_size <= kMaxChunkSize);
  KS_CHECK(header.domain_public_key == keys.public_key);  // MakeHeader with these keys
  SecureBuffer file_key = crypto::NewFileKey();
  header.wrapped_file_key = crypto::WrapFileKey(keys.kek, file_key, header.backup_id);
  std::unique_ptr<SealedWriter> w(new SealedWriter(std::move(header), keys, out, std::move(file_key)));

  std::string json = SerializeHeader(w->header_);
  KS_CHECK(json.size() <= kMaxHeaderSize);
  std::vector<uint8_t> signed_part(kPrefixSize + json.size());
  std::memcpy(signed_part.data(), kMagic.data(), kMagic.size());
  PutLe16(&signed_part[8], kFormatVersion);
  PutLe16(&signed_part[10], 0);
  PutLe32(&signed_part[12], static_cast<uint32_t>(json.size()));
  std::memcpy(&signed_part[kPrefixSize], json.data(), json.size());
  w->header_digest_ = Sha256::Of(signed_part);
  w->signature_ = crypto::Sign(keys, signed_part);
  RETURN_IF_ERROR(w->Emit(signed_part));
  RETURN_IF_ERROR(w->Emit(w->signature_));
  w->signed_part_ = std::move(signed_part);
  return w;
}

SealedWriter::SealedWriter(BackupHeader header, const crypto::DomainKeys& keys, ByteSink& out, SecureBuffer file_key)
    : header_(std::move(header)), keys_(keys), out_(out), encryptor_(file_key) {
  header_.stream_header = encryptor_.header();
  plain_.reserve(header_.chunk_size);
}

SealedWriter::~SealedWriter() {
  plain_.resize(plain_.capacity());  // cleared after each chunk: the bytes are still there
  sodium_memzero(plain_.data(), plain_.size());
}

Status SealedWriter::Emit(std::span<const uint8_t> bytes) {
  file_hash_.Update(std::as_bytes(bytes));
  bytes_out_ += bytes.size();
  return out_.Write(std::as_bytes(bytes));
}

Status SealedWriter::SealChunk(bool final) {
  encryptor_.Push(plain_, header_digest_, final, cipher_);
  uint8_t len[kChunkLengthSize];
  PutLe32(len, static_cast<uint32_t>(cipher_.size()));
  RETURN_IF_ERROR(Emit(len));
  RETURN_IF_ERROR(Emit(cipher_));
  body_len_ += kChunkLengthSize + cipher_.size();
  ++chunk_count_;
  plain_.clear();
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
  crypto::Signature sig = crypto::Sign(keys_, std::span<const uint8_t>(trailer, kTrailerSignedSize));
  std::memcpy(trailer + kTrailerSignedSize, sig.data(), sig.size());
  bytes_out_ += kTrailerSize;
  return out_.Write(std::as_bytes(std::span(trailer)));
}

}  // namespace keepsake::archive
