// BackupHeader: the Backup Details, stored as signed JSON at the start of every sealed file
// and readable without the DMS. Fields are listed in docs/FORMAT.md. Plain value type.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "archive/format.h"
#include "base/json_fields.h"
#include "base/status.h"
#include "crypto/domain_keys.h"
#include "crypto/file_key.h"
#include "crypto/secret_stream.h"

namespace keepsake::archive {

struct DeviceIdentity {
  std::string device_id;
  std::string hostname;
  std::string model;
  std::string firmware_version;
};

struct ComponentSummary {
  std::string name;    // "tree", or an appliance component such as "firmware"
  uint64_t files = 0;  // regular files
  uint64_t bytes = 0;  // their total size before compression
  std::string note;    // e.g. "external database: connection settings only"
};

// Where a backup stands among its device's backups (docs/FORMAT.md §3.2 "chain"): a number
// that grows by one with each backup the device makes, and the SHA-256 of the previous
// backup's signed header (prefix || header JSON). A copy of an old backup under a new name
// keeps its old number. sequence 0: a backup without one (made before the chain existed,
// or from trees rather than an appliance).
struct BackupChain {
  uint64_t sequence = 0;
  std::optional<std::array<uint8_t, 32>> previous_header_sha256;
};

struct BackupHeader {
  uint16_t format_version = kFormatV1;  // 2: signed by a certified device key (docs/FORMAT.md §12)
  std::string backup_id;                // 32 hex characters, random
  std::string file_name;                // the name the file was created under
  std::string created_at;               // UTC, RFC 3339 ("2026-11-26T04:12:00Z")
  DeviceIdentity device;
  BackupChain chain;
  std::vector<ComponentSummary> components;
  int compression_level = 2;              // zstd
  uint32_t chunk_size = 0;                // v1: secretstream plaintext bytes per chunk; v2: tar bytes per chunk
  crypto::StreamHeader stream_header{};   // v1
  std::vector<uint8_t> wrapped_file_key;  // v1: crypto::kWrappedKeySize bytes; v2: kSealedKeySize
  crypto::PublicKey domain_public_key{};
  crypto::Salt domain_salt{};
  crypto::KdfParams kdf;
  crypto::BoxPublicKey domain_box_key{};            // v2: the file key is sealed to it
  std::optional<crypto::DeviceCertificate> signer;  // v2: the device key that signed the file

  bool is_v2() const { return format_version == kFormatV2; }
  // The key header_sig and trailer_sig verify under: the domain key (v1), the device key (v2).
  const crypto::PublicKey& SignerKey() const { return signer ? signer->device_public_key : domain_public_key; }
  uint64_t InputBytes() const;
  std::string DomainFingerprint() const { return crypto::DomainFingerprint(domain_public_key); }
};

std::string SerializeHeader(const BackupHeader& header);

// The "device" object shared by the header and the manifest.
nlohmann::json DeviceToJson(const DeviceIdentity& device);
Result<DeviceIdentity> DeviceFromJson(const JsonFields& device);

// Parses and bounds-checks header JSON read from a file. kCorruption naming the bad field.
Result<BackupHeader> ParseHeader(std::string_view json);

}  // namespace keepsake::archive
