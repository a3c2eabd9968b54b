// Ed25519 signatures (pure, libsodium's detached form). Thread-safe.
#pragma once

#include <sodium.h>

#include <array>
#include <span>

#include "crypto/domain_keys.h"

namespace keepsake::crypto {

using Signature = SignatureBytes;

// `secret_key`: libsodium's 64-byte Ed25519 secret key (the domain's or a device's).
Signature Sign(const SecureBuffer& secret_key, std::span<const uint8_t> message);
bool VerifySignature(const PublicKey& key, std::span<const uint8_t> message, const Signature& sig);

}  // namespace keepsake::crypto
