// Ed25519 signatures by the domain key. Thread-safe.
#pragma once

#include <sodium.h>

#include <array>
#include <span>

#include "crypto/domain_keys.h"

namespace keepsake::crypto {

using Signature = std::array<uint8_t, kSignatureSize>;

Signature Sign(const DomainKeys& keys, std::span<const uint8_t> message);
bool VerifySignature(const PublicKey& key, std::span<const uint8_t> message, const Signature& sig);

}  // namespace keepsake::crypto
