#include "base/sha256.h"

#include <openssl/evp.h>

#include "base/encoding.h"
#include "base/status.h"

namespace keepsake {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  KS_CHECK(ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1);
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(std::span<const std::byte> data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }

std::array<uint8_t, 32> Sha256::Final() {
  std::array<uint8_t, 32> digest;
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, digest.data(), &len);
  EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
  return digest;
}

std::string Sha256::FinalHex() { return ToHex(Final()); }

std::array<uint8_t, 32> Sha256::Of(std::span<const uint8_t> data) {
  Sha256 h;
  h.Update(std::as_bytes(data));
  return h.Final();
}

}  // namespace keepsake
