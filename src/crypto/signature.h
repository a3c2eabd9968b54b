// Ed25519 signatures by the domain key, and the BLAKE2b-256 running hash the trailer
// signs. Stateless functions are thread-safe; a Blake2b256 object is not.
#pragma once

#include <array>
#include <span>

#include <sodium.h>

#include "crypto/domain_keys.h"

namespace keepsake::crypto {

using Signature = std::array<uint8_t, kSignatureSize>;
using Digest256 = std::array<uint8_t, 32>;

Signature Sign(const DomainKeys& keys, std::span<const uint8_t> message);
bool VerifySignature(const PublicKey& key, std::span<const uint8_t> message, const Signature& sig);

class Blake2b256 {
 public:
  Blake2b256() { crypto_generichash_init(&state_, nullptr, 0, 32); }
  void Update(std::span<const uint8_t> data) { crypto_generichash_update(&state_, data.data(), data.size()); }
  Digest256 Final() {
    Digest256 out;
    crypto_generichash_final(&state_, out.data(), out.size());
    return out;
  }
  static Digest256 Of(std::span<const uint8_t> data) {
    Blake2b256 h;
    h.Update(data);
    return h.Final();
  }

 private:
  crypto_generichash_state state_;
};

}  // namespace keepsake::crypto
