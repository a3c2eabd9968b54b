// Device certificates (format v2): the domain key vouches for one appliance's own signing
// key, so that a backup proves which appliance made it and a stolen appliance's key can be
// revoked without changing the domain (docs/FORMAT.md §12.2).
//
//   message   = "keepsake-device-certificate-v2" || domain public key (32) || device public
//               key (32) || key_epoch:u32 || certified_at (20 ASCII bytes, UTC) ||
//               len(device_id):u8 || device_id
//   signature = Ed25519(domain secret key, message)
// Stateless and thread-safe.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "crypto/domain_keys.h"

namespace keepsake::crypto {

inline constexpr size_t kMaxDeviceIdSize = 128;

std::vector<uint8_t> CertificateMessage(const PublicKey& domain_public_key, const DeviceCertificate& cert);

// A fresh Ed25519 key for this appliance and its certificate, signed by `domain` (which must
// hold the domain's secret key: derived from the DMS just typed). kInvalidArgument for a
// device id that is empty or longer than kMaxDeviceIdSize.
Result<DeviceKey> NewCertifiedDeviceKey(const DomainKeys& domain, const std::string& device_id, std::time_t now);

// OK when `cert` is signed by `domain_public_key` and names a known key epoch.
// kCorruption / kNotSupported saying which.
Status CheckCertificate(const PublicKey& domain_public_key, const DeviceCertificate& cert);

// "ab12:…" for a device key, as for a domain key: what revocation and the UI name.
inline std::string DeviceFingerprint(const PublicKey& device_public_key) {
  return DomainFingerprint(device_public_key);
}

}  // namespace keepsake::crypto
