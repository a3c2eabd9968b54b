// Streaming SHA-256 (OpenSSL EVP, which uses the CPU's SHA extensions where present).
// Not thread-safe; one object per stream.
#pragma once

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
  // Lower-case hex of the digest; the object starts over afterwards.
  std::string FinalHex();

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace keepsake
