// What the sealed-file tests (v1 and v2) share: secrets from text, a domain derived cheaply,
// the small tree they seal, and where a sealed file's chunks start.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "archive/format.h"
#include "base/endian.h"
#include "base/secure_buffer.h"
#include "crypto/domain_keys.h"

namespace keepsake::archive::sealed_test {

inline constexpr crypto::KdfParams kTestKdf{1, 8};  // cheap Argon2id; the same code path as production

inline SecureBuffer Secret(std::string_view s) {
  return SecureBuffer::CopyOf(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

inline crypto::DomainKeys Domain(std::string_view dms, uint8_t salt_byte) {
  crypto::Salt salt{};
  salt.fill(salt_byte);
  auto keys = crypto::DeriveDomainKeys(Secret(dms), salt, kTestKdf);
  KS_CHECK(keys.ok());
  return std::move(keys).value();
}

// A new temporary directory holding etc/empty/, etc/a.conf, etc/blob.bin (6000 seeded
// random bytes: the same every run) and the symlink etc/link -> a.conf.
inline std::string MakeTestTree(const char* name) {
  namespace fs = std::filesystem;
  std::string tmpl = std::string("/tmp/") + name + "_XXXXXX";
  std::string tree = mkdtemp(tmpl.data());
  fs::create_directories(tree + "/etc/empty");
  std::ofstream(tree + "/etc/a.conf") << "alpha = 1\nbeta = two\n";
  std::mt19937 rng(42);
  std::string random(6000, '\0');
  for (auto& c : random) c = static_cast<char>(rng());
  std::ofstream(tree + "/etc/blob.bin", std::ios::binary) << random;
  fs::create_symlink("a.conf", tree + "/etc/link");
  return tree;
}

// Offsets of each chunk's length field, parsed from an intact file.
inline std::vector<size_t> ChunkOffsets(const std::string& file) {
  size_t pos = kPrefixSize + GetLe32(reinterpret_cast<const uint8_t*>(file.data()) + 12) + 64;
  std::vector<size_t> offsets;
  while (pos + kTrailerSize < file.size()) {
    offsets.push_back(pos);
    pos += kChunkLengthSize + GetLe32(reinterpret_cast<const uint8_t*>(file.data()) + pos);
  }
  return offsets;
}

}  // namespace keepsake::archive::sealed_test
