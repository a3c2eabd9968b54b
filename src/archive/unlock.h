// Deciding whether this device may open a backup, and unwrapping its file key.
//
// A backup opens with this device's domain keys when the backup's domain is the device's,
// or with the DMS a user types: keys derived from it with the salt and KDF parameters in
// the header must give the header's public key. A v2 backup opens only with the domain's
// box secret key: derived from the DMS, or kept on an appliance that keeps the restore key;
// a write-only appliance can make and check backups but not open them. A v2 backup signed by
// a device key the domain revoked is refused whichever key is at hand. Thread-safe.
#pragma once

#include "archive/header.h"
#include "base/secure_buffer.h"
#include "crypto/revocation.h"

namespace keepsake::archive {

struct Unlocker {
  const crypto::DomainKeys* device_keys = nullptr;      // this device's keystore, if any
  const SecureBuffer* dms = nullptr;                    // typed by the user; wins over device keys
  const crypto::RevocationList* revocations = nullptr;  // this device's, if any
};

// kUnauthenticated: wrong DMS, or the backup belongs to another domain than the device
// (the message names both fingerprints); kFailedPrecondition when neither key is given.
Result<SecureBuffer> UnlockFileKey(const BackupHeader& header, const Unlocker& unlocker);

// The domain check alone (no DMS): OK when `keys` are the backup's domain.
Status CheckSameDomain(const BackupHeader& header, const crypto::PublicKey& domain_public_key);
inline Status CheckSameDomain(const BackupHeader& header, const crypto::DomainKeys& keys) {
  return CheckSameDomain(header, keys.public_key);
}

// v2: kUnauthenticated when `revocations` revoke the key that signed `header` for a backup
// of its time. OK for v1 headers (signed by the domain key itself) and without a list.
Status CheckSignerNotRevoked(const BackupHeader& header, const crypto::RevocationList* revocations);

// Both: the backup is this domain's and its signer is trusted. What listings, retention and
// every restore decide on.
inline Status CheckTrusted(const BackupHeader& header, const crypto::PublicKey& domain_public_key,
                           const crypto::RevocationList* revocations) {
  RETURN_IF_ERROR(CheckSameDomain(header, domain_public_key));
  return CheckSignerNotRevoked(header, revocations);
}

}  // namespace keepsake::archive
