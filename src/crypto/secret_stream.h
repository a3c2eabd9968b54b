// XChaCha20-Poly1305 secretstream (libsodium): authenticated encryption of a sequence of
// chunks, where reordering, dropping or truncating chunks is detected by the chunk counter
// in the nonce and the FINAL tag on the last chunk. Each object is one stream; not
// thread-safe.
#pragma once

#include <sodium.h>

#include <array>
#include <span>
#include <vector>

#include "base/secure_buffer.h"
#include "base/status.h"

namespace keepsake::crypto {

inline constexpr size_t kStreamHeaderSize = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
inline constexpr size_t kStreamOverhead = crypto_secretstream_xchacha20poly1305_ABYTES;
using StreamHeader = std::array<uint8_t, kStreamHeaderSize>;

class StreamEncryptor {
 public:
  // Starts a stream under `key` (32 bytes); header() must reach the reader.
  explicit StreamEncryptor(const SecureBuffer& key);
  ~StreamEncryptor();
  const StreamHeader& header() const { return header_; }
  // Encrypts `plain` into `out` (resized to plain.size() + kStreamOverhead).
  void Push(std::span<const uint8_t> plain, std::span<const uint8_t> ad, bool final, std::vector<uint8_t>& out);

 private:
  crypto_secretstream_xchacha20poly1305_state state_;
  StreamHeader header_{};
};

class StreamDecryptor {
 public:
  StreamDecryptor(const SecureBuffer& key, const StreamHeader& header);
  ~StreamDecryptor();
  // Decrypts one chunk into `out`. Returns whether it carried the FINAL tag.
  // kCorruption when authentication fails (modified, reordered or foreign chunk).
  Result<bool> Pull(std::span<const uint8_t> cipher, std::span<const uint8_t> ad, std::vector<uint8_t>& out);

 private:
  crypto_secretstream_xchacha20poly1305_state state_;
};

}  // namespace keepsake::crypto
