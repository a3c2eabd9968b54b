#include "crypto/chunk_cipher.h"

#include <sodium.h>

#include <array>

#include "base/endian.h"

namespace keepsake::crypto {
namespace {

using Nonce = std::array<uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES>;

Nonce ChunkNonce(uint64_t index, bool last) {
  Nonce nonce{};
  PutLe64(nonce.data(), index);
  nonce.back() = last ? 1 : 0;
  return nonce;
}

bool Open(const SecureBuffer& key, uint64_t index, bool last, std::span<const uint8_t> cipher,
          std::span<const uint8_t> ad, std::vector<uint8_t>& out) {
  Nonce nonce = ChunkNonce(index, last);
  return crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), nullptr, nullptr, cipher.data(), cipher.size(),
                                                    ad.data(), ad.size(), nonce.data(), key.data()) == 0;
}

}  // namespace

void SealChunk(const SecureBuffer& file_key, uint64_t index, bool last, std::span<const uint8_t> plain,
               std::span<const uint8_t> ad, std::vector<uint8_t>& out) {
  static_assert(kChunkOverhead == crypto_aead_xchacha20poly1305_ietf_ABYTES);
  KS_CHECK(file_key.size() == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  out.resize(plain.size() + kChunkOverhead);
  Nonce nonce = ChunkNonce(index, last);
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), nullptr, plain.data(), plain.size(), ad.data(), ad.size(),
                                             nullptr, nonce.data(), file_key.data());
}

Result<bool> OpenChunk(const SecureBuffer& file_key, uint64_t index, std::span<const uint8_t> cipher,
                       std::span<const uint8_t> ad, std::vector<uint8_t>& out) {
  KS_CHECK(file_key.size() == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  if (cipher.size() < kChunkOverhead) return Status::Corruption("chunk shorter than its authentication tag");
  out.resize(cipher.size() - kChunkOverhead);
  // libsodium checks the tag before it decrypts: a wrong guess costs one Poly1305 pass.
  if (Open(file_key, index, false, cipher, ad, out)) return false;
  if (Open(file_key, index, true, cipher, ad, out)) return true;
  return Status::Corruption("failed authentication");
}

}  // namespace keepsake::crypto
