#include "crypto/dms_text.h"

#include <fmt/format.h>
#include <sodium.h>
#include <utf8proc.h>
#include <zxcvbn.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "base/utf8.h"

namespace keepsake::crypto {
namespace {

// zxcvbn's classes by estimated guesses: < 10^3, 10^6, 10^8, 10^10, more.
constexpr double kClassBits[] = {9.97, 19.93, 26.58, 33.22};
constexpr const char* kClassWords[] = {"too guessable", "very guessable", "somewhat guessable", "safely unguessable",
                                       "very unguessable"};

}  // namespace

Result<SecureBuffer> NormalizeDms(const SecureBuffer& dms) {
  if (dms.empty()) return Status::InvalidArgument("The Domain Master Secret is empty");
  if (dms.size() > kMaxDmsBytes) {
    return Status::InvalidArgument(fmt::format("The Domain Master Secret is longer than {} bytes", kMaxDmsBytes));
  }
  std::optional<Utf8Text> text = ScanUtf8(dms.view());
  if (!text) return Status::InvalidArgument("The Domain Master Secret is not valid UTF-8 text");
  if (text->has_control) return Status::InvalidArgument("The Domain Master Secret contains a control character");
  // Decomposed, reordered and composed in one buffer of ours (secure memory), as
  // utf8proc_map would do in memory it mallocs and we could not wipe. A canonical
  // decomposition yields at most 4 code points per input byte; utf8proc says if more.
  const auto* in = reinterpret_cast<const utf8proc_uint8_t*>(dms.data());
  const auto in_len = static_cast<utf8proc_ssize_t>(dms.size());
  constexpr auto kOptions = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  utf8proc_ssize_t capacity = 4 * in_len + 1;
  for (;;) {
    SecureBuffer buf(static_cast<size_t>(capacity) * sizeof(utf8proc_int32_t));
    auto* cps = reinterpret_cast<utf8proc_int32_t*>(buf.data());
    utf8proc_ssize_t n = utf8proc_decompose(in, in_len, cps, capacity - 1, kOptions);
    if (n < 0) return Status::InvalidArgument("The Domain Master Secret is not valid UTF-8 text");
    if (n >= capacity) {
      capacity = n + 1;
      continue;
    }
    utf8proc_ssize_t bytes = utf8proc_reencode(cps, n, kOptions);  // normalises, then UTF-8 in place
    if (bytes < 0) return Status::InvalidArgument("The Domain Master Secret is not valid UTF-8 text");
    return SecureBuffer::CopyOf(std::span(buf.data(), static_cast<size_t>(bytes)));
  }
}

DmsStrength RateDms(const SecureBuffer& normalized_dms, std::span<const std::string> context) {
  // zxcvbn wants a C string and a NULL-ended word list. It works on copies of the secret
  // in memory of its own (not wiped: a limit of the library), never logs or keeps them.
  SecureBuffer text(normalized_dms.size() + 1);
  std::memcpy(text.data(), normalized_dms.data(), normalized_dms.size());
  std::vector<const char*> words = {"keepsake"};
  for (const std::string& w : context) words.push_back(w.c_str());
  words.push_back(nullptr);
  double bits = ZxcvbnMatch(reinterpret_cast<const char*>(text.data()), words.data(), nullptr);
  DmsStrength out;
  out.bits = std::isfinite(bits) ? bits : 0;
  while (out.score < 4 && out.bits >= kClassBits[out.score]) ++out.score;
  out.words = kClassWords[out.score];
  out.acceptable = out.score >= kMinDmsScore;
  return out;
}

Status ValidateNewDms(const SecureBuffer& dms, const SecureBuffer& confirmation, std::span<const std::string> context) {
  ASSIGN_OR_RETURN(SecureBuffer normalized, NormalizeDms(dms));
  if (ScanUtf8(normalized.view())->code_points < kMinDmsChars) {
    return Status::InvalidArgument(
        fmt::format("The Domain Master Secret must be at least {} characters long", kMinDmsChars));
  }
  DmsStrength strength = RateDms(normalized, context);
  if (!strength.acceptable) {
    return Status::InvalidArgument(fmt::format(
        "The Domain Master Secret is {} (about 2^{:.0f} guesses): choose a longer one, such as several unrelated "
        "words, that is not a common password, a name, a date or a keyboard pattern",
        strength.words, strength.bits));
  }
  auto confirmed = NormalizeDms(confirmation);
  if (!confirmed.ok() || confirmed->size() != normalized.size() ||
      sodium_memcmp(confirmed->data(), normalized.data(), normalized.size()) != 0) {
    return Status::InvalidArgument("The Domain Master Secret and its confirmation do not match");
  }
  return Status();
}

}  // namespace keepsake::crypto
