#include "crypto/signature.h"

namespace keepsake::crypto {

Signature Sign(const SecureBuffer& secret_key, std::span<const uint8_t> message) {
  KS_CHECK(secret_key.size() == crypto_sign_SECRETKEYBYTES);
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_key.data());
  return sig;
}

bool VerifySignature(const PublicKey& key, std::span<const uint8_t> message, const Signature& sig) {
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(), key.data()) == 0;
}

}  // namespace keepsake::crypto
