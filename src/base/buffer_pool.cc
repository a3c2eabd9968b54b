#include "base/buffer_pool.h"

#include <sodium.h>

namespace keepsake {

BufferPool::~BufferPool() {
  for (std::vector<uint8_t>& b : free_) {
    b.resize(b.capacity());
    sodium_memzero(b.data(), b.size());
  }
}

std::vector<uint8_t> BufferPool::Take() {
  std::lock_guard lock(mu_);
  if (free_.empty()) return {};
  std::vector<uint8_t> b = std::move(free_.back());
  free_.pop_back();
  return b;
}

void BufferPool::Give(std::vector<uint8_t> buffer) {
  std::lock_guard lock(mu_);
  free_.push_back(std::move(buffer));
}

}  // namespace keepsake
