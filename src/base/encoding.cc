#include "base/encoding.h"

#include <fmt/format.h>
#include <sodium.h>

namespace keepsake {

std::string ToHex(std::span<const uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

Result<std::vector<uint8_t>> FromHex(std::string_view hex, size_t expected_size) {
  std::vector<uint8_t> out(expected_size);
  size_t len = 0;
  const char* end = nullptr;
  if (hex.size() != expected_size * 2 ||
      sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, &end) != 0 ||
      len != expected_size) {
    return Status::InvalidArgument(fmt::format("expected {} bytes of hex", expected_size));
  }
  return out;
}

std::string ToBase64(std::span<const uint8_t> bytes) {
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
  out.resize(out.size() - 1);
  return out;
}

Result<std::vector<uint8_t>> FromBase64(std::string_view b64, size_t expected_size) {
  std::vector<uint8_t> out(expected_size + 3);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64.data() + b64.size() || len != expected_size) {
    return Status::InvalidArgument(fmt::format("expected base64 of {} bytes", expected_size));
  }
  out.resize(len);
  return out;
}

}  // namespace keepsake
