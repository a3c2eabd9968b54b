// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), decoded
// by utf8proc (Debian's libutf8proc), which also gives the Unicode normalisation the Domain
// Master Secret needs. One decoder for every check of text from outside: passwords, the
// DMS, what is printed to a terminal. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace keepsake {

struct Utf8Text {
  size_t code_points = 0;
  // A C0 control (U+0000-U+001F), DEL, or a C1 control (U+0080-U+009F, NEL U+0085 too).
  bool has_control = false;
};

// What `text` holds; nullopt when it is not strict UTF-8.
std::optional<Utf8Text> ScanUtf8(std::string_view text);

// Whether code point `cp` is a C0 control, DEL or a C1 control.
constexpr bool IsControlCodePoint(char32_t cp) { return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f); }

// Calls `each(bytes, code_point)` for every well-formed sequence of `text` and
// `each(one_byte, std::nullopt)` for every byte that starts none.
template <typename Fn>
void ForEachUtf8(std::string_view text, Fn&& each);

// Decodes the sequence at the start of `text`: its length in bytes and the code point, or
// {1, nullopt} for a byte that starts no well-formed sequence. REQUIRES: !text.empty().
std::pair<size_t, std::optional<char32_t>> DecodeUtf8(std::string_view text);

template <typename Fn>
void ForEachUtf8(std::string_view text, Fn&& each) {
  while (!text.empty()) {
    auto [n, cp] = DecodeUtf8(text);
    each(text.substr(0, n), cp);
    text.remove_prefix(n);
  }
}

}  // namespace keepsake
