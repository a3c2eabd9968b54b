#include "crypto/domain_keys.h"

#include <fmt/format.h>
#include <sodium.h>

#include "base/encoding.h"

namespace keepsake::crypto {
namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES] = {'K', 'S', 'd', 'o', 'm', 'a', 'i', 'n'};
constexpr uint64_t kSignSubkeyId = 1;
constexpr uint64_t kKekSubkeyId = 2;

// Counts code points of valid UTF-8; -1 if invalid or if it holds a control character.
// Hand-written because no packaged library we link validates UTF-8 in a few lines.
long CountCharsIfClean(std::string_view s) {
  long count = 0;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return -1;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return -1;
    }
    if (len == 1 && (c < 0x20 || c == 0x7F)) return -1;
    i += len;
    ++count;
  }
  return count;
}

}  // namespace

Status ValidateKdfParams(const KdfParams& params) {
  if (params.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN || params.opslimit > kMaxKdfOps) {
    return Status::InvalidArgument(
        fmt::format("KDF opslimit {} is outside the allowed range 1..{}", params.opslimit, kMaxKdfOps));
  }
  if (params.memlimit_kib < 8 || params.memlimit_kib > kMaxKdfMemKib) {
    return Status::InvalidArgument(
        fmt::format("KDF memory {} KiB is outside the allowed range 8 KiB..1 GiB", params.memlimit_kib));
  }
  return Status();
}

Status ValidateNewDms(const SecureBuffer& dms, const SecureBuffer& confirmation) {
  if (dms.size() > kMaxDmsBytes) {
    return Status::InvalidArgument(fmt::format("The Domain Master Secret is longer than {} bytes", kMaxDmsBytes));
  }
  long chars = CountCharsIfClean(dms.view());
  if (chars < 0) {
    return Status::InvalidArgument("The Domain Master Secret must be valid UTF-8 text without control characters");
  }
  if (static_cast<size_t>(chars) < kMinDmsChars) {
    return Status::InvalidArgument(
        fmt::format("The Domain Master Secret must be at least {} characters long", kMinDmsChars));
  }
  if (dms.size() != confirmation.size() || sodium_memcmp(dms.data(), confirmation.data(), dms.size()) != 0) {
    return Status::InvalidArgument("The Domain Master Secret and its confirmation do not match");
  }
  return Status();
}

DomainKeys KeysFromSeed(const Salt& salt, const KdfParams& params, const SecureBuffer& seed, const SecureBuffer& kek) {
  KS_CHECK(seed.size() == crypto_sign_SEEDBYTES && kek.size() == kKeySize);
  DomainKeys keys;
  keys.salt = salt;
  keys.kdf = params;
  keys.secret_key = SecureBuffer(kSecretKeySize);
  crypto_sign_seed_keypair(keys.public_key.data(), keys.secret_key.data(), seed.data());
  keys.kek = SecureBuffer::CopyOf(kek.span());
  return keys;
}

Result<DomainKeys> DeriveDomainKeys(const SecureBuffer& dms, const Salt& salt, const KdfParams& params) {
  RETURN_IF_ERROR(ValidateKdfParams(params));
  KS_CHECK(sodium_init() >= 0);
  SecureBuffer root(kKeySize);
  if (crypto_pwhash(root.data(), root.size(), reinterpret_cast<const char*>(dms.data()), dms.size(), salt.data(),
                    params.opslimit, params.memlimit_kib * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::Internal(fmt::format("not enough memory for the key derivation ({} KiB); free memory and try again",
                                        params.memlimit_kib));
  }
  SecureBuffer seed(crypto_sign_SEEDBYTES);
  SecureBuffer kek(kKeySize);
  crypto_kdf_derive_from_key(seed.data(), seed.size(), kSignSubkeyId, kKdfContext, root.data());
  crypto_kdf_derive_from_key(kek.data(), kek.size(), kKekSubkeyId, kKdfContext, root.data());
  return KeysFromSeed(salt, params, seed, kek);
}

std::string DomainFingerprint(const PublicKey& public_key) {
  uint8_t hash[32];
  crypto_generichash(hash, sizeof hash, public_key.data(), public_key.size(), nullptr, 0);
  std::string hex = ToHex(std::span<const uint8_t>(hash, 16));
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 4) {
    if (i > 0) out += ':';
    out += hex.substr(i, 4);
  }
  return out;
}

}  // namespace keepsake::crypto
