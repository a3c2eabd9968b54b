#include "archive/unlock.h"

#include <fmt/format.h>
#include <sodium.h>

#include "crypto/file_key.h"

namespace keepsake::archive {

Status CheckSameDomain(const BackupHeader& header, const crypto::PublicKey& domain_public_key) {
  if (sodium_memcmp(domain_public_key.data(), header.domain_public_key.data(), domain_public_key.size()) == 0) {
    return Status();
  }
  return Status::Unauthenticated(
      fmt::format("the backup belongs to domain {}, but this device is in domain {}; "
                  "a backup can only be restored within its domain",
                  header.DomainFingerprint(), crypto::DomainFingerprint(domain_public_key)));
}

Status CheckSignerNotRevoked(const BackupHeader& header, const crypto::RevocationList* revocations) {
  if (!header.signer || revocations == nullptr) return Status();
  return crypto::CheckNotRevoked(*revocations, *header.signer, header.created_at);
}

namespace {

// v2: the header's box key must be the domain's, then the file key opens with its secret.
Result<SecureBuffer> OpenSealedFileKey(const BackupHeader& header, const crypto::DomainKeys& keys) {
  if (header.domain_box_key != keys.box_public_key) {
    return Status::Unauthenticated(
        fmt::format("the backup's file key is sealed to a key that is not domain {}'s encryption key: the device "
                    "that wrote it was misconfigured or the header forged",
                    header.DomainFingerprint()));
  }
  return crypto::OpenFileKey(keys.box_public_key, keys.box_secret_key, header.wrapped_file_key);
}

}  // namespace

Result<SecureBuffer> UnlockFileKey(const BackupHeader& header, const Unlocker& unlocker) {
  RETURN_IF_ERROR(CheckSignerNotRevoked(header, unlocker.revocations));
  if (unlocker.dms != nullptr) {
    // Argon2id costs what the header asks, before anything in it is trusted: the parameters
    // are bounded (ValidateKdfParams, when the header was parsed), and a header that names
    // this keystore's domain must carry its salt and parameters too, or it is not this
    // domain's (a backup of another domain may still be verified with that domain's DMS).
    if (const crypto::DomainKeys* mine = unlocker.device_keys;
        mine != nullptr && CheckSameDomain(header, *mine).ok() &&
        (sodium_memcmp(mine->salt.data(), header.domain_salt.data(), mine->salt.size()) != 0 ||
         mine->kdf.opslimit != header.kdf.opslimit || mine->kdf.memlimit_kib != header.kdf.memlimit_kib)) {
      return Status::Unauthenticated(
          fmt::format("the backup names domain {} but not its salt and KDF parameters: this domain did not make it",
                      header.DomainFingerprint()));
    }
    ASSIGN_OR_RETURN(crypto::DomainKeys keys, crypto::DeriveDomainKeys(*unlocker.dms, header.domain_salt, header.kdf));
    if (sodium_memcmp(keys.public_key.data(), header.domain_public_key.data(), keys.public_key.size()) != 0) {
      return Status::Unauthenticated(fmt::format(
          "wrong Domain Master Secret: it does not open domain {} that made this backup", header.DomainFingerprint()));
    }
    if (header.is_v2()) return OpenSealedFileKey(header, keys);
    return crypto::UnwrapFileKey(keys.kek, header.wrapped_file_key, header.backup_id);
  }
  if (const crypto::DomainKeys* mine = unlocker.device_keys; mine != nullptr) {
    RETURN_IF_ERROR(CheckSameDomain(header, *mine));
    if (header.is_v2()) {
      if (mine->box_secret_key.empty()) {
        return Status::FailedPrecondition(
            "this appliance is write-only: it keeps no key that opens backups. Type the Domain Master Secret to "
            "restore or decrypt this backup (--dms-file)");
      }
      return OpenSealedFileKey(header, *mine);
    }
    if (mine->kek.empty()) {
      return Status::FailedPrecondition(
          "this appliance keeps no key that opens format v1 backups. Type the Domain Master Secret to restore or "
          "decrypt this backup (--dms-file)");
    }
    return crypto::UnwrapFileKey(mine->kek, header.wrapped_file_key, header.backup_id);
  }
  return Status::FailedPrecondition(
      "this device has no domain keys; give the backup's Domain Master Secret with --dms-file");
}

}  // namespace keepsake::archive
