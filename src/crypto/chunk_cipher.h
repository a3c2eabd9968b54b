// Format v2 body chunks: each opens on its own, so that chunks decrypt on every core, while
// order, dropping and truncation stay detected (age's STREAM construction over
// XChaCha20-Poly1305-IETF; docs/FORMAT.md §12.5):
//
//   nonce (24) = index:u64 little-endian || 15 zero bytes || last:u8 (1 for the last chunk)
//   ciphertext = crypto_aead_xchacha20poly1305_ietf_encrypt(file key, nonce, plaintext, AD)
//
// A chunk moved to another index, or a non-last chunk presented as the last one (the file
// cut after it), fails to open. The file key is random per backup, so nonces never repeat
// under one key. Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/secure_buffer.h"
#include "base/status.h"

namespace keepsake::crypto {

inline constexpr size_t kChunkOverhead = 16;  // Poly1305 tag

void SealChunk(const SecureBuffer& file_key, uint64_t index, bool last, std::span<const uint8_t> plain,
               std::span<const uint8_t> ad, std::vector<uint8_t>& out);

// Opens chunk `index` into `out`, and says whether it was sealed as the last one. A reader
// cannot know that before it sees what follows, so it tries "not last", then "last" (as
// age does). kCorruption when it opens as neither.
Result<bool> OpenChunk(const SecureBuffer& file_key, uint64_t index, std::span<const uint8_t> cipher,
                       std::span<const uint8_t> ad, std::vector<uint8_t>& out);

}  // namespace keepsake::crypto
