// The device keystore: the keys kept on this appliance so that scheduled backups run
// unattended. The DMS itself is never stored.
//
// File "<state dir>/keystore.json", mode 0600, written atomically and never replaced: the
// DMS is set once and can never be changed or deleted. Format (docs/FORMAT.md Appendix A):
//   version 2 (written since format v2): the domain's public keys, this device's own
//     signing key and certificate, and the restore key only when the administrator keeps
//     it: a write-only appliance, whose keystore opens no backup and forges none of
//     another device;
//   version 1 (still read): the domain's signing seed and KEK themselves; such an appliance
//     keeps writing format v1.
// Functions are safe to call from several threads; Create() relies on the file system's
// no-replace rename so two concurrent creators cannot both win.
#pragma once

#include <ctime>
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

// This appliance, as a new member of a domain: the id its certificate names, the time it
// is certified at, and whether it keeps the restore key (the domain's box secret key, so
// that restores need no DMS: off by default, docs/RESTORE.md).
struct NewDevice {
  std::string device_id;
  std::time_t now = 0;
  bool keep_restore_key = false;
};

// Validates the DMS and its confirmation, derives the keys with a fresh random salt, and
// stores what a v2 appliance keeps (NewDevice). kAlreadyExists ("The Domain Master Secret is already set and cannot be
// changed or deleted") when a keystore exists; kInvalidArgument for a DMS that breaks a rule.
Result<DomainKeys> CreateKeystore(const std::string& state_dir, const SecureBuffer& dms,
                                  const SecureBuffer& confirmation, const KdfParams& params, const NewDevice& device);

// Only the domain's public key (what listings and inspect compare a backup's key with): the
// secret keys are never rebuilt, and the file's text is wiped. nullopt when no DMS is set.
Result<std::optional<PublicKey>> LoadKeystorePublicKey(const std::string& state_dir);

// Makes this device a member of an existing domain (joining it): derives the keys from
// `dms` with the domain's salt and parameters (as found in one of its backups), checks they
// give `expected_public_key`, and stores what a v2 appliance keeps, with its own certified
// key. kUnauthenticated for a wrong DMS, kAlreadyExists when this device already has a domain.
Result<DomainKeys> AdoptDomain(const std::string& state_dir, const SecureBuffer& dms, const Salt& salt,
                               const KdfParams& params, const PublicKey& expected_public_key, const NewDevice& device);

// Creates the state directory and its parents if missing, and makes it 0700 (when this
// process owns it) whatever mode it had.
Status EnsureStateDir(const std::string& state_dir);

}  // namespace keepsake::crypto
