#include "crypto/secret_stream.h"

namespace keepsake::crypto {

StreamEncryptor::StreamEncryptor(const SecureBuffer& key) {
  KS_CHECK(key.size() == crypto_secretstream_xchacha20poly1305_KEYBYTES);
  crypto_secretstream_xchacha20poly1305_init_push(&state_, header_.data(), key.data());
}

StreamEncryptor::~StreamEncryptor() { sodium_memzero(&state_, sizeof state_); }

void StreamEncryptor::Push(std::span<const uint8_t> plain, std::span<const uint8_t> ad, bool final,
                           std::vector<uint8_t>& out) {
  out.resize(plain.size() + kStreamOverhead);
  crypto_secretstream_xchacha20poly1305_push(
      &state_, out.data(), nullptr, plain.data(), plain.size(), ad.data(), ad.size(),
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

StreamDecryptor::StreamDecryptor(const SecureBuffer& key, const StreamHeader& header) {
  KS_CHECK(key.size() == crypto_secretstream_xchacha20poly1305_KEYBYTES);
  // init_pull only fails for a malformed header, which cannot happen with a fixed-size array.
  crypto_secretstream_xchacha20poly1305_init_pull(&state_, header.data(), key.data());
}

StreamDecryptor::~StreamDecryptor() { sodium_memzero(&state_, sizeof state_); }

Result<bool> StreamDecryptor::Pull(std::span<const uint8_t> cipher, std::span<const uint8_t> ad,
                                   std::vector<uint8_t>& out) {
  if (cipher.size() < kStreamOverhead) return Status::Corruption("chunk shorter than its authentication tag");
  out.resize(cipher.size() - kStreamOverhead);
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&state_, out.data(), nullptr, &tag, cipher.data(), cipher.size(),
                                                 ad.data(), ad.size()) != 0) {
    return Status::Corruption("failed authentication");
  }
  if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
      tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
    return Status::Corruption("unexpected chunk tag");
  }
  return tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
}

}  // namespace keepsake::crypto
