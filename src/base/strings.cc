#include "base/strings.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/utf8.h"

namespace keepsake {
namespace {
char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
}

bool HasControlCharacter(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < text.size()) {
      auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return true;
    }
  }
  return false;
}

std::string Printable(std::string_view text, size_t max_bytes, bool ascii_only) {
  std::string out;
  out.reserve(std::min(max_bytes, text.size()));
  ForEachUtf8(text.substr(0, std::min(max_bytes, text.size())),
              [&](std::string_view bytes, std::optional<char32_t> cp) {
                if (!cp || IsControlCodePoint(*cp) || (ascii_only && *cp >= 0x80)) {
                  out.append(bytes.size(), '?');  // one '?' per byte: lengths stay as they were
                } else {
                  out.append(bytes);
                }
              });
  return out;
}

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

}  // namespace keepsake
