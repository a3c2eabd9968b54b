// The domain's keys, derived from the Domain Master Secret (DMS).
//
//   root key  = Argon2id(DMS, 16-byte domain salt, opslimit, memlimit)      (crypto_pwhash)
//   sign seed = crypto_kdf_derive_from_key(root, id 1, context "KSdomain") -> Ed25519 pair
//   KEK       = crypto_kdf_derive_from_key(root, id 2, context "KSdomain")  (format v1)
//   box seed  = crypto_kdf_derive_from_key(root, id 3, context "KSdomain")
//               -> crypto_box_seed_keypair: the domain's X25519 key (format v2)
//   fingerprint = first 16 bytes of BLAKE2b-256(public key), hex in groups of four
//
// Format v2 appliances are write-only: they keep the domain's public keys, their own
// device signing key and its certificate (signed by the domain key), and no secret that
// opens or forges a backup of another device (docs/FORMAT.md §12).
//
// Any device given the same DMS, salt and parameters derives the same keys: that is what
// lets a backup be restored on another appliance of the domain. Values are immutable once
// made; sharing them across threads for reading is safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "base/secure_buffer.h"
#include "base/status.h"

namespace keepsake::crypto {

inline constexpr size_t kSaltSize = 16;
inline constexpr size_t kPublicKeySize = 32;
inline constexpr size_t kSecretKeySize = 64;
inline constexpr size_t kSignatureSize = 64;
inline constexpr size_t kKeySize = 32;

// Argon2id cost. Recorded in the keystore and in every backup header, so a device reading a
// backup uses the parameters it was made with. The defaults are libsodium's MODERATE level.
struct KdfParams {
  uint64_t opslimit = 3;           // passes over memory
  uint64_t memlimit_kib = 262144;  // 256 MiB
};

// Bounds for parameters read from a file: at least libsodium's minimum, at most 1 GiB and
// 8 passes (a few seconds here), so that a crafted header cannot make a device exhaust
// memory or stall before anything in it is trusted (reproduced: 4 GiB and 4 passes made
// `verify --dms-file` take 36 s and 4.2 GB). A DMS is never set with more, so every
// backup of a domain can be opened on a fresh appliance.
inline constexpr uint64_t kMaxKdfOps = 8;
inline constexpr uint64_t kMaxKdfMemKib = 1024 * 1024;
Status ValidateKdfParams(const KdfParams& params);

// The least a new DMS is set with: libsodium's MODERATE, the default. A domain's cost can
// never change, so a weak one set by mistake would weaken every backup for good.
inline constexpr uint64_t kMinNewKdfOps = 3;
inline constexpr uint64_t kMinNewKdfMemKib = 262144;
// For a new domain: ValidateKdfParams and at least the minimum above, unless
// `weak_for_tests` (the test suites' `--test-weak-kdf`: milliseconds instead of a second).
Status ValidateNewKdfParams(const KdfParams& params, bool weak_for_tests);

using PublicKey = std::array<uint8_t, kPublicKeySize>;
using Salt = std::array<uint8_t, kSaltSize>;
using BoxPublicKey = std::array<uint8_t, 32>;  // X25519
using SignatureBytes = std::array<uint8_t, kSignatureSize>;

// The generation of the domain's key scheme that a v2 header and certificate name. This
// build makes and reads generation 1; a later scheme gets a new number, so that a reader
// refuses what it does not know rather than misreading it.
inline constexpr uint32_t kKeyEpoch = 1;

// A device's signing key, certified by the domain key (device_certificate.h).
struct DeviceCertificate {
  std::string device_id;
  PublicKey device_public_key{};
  uint32_t key_epoch = kKeyEpoch;
  std::string certified_at;  // UTC, as FormatUtc writes it
  SignatureBytes signature{};
};

struct DeviceKey {
  SecureBuffer secret_key;  // Ed25519, 64 bytes: generated on this appliance, never leaves it
  DeviceCertificate certificate;
};

struct DomainKeys {
  Salt salt{};
  KdfParams kdf;
  PublicKey public_key{};
  SecureBuffer secret_key;          // domain Ed25519, 64 bytes (seed || public key); empty on a v2 appliance
  SecureBuffer kek;                 // 32 bytes, wraps v1 file keys; empty on a v2 appliance
  BoxPublicKey box_public_key{};    // v2: file keys are sealed to it (all zero when unknown: a v1 keystore)
  SecureBuffer box_secret_key;      // from the DMS; kept on an appliance only when it keeps the restore key
  std::optional<DeviceKey> device;  // a v2 appliance's own signing key; then backups are v2

  bool has_domain_secret() const { return !secret_key.empty(); }
  bool has_box_key() const { return box_public_key != BoxPublicKey{}; }
};

// Runs Argon2id on the NFC form of `dms` (dms_text.h) and the sub-key derivation.
// kInvalidArgument for bad parameters or a DMS that is not valid text (NormalizeDms),
// kInternal if memory for Argon2id cannot be had.
Result<DomainKeys> DeriveDomainKeys(const SecureBuffer& dms, const Salt& salt, const KdfParams& params);

// Rebuilds keys from a stored signing seed and KEK (the keystore).
DomainKeys KeysFromSeed(const Salt& salt, const KdfParams& params, const SecureBuffer& seed, const SecureBuffer& kek);

// "1a2b:3c4d:...": what the UI calls the domain fingerprint.
std::string DomainFingerprint(const PublicKey& public_key);

}  // namespace keepsake::crypto
