// Per-backup file keys and their wrapping by the domain's key-encryption key (KEK).
//
// Each backup is encrypted with its own random 32-byte key. The header stores it wrapped:
//   wrapped = nonce (24) || XChaCha20-Poly1305-IETF(KEK, nonce, file key, AD)   (72 bytes)
//   AD      = "keepsake-file-key-v1:" || backup id
// so a wrapped key moved to another header fails to unwrap. Stateless and thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "base/secure_buffer.h"
#include "base/status.h"

namespace keepsake::crypto {

inline constexpr size_t kWrappedKeySize = 24 + 32 + 16;

SecureBuffer NewFileKey();

std::vector<uint8_t> WrapFileKey(const SecureBuffer& kek, const SecureBuffer& file_key, std::string_view backup_id);

// kUnauthenticated when the KEK is not the one that wrapped it (or the wrapping was altered).
Result<SecureBuffer> UnwrapFileKey(const SecureBuffer& kek, std::span<const uint8_t> wrapped,
                                   std::string_view backup_id);

}  // namespace keepsake::crypto
