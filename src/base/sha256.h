// Streaming SHA-256 (OpenSSL EVP, which uses the CPU's SHA extensions where present).
// Not thread-safe; one object per stream.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace keepsake {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::span<const std::byte> data);
  // The digest; the object starts over afterwards.
  std::array<uint8_t, 32> Final();
  // Lower-case hex of Final().
  std::string FinalHex();
  static std::array<uint8_t, 32> Of(std::span<const uint8_t> data);

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace keepsake
