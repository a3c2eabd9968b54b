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

Result<SecureBuffer> UnlockFileKey(const BackupHeader& header, const Unlocker& unlocker) {
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
    return crypto::UnwrapFileKey(keys.kek, header.wrapped_file_key, header.backup_id);
  }
  if (unlocker.device_keys != nullptr) {
    RETURN_IF_ERROR(CheckSameDomain(header, *unlocker.device_keys));
    return crypto::UnwrapFileKey(unlocker.device_keys->kek, header.wrapped_file_key, header.backup_id);
  }
  return Status::FailedPrecondition(
      "this device has no domain keys; give the backup's Domain Master Secret with --dms-file");
}

}  // namespace keepsake::archive
