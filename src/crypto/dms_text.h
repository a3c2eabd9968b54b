// The Domain Master Secret as text: the one form keys are derived from, and the rules a new
// DMS must meet.
//
// Form: strict UTF-8 (no overlong forms, surrogates, code points above U+10FFFF), no
// control character (C0, DEL, C1 with NEL), at most 1024 bytes, normalised to NFC (Unicode
// canonical composition, utf8proc) before Argon2id, so that the same typed secret derives
// the same domain on every keyboard and OS ("é" arrives as U+00E9 from most keyboards and as
// e + U+0301 from some input methods).
//
// Strength: zxcvbn's estimate of the guesses an attacker needs (Debian's libzxcvbn, with its
// dictionaries of common passwords, names and words, keyboard walks, dates, repeats), in
// zxcvbn's five classes. A DMS in the two weakest (under a million guesses: hours for a
// GPU farm even at Argon2id's cost) is refused.
// Thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "base/secure_buffer.h"
#include "base/status.h"

namespace keepsake::crypto {

inline constexpr size_t kMinDmsChars = 8;
inline constexpr size_t kMaxDmsBytes = 1024;
inline constexpr int kMinDmsScore = 2;

// The NFC form of `dms`, in secure memory. kInvalidArgument naming the rule broken (never
// the secret): not strict UTF-8, a control character, longer than 1024 bytes, empty.
Result<SecureBuffer> NormalizeDms(const SecureBuffer& dms);

struct DmsStrength {
  int score = 0;            // zxcvbn's class, 0 (too guessable) .. 4 (very unguessable)
  double bits = 0;          // log2 of the estimated guesses
  std::string words;        // "too guessable", "very guessable", "somewhat guessable", ...
  bool acceptable = false;  // score >= kMinDmsScore
};

// How guessable the (normalised) secret is. `context` names words an attacker would try
// first here (the appliance's host name; the product name is always one).
DmsStrength RateDms(const SecureBuffer& normalized_dms, std::span<const std::string> context = {});

// What a new DMS must satisfy: NormalizeDms, at least 8 characters (code points of the NFC
// form), not too guessable (RateDms), and equal to its confirmation (both normalised).
// kInvalidArgument with a message naming the rule that failed; never the secret.
Status ValidateNewDms(const SecureBuffer& dms, const SecureBuffer& confirmation,
                      std::span<const std::string> context = {});

}  // namespace keepsake::crypto
