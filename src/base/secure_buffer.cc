#include "base/secure_buffer.h"

#include <sodium.h>

#include <cstring>
#include <utility>

#include "base/status.h"

namespace keepsake {

SecureBuffer::SecureBuffer(size_t size) : size_(size) {
  KS_CHECK(sodium_init() >= 0);
  data_ = static_cast<uint8_t*>(sodium_malloc(size == 0 ? 1 : size));
  KS_CHECK(data_ != nullptr);
  std::memset(data_, 0, size == 0 ? 1 : size);
}

SecureBuffer::~SecureBuffer() {
  if (data_ != nullptr) sodium_free(data_);  // wipes before freeing
}

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecureBuffer SecureBuffer::CopyOf(std::span<const uint8_t> bytes) {
  SecureBuffer b(bytes.size());
  if (!bytes.empty()) std::memcpy(b.data_, bytes.data(), bytes.size());
  return b;
}

void SecureBuffer::Truncate(size_t size) {
  KS_CHECK(size <= size_);
  sodium_memzero(data_ + size, size_ - size);
  size_ = size;
}

}  // namespace keepsake
