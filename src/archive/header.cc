#include "archive/header.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "archive/format.h"
#include "base/encoding.h"
#include "base/json_fields.h"
#include "base/utc_time.h"
#include "crypto/device_certificate.h"

namespace keepsake::archive {

using nlohmann::json;

uint64_t BackupHeader::InputBytes() const {
  uint64_t total = 0;
  for (const auto& c : components) total += c.bytes;
  return total;
}

json DeviceToJson(const DeviceIdentity& d) {
  return {{"device_id", d.device_id},
          {"hostname", d.hostname},
          {"model", d.model},
          {"firmware_version", d.firmware_version}};
}

Result<DeviceIdentity> DeviceFromJson(const JsonFields& f) {
  DeviceIdentity d;
  ASSIGN_OR_RETURN(d.device_id, f.Text("device_id", 128));
  ASSIGN_OR_RETURN(d.hostname, f.Text("hostname", 255));
  ASSIGN_OR_RETURN(d.model, f.Text("model", 255));
  ASSIGN_OR_RETURN(d.firmware_version, f.Text("firmware_version", 64));
  return d;
}

std::string SerializeHeader(const BackupHeader& h) {
  json components = json::array();
  for (const auto& c : h.components) {
    json item = {{"name", c.name}, {"files", c.files}, {"bytes", c.bytes}};
    if (!c.note.empty()) item["note"] = c.note;
    components.push_back(std::move(item));
  }
  // nlohmann::json keeps object keys sorted and dump() adds no whitespace: canonical.
  json encryption = h.is_v2() ? json{{"alg", "xchacha20poly1305-chunks"},
                                     {"chunk_size", h.chunk_size},
                                     {"sealed_file_key", ToBase64(h.wrapped_file_key)}}
                              : json{{"alg", "xchacha20poly1305-secretstream"},
                                     {"chunk_size", h.chunk_size},
                                     {"stream_header", ToBase64(h.stream_header)},
                                     {"wrapped_file_key", ToBase64(h.wrapped_file_key)}};
  json j = {
      {"format", "keepsake-backup"},
      {"format_version", h.format_version},
      {"backup_id", h.backup_id},
      {"file_name", h.file_name},
      {"created_at", h.created_at},
      {"device", DeviceToJson(h.device)},
      {"components", std::move(components)},
      {"input_bytes", h.InputBytes()},
      {"compression", {{"alg", "zstd"}, {"level", h.compression_level}}},
      {"encryption", std::move(encryption)},
      {"domain",
       {{"fingerprint", h.DomainFingerprint()},
        {"public_key", ToHex(h.domain_public_key)},
        {"salt", ToHex(h.domain_salt)},
        {"kdf", {{"alg", "argon2id13"}, {"opslimit", h.kdf.opslimit}, {"memlimit_kib", h.kdf.memlimit_kib}}}}},
  };
  if (h.is_v2()) {
    KS_CHECK(h.signer.has_value());
    const crypto::DeviceCertificate& cert = *h.signer;
    j["domain"]["box_public_key"] = ToHex(h.domain_box_key);
    j["domain"]["key_epoch"] = cert.key_epoch;
    j["signer"] = {{"device_id", cert.device_id},
                   {"public_key", ToHex(cert.device_public_key)},
                   {"key_epoch", cert.key_epoch},
                   {"certified_at", cert.certified_at},
                   {"certificate", ToBase64(cert.signature)}};
  }
  if (h.chain.sequence > 0) {
    json chain = {{"sequence", h.chain.sequence}};
    if (h.chain.previous_header_sha256) chain["previous_header_sha256"] = ToHex(*h.chain.previous_header_sha256);
    j["chain"] = std::move(chain);
  }
  return j.dump();
}

namespace {

// v2: the domain's box key and key epoch, and the signer's certificate. The certificate's
// signature is checked by ReadSealedHeader, which has the signed bytes' context.
Status ParseSigner(const JsonFields& f, const JsonFields& domain, BackupHeader& h) {
  RETURN_IF_ERROR(domain.HexInto("box_public_key", h.domain_box_key));
  ASSIGN_OR_RETURN(uint64_t domain_epoch, domain.Uint("key_epoch"));
  ASSIGN_OR_RETURN(JsonFields s, f.Object("signer"));
  crypto::DeviceCertificate cert;
  ASSIGN_OR_RETURN(cert.device_id, s.Text("device_id", crypto::kMaxDeviceIdSize));
  RETURN_IF_ERROR(s.HexInto("public_key", cert.device_public_key));
  ASSIGN_OR_RETURN(uint64_t epoch, s.Uint("key_epoch"));
  if (epoch != domain_epoch) return s.Bad("key_epoch", "differs from domain.key_epoch");
  if (epoch != crypto::kKeyEpoch) {
    return Status::NotSupported(
        fmt::format("key epoch {} is not supported (this build knows epoch {})", epoch, crypto::kKeyEpoch));
  }
  cert.key_epoch = static_cast<uint32_t>(epoch);
  ASSIGN_OR_RETURN(cert.certified_at, s.Text("certified_at", 64));
  if (!ParseUtc(cert.certified_at)) return s.Bad("certified_at", "not a UTC time such as \"2026-11-26T04:12:00Z\"");
  ASSIGN_OR_RETURN(auto sig, s.Base64("certificate", crypto::kSignatureSize));
  std::copy(sig.begin(), sig.end(), cert.signature.begin());
  if (cert.device_id != h.device.device_id) return s.Bad("device_id", "is not device.device_id");
  h.signer = std::move(cert);
  return Status();
}

}  // namespace

Result<BackupHeader> ParseHeader(std::string_view text) {
  RETURN_IF_ERROR(CheckJsonText(text, kMaxHeaderDepth, "damaged header: the header"));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("backup header is not a JSON object");
  JsonFields f(j, "backup header");
  BackupHeader h;
  ASSIGN_OR_RETURN(std::string format, f.Text("format"));
  if (format != "keepsake-backup") return f.Bad("format", "not \"keepsake-backup\"");
  ASSIGN_OR_RETURN(uint64_t version, f.Uint("format_version"));
  if (version != kFormatV1 && version != kFormatV2) {
    return Status::NotSupported(
        fmt::format("backup format version {} is not supported (this build reads 1 and 2)", version));
  }
  h.format_version = static_cast<uint16_t>(version);
  ASSIGN_OR_RETURN(h.backup_id, f.Text("backup_id", 64));
  ASSIGN_OR_RETURN(h.file_name, f.Text("file_name", 255));
  ASSIGN_OR_RETURN(h.created_at, f.Text("created_at", 64));
  // Listings and retention rank backups by this time: it must be one.
  if (!ParseUtc(h.created_at)) return f.Bad("created_at", "not a UTC time such as \"2026-11-26T04:12:00Z\"");

  ASSIGN_OR_RETURN(JsonFields device, f.Object("device"));
  ASSIGN_OR_RETURN(h.device, DeviceFromJson(device));
  if (j.contains("chain")) {  // optional: older headers have none
    ASSIGN_OR_RETURN(JsonFields chain, f.Object("chain"));
    ASSIGN_OR_RETURN(h.chain.sequence, chain.Uint("sequence"));
    if (h.chain.sequence == 0) return chain.Bad("sequence", "must be 1 or more");
    if (j["chain"].contains("previous_header_sha256")) {
      std::array<uint8_t, 32> previous;
      RETURN_IF_ERROR(chain.HexInto("previous_header_sha256", previous));
      h.chain.previous_header_sha256 = previous;
    }
  }

  ASSIGN_OR_RETURN(const json* components, f.Array("components", 64));
  for (const auto& item : *components) {
    JsonFields c(item, "backup header", "components[].");
    ComponentSummary s;
    ASSIGN_OR_RETURN(s.name, c.Text("name", 64));
    ASSIGN_OR_RETURN(s.files, c.Uint("files"));
    ASSIGN_OR_RETURN(s.bytes, c.Uint("bytes"));
    ASSIGN_OR_RETURN(s.note, c.OptionalText("note"));
    // Components are matched by name (restore, the manifest check): one of each.
    for (const auto& seen : h.components) {
      if (seen.name == s.name) return f.Bad("components", fmt::format("'{}' is listed twice", s.name));
    }
    h.components.push_back(std::move(s));
  }

  ASSIGN_OR_RETURN(JsonFields compression, f.Object("compression"));
  ASSIGN_OR_RETURN(std::string calg, compression.Text("alg"));
  if (calg != "zstd") return Status::NotSupported(fmt::format("compression '{}' is not supported", calg));
  ASSIGN_OR_RETURN(uint64_t level, compression.Uint("level"));
  h.compression_level = static_cast<int>(std::min<uint64_t>(level, 22));

  ASSIGN_OR_RETURN(JsonFields enc, f.Object("encryption"));
  ASSIGN_OR_RETURN(std::string ealg, enc.Text("alg"));
  if (ealg != (h.is_v2() ? "xchacha20poly1305-chunks" : "xchacha20poly1305-secretstream")) {
    return Status::NotSupported(fmt::format("encryption '{}' is not supported", ealg));
  }
  ASSIGN_OR_RETURN(uint64_t chunk_size, enc.Uint("chunk_size"));
  if (chunk_size < kMinChunkSize || chunk_size > kMaxChunkSize) return enc.Bad("chunk_size", "out of range");
  h.chunk_size = static_cast<uint32_t>(chunk_size);
  if (h.is_v2()) {
    ASSIGN_OR_RETURN(h.wrapped_file_key, enc.Base64("sealed_file_key", crypto::kSealedKeySize));
  } else {
    ASSIGN_OR_RETURN(auto stream_header, enc.Base64("stream_header", crypto::kStreamHeaderSize));
    std::copy(stream_header.begin(), stream_header.end(), h.stream_header.begin());
    ASSIGN_OR_RETURN(h.wrapped_file_key, enc.Base64("wrapped_file_key", crypto::kWrappedKeySize));
  }

  ASSIGN_OR_RETURN(JsonFields domain, f.Object("domain"));
  RETURN_IF_ERROR(domain.HexInto("public_key", h.domain_public_key));
  RETURN_IF_ERROR(domain.HexInto("salt", h.domain_salt));
  ASSIGN_OR_RETURN(std::string fingerprint, domain.Text("fingerprint"));
  if (fingerprint != h.DomainFingerprint()) return domain.Bad("fingerprint", "does not match the public key");
  ASSIGN_OR_RETURN(JsonFields kdf, domain.Object("kdf"));
  ASSIGN_OR_RETURN(std::string kalg, kdf.Text("alg"));
  if (kalg != "argon2id13") return Status::NotSupported(fmt::format("key derivation '{}' is not supported", kalg));
  ASSIGN_OR_RETURN(h.kdf.opslimit, kdf.Uint("opslimit"));
  ASSIGN_OR_RETURN(h.kdf.memlimit_kib, kdf.Uint("memlimit_kib"));
  if (Status st = crypto::ValidateKdfParams(h.kdf); !st.ok()) return kdf.Bad("opslimit/memlimit_kib", st.message());
  if (h.is_v2()) RETURN_IF_ERROR(ParseSigner(f, domain, h));
  return h;
}

}  // namespace keepsake::archive
