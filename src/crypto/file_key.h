// Per-backup file keys and how a header carries them.
//
// Each backup is encrypted with its own random 32-byte key. A v1 header stores it wrapped
// by the domain's key-encryption key (KEK):
//   wrapped = nonce (24) || XChaCha20-Poly1305-IETF(KEK, nonce, file key, AD)   (72 bytes)
//   AD      = "keepsake-file-key-v1:" || backup id
// so a wrapped key moved to another header fails to unwrap. A v2 header stores it sealed
// to the domain's X25519 public key (libsodium's crypto_box_seal, 80 bytes): the appliance
// that writes it cannot open it again (docs/FORMAT.md §12.3). Stateless and thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "base/secure_buffer.h"
#include "base/status.h"
#include "crypto/domain_keys.h"

namespace keepsake::crypto {

inline constexpr size_t kWrappedKeySize = 24 + 32 + 16;
inline constexpr size_t kSealedKeySize = 32 + 32 + 16;  // ephemeral public key, key, MAC

SecureBuffer NewFileKey();

std::vector<uint8_t> WrapFileKey(const SecureBuffer& kek, const SecureBuffer& file_key, std::string_view backup_id);

// kUnauthenticated when the KEK is not the one that wrapped it (or the wrapping was altered).
Result<SecureBuffer> UnwrapFileKey(const SecureBuffer& kek, std::span<const uint8_t> wrapped,
                                   std::string_view backup_id);

// v2: the file key sealed to the domain's box key, and opened with its secret half.
std::vector<uint8_t> SealFileKey(const BoxPublicKey& domain_box_key, const SecureBuffer& file_key);
// kUnauthenticated when `box_secret_key` is not the one it was sealed to (or it was altered).
Result<SecureBuffer> OpenFileKey(const BoxPublicKey& domain_box_key, const SecureBuffer& box_secret_key,
                                 std::span<const uint8_t> sealed);

}  // namespace keepsake::crypto
