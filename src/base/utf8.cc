#include "base/utf8.h"

#include <utf8proc.h>

namespace keepsake {

std::pair<size_t, std::optional<char32_t>> DecodeUtf8(std::string_view text) {
  utf8proc_int32_t cp = -1;
  utf8proc_ssize_t n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                        static_cast<utf8proc_ssize_t>(text.size()), &cp);
  if (n <= 0 || cp < 0) return {1, std::nullopt};
  return {static_cast<size_t>(n), static_cast<char32_t>(cp)};
}

std::optional<Utf8Text> ScanUtf8(std::string_view text) {
  Utf8Text out;
  bool valid = true;
  ForEachUtf8(text, [&](std::string_view, std::optional<char32_t> cp) {
    if (!cp) {
      valid = false;
      return;
    }
    ++out.code_points;
    if (IsControlCodePoint(*cp)) out.has_control = true;
  });
  if (!valid) return std::nullopt;
  return out;
}

}  // namespace keepsake
