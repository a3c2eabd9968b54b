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

std::string Sha256::FinalHex() {
  uint8_t digest[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, digest, &len);
  EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
  return ToHex(std::span<const uint8_t>(digest, len));
}

}  // namespace keepsake
