#include "service/key_source.h"

#include <ctime>

#include "appliance/device_identity.h"
#include "crypto/keystore.h"

namespace keepsake::service {
namespace {

class KeystoreKeySource final : public KeySource {
 public:
  KeystoreKeySource(std::string state_dir, crypto::KdfParams kdf) : state_dir_(std::move(state_dir)), kdf_(kdf) {}
  bool IsSet() override { return crypto::KeystoreExists(state_dir_); }
  Result<std::optional<crypto::DomainKeys>> Load() override { return crypto::LoadKeystoreIfSet(state_dir_); }
  Result<std::optional<crypto::PublicKey>> PublicKey() override { return crypto::LoadKeystorePublicKey(state_dir_); }
  Result<crypto::DomainKeys> Create(const SecureBuffer& dms, const SecureBuffer& confirmation,
                                    bool keep_restore_key) override {
    ASSIGN_OR_RETURN(archive::DeviceIdentity device, appliance::LoadDeviceIdentity(state_dir_));
    crypto::NewDevice member{device.device_id, std::time(nullptr), keep_restore_key};
    return crypto::CreateKeystore(state_dir_, dms, confirmation, kdf_, member);
  }

 private:
  const std::string state_dir_;
  const crypto::KdfParams kdf_;
};

}  // namespace

std::unique_ptr<KeySource> NewKeystoreKeySource(std::string state_dir, crypto::KdfParams kdf) {
  return std::make_unique<KeystoreKeySource>(std::move(state_dir), kdf);
}

}  // namespace keepsake::service
