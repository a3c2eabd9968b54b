#include "cli/commands.h"
#include "cli/secret_input.h"
#include "crypto/keystore.h"

namespace keepsake::cli {

Result<std::unique_ptr<UnlockKeys>> UnlockKeys::Load(const CliContext& ctx, const std::string& dms_file) {
  auto keys = std::make_unique<UnlockKeys>();
  if (!dms_file.empty()) {
    ASSIGN_OR_RETURN(SecureBuffer dms, ReadSecretFile(dms_file));
    keys->dms_ = std::move(dms);
    // With a keystore, a backup's KDF parameters are compared with it before any costly
    // derivation (archive::UnlockFileKey).
    ASSIGN_OR_RETURN(keys->device_keys_, crypto::LoadKeystoreIfSet(ctx.state_dir));
  } else {
    ASSIGN_OR_RETURN(crypto::DomainKeys device, crypto::LoadKeystore(ctx.state_dir));
    keys->device_keys_ = std::move(device);
  }
  // A domain member refuses backups its domain revoked the signer of, DMS or not.
  if (keys->device_keys_) {
    ASSIGN_OR_RETURN(keys->revocations_, crypto::LoadRevocations(ctx.state_dir, keys->device_keys_->public_key));
  }
  return keys;
}

archive::Unlocker UnlockKeys::unlocker() const {
  return {device_keys_ ? &*device_keys_ : nullptr, dms_ ? &*dms_ : nullptr, revocations_ ? &*revocations_ : nullptr};
}

}  // namespace keepsake::cli
