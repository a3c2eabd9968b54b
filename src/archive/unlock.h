// Deciding whether this device may open a backup, and unwrapping its file key.
//
// A backup opens with this device's domain keys when the backup's domain is the device's,
// or with the DMS a user types: keys derived from it with the salt and KDF parameters in
// the header must give the header's public key. Thread-safe.
#pragma once

#include "archive/header.h"
#include "base/secure_buffer.h"

namespace keepsake::archive {

struct Unlocker {
  const crypto::DomainKeys* device_keys = nullptr;  // this device's keystore, if any
  const SecureBuffer* dms = nullptr;                // typed by the user; wins over device keys
};

// kUnauthenticated: wrong DMS, or the backup belongs to another domain than the device
// (the message names both fingerprints); kFailedPrecondition when neither key is given.
Result<SecureBuffer> UnlockFileKey(const BackupHeader& header, const Unlocker& unlocker);

// The domain check alone (no DMS): OK when `keys` are the backup's domain.
Status CheckSameDomain(const BackupHeader& header, const crypto::PublicKey& domain_public_key);
inline Status CheckSameDomain(const BackupHeader& header, const crypto::DomainKeys& keys) {
  return CheckSameDomain(header, keys.public_key);
}

}  // namespace keepsake::archive
