// SecureBuffer: memory for secrets (DMS, root key, KEK, signing key, file keys).
//
// Allocated with libsodium's sodium_malloc: guard pages around it, locked out of swap,
// excluded from core dumps where the kernel allows (MADV_DONTDUMP), wiped on free.
// Move-only; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace keepsake {

class SecureBuffer {
 public:
  SecureBuffer() = default;
  explicit SecureBuffer(size_t size);  // zero-filled; aborts if memory cannot be had
  ~SecureBuffer();
  SecureBuffer(SecureBuffer&& other) noexcept;
  SecureBuffer& operator=(SecureBuffer&& other) noexcept;
  SecureBuffer(const SecureBuffer&) = delete;
  SecureBuffer& operator=(const SecureBuffer&) = delete;

  static SecureBuffer CopyOf(std::span<const uint8_t> bytes);

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  // Shrinks the visible size (e.g. to drop a trailing newline); the memory stays owned.
  void Truncate(size_t size);

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace keepsake
