// Small string helpers used across the layers: ASCII case folding, making untrusted text
// safe to print, and sizes in the administrator's units. One copy of each, here.
// Pure functions: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keepsake {

// ASCII lower case; other bytes unchanged (names that matter here are ASCII by rule).
std::string Lower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Text from outside (a drive's label, a server's message, a backup's header) made safe for
// logs, messages and terminals: C0 and C1 controls, DEL and every byte of a sequence that is
// not strict UTF-8 become '?', and the result is cut at `max_bytes`. Well-formed UTF-8
// passes unchanged unless `ascii_only`, which turns every byte >= 0x80 into '?' too (for
// text whose encoding is unknown).
std::string Printable(std::string_view text, size_t max_bytes = std::string::npos, bool ascii_only = false);

// Whether `text` holds a C0 control (U+0000-U+001F), DEL, or a C1 control (U+0080-U+009F,
// as UTF-8 C2 80-C2 9F): what a terminal may take for a command (ESC, CSI) rather than text.
bool HasControlCharacter(std::string_view text);

// "512 bytes", "1.5 KiB", "3.2 GiB": binary units with one decimal, as the Webconf, the
// CLI and every message show sizes.
std::string HumanBytes(uint64_t bytes);

}  // namespace keepsake
