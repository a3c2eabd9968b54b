#include "crypto/domain_keys.h"

#include <fmt/format.h>
#include <sodium.h>

#include "base/encoding.h"
#include "crypto/dms_text.h"

namespace keepsake::crypto {
namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES] = {'K', 'S', 'd', 'o', 'm', 'a', 'i', 'n'};
constexpr uint64_t kSignSubkeyId = 1;
constexpr uint64_t kKekSubkeyId = 2;
constexpr uint64_t kBoxSubkeyId = 3;

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

Status ValidateNewKdfParams(const KdfParams& params, bool weak_for_tests) {
  RETURN_IF_ERROR(ValidateKdfParams(params));
  if (weak_for_tests) return Status();
  if (params.opslimit < kMinNewKdfOps || params.memlimit_kib < kMinNewKdfMemKib) {
    return Status::InvalidArgument(
        fmt::format("KDF cost {} passes, {} KiB is below the minimum for a new Domain Master Secret ({} passes, {} "
                    "KiB: libsodium's MODERATE); a weaker cost is for test suites only",
                    params.opslimit, params.memlimit_kib, kMinNewKdfOps, kMinNewKdfMemKib));
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
  ASSIGN_OR_RETURN(SecureBuffer text, NormalizeDms(dms));
  KS_CHECK(sodium_init() >= 0);
  SecureBuffer root(kKeySize);
  if (crypto_pwhash(root.data(), root.size(), reinterpret_cast<const char*>(text.data()), text.size(), salt.data(),
                    params.opslimit, params.memlimit_kib * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::Internal(fmt::format("not enough memory for the key derivation ({} KiB); free memory and try again",
                                        params.memlimit_kib));
  }
  SecureBuffer seed(crypto_sign_SEEDBYTES);
  SecureBuffer kek(kKeySize);
  crypto_kdf_derive_from_key(seed.data(), seed.size(), kSignSubkeyId, kKdfContext, root.data());
  crypto_kdf_derive_from_key(kek.data(), kek.size(), kKekSubkeyId, kKdfContext, root.data());
  DomainKeys keys = KeysFromSeed(salt, params, seed, kek);
  SecureBuffer box_seed(crypto_box_SEEDBYTES);
  crypto_kdf_derive_from_key(box_seed.data(), box_seed.size(), kBoxSubkeyId, kKdfContext, root.data());
  keys.box_secret_key = SecureBuffer(crypto_box_SECRETKEYBYTES);
  crypto_box_seed_keypair(keys.box_public_key.data(), keys.box_secret_key.data(), box_seed.data());
  return keys;
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
