#include "crypto/device_certificate.h"

#include <fmt/format.h>
#include <sodium.h>

#include <string_view>

#include "base/endian.h"
#include "base/utc_time.h"
#include "crypto/signature.h"

namespace keepsake::crypto {
namespace {

constexpr std::string_view kContext = "keepsake-device-certificate-v2";

}  // namespace

std::vector<uint8_t> CertificateMessage(const PublicKey& domain_public_key, const DeviceCertificate& cert) {
  KS_CHECK(cert.device_id.size() <= kMaxDeviceIdSize);
  std::vector<uint8_t> m(kContext.begin(), kContext.end());
  m.insert(m.end(), domain_public_key.begin(), domain_public_key.end());
  m.insert(m.end(), cert.device_public_key.begin(), cert.device_public_key.end());
  uint8_t epoch[4];
  PutLe32(epoch, cert.key_epoch);
  m.insert(m.end(), epoch, epoch + 4);
  m.insert(m.end(), cert.certified_at.begin(), cert.certified_at.end());
  m.push_back(static_cast<uint8_t>(cert.device_id.size()));
  m.insert(m.end(), cert.device_id.begin(), cert.device_id.end());
  return m;
}

Result<DeviceKey> NewCertifiedDeviceKey(const DomainKeys& domain, const std::string& device_id, std::time_t now) {
  KS_CHECK(domain.has_domain_secret());
  if (device_id.empty() || device_id.size() > kMaxDeviceIdSize) {
    return Status::InvalidArgument(fmt::format("the device id must be 1 to {} bytes to be certified; it is {}",
                                               kMaxDeviceIdSize, device_id.size()));
  }
  DeviceKey key;
  key.secret_key = SecureBuffer(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(key.certificate.device_public_key.data(), key.secret_key.data());
  key.certificate.device_id = device_id;
  key.certificate.key_epoch = kKeyEpoch;
  key.certificate.certified_at = FormatUtc(now);
  key.certificate.signature = Sign(domain.secret_key, CertificateMessage(domain.public_key, key.certificate));
  return key;
}

Status CheckCertificate(const PublicKey& domain_public_key, const DeviceCertificate& cert) {
  if (cert.key_epoch != kKeyEpoch) {
    return Status::NotSupported(fmt::format(
        "key epoch {} is not supported (this build knows epoch {}); use a newer Keepsake", cert.key_epoch, kKeyEpoch));
  }
  if (cert.device_id.empty() || cert.device_id.size() > kMaxDeviceIdSize || !ParseUtc(cert.certified_at) ||
      !VerifySignature(domain_public_key, CertificateMessage(domain_public_key, cert), cert.signature)) {
    return Status::Corruption(
        "the device certificate is not signed by the domain key the header names: the header was forged or damaged");
  }
  return Status();
}

}  // namespace keepsake::crypto
