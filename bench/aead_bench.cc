// Which AEAD for format v2's chunks (issue 13): XChaCha20-Poly1305-IETF against AES-256-GCM
// (libsodium's, with AES-NI), side by side in one run, sealing and opening 4 MiB chunks as
// the v2 writer and reader do; SHA-256 (the chunk tree's leaves) alongside. Prints MB/s.
//
//   build/aead_bench [MiB per round, default 256] [rounds, default 5]
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "base/sha256.h"

namespace {

constexpr size_t kChunk = 4 << 20;

double Rate(size_t bytes, const std::function<void()>& run) {
  auto start = std::chrono::steady_clock::now();
  run();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return bytes / s / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 1;
  size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  size_t chunks = mib * (1 << 20) / kChunk;
  std::vector<unsigned char> plain(kChunk), cipher(kChunk + 16), out(kChunk);
  randombytes_buf(plain.data(), plain.size());
  unsigned char key[32], ad[32], nonce[24] = {};
  randombytes_buf(key, sizeof key);
  randombytes_buf(ad, sizeof ad);
  const bool aes = crypto_aead_aes256gcm_is_available() != 0;
  std::printf("%zu MiB per round in %zu KiB chunks; AES-NI for AES-256-GCM: %s\n", mib, kChunk >> 10,
              aes ? "yes" : "no");
  std::printf("round  xchacha-seal  xchacha-open  aesgcm-seal  aesgcm-open  sha256   (MB/s)\n");
  for (int r = 0; r < rounds; ++r) {
    size_t bytes = chunks * kChunk;
    double xs = Rate(bytes, [&] {
      for (size_t i = 0; i < chunks; ++i) {
        nonce[0] = static_cast<unsigned char>(i);
        crypto_aead_xchacha20poly1305_ietf_encrypt(cipher.data(), nullptr, plain.data(), kChunk, ad, 32, nullptr,
                                                   nonce, key);
      }
    });
    double xo = Rate(bytes, [&] {
      for (size_t i = 0; i < chunks; ++i) {
        nonce[0] = static_cast<unsigned char>(chunks - 1);
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), nullptr, nullptr, cipher.data(), kChunk + 16, ad,
                                                       32, nonce, key) != 0)
          std::abort();
      }
    });
    double as = 0, ao = 0;
    if (aes) {
      as = Rate(bytes, [&] {
        for (size_t i = 0; i < chunks; ++i) {
          nonce[0] = static_cast<unsigned char>(i);
          crypto_aead_aes256gcm_encrypt(cipher.data(), nullptr, plain.data(), kChunk, ad, 32, nullptr, nonce, key);
        }
      });
      ao = Rate(bytes, [&] {
        for (size_t i = 0; i < chunks; ++i) {
          nonce[0] = static_cast<unsigned char>(chunks - 1);
          if (crypto_aead_aes256gcm_decrypt(out.data(), nullptr, nullptr, cipher.data(), kChunk + 16, ad, 32, nonce,
                                            key) != 0)
            std::abort();
        }
      });
    }
    double sh = Rate(bytes, [&] {
      for (size_t i = 0; i < chunks; ++i) {
        auto d = keepsake::Sha256::Of(std::span<const unsigned char>(cipher.data(), kChunk + 16));
        if (d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 0) std::printf(" ");
      }
    });
    std::printf("%5d  %12.0f  %12.0f  %11.0f  %11.0f  %6.0f\n", r + 1, xs, xo, as, ao, sh);
  }
  return 0;
}
