#include "crypto/file_key.h"

#include <sodium.h>

#include <string>

#include "crypto/domain_keys.h"

namespace keepsake::crypto {
namespace {

std::string AdFor(std::string_view backup_id) { return "keepsake-file-key-v1:" + std::string(backup_id); }

}  // namespace

SecureBuffer NewFileKey() {
  SecureBuffer key(crypto_secretstream_xchacha20poly1305_KEYBYTES);
  crypto_secretstream_xchacha20poly1305_keygen(key.data());
  return key;
}

std::vector<uint8_t> WrapFileKey(const SecureBuffer& kek, const SecureBuffer& file_key, std::string_view backup_id) {
  static_assert(kWrappedKeySize ==
                crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + kKeySize + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  KS_CHECK(file_key.size() == kKeySize && kek.size() == kKeySize);
  std::vector<uint8_t> out(kWrappedKeySize);
  uint8_t* nonce = out.data();
  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  std::string ad = AdFor(backup_id);
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, nullptr, file_key.data(), file_key.size(),
      reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nullptr, nonce, kek.data());
  return out;
}

Result<SecureBuffer> UnwrapFileKey(const SecureBuffer& kek, std::span<const uint8_t> wrapped,
                                   std::string_view backup_id) {
  if (wrapped.size() != kWrappedKeySize) return Status::Corruption("wrapped file key has the wrong size");
  SecureBuffer key(kKeySize);
  std::string ad = AdFor(backup_id);
  const size_t nonce_size = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          key.data(), nullptr, nullptr, wrapped.data() + nonce_size, wrapped.size() - nonce_size,
          reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), wrapped.data(), kek.data()) != 0) {
    return Status::Unauthenticated("the backup's file key cannot be unwrapped with this domain's key");
  }
  return key;
}

std::vector<uint8_t> SealFileKey(const BoxPublicKey& domain_box_key, const SecureBuffer& file_key) {
  static_assert(kSealedKeySize == crypto_box_SEALBYTES + kKeySize);
  KS_CHECK(file_key.size() == kKeySize);
  std::vector<uint8_t> out(kSealedKeySize);
  KS_CHECK(crypto_box_seal(out.data(), file_key.data(), file_key.size(), domain_box_key.data()) == 0);
  return out;
}

Result<SecureBuffer> OpenFileKey(const BoxPublicKey& domain_box_key, const SecureBuffer& box_secret_key,
                                 std::span<const uint8_t> sealed) {
  if (sealed.size() != kSealedKeySize) return Status::Corruption("sealed file key has the wrong size");
  KS_CHECK(box_secret_key.size() == crypto_box_SECRETKEYBYTES);
  SecureBuffer key(kKeySize);
  if (crypto_box_seal_open(key.data(), sealed.data(), sealed.size(), domain_box_key.data(), box_secret_key.data()) !=
      0) {
    return Status::Unauthenticated("the backup's file key cannot be opened with this domain's key");
  }
  return key;
}

}  // namespace keepsake::crypto
