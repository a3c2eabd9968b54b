// The device keystore: the domain's keys kept on this appliance so that scheduled backups
// run unattended. The DMS itself is never stored.
//
// File "<state dir>/keystore.json", mode 0600, written atomically and never replaced: the
// DMS is set once and can never be changed or deleted. Format (JSON object):
//   version 1, salt (hex), kdf {alg "argon2id13", opslimit, memlimit_kib},
//   public_key (hex), fingerprint, signing_seed (base64), kek (base64)
// Functions are safe to call from several threads; Create() relies on the file system's
// no-replace rename so two concurrent creators cannot both win.
#pragma once

#include <optional>
#include <string>

#include "crypto/domain_keys.h"

namespace keepsake::crypto {

std::string KeystorePath(const std::string& state_dir);

// True unless the keystore is certainly absent (ENOENT): one that cannot be looked at counts
// as there, so that loading it reports why rather than "no DMS".
bool KeystoreExists(const std::string& state_dir);

// The keystore file may be read: a regular file (not a symlink) of this process's user,
// open to nobody else. kFailedPrecondition saying what to fix; OK when it does not exist.
Status CheckKeystoreFile(const std::string& path);

// Loads the device's domain keys. kFailedPrecondition when no DMS was set on this device or
// the file fails CheckKeystoreFile, kCorruption when it is damaged,
// kPermissionDenied/kIoError from the file system.
Result<DomainKeys> LoadKeystore(const std::string& state_dir);

// The device's domain keys when a DMS was set, nullopt when not (a fresh appliance); a
// keystore that exists but cannot be loaded is an error, never "no keys".
Result<std::optional<DomainKeys>> LoadKeystoreIfSet(const std::string& state_dir);

// Validates the DMS and its confirmation, derives the keys with a fresh random salt and
// stores them. kAlreadyExists ("The Domain Master Secret is already set and cannot be
// changed or deleted") when a keystore exists; kInvalidArgument for a DMS that breaks a rule.
Result<DomainKeys> CreateKeystore(const std::string& state_dir, const SecureBuffer& dms,
                                  const SecureBuffer& confirmation, const KdfParams& params);

// Only the domain's public key (what listings and inspect compare a backup's key with): the
// secret keys are never rebuilt, and the file's text is wiped. nullopt when no DMS is set.
Result<std::optional<PublicKey>> LoadKeystorePublicKey(const std::string& state_dir);

// Makes this device a member of an existing domain: derives the keys from `dms` with the
// domain's salt and parameters (as found in one of its backups) and stores them, after
// checking they give `expected_public_key`. kUnauthenticated for a wrong DMS,
// kAlreadyExists when this device already has a domain.
Result<DomainKeys> AdoptDomain(const std::string& state_dir, const SecureBuffer& dms, const Salt& salt,
                               const KdfParams& params, const PublicKey& expected_public_key);

// Creates the state directory and its parents if missing, and makes it 0700 (when this
// process owns it) whatever mode it had.
Status EnsureStateDir(const std::string& state_dir);

}  // namespace keepsake::crypto
