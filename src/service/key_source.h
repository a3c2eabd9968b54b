// The engine's one way to the domain keys: whether a DMS was set, the keys, setting the DMS
// once. The daemon's is the keystore in the state directory (crypto/keystore.h); a test may
// hand in another. Keeping every access to the secrets behind this port leaves one place to
// narrow it (listings need only the public key).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/secure_buffer.h"
#include "crypto/domain_keys.h"

namespace keepsake::service {

class KeySource {
 public:
  virtual ~KeySource() = default;
  // Whether a DMS was set on this appliance.
  virtual bool IsSet() = 0;
  // The domain keys; nullopt when no DMS was set; an error when they exist but cannot be read.
  virtual Result<std::optional<crypto::DomainKeys>> Load() = 0;
  // The domain's public key alone (listings, Backup Details): no secret key is rebuilt.
  virtual Result<std::optional<crypto::PublicKey>> PublicKey() = 0;
  // Sets the DMS once, making this appliance a write-only member of the new domain (with the
  // restore key too when `keep_restore_key`: crypto/keystore.h). kAlreadyExists when set;
  // kInvalidArgument for a DMS breaking a rule.
  virtual Result<crypto::DomainKeys> Create(const SecureBuffer& dms, const SecureBuffer& confirmation,
                                            bool keep_restore_key) = 0;
};

// The keystore of `state_dir`; a DMS set through it is derived with `kdf`.
std::unique_ptr<KeySource> NewKeystoreKeySource(std::string state_dir, crypto::KdfParams kdf);

}  // namespace keepsake::service
