// Hex and base64 for binary fields in JSON headers and keystores (libsodium's codecs,
// which are constant-time, so secrets may pass through them).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace keepsake {

std::string ToHex(std::span<const uint8_t> bytes);
// kInvalidArgument unless `hex` is exactly `expected_size` bytes of hex.
Result<std::vector<uint8_t>> FromHex(std::string_view hex, size_t expected_size);
std::string ToBase64(std::span<const uint8_t> bytes);
// kInvalidArgument unless `b64` is standard base64 of exactly `expected_size` bytes.
Result<std::vector<uint8_t>> FromBase64(std::string_view b64, size_t expected_size);

}  // namespace keepsake
